"""Stacked MNIST (data.stacked_mnist, the stacked-mnist data set) and its mode-count metric."""

import math

import numpy as np
import pytest
import torch

from ganforge.data import DATASETS, load_dataset
from ganforge.data.stacked_mnist import stack_digits
from ganforge.metrics.errors import MetricError
from ganforge.metrics.evaluate import evaluate
from ganforge.metrics.stacked_mnist import (
    ChannelClassifierExtractor,
    expected_coverage,
    mode_coverage,
)
from tests.conftest import SHARED_DATA, needs_mnist


def test_stack_digits_draws_each_channel_independently_and_labels_the_mode():
    # 200 "digits" whose pixels all hold their own index, so each channel says where it came from.
    source = torch.arange(200, dtype=torch.uint8)[:, None, None, None].expand(200, 1, 4, 4)
    labels = torch.arange(200) % 10
    data = stack_digits(source.contiguous(), labels, n=500, seed=7)
    assert data.images.shape == (500, 3, 4, 4) and data.images.dtype == torch.uint8
    assert data.num_classes == 1000 and data.class_names[7] == "007"
    picked = data.images[:, :, 0, 0].long()  # [500, 3] source indices
    assert (data.images == picked[:, :, None, None]).all()
    expected = 100 * labels[picked[:, 0]] + 10 * labels[picked[:, 1]] + labels[picked[:, 2]]
    assert torch.equal(data.labels, expected)
    # Channels are not copies of one another, and the seed fixes the draw.
    assert (picked[:, 0] != picked[:, 1]).float().mean() > 0.9
    assert torch.equal(stack_digits(source.contiguous(), labels, 500, seed=7).images, data.images)
    assert not torch.equal(stack_digits(source.contiguous(), labels, 500, seed=8).images,
                           data.images)


def test_mode_coverage_counts_modes_and_kl_to_uniform():
    assert mode_coverage(torch.arange(1000)) == (1000, pytest.approx(0.0, abs=1e-12))
    covered, kl = mode_coverage(torch.full((26_000,), 123))
    assert covered == 1 and kl == pytest.approx(math.log(1000))
    covered, kl = mode_coverage(np.repeat(np.arange(10), 5))  # 10 modes, equally often
    assert covered == 10 and kl == pytest.approx(math.log(100))
    assert expected_coverage(26_000) == pytest.approx(1000, abs=1e-6)
    assert expected_coverage(1000) == pytest.approx(1000 * (1 - (1 - 1e-3) ** 1000))
    with pytest.raises(MetricError, match=r"integers in \[0, 1000\)"):
        mode_coverage(torch.tensor([1000]))


def test_stacked_mnist_is_registered_with_default_size():
    from ganforge.data import DEFAULT_IMAGE_SIZE

    assert "stacked-mnist" in DATASETS and DEFAULT_IMAGE_SIZE["stacked-mnist"] == 28


@pytest.fixture(scope="module")
def stacked_test():
    return load_dataset("stacked-mnist", data_dir=SHARED_DATA, split="test")


@needs_mnist
def test_stacked_mnist_data_set_is_deterministic_and_covers_all_modes(stacked_test):
    assert stacked_test.images.shape == (10_000, 3, 28, 28)
    assert torch.equal(
        load_dataset("stacked-mnist", data_dir=SHARED_DATA, split="test").images[:50],
        stacked_test.images[:50])
    # With MNIST's (nearly uniform) digit frequencies 10,000 draws hit ~999.95 of 1,000 modes.
    covered, kl = mode_coverage(stacked_test.labels)
    assert covered >= 995 and kl < 0.1


@needs_mnist
def test_real_stacked_mnist_covers_the_modes_a_collapsed_generator_does_not(stacked_test):
    images, labels = stacked_test.images[:2000], stacked_test.labels[:2000]
    classified = ChannelClassifierExtractor().features(images)["modes"]
    assert (classified == labels).float().mean() > 0.97  # 99.5% per channel, cubed
    values = evaluate(images, None, "stacked-modes", cache_dir=False,
                      extractors={"mnist-lenet-channels": _FixedModes(classified)})
    # 2,000 uniform draws cover 1000 (1 - 0.999^2000) = 864.8 modes on average (sd ~ 10).
    assert abs(values["stacked_modes"] - expected_coverage(2000)) < 40
    assert values["stacked_kl"] < 0.5
    collapsed = evaluate(images[:1].expand(300, -1, -1, -1), None, "stacked-modes",
                         cache_dir=False)
    assert collapsed == {"stacked_modes": 1, "stacked_kl": pytest.approx(math.log(1000))}


def test_stacked_modes_needs_three_channels():
    with pytest.raises(MetricError, match="needs 3-channel Stacked MNIST images"):
        evaluate(torch.zeros(5, 1, 28, 28, dtype=torch.uint8), None, "stacked-modes",
                 cache_dir=False)


class _FixedModes:
    """An extractor returning precomputed modes, so the test classifies the images only once."""

    name, hash = "fixed", "fixed"

    def __init__(self, modes: torch.Tensor) -> None:
        self.modes = modes

    def features(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"modes": self.modes[: len(images)]}
