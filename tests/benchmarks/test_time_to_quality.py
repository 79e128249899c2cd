"""benchmarks/time_to_quality.py's contenders: each names settings that exist, with values they
take, and the README's recipes are among them."""

import pytest

from ganforge.configure import configure
from tests.benchmarks import BENCHMARKS, import_benchmark


def contenders() -> dict:
    return import_benchmark("time_to_quality").CONTENDERS


@pytest.mark.parametrize("name", sorted(contenders()))
def test_each_contender_configures_with_its_changes(name):
    method, changes = contenders()[name]
    cfg = configure(method=method, dataset="mnist", device="cpu", steps=10, **changes).to_dict()
    for key, value in changes.items():
        assert cfg[key] == value, (name, key)
    assert cfg["method"] == method


def test_the_readme_recipes_are_contenders():
    readme = (BENCHMARKS.parent / "README.md").read_text()
    named = contenders()
    # dcgan's MNIST defaults are the recipe: the README line and the contender add only the
    # precision, which each resolves on the CPU at hand.
    assert named["dcgan"] == ("dcgan", {"precision": "auto"})
    assert "ganforge train --method dcgan --dataset mnist --precision auto --steps" in readme
    # infogan's defaults hold the EMA the contender names, so the README line need not.
    infogan = configure(method="infogan", dataset="mnist", device="cpu").to_dict()
    assert infogan["ema"] == named["infogan-tuned"][1]["ema"]
    assert named["infogan-tuned"][1]["precision"] == "auto"
    assert "ganforge train --method infogan --dataset mnist --precision auto" in readme


def test_the_older_dcgan_contenders_keep_the_recipes_their_rows_measured():
    named = contenders()
    for name in ("dcgan-allconv", "dcgan-ema", "dcgan-infogan-nets", "dcgan-tuned"):
        cfg = configure(method="dcgan", dataset="mnist", device="cpu", **named[name][1])
        assert cfg.batch_size == 64, name
        assert cfg.lr_d is None, name  # D at the shared rate, 2e-4, as before
    assert configure(method="dcgan", dataset="mnist", **named["dcgan-allconv"][1]).ema is None
