"""Input checks shared by the metrics: every metric takes numpy arrays or torch tensors."""

from __future__ import annotations

import numpy as np
import torch

from ganforge.metrics.errors import MetricError

ArrayLike = np.ndarray | torch.Tensor


def _as_float64(x: ArrayLike, name: str, ndim: int, shape_name: str) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().to("cpu", torch.float64).numpy()
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != ndim:
        raise MetricError(f"{name} must be a {shape_name}; got shape {x.shape}")
    if not np.isfinite(x).all():
        raise MetricError(f"{name} contain NaN or inf values; the generator may have diverged")
    return x


def as_float64_matrix(x: ArrayLike, name: str) -> np.ndarray:
    """Return ``x`` as a finite float64 numpy array of shape (N, D), or raise MetricError."""
    return _as_float64(x, name, 2, "2-D array (samples, features)")


def as_float64_vector(x: ArrayLike, name: str) -> np.ndarray:
    """Return ``x`` as a finite float64 numpy array of shape (D,), or raise MetricError."""
    return _as_float64(x, name, 1, "1-D vector")


def as_float64_tensor(x: ArrayLike, name: str, device: torch.device | str | None) -> torch.Tensor:
    """Return ``x`` as a finite float64 torch tensor of shape (N, D) on ``device``."""
    if isinstance(x, torch.Tensor):
        t = x.detach().to(device or x.device, torch.float64)
    else:
        t = torch.as_tensor(np.asarray(x), dtype=torch.float64, device=device)
    if t.ndim != 2:
        raise MetricError(
            f"{name} must be a 2-D array (samples, features); got shape {tuple(t.shape)}"
        )
    if not bool(torch.isfinite(t).all()):
        raise MetricError(f"{name} contain NaN or inf values; the generator may have diverged")
    return t


def require_samples(n: int, needed: int, what: str, why: str) -> None:
    """Raise MetricError unless ``n >= needed``, naming how many samples are needed and why."""
    if n < needed:
        raise MetricError(f"{why} needs at least {needed} {what}, got {n}")
