"""Kernel Inception Distance (Bińkowski et al., 2018)."""

from __future__ import annotations

import numpy as np
import torch

from ganforge.metrics._arrays import ArrayLike, as_float64_tensor, require_samples
from ganforge.metrics.errors import MetricError

# Upper bound on the float64 scratch memory of one batch of subsets (kernel matrices and
# gathered features), so 100 subsets of 1000 x 2048 never need gigabytes at once.
_MAX_CHUNK_BYTES = 256 * 2**20


def draw_subsets(
    n_real: int, n_fake: int, num_subsets: int, subset_size: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Row indices (num_subsets, subset_size) of the real and the fake subsets KID evaluates.

    Each subset is drawn without replacement by ``np.random.default_rng(seed).choice``: first all
    real subsets, then all fake ones, so a given seed always yields the same subsets.
    """
    rng = np.random.default_rng(seed)
    idx_real = [rng.choice(n_real, subset_size, replace=False) for _ in range(num_subsets)]
    idx_fake = [rng.choice(n_fake, subset_size, replace=False) for _ in range(num_subsets)]
    return np.stack(idx_real), np.stack(idx_fake)


def kernel_inception_distance(
    feat_real: ArrayLike,
    feat_fake: ArrayLike,
    num_subsets: int = 100,
    subset_size: int = 1000,
    seed: int = 0,
    device: str | torch.device | None = None,
) -> tuple[float, float]:
    """(mean, std) over random subsets of the unbiased MMD^2 between real and fake features.

    Bińkowski et al., "Demystifying MMD GANs", ICLR 2018, Sec. 4 / eq. 2: the unbiased MMD^2
    estimator with the cubic polynomial kernel k(x, y) = (x . y / d + 1)^3,

        MMD^2 = 1/(m(m-1)) sum_{i != j} [k(x_i, x_j) + k(y_i, y_j)] - 2/m^2 sum_{i,j} k(x_i, y_j),

    on ``num_subsets`` pairs of subsets of ``subset_size`` samples drawn without replacement
    (:func:`draw_subsets`), as in the reference code, torch-fidelity and StyleGAN2-ADA.
    The std is over subsets (ddof=0). Subsets are evaluated in batches with float64 ``bmm``.
    """
    x = as_float64_tensor(feat_real, "real features", device)
    y = as_float64_tensor(feat_fake, "fake features", x.device)
    if x.shape[1] != y.shape[1]:
        raise MetricError(f"feature widths differ: real {x.shape[1]}, fake {y.shape[1]}")
    if num_subsets < 1:
        raise MetricError(f"num_subsets must be at least 1; got {num_subsets}")
    why = f"KID with subset_size={subset_size}"
    require_samples(subset_size, 2, "samples per subset", "the unbiased MMD estimate")
    require_samples(x.shape[0], subset_size, "real samples", why)
    require_samples(y.shape[0], subset_size, "fake samples", why)
    m, d = subset_size, x.shape[1]
    idx_real, idx_fake = draw_subsets(x.shape[0], y.shape[0], num_subsets, subset_size, seed)
    per_subset_bytes = 8 * (3 * m * m + 2 * m * d)
    chunk = max(1, _MAX_CHUNK_BYTES // per_subset_bytes)
    values = []
    for start in range(0, num_subsets, chunk):
        rows_r = torch.as_tensor(idx_real[start : start + chunk], device=x.device)
        rows_f = torch.as_tensor(idx_fake[start : start + chunk], device=x.device)
        xs, ys = x[rows_r], y[rows_f]  # (c, m, d)
        k_xx = (xs @ xs.transpose(1, 2) / d + 1.0) ** 3
        k_yy = (ys @ ys.transpose(1, 2) / d + 1.0) ** 3
        k_xy = (xs @ ys.transpose(1, 2) / d + 1.0) ** 3
        # The unbiased estimator leaves out the i == j terms of the within-set sums.
        off_xx = k_xx.sum((1, 2)) - k_xx.diagonal(dim1=1, dim2=2).sum(1)
        off_yy = k_yy.sum((1, 2)) - k_yy.diagonal(dim1=1, dim2=2).sum(1)
        mmd2 = (off_xx + off_yy) / (m * (m - 1)) - 2.0 * k_xy.mean((1, 2))
        values.append(mmd2.cpu())
    kid = torch.cat(values).numpy()
    return float(kid.mean()), float(kid.std())
