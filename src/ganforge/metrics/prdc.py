"""k-NN manifold metrics: precision/recall (Kynkäänniemi et al., 2019), density/coverage
(Naeem et al., 2020).

Both model a feature set as the union of balls around its samples, each ball's radius being the
distance to the sample's k-th nearest neighbour in the same set. Distances are computed with
``torch.cdist`` in float64, in chunks of rows, so N x M distance matrices never exist whole.
"""

from __future__ import annotations

import torch

from ganforge.metrics._arrays import ArrayLike, as_float64_tensor, require_samples
from ganforge.metrics.errors import MetricError

# Largest number of float64 distances held at once (2**25 x 8 bytes = 256 MiB).
_MAX_CHUNK_ELEMENTS = 2**25


def _chunk_rows(n_cols: int) -> int:
    return max(1, _MAX_CHUNK_ELEMENTS // max(n_cols, 1))


def knn_radii(features: torch.Tensor, k: int) -> torch.Tensor:
    """Distance from each sample to its k-th nearest neighbour in the same set, self excluded."""
    n = features.shape[0]
    radii = []
    step = _chunk_rows(n)
    for start in range(0, n, step):
        rows = features[start : start + step]
        dist = torch.cdist(rows, features)
        # Force the self-distance to exactly 0 (the matmul-based cdist can leave ~1e-8), so that
        # the (k+1)-th smallest value is the k-th neighbour, as in the reference implementations.
        local = torch.arange(rows.shape[0], device=rows.device)
        dist[local, local + start] = 0.0
        radii.append(dist.kthvalue(k + 1, dim=1).values)
    return torch.cat(radii)


def _prepare(
    real: ArrayLike, fake: ArrayLike, device: str | torch.device | None
) -> tuple[torch.Tensor, torch.Tensor]:
    x = as_float64_tensor(real, "real features", device)
    y = as_float64_tensor(fake, "fake features", x.device)
    if x.shape[1] != y.shape[1]:
        raise MetricError(f"feature widths differ: real {x.shape[1]}, fake {y.shape[1]}")
    return x, y


def _fraction_inside(probes: torch.Tensor, centres: torch.Tensor, radii: torch.Tensor) -> float:
    """Share of ``probes`` within distance <= radius of at least one of ``centres``."""
    inside = 0
    step = _chunk_rows(centres.shape[0])
    for start in range(0, probes.shape[0], step):
        dist = torch.cdist(probes[start : start + step], centres)
        inside += int((dist <= radii[None, :]).any(dim=1).sum())
    return inside / probes.shape[0]


def precision_recall(
    real: ArrayLike, fake: ArrayLike, k: int = 3, device: str | torch.device | None = None
) -> tuple[float, float]:
    """Improved precision and recall (Kynkäänniemi et al., NeurIPS 2019, Sec. 2, eqs. 1-2).

    f(phi, Phi) = 1 if ||phi - phi'|| <= ||phi' - NN_k(phi', Phi)|| for some phi' in Phi;
    precision = mean over fake samples of f(fake, real), recall = mean over real samples of
    f(real, fake). ``<=`` as in the authors' and StyleGAN2-ADA's code; k=3 is the paper's choice.
    """
    x, y = _prepare(real, fake, device)
    if k < 1:
        raise MetricError(f"k must be at least 1; got {k}")
    require_samples(x.shape[0], k + 1, "real samples", f"k-NN radii with k={k}")
    require_samples(y.shape[0], k + 1, "fake samples", f"k-NN radii with k={k}")
    precision = _fraction_inside(y, x, knn_radii(x, k))
    recall = _fraction_inside(x, y, knn_radii(y, k))
    return precision, recall


def density_coverage(
    real: ArrayLike, fake: ArrayLike, k: int = 5, device: str | torch.device | None = None
) -> tuple[float, float]:
    """Density and coverage (Naeem et al., "Reliable Fidelity and Diversity Metrics for
    Generative Models", ICML 2020, eqs. 3-4), around the *real* samples only.

    density = 1/(k M) sum_j sum_i 1[Y_j in B(X_i, NND_k(X_i))],
    coverage = 1/N sum_i 1[exists j: Y_j in B(X_i, NND_k(X_i))],
    with X the N real and Y the M fake samples. Ball membership is strict (``<``), as in the
    authors' code; k=5 is the paper's choice.
    """
    x, y = _prepare(real, fake, device)
    if k < 1:
        raise MetricError(f"k must be at least 1; got {k}")
    require_samples(x.shape[0], k + 1, "real samples", f"k-NN radii with k={k}")
    require_samples(y.shape[0], 1, "fake samples", "density and coverage")
    radii = knn_radii(x, k)
    hits = 0
    nearest_fake = torch.full((x.shape[0],), float("inf"), dtype=x.dtype, device=x.device)
    step = _chunk_rows(x.shape[0])
    for start in range(0, y.shape[0], step):
        dist = torch.cdist(y[start : start + step], x)  # (fake chunk, real)
        hits += int((dist < radii[None, :]).sum())
        nearest_fake = torch.minimum(nearest_fake, dist.min(dim=0).values)
    density = hits / (k * y.shape[0])
    coverage = float((nearest_fake < radii).double().mean())
    return density, coverage
