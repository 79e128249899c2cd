"""How a generator of the 2-D toy mixtures covers their modes: modes captured, the share of
high-quality points and the KL divergence from uniform of the captured modes."""

from __future__ import annotations

import math
from typing import Any

import torch

from ganforge.data import ToyMixture, mode_metrics
from ganforge.metrics.domain import kl_to_uniform

# What the toy mixtures are evaluated on (mode_metrics), and which direction is better.
POINT_METRICS = {"modes": "higher", "high_quality": "higher", "mode_kl": "lower"}


def point_metrics(points: torch.Tensor, mixture: ToyMixture) -> dict[str, Any]:
    """The values of ``POINT_METRICS`` for generated points [N, 2] of ``mixture``."""
    found = mode_metrics(points.detach().float().cpu(), mixture)
    counts = found["mode_counts"]
    return {"modes": found["modes"], "high_quality": found["high_quality"],
            # Of the high-quality points' modes; nan when no point is near any mode.
            "mode_kl": kl_to_uniform(counts) if counts.sum() > 0 else math.nan}
