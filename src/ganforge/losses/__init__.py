"""Losses as pure functions over discriminator logits."""

from ganforge.losses.adversarial import bce_d, minimax_g, nonsaturating_g
from ganforge.registry import Registry

# Generator losses selectable with --g-loss.
G_LOSSES = Registry("generator loss")
G_LOSSES.register("nonsaturating")(nonsaturating_g)
G_LOSSES.register("minimax")(minimax_g)

__all__ = ["G_LOSSES", "bce_d", "minimax_g", "nonsaturating_g"]
