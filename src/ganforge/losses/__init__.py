"""Losses as pure functions over logits, and penalties over a critic."""

from ganforge.losses.adversarial import (
    bce_d,
    hinge_d,
    hinge_g,
    least_squares_d,
    least_squares_g,
    minimax_g,
    nonsaturating_g,
    relativistic_average_d,
    relativistic_average_g,
    wasserstein_d,
    wasserstein_g,
)
from ganforge.losses.objectives import ADVERSARIAL_LOSSES, AdversarialLoss
from ganforge.losses.penalties import (
    HistoricalAverage,
    clip_weights_,
    gradient_penalty,
    r1_penalty,
)

__all__ = [
    "ADVERSARIAL_LOSSES",
    "AdversarialLoss",
    "HistoricalAverage",
    "bce_d",
    "clip_weights_",
    "gradient_penalty",
    "hinge_d",
    "hinge_g",
    "least_squares_d",
    "least_squares_g",
    "minimax_g",
    "nonsaturating_g",
    "r1_penalty",
    "relativistic_average_d",
    "relativistic_average_g",
    "wasserstein_d",
    "wasserstein_g",
]
