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
    assert named["dcgan-tuned"][1] == {"arch": "infogan", "lr_g": 1e-3, "ema": 0.99,
                                       "precision": "bf16"}
    assert ("ganforge train --method dcgan --dataset mnist --arch infogan --precision bf16 "
            "--lr-g 1e-3 --ema 0.99") in readme
    # infogan's defaults hold the EMA the contender names, so the README line need not.
    infogan = configure(method="infogan", dataset="mnist", device="cpu").to_dict()
    assert infogan["ema"] == named["infogan-tuned"][1]["ema"]
    assert "ganforge train --method infogan --dataset mnist --precision bf16" in readme
