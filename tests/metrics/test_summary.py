"""The sample-quality figures `ganforge train` prints on digit data."""

import pytest

from ganforge.inference.sources import load_source
from ganforge.metrics.summary import sample_quality
from ganforge.training import Trainer
from tests.training.test_trainer import config


def test_samples_and_real_test_digits_are_scored_alike(tmp_path, digits):
    run = Trainer(config(tmp_path, "q", steps=2), dataset=digits).fit()
    quality = sample_quality(lambda n: load_source(run, n, seed=0, device="cpu").images,
                             "digits", image_size=16, device="cpu")
    assert quality.prefix == "digits" and quality.n == 2000 and quality.n_test == 297
    assert quality.real["confident_share"] >= 0.95 and quality.real["kl_uniform"] < 0.02
    # Two steps of training: far from the real digits on every figure.
    assert quality.fake["fid"] > 2 * quality.real["fid"]
    assert quality.fake["kl_uniform"] > quality.real["kl_uniform"]
    lines = quality.lines()
    assert "real test digits" in lines[1]
    assert lines[2].split()[-2:] == [f"{quality.fake['confident_share']:.3f}",
                                     f"{quality.real['confident_share']:.3f}"]


def test_data_without_a_digit_classifier_gets_no_summary(tmp_path):
    assert sample_quality(lambda n: pytest.fail("nothing to draw"), "cifar10") is None


@pytest.mark.parametrize("dataset", ["captioned-digits", "mnist"])
def test_digit_data_sets_know_their_classifier(dataset):
    from ganforge.metrics.summary import DIGIT_DATA

    assert DIGIT_DATA[dataset][0] in ("digits", "mnist")
