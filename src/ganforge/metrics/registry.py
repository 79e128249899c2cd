"""The metric registry: a plain dict from name to :class:`Metric`, filled by a decorator.

Every registered metric has one calling convention, ``metric(real, fake, **options)``, where
``real`` and ``fake`` are mappings of extracted features (``"pool"``, ``"logits"``) and, for a
real set loaded from the statistics cache, ``"mu"`` and ``"sigma"``. It returns a dict of named
floats (a histogram, such as ``mnist_class_histogram``, is a list of counts). ``needs`` tells
the caller which of those inputs the metric reads, so that a trainer can
decide whether raw real features must be cached or mean and covariance suffice.

``extractor`` names the network whose features the metric reads (a key of
:data:`ganforge.metrics.evaluate.EXTRACTORS`: ``"inception"`` for the standard metrics,
``"mnist-lenet"`` for the MNIST domain metrics). ``better`` says, for each value the metric
returns, whether ``"lower"`` or ``"higher"`` is better (values without a direction, such as a
standard deviation, are left out); the trainer reads it to keep the best checkpoint.
``min_samples(**options)`` is how many images each side needs, so that a caller can refuse a
too-small ``n`` before sampling and extracting anything.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ganforge.metrics.errors import MetricError

Features = Mapping[str, Any]
MetricFn = Callable[..., dict[str, float]]


@dataclass(frozen=True)
class Metric:
    """A registered metric: ``fn(real, fake, **options) -> {name: value}``.

    ``needs_real`` / ``needs_fake`` name the inputs read from each side: ``"stats"`` (``mu`` and
    ``sigma``, or ``pool`` to compute them from), ``"pool"`` (raw features) or ``"logits"``.
    """

    name: str
    fn: MetricFn
    needs_real: tuple[str, ...] = ()
    needs_fake: tuple[str, ...] = ()
    description: str = field(default="", compare=False)
    extractor: str = "inception"
    better: Mapping[str, str] = field(default_factory=dict, compare=False)
    min_samples: Callable[..., int] = field(default=lambda **_: 1, compare=False)

    def __call__(self, real: Features | None, fake: Features, **options: Any) -> dict[str, float]:
        return self.fn(real, fake, **options)


METRICS: dict[str, Metric] = {}


def register_metric(
    name: str,
    needs_real: tuple[str, ...] = (),
    needs_fake: tuple[str, ...] = ("pool",),
    description: str = "",
    extractor: str = "inception",
    better: Mapping[str, str] | None = None,
    min_samples: Callable[..., int] | None = None,
) -> Callable[[MetricFn], MetricFn]:
    """Decorator adding ``fn`` to :data:`METRICS` under ``name``; a duplicate name is an error.

    ``min_samples`` takes the metric's options as keywords (``lambda subset_size=1000, **_:
    subset_size``) and returns how many images per side the metric needs; default 1.
    """

    def decorate(fn: MetricFn) -> MetricFn:
        if name in METRICS:
            raise MetricError(f"metric {name!r} is registered twice")
        bad = {k: v for k, v in (better or {}).items() if v not in ("lower", "higher")}
        if bad:
            raise MetricError(f"metric {name!r}: better must map to 'lower' or 'higher': {bad}")
        text = description or next(iter((fn.__doc__ or "").strip().splitlines()), "")
        METRICS[name] = Metric(
            name, fn, tuple(needs_real), tuple(needs_fake), text, extractor, dict(better or {}),
            min_samples or (lambda **_: 1),
        )
        return fn

    return decorate


def get_metric(name: str) -> Metric:
    """The metric registered as ``name``; MetricError listing the valid names otherwise."""
    try:
        return METRICS[name]
    except KeyError:
        valid = ", ".join(sorted(METRICS)) or "(none registered)"
        raise MetricError(f"unknown metric {name!r}; choose one of: {valid}") from None


def metric_direction(value_name: str) -> str | None:
    """``"lower"`` or ``"higher"`` if some registered metric returns ``value_name``, else None."""
    for metric in METRICS.values():
        if value_name in metric.better:
            return metric.better[value_name]
    return None
