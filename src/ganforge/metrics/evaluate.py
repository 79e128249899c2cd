"""Run registered metrics on sets of images.

:class:`Evaluator` takes uint8 images [N, C, H, W], runs each feature network the chosen
metrics need (built once, lazily), reads real-data statistics from the disk cache
(:mod:`ganforge.metrics.cache`, keyed by the data's identity and content digest, the number of
images, their size and the extractor's weights hash) and returns the metrics' values.
:func:`evaluate` is the one-call form. :mod:`ganforge.metrics.sources` turns run directories,
image folders, ``.npz`` files and data sets into such images; ``ganforge eval`` and the Trainer's
periodic evaluation are built on the two.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ganforge.metrics.cache import cached_statistics, default_cache_dir, statistics_key
from ganforge.metrics.errors import MetricError
from ganforge.metrics.frechet import feature_statistics
from ganforge.metrics.registry import METRICS, Metric, get_metric
from ganforge.metrics.sources import take


def _inception(device: torch.device) -> Any:
    from ganforge.metrics.extractor import InceptionExtractor

    return InceptionExtractor(device=device)


def _mnist_lenet(device: torch.device) -> Any:
    from ganforge.metrics.domain import MNISTClassifierExtractor

    return MNISTClassifierExtractor(device=device)


def _digits_lenet(device: torch.device) -> Any:
    from ganforge.metrics.domain import DigitsClassifierExtractor

    return DigitsClassifierExtractor(device=device)


def _mnist_lenet_channels(device: torch.device) -> Any:
    from ganforge.metrics.stacked_mnist import ChannelClassifierExtractor

    return ChannelClassifierExtractor(device=device)


# Feature networks by the name a metric registers under ``extractor``: device -> extractor.
EXTRACTORS: dict[str, Callable[[torch.device], Any]] = {
    "inception": _inception,
    "mnist-lenet": _mnist_lenet,
    "digits-lenet": _digits_lenet,
    "mnist-lenet-channels": _mnist_lenet_channels,
}

# Metrics ``ganforge eval`` and ``--eval-every`` use when none are named, by data set.
_DEFAULT_METRICS = {
    "digits": "digits-fid,digits-classes",
    "mnist": "mnist-fid,mnist-is",
    "fake": "mnist-fid,mnist-is",
    "captioned-digits": "digits-fid,digits-classes",
    "captioned-mnist": "mnist-fid,mnist-is",
    "stacked-mnist": "stacked-modes",
}


def default_metrics(dataset: str | None) -> str:
    """The metrics for a data set when none are chosen: MNIST domain metrics for digit data sets
    (the packaged LeNet needs no download), ``stacked-modes`` for Stacked MNIST, else ``fid``."""
    return _DEFAULT_METRICS.get(dataset or "", "fid")


def parse_metrics(names: str | Sequence[str]) -> list[Metric]:
    """Metrics from ``"fid,kid"`` or ``["fid", "kid"]``; unknown names list the valid ones."""
    parts = names.split(",") if isinstance(names, str) else list(names)
    unique = list(dict.fromkeys(p.strip() for p in parts if p.strip()))
    if not unique:
        raise MetricError(f"no metrics given; choose from: {', '.join(sorted(METRICS))}")
    return [get_metric(name) for name in unique]


def check_sample_counts(
    metrics: Sequence[Metric],
    n_fake: int,
    n_real: int | None = None,
    options: Mapping[str, Mapping[str, Any]] | None = None,
) -> None:
    """MetricError naming the metric and the count it needs when a side has too few images."""
    options = options or {}
    for metric in metrics:
        need = metric.min_samples(**options.get(metric.name, {}))
        if n_fake < need:
            raise MetricError(
                f"metric {metric.name} needs at least {need} generated images, got {n_fake}; "
                f"evaluate with --n {need} or more"
            )
        if metric.needs_real and n_real is not None and n_real < need:
            raise MetricError(
                f"metric {metric.name} needs at least {need} real images, got {n_real}; "
                "use a larger real set"
            )


def images_digest(images: torch.Tensor) -> str:
    """sha256 (hex prefix) of the shape and bytes of uint8 ``images``: the data's identity."""
    x = images.detach().to("cpu").contiguous()
    h = hashlib.sha256(f"{tuple(x.shape)}|{x.dtype}|".encode())
    h.update(x.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()[:32]


class Evaluator:
    """Computes ``metrics`` of generated images against real ones.

    ``extractors`` overrides networks by name (e.g. ``{"inception": InceptionExtractor(
    model=random_net)}`` in tests); the others are built on first use on ``device``.
    ``options`` holds per-metric keyword arguments, e.g. ``{"kid": {"subset_size": 100}}``.
    With ``cache_dir`` (default: :func:`~ganforge.metrics.cache.default_cache_dir`; ``False``
    turns caching off) real-data statistics are read from and written to disk.
    """

    def __init__(
        self,
        metrics: str | Sequence[str],
        device: str | torch.device = "cpu",
        cache_dir: str | Path | None | bool = None,
        extractors: Mapping[str, Any] | None = None,
        options: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        self.metrics = parse_metrics(metrics)
        self.device = torch.device(device)
        self.cache_dir = None if cache_dir is False else Path(cache_dir or default_cache_dir())
        self._extractors: dict[str, Any] = dict(extractors or {})
        self.options = {name: dict(opts) for name, opts in (options or {}).items()}
        unknown = sorted(set(self.options) - {m.name for m in self.metrics})
        if unknown:
            raise MetricError(f"options given for metrics not evaluated: {', '.join(unknown)}")

    @property
    def needs_real(self) -> bool:
        return any(m.needs_real for m in self.metrics)

    def check_sample_counts(self, n_fake: int, n_real: int | None = None) -> None:
        check_sample_counts(self.metrics, n_fake, n_real, self.options)

    def extractor(self, name: str) -> Any:
        if name not in self._extractors:
            if name not in EXTRACTORS:
                raise MetricError(f"unknown feature extractor {name!r}; choose one of: "
                                  f"{', '.join(sorted(EXTRACTORS))}")
            self._extractors[name] = EXTRACTORS[name](self.device)
        return self._extractors[name]

    def extractor_hashes(self) -> dict[str, str]:
        """``{name: weights hash}`` of every extractor the metrics use (builds them)."""
        return {m.extractor: self.extractor(m.extractor).hash for m in self.metrics}

    def real_features(self, real: torch.Tensor, real_id: str = "images") -> dict[str, dict]:
        """What the metrics read from ``real``, per extractor: ``mu``/``sigma`` for ``"stats"``,
        raw arrays for the rest; read from or written to the cache under a key made of
        ``real_id`` (say ``"mnist:train:28px"``), the images' digest, count and shape, and the
        extractor's name and hash."""
        needs: dict[str, set[str]] = {}
        for metric in self.metrics:
            needs.setdefault(metric.extractor, set()).update(metric.needs_real)
        digest = images_digest(real) if self.cache_dir is not None else ""
        out = {}
        for name, keys in needs.items():
            if not keys:
                continue
            extractor = self.extractor(name)
            stats = {"mu", "sigma"} if "stats" in keys else set()
            required = sorted((keys - {"stats"}) | stats)

            def compute(extractor: Any = extractor, keys: set[str] = keys) -> dict[str, Any]:
                features = extractor.features(real)
                arrays = {k: v for k, v in features.items() if k in keys}
                if "stats" in keys:
                    arrays["mu"], arrays["sigma"] = feature_statistics(features["pool"])
                return arrays

            if self.cache_dir is None:
                out[name] = {k: np.asarray(v) for k, v in compute().items()}
                continue
            key = statistics_key(real_id, extractor.hash, network=name, digest=digest,
                                 num_images=len(real), shape=list(real.shape[1:]))
            out[name] = cached_statistics(key, compute, self.cache_dir, required=required)
        return out

    def compute(
        self, fake: torch.Tensor, real_features: Mapping[str, Mapping[str, Any]] | None = None
    ) -> dict[str, Any]:
        """The metrics' values for ``fake`` against features from :meth:`real_features`."""
        missing = [m.name for m in self.metrics if m.needs_real and real_features is None]
        if missing:
            raise MetricError(f"{', '.join(missing)} compare with real images; give a real set "
                              "(--real)")
        self.check_sample_counts(len(fake))
        fake_features = {
            name: self.extractor(name).features(fake)
            for name in dict.fromkeys(m.extractor for m in self.metrics)
        }
        values: dict[str, Any] = {}
        for metric in self.metrics:
            real = real_features.get(metric.extractor) if real_features is not None else None
            values.update(metric(real, fake_features[metric.extractor],
                                 **self.options.get(metric.name, {})))
        return values

    def __call__(
        self, fake: torch.Tensor, real: torch.Tensor | None = None, real_id: str = "images"
    ) -> dict[str, Any]:
        self.check_sample_counts(len(fake), len(real) if real is not None else None)
        features = self.real_features(real, real_id) if real is not None else None
        return self.compute(fake, features)


def evaluate(
    fake: torch.Tensor,
    real: torch.Tensor | None,
    metrics: str | Sequence[str],
    n: int | None = None,
    device: str | torch.device = "cpu",
    cache_dir: str | Path | None | bool = None,
    *,
    real_id: str = "images",
    extractors: Mapping[str, Any] | None = None,
    options: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """``metrics`` of uint8 images ``fake`` [N, C, H, W] against ``real`` (None when no metric
    reads real data), on ``n`` images of each (a seeded subset; all when None)."""
    evaluator = Evaluator(metrics, device, cache_dir, extractors, options)
    real = take(real, n) if real is not None else None
    return evaluator(take(fake, n), real, real_id)
