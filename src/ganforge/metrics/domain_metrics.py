"""The MNIST domain metrics in the metric registry, read from the packaged LeNet's features.

* ``mnist-fid`` -> ``mnist_fid`` (lower is better); reads real stats and fake ``pool``.
* ``mnist-is`` -> ``mnist_is_mean`` (higher is better, at most 10), ``mnist_is_std``; fake
  ``logits``.
* ``mnist-classes`` -> ``mnist_kl_uniform`` (lower), ``mnist_confident_share`` (higher),
  ``mnist_class_histogram`` (10 counts); fake ``logits``.
* ``stacked-modes`` -> ``stacked_modes`` (covered of 1,000; higher), ``stacked_kl`` (lower);
  fake ``modes`` from :class:`~ganforge.metrics.stacked_mnist.ChannelClassifierExtractor`.

The formulas are those of :mod:`ganforge.metrics.domain` (MNIST-FID, classifier score, class
histogram) and :mod:`ganforge.metrics.stacked_mnist` (Stacked MNIST mode count).
"""

from __future__ import annotations

from ganforge.metrics.builtin import _require, gaussian_statistics
from ganforge.metrics.domain import (
    class_histogram,
    classifier_score,
    confident_share,
    kl_to_uniform,
)
from ganforge.metrics.frechet import frechet_distance
from ganforge.metrics.registry import Features, register_metric
from ganforge.metrics.stacked_mnist import mode_coverage


@register_metric("mnist-fid", needs_real=("stats",), needs_fake=("stats",),
                 extractor="mnist-lenet", better={"mnist_fid": "lower"},
                 min_samples=lambda **_: 2)
def mnist_fid(real: Features | None, fake: Features) -> dict[str, float]:
    """FID (Heusel et al., 2017) on the MNIST LeNet's features; lower is better."""
    mu_r, sigma_r = gaussian_statistics(real, "real")
    mu_f, sigma_f = gaussian_statistics(fake, "fake")
    return {"mnist_fid": frechet_distance(mu_r, sigma_r, mu_f, sigma_f)}


@register_metric("mnist-is", needs_fake=("logits",), extractor="mnist-lenet",
                 better={"mnist_is_mean": "higher"}, min_samples=lambda splits=10, **_: splits)
def mnist_is(real: Features | None, fake: Features, splits: int = 10) -> dict[str, float]:
    """Inception Score formula on the MNIST LeNet (classifier score, max 10); higher is better."""
    mean, std = classifier_score(_require(fake, "logits", "fake", "mnist-is"), splits=splits)
    return {"mnist_is_mean": mean, "mnist_is_std": std}


@register_metric("mnist-classes", needs_fake=("logits",), extractor="mnist-lenet",
                 better={"mnist_kl_uniform": "lower", "mnist_confident_share": "higher"})
def mnist_classes(
    real: Features | None, fake: Features, threshold: float = 0.9
) -> dict[str, float | list[int]]:
    """Predicted digit histogram, its KL to uniform (lower is better) and the confident share."""
    logits = _require(fake, "logits", "fake", "mnist-classes")
    counts = class_histogram(logits)
    return {
        "mnist_kl_uniform": kl_to_uniform(counts),
        "mnist_confident_share": confident_share(logits, threshold),
        "mnist_class_histogram": counts.tolist(),
    }


@register_metric("stacked-modes", needs_fake=("modes",), extractor="mnist-lenet-channels",
                 better={"stacked_modes": "higher", "stacked_kl": "lower"})
def stacked_modes(real: Features | None, fake: Features) -> dict[str, float]:
    """Stacked MNIST modes covered of 1,000 and KL to uniform (Metz et al., 2017)."""
    covered, kl = mode_coverage(_require(fake, "modes", "fake", "stacked-modes"))
    return {"stacked_modes": covered, "stacked_kl": kl}
