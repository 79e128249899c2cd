"""The MNIST domain metrics in the metric registry, read from the packaged LeNet's features.

* ``mnist-fid`` -> ``mnist_fid`` (lower is better); reads real stats and fake ``pool``.
* ``mnist-is`` -> ``mnist_is_mean`` (higher is better, at most 10), ``mnist_is_std``; fake
  ``logits``.
* ``mnist-classes`` -> ``mnist_kl_uniform`` (lower), ``mnist_confident_share`` (higher),
  ``mnist_class_histogram`` (10 counts); fake ``logits``.
* ``digits-fid``, ``digits-is``, ``digits-classes``: the same three on the classifier of
  scikit-learn's 8x8 digits at 16 px (``digits_fid``, ``digits_confident_share``, ...).
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


def register_domain_metrics(prefix: str, extractor: str, data: str) -> None:
    """``{prefix}-fid``, ``{prefix}-is`` and ``{prefix}-classes`` on ``extractor``'s features:
    the MNIST LeNet's for MNIST, the digits LeNet's for scikit-learn's 8x8 digits."""

    @register_metric(f"{prefix}-fid", needs_real=("stats",), needs_fake=("stats",),
                     extractor=extractor, better={f"{prefix}_fid": "lower"},
                     min_samples=lambda **_: 2,
                     description=f"FID (Heusel et al., 2017) on the {data} LeNet's features; "
                     "lower is better.")
    def fid(real: Features | None, fake: Features) -> dict[str, float]:
        mu_r, sigma_r = gaussian_statistics(real, "real")
        mu_f, sigma_f = gaussian_statistics(fake, "fake")
        return {f"{prefix}_fid": frechet_distance(mu_r, sigma_r, mu_f, sigma_f)}

    @register_metric(f"{prefix}-is", needs_fake=("logits",), extractor=extractor,
                     better={f"{prefix}_is_mean": "higher"},
                     min_samples=lambda splits=10, **_: splits,
                     description=f"Inception Score formula on the {data} LeNet (classifier "
                     "score, max 10); higher is better.")
    def inception_score(real: Features | None, fake: Features,
                        splits: int = 10) -> dict[str, float]:
        mean, std = classifier_score(_require(fake, "logits", "fake", f"{prefix}-is"),
                                     splits=splits)
        return {f"{prefix}_is_mean": mean, f"{prefix}_is_std": std}

    @register_metric(f"{prefix}-classes", needs_fake=("logits",), extractor=extractor,
                     better={f"{prefix}_kl_uniform": "lower",
                             f"{prefix}_confident_share": "higher"},
                     description=f"Predicted digit histogram on the {data} LeNet, its KL to "
                     "uniform (lower is better) and the confident share.")
    def classes(real: Features | None, fake: Features,
                threshold: float = 0.9) -> dict[str, float | list[int]]:
        logits = _require(fake, "logits", "fake", f"{prefix}-classes")
        counts = class_histogram(logits)
        return {
            f"{prefix}_kl_uniform": kl_to_uniform(counts),
            f"{prefix}_confident_share": confident_share(logits, threshold),
            f"{prefix}_class_histogram": counts.tolist(),
        }


register_domain_metrics("mnist", "mnist-lenet", "MNIST")
register_domain_metrics("digits", "digits-lenet", "scikit-learn digits")


@register_metric("stacked-modes", needs_fake=("modes",), extractor="mnist-lenet-channels",
                 better={"stacked_modes": "higher", "stacked_kl": "lower"})
def stacked_modes(real: Features | None, fake: Features) -> dict[str, float]:
    """Stacked MNIST modes covered of 1,000 and KL to uniform (Metz et al., 2017)."""
    covered, kl = mode_coverage(_require(fake, "modes", "fake", "stacked-modes"))
    return {"stacked_modes": covered, "stacked_kl": kl}
