"""The metric registry: a plain dict from name to :class:`Metric`, filled by a decorator.

Every registered metric has one calling convention, ``metric(real, fake, **options)``, where
``real`` and ``fake`` are mappings of extracted features (``"pool"``, ``"logits"``) and, for a
real set loaded from the statistics cache, ``"mu"`` and ``"sigma"``. It returns a dict of named
floats. ``needs`` tells the caller which of those inputs the metric reads, so that a trainer can
decide whether raw real features must be cached or mean and covariance suffice.
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

    def __call__(self, real: Features | None, fake: Features, **options: Any) -> dict[str, float]:
        return self.fn(real, fake, **options)


METRICS: dict[str, Metric] = {}


def register_metric(
    name: str,
    needs_real: tuple[str, ...] = (),
    needs_fake: tuple[str, ...] = ("pool",),
    description: str = "",
) -> Callable[[MetricFn], MetricFn]:
    """Decorator adding ``fn`` to :data:`METRICS` under ``name``; a duplicate name is an error."""

    def decorate(fn: MetricFn) -> MetricFn:
        if name in METRICS:
            raise MetricError(f"metric {name!r} is registered twice")
        text = description or next(iter((fn.__doc__ or "").strip().splitlines()), "")
        METRICS[name] = Metric(name, fn, tuple(needs_real), tuple(needs_fake), text)
        return fn

    return decorate


def get_metric(name: str) -> Metric:
    """The metric registered as ``name``; MetricError listing the valid names otherwise."""
    try:
        return METRICS[name]
    except KeyError:
        valid = ", ".join(sorted(METRICS)) or "(none registered)"
        raise MetricError(f"unknown metric {name!r}; choose one of: {valid}") from None
