"""The standard metrics, registered under their usual names for the trainer and the CLI.

=========  ===========================================  =====================================
name       returns                                      reads
=========  ===========================================  =====================================
``fid``    ``fid``                                      real stats, fake ``pool``
``is``     ``is_mean``, ``is_std``                      fake ``logits`` (real unused)
``kid``    ``kid_mean``, ``kid_std``                    real and fake ``pool``
``pr``     ``precision``, ``recall``                    real and fake ``pool``
``dc``     ``density``, ``coverage``                    real and fake ``pool``
=========  ===========================================  =====================================

All read Inception-v3 features. The MNIST domain metrics (``mnist-fid``, ``mnist-is``,
``mnist-classes``, ``stacked-modes``) are registered by :mod:`ganforge.metrics.domain_metrics`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ganforge.metrics.errors import MetricError
from ganforge.metrics.frechet import TraceSqrtMethod, feature_statistics, frechet_distance
from ganforge.metrics.inception_score import inception_score
from ganforge.metrics.kid import kernel_inception_distance
from ganforge.metrics.prdc import density_coverage, precision_recall
from ganforge.metrics.registry import Features, register_metric


def _require(features: Features | None, key: str, side: str, metric: str) -> Any:
    if features is None or key not in features:
        raise MetricError(f"{metric} needs {side} {key!r} features; they were not extracted")
    return features[key]


def gaussian_statistics(features: Features | None, side: str) -> tuple[np.ndarray, np.ndarray]:
    """(mu, sigma) from cached statistics if present, else from the raw ``pool`` features."""
    if features is not None and "mu" in features and "sigma" in features:
        return np.asarray(features["mu"]), np.asarray(features["sigma"])
    return feature_statistics(_require(features, "pool", side, "FID"))


@register_metric("fid", needs_real=("stats",), needs_fake=("stats",), better={"fid": "lower"},
                 min_samples=lambda **_: 2)
def fid(
    real: Features | None, fake: Features, method: TraceSqrtMethod = "cholesky"
) -> dict[str, float]:
    """Fréchet Inception Distance (Heusel et al., 2017); lower is better."""
    mu_r, sigma_r = gaussian_statistics(real, "real")
    mu_f, sigma_f = gaussian_statistics(fake, "fake")
    return {"fid": frechet_distance(mu_r, sigma_r, mu_f, sigma_f, method=method)}


@register_metric("is", needs_real=(), needs_fake=("logits",), better={"is_mean": "higher"},
                 min_samples=lambda splits=10, **_: splits)
def is_(real: Features | None, fake: Features, splits: int = 10) -> dict[str, float]:
    """Inception Score (Salimans et al., 2016) of the fake samples; higher is better."""
    mean, std = inception_score(_require(fake, "logits", "fake", "IS"), splits=splits)
    return {"is_mean": mean, "is_std": std}


@register_metric("kid", needs_real=("pool",), needs_fake=("pool",), better={"kid_mean": "lower"},
                 min_samples=lambda subset_size=1000, **_: subset_size)
def kid(
    real: Features | None,
    fake: Features,
    num_subsets: int = 100,
    subset_size: int = 1000,
    seed: int = 0,
) -> dict[str, float]:
    """Kernel Inception Distance (Bińkowski et al., 2018); lower is better."""
    mean, std = kernel_inception_distance(
        _require(real, "pool", "real", "KID"),
        _require(fake, "pool", "fake", "KID"),
        num_subsets=num_subsets,
        subset_size=subset_size,
        seed=seed,
    )
    return {"kid_mean": mean, "kid_std": std}


@register_metric("pr", needs_real=("pool",), needs_fake=("pool",),
                 better={"precision": "higher", "recall": "higher"},
                 min_samples=lambda k=3, **_: k + 1)
def pr(real: Features | None, fake: Features, k: int = 3) -> dict[str, float]:
    """Improved precision and recall (Kynkäänniemi et al., 2019); higher is better."""
    p, r = precision_recall(
        _require(real, "pool", "real", "precision/recall"),
        _require(fake, "pool", "fake", "precision/recall"),
        k=k,
    )
    return {"precision": p, "recall": r}


@register_metric("dc", needs_real=("pool",), needs_fake=("pool",),
                 better={"density": "higher", "coverage": "higher"},
                 min_samples=lambda k=5, **_: k + 1)
def dc(real: Features | None, fake: Features, k: int = 5) -> dict[str, float]:
    """Density and coverage (Naeem et al., 2020); higher is better."""
    d, c = density_coverage(
        _require(real, "pool", "real", "density/coverage"),
        _require(fake, "pool", "fake", "density/coverage"),
        k=k,
    )
    return {"density": d, "coverage": c}
