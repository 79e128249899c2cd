"""2-D Gaussian mixtures for watching mode collapse happen, and the two numbers that measure it.

The settings are the standard ones of the mode-collapse literature:

- ``ring8``: 8 Gaussians, means evenly spaced on a circle of radius 2, std 0.02 (Metz et al.
  2017, "Unrolled GANs", appendix A; the ring of VEEGAN, Srivastava et al. 2017). PacGAN's
  release (Lin et al. 2018) uses radius 1, std 0.01: the same ring at half scale, which the
  metrics below, measured in standard deviations, do not tell apart.
- ``grid25``: 25 Gaussians, means on the grid {-4, -2, 0, 2, 4}^2, std 0.05 (the grid of
  VEEGAN; std as in PacGAN's released 2D-grid configuration).

Mixture weights are uniform and components isotropic.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from ganforge.data.shard import Shard, shard_slice
from ganforge.errors import GanforgeError
from ganforge.registry import Registry

# A toy data set is a function returning its component means [K, 2] and their common std.
TOY_DATASETS: Registry[Callable[[], tuple[torch.Tensor, float]]] = Registry("toy data set")


@TOY_DATASETS.register("ring8")
def ring8() -> tuple[torch.Tensor, float]:
    """8 means at (2 cos(2 pi k / 8), 2 sin(2 pi k / 8)), std 0.02."""
    angles = torch.arange(8, dtype=torch.float64) * (2 * math.pi / 8)
    return (2 * torch.stack([angles.cos(), angles.sin()], 1)).float(), 0.02


@TOY_DATASETS.register("grid25")
def grid25() -> tuple[torch.Tensor, float]:
    """25 means at (-4 + 2i, -4 + 2j) for i, j in 0..4, std 0.05."""
    ticks = torch.arange(-4.0, 5.0, 2.0)
    xs, ys = torch.meshgrid(ticks, ticks, indexing="ij")
    return torch.stack([xs.flatten(), ys.flatten()], 1), 0.05


class ToyMixture:
    """An equal-weight mixture of isotropic 2-D Gaussians, looked up by name in TOY_DATASETS.

    It is an endless data set: the Trainer draws every batch afresh (:class:`PointBatcher`).
    """

    point_dim = 2

    def __init__(self, name: str) -> None:
        self.name = name
        self.centers, self.std = TOY_DATASETS.get(name)()

    @property
    def extent(self) -> float:
        """Half-width of a square plot window that shows every mode with a margin."""
        return float(self.centers.abs().max()) * 1.5

    def __repr__(self) -> str:
        return f"ToyMixture({self.name!r}: {len(self.centers)} modes, std {self.std})"

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n float32 points [n, 2]: a uniformly chosen mean plus std * N(0, I)."""
        component = torch.randint(len(self.centers), (n,), generator=generator)
        noise = torch.randn(n, 2, generator=generator)
        return self.centers[component] + self.std * noise


def mode_metrics(
    points: torch.Tensor, mixture: ToyMixture, min_count: int = 1, radius: float = 3.0
) -> dict[str, float | int | torch.Tensor]:
    """Mode coverage and sample quality in VEEGAN's convention (Srivastava et al. 2017, synthetic
    experiments), which PacGAN's released evaluation code follows:

    - a sample is *high quality* when it lies within ``radius`` (3) standard deviations of its
      nearest mean; ``high_quality`` is their fraction of all samples;
    - a mode is *captured* when at least ``min_count`` (1) high-quality samples have it as their
      nearest mean; ``modes`` is the number captured.

    The papers evaluate 2,500 generated samples. ``mode_counts`` [K] gives the high-quality
    samples per mode, e.g. for a KL divergence from the uniform mode distribution.
    """
    if points.dim() != 2 or points.shape[1] != 2:
        raise GanforgeError(f"mode_metrics expects points [N, 2], got {tuple(points.shape)}")
    if len(points) == 0:
        raise GanforgeError("mode_metrics got no points; generate some samples first")
    centers = mixture.centers.to(points.device, points.dtype)
    distance, nearest = torch.cdist(points, centers).min(1)
    good = distance <= radius * mixture.std
    counts = torch.bincount(nearest[good], minlength=len(centers))
    return {
        "modes": int((counts >= min_count).sum()),
        "high_quality": float(good.float().mean()),
        "mode_counts": counts,
    }


class PointBatcher:
    """Yields {"x": float [B, 2]} batches of fresh samples of ``mixture`` on ``device``.

    The points are drawn on the CPU from the batcher's own generator, so a run's data stream is
    the same on every device and is restored exactly on resume. There are no epochs.
    ``batch_size`` is the global batch: with a ``shard`` (rank, world size) every rank draws all
    of it and keeps its slice, so the stream is the same at every world size.
    """

    epoch = None

    def __init__(
        self, mixture: ToyMixture, batch_size: int, device: torch.device | str, seed: int = 0,
        shard: Shard = (0, 1),
    ) -> None:
        self.mixture = mixture
        self.batch_size = batch_size
        self.device = torch.device(device)
        self.generator = torch.Generator().manual_seed(seed)
        self.rows = shard_slice(batch_size, shard)

    def __iter__(self):
        return self

    def __next__(self) -> dict[str, torch.Tensor]:
        points = self.mixture.sample(self.batch_size, self.generator)[self.rows]
        return {"x": points.to(self.device, non_blocking=True)}

    def state_dict(self) -> dict:
        return {"generator": self.generator.get_state()}

    def load_state_dict(self, state: dict) -> None:
        self.generator.set_state(state["generator"])
