import math

import pytest
import torch

from ganforge.data.toy import TOY_DATASETS, ToyMixture, mode_metrics
from ganforge.errors import GanforgeError


def test_ring8_centers_are_evenly_spaced_on_a_circle_of_radius_2():
    ring = ToyMixture("ring8")
    assert ring.centers.shape == (8, 2) and ring.std == 0.02
    assert torch.allclose(ring.centers.norm(dim=1), torch.full((8,), 2.0))
    angles = sorted(math.degrees(math.atan2(y, x)) % 360 for x, y in ring.centers.tolist())
    assert all(math.isclose(a, 45 * k, abs_tol=1e-4) for k, a in enumerate(angles))


def test_grid25_centers_cover_the_grid():
    grid = ToyMixture("grid25")
    assert grid.centers.shape == (25, 2) and grid.std == 0.05
    expected = {(x, y) for x in (-4, -2, 0, 2, 4) for y in (-4, -2, 0, 2, 4)}
    assert {tuple(c) for c in grid.centers.tolist()} == expected


def test_registry_lists_the_toy_sets():
    assert TOY_DATASETS.names() == ["grid25", "ring8"]
    with pytest.raises(GanforgeError, match="ring8"):
        ToyMixture("ring9")


@pytest.mark.parametrize("name", ["ring8", "grid25"])
def test_true_samples_cover_every_mode_with_high_quality(name):
    mixture = ToyMixture(name)
    points = mixture.sample(2500, torch.Generator().manual_seed(0))
    assert points.shape == (2500, 2) and points.dtype == torch.float32
    assert torch.equal(points, mixture.sample(2500, torch.Generator().manual_seed(0)))
    metrics = mode_metrics(points, mixture)
    assert metrics["modes"] == len(mixture.centers)
    # P(||noise|| <= 3 std) for a 2-D isotropic Gaussian is 1 - exp(-9/2) = 0.989.
    assert abs(metrics["high_quality"] - (1 - math.exp(-4.5))) < 0.01
    counts = metrics["mode_counts"]
    assert counts.shape == (len(mixture.centers),) and counts.sum() <= 2500
    assert counts.min() > 2500 / len(mixture.centers) / 2  # roughly uniform


def test_a_collapsed_generator_covers_one_mode():
    mixture = ToyMixture("grid25")
    g = torch.Generator().manual_seed(1)
    points = mixture.centers[7] + mixture.std * torch.randn(2500, 2, generator=g)
    metrics = mode_metrics(points, mixture)
    assert metrics["modes"] == 1 and metrics["high_quality"] > 0.97
    assert metrics["mode_counts"].nonzero().flatten().tolist() == [7]


def test_points_between_modes_are_low_quality_and_capture_nothing():
    mixture = ToyMixture("ring8")
    metrics = mode_metrics(torch.zeros(100, 2), mixture)  # the ring's empty centre
    assert metrics == {**metrics, "modes": 0, "high_quality": 0.0}


def test_min_count_threshold():
    mixture = ToyMixture("ring8")
    points = torch.cat([mixture.centers[:1].repeat(3, 1), mixture.centers[1:2].repeat(30, 1)])
    assert mode_metrics(points, mixture)["modes"] == 2
    assert mode_metrics(points, mixture, min_count=20)["modes"] == 1
    with pytest.raises(GanforgeError, match=r"\[N, 2\]"):
        mode_metrics(torch.zeros(5, 3), mixture)
