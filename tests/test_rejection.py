"""Generating with D's help: discriminator rejection sampling and the top-P filter keep exactly
the candidates their rule accepts."""

import math

import pytest
import torch

from ganforge.errors import GanforgeError
from ganforge.inference.rejection import (
    Calibration,
    DFilter,
    DiscriminatorFilter,
    drs_accept,
)


class Stub:
    """A method whose samples are seeded noise images and whose D scores their mean pixel."""

    D = object()
    device = "cpu"

    def sample_condition(self, n, generator=None):
        return None

    def sample(self, n, generator=None, condition=None):
        return torch.randn(n, 1, 4, 4, generator=generator)

    def discriminate(self, x, c=None):
        return 3 * x.mean(dim=(1, 2, 3))


def test_drs_accept_is_the_papers_rule_written_out():
    logits = torch.tensor([-2.0, -0.5, 0.0, 0.7, 1.3, 2.0])
    uniform = torch.tensor([0.1, 0.9, 0.5, 0.3, 0.8, 0.05])
    max_logit, eps = 2.5, 1e-6
    f = [d - max_logit - math.log(1 - math.exp(d - max_logit - eps)) for d in logits.tolist()]
    gamma = torch.quantile(torch.tensor(f, dtype=torch.float64), 0.95).item()
    expected = [u < 1 / (1 + math.exp(-(fx - gamma)))
                for u, fx in zip(uniform.tolist(), f, strict=True)]
    assert drs_accept(logits, max_logit, uniform, 95, eps).tolist() == expected
    assert 0 < sum(expected) < len(expected)  # the rule both keeps and rejects here


def test_rejection_keeps_exactly_the_candidates_the_rule_accepts():
    chooser = DiscriminatorFilter(Stub(), DFilter.parse("drs"), batch_size=50)
    kept = chooser.sample(30, seed=3)
    # The same draws by hand: a burn-in batch, then candidates and their uniforms in turn.
    g = torch.Generator().manual_seed(3)
    max_logit = float(Stub().discriminate(Stub().sample(50, g)).max())
    expected, drawn = [], 0
    while len(expected) < 30:
        x = Stub().sample(50, g)
        logits = Stub().discriminate(x)
        max_logit = max(max_logit, float(logits.max()))
        accepted = drs_accept(logits, max_logit, torch.rand(50, generator=g))
        expected += list(x[accepted])
        drawn += 50
    assert torch.equal(kept, torch.stack(expected[:30]))
    assert chooser.report.candidates == drawn
    assert chooser.report.accepted == len(expected) < drawn
    # What D liked is kept: the kept images score higher than the candidates on average.
    assert Stub().discriminate(kept).mean() > 0.2


def test_top_filter_keeps_the_best_share_by_ds_score():
    chooser = DiscriminatorFilter(Stub(), DFilter.parse("top:10%"), batch_size=100)
    kept = chooser.sample(10, seed=0)
    g = torch.Generator().manual_seed(0)
    Stub().sample(100, g)  # the burn-in batch
    x = Stub().sample(100, g)
    best = Stub().discriminate(x).argsort(descending=True)[:10].sort().values
    assert torch.equal(kept, x[best])


def test_calibration_recovers_a_logistic_scale_and_shift():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(20_000, generator=g) * 3
    p = torch.sigmoid(0.5 * logits - 1.0)  # the truth: a = 0.5, b = -1
    is_real = torch.rand(20_000, generator=g) < p
    fit = Calibration.fit(logits[is_real], logits[~is_real])
    assert fit.a == pytest.approx(0.5, abs=0.05) and fit.b == pytest.approx(-1.0, abs=0.1)


@pytest.mark.parametrize("text", ["top", "top:0%", "top:150%", "drs2", "best:10"])
def test_bad_filters_are_refused_in_one_line(text):
    with pytest.raises(GanforgeError, match="unknown --d-filter.*drs.*top:P%"):
        DFilter.parse(text)


def test_a_filter_that_accepts_too_little_stops_with_a_message():
    chooser = DiscriminatorFilter(Stub(), DFilter.parse("top:1%"), batch_size=100,
                                  max_candidates_per_sample=2)
    with pytest.raises(GanforgeError, match="too few"):
        chooser.sample(10)


def test_sample_d_filter_on_a_trained_run(tmp_path, digits, capsys):
    from ganforge.cli import main
    from ganforge.training import Trainer
    from tests.methods.test_methods import tiny_config

    run_dir = Trainer(tiny_config("dcgan", tmp_path), dataset=digits).fit()
    out = tmp_path / "drs.png"
    assert main(["sample", str(run_dir), "--d-filter", "drs", "--n", "16",
                 "--out", str(out)]) == 0
    assert out.exists() and "that D accepted" in capsys.readouterr().out
    assert main(["sample", str(run_dir), "--d-filter", "drs", "--interpolate", "4"]) == 2
    assert "does not combine with --interpolate" in capsys.readouterr().err


def test_sample_writes_an_npz_that_eval_reads_and_a_folder_of_pngs(tmp_path, digits, capsys):
    from ganforge.cli import main
    from ganforge.metrics.sources import load_images
    from ganforge.training import Trainer
    from tests.methods.test_methods import tiny_config

    run_dir = Trainer(tiny_config("dcgan", tmp_path), dataset=digits).fit()
    npz = tmp_path / "samples.npz"
    assert main(["sample", str(run_dir), "--n", "20", "--out", str(npz)]) == 0
    images = load_images(npz).images
    assert images.shape == (20, 1, 16, 16) and images.dtype == torch.uint8
    folder = tmp_path / "pngs"
    assert main(["sample", str(run_dir), "--n", "5", "--d-filter", "top:50%",
                 "--out", f"{folder}/"]) == 0
    assert sorted(p.name for p in folder.iterdir()) == [f"{i}.png" for i in range(5)]
    assert main(["sample", str(run_dir), "--interpolate", "3", "--out", str(npz)]) == 2
    assert "writes plain samples" in capsys.readouterr().err
