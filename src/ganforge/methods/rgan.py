"""The relativistic GAN (Jolicoeur-Martineau 2018, "The relativistic discriminator: a key element
missing from standard GAN"): D estimates how much more real a real image is than a fake one.

Also the worked example of CONTRIBUTING.md: a method is this one file. It declares its settings
(the GAN game's knobs but the objective, which it brings itself, and its own ``--relativism``),
its defaults and the data it trains on, registers itself, and plays the GAN game of
:class:`ganforge.methods.gan.GAN` with its own objective.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ganforge.config import setting
from ganforge.losses import ADVERSARIAL_LOSSES, AdversarialLoss
from ganforge.methods.base import register_method
from ganforge.methods.game import (
    Attention,
    Augment,
    Backbone,
    Clip,
    DNorm,
    FeatureMatching,
    GradientPenalty,
    HistoricalAveraging,
    MinibatchDiscrimination,
    R1Penalty,
)
from ganforge.methods.gan import GAN


def relativistic_d(real_logits: torch.Tensor, fake_logits: torch.Tensor,
                   real_target: float = 1.0) -> torch.Tensor:
    """RSGAN's discriminator loss (sec. 4.1, eq. 5 with f = -log sigmoid): each real image is
    judged against a fake one, -E[log sigmoid(C(x_r) - C(x_f))]. (``real_target`` is the GAN
    game's smoothing hook, which a relativistic objective does not have.)"""
    return F.softplus(-(real_logits - fake_logits)).mean()


def relativistic_g(fake_logits: torch.Tensor, real_logits: torch.Tensor) -> torch.Tensor:
    """RSGAN's generator loss (sec. 4.1): the discriminator's with real and fake swapped,
    -E[log sigmoid(C(x_f) - C(x_r))]; G also gains by making real data look less real."""
    return F.softplus(-(fake_logits - real_logits)).mean()


OBJECTIVES = {
    "paired": AdversarialLoss("relativistic-paired", relativistic_d, relativistic_g,
                              g_needs_real=True),
    # RaSGAN (sec. 4.3): against the batch's average of the other kind, the GAN family's
    # --loss relativistic.
    "average": ADVERSARIAL_LOSSES.get("relativistic"),
}


@register_method("rgan")
class RelativisticGAN(GAN):
    """Jolicoeur-Martineau 2018: the relativistic standard GAN (RSGAN, ``--relativism paired``,
    the default) or its relativistic average form (RaSGAN, ``average``), on the DCGAN backbone
    with the paper's Adam 2e-4, betas (0.5, 0.999). Every other knob of the game applies."""

    @dataclass(frozen=True)
    class Settings(Augment, HistoricalAveraging, FeatureMatching, R1Penalty, GradientPenalty,
                   Clip, MinibatchDiscrimination, DNorm, Attention, Backbone):
        relativism: str = setting("paired", "what D compares each image with: a random image of "
                                  "the other kind (paired: RSGAN) or the batch's average of "
                                  "them (average: RaSGAN)", choices=tuple(OBJECTIVES))

    defaults = {"arch": "dcgan"}

    def adversarial_loss(self) -> AdversarialLoss:
        return OBJECTIVES[self.settings.relativism]
