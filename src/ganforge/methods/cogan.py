"""CoGAN (Liu & Tuzel 2016): a joint distribution of two domains learned with no pairs.

Two GANs, one per domain, whose generators share their first layers and whose discriminators
share their last. Each GAN sees only its own domain, yet the shared layers make G1(z) and G2(z)
the same content in the two renderings: on MNIST, a digit and its edge map, or a digit and its
negative (sec. 5). Batches are the two domains of an unpaired data set (``mnist-edges``,
``mnist-negative``, ``digits2mnist`` or ``unpaired:PATH``); B is also shuffled within each batch,
so even paired data gives no correspondence.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ganforge.losses import ADVERSARIAL_LOSSES
from ganforge.methods.base import DataNeeds, Logs, Method, register_method
from ganforge.methods.game import Latent, Loss, Width
from ganforge.models.coupled import CoupledDiscriminator, CoupledGenerator
from ganforge.viz import side_by_side


@register_method("cogan")
class CoGAN(Method):
    """Coupled DCGANs; G shares all but its last layer, D all but its first (the paper's digit
    networks share the same way), Adam 2e-4, beta1 0.5."""

    @dataclass(frozen=True)
    class Settings(Latent, Width, Loss):
        pass

    defaults = {"lr": 2e-4, "beta1": 0.5, "batch_size": 64}
    trains_on = DataNeeds(kinds=("translation",))

    def __init__(self, cfg, spec) -> None:
        super().__init__(cfg, spec)
        channels = (spec.img_channels, spec.b_channels or spec.img_channels)
        s = self.settings
        self.G = CoupledGenerator(s.latent_dim, channels, spec.img_size, s.width)
        self.D = CoupledDiscriminator(channels, spec.img_size, s.width)
        self.objective = ADVERSARIAL_LOSSES.get(s.loss)

    def d_loss(self, batch) -> tuple[torch.Tensor, Logs]:
        a, b = batch["a"], batch["b"]
        b = b[torch.randperm(len(b), device=b.device)]
        with torch.no_grad():
            fake_a, fake_b = self.G(self.sample_latent(len(a)))
        loss_a = self.objective.d(self.D(a, 0), self.D(fake_a, 0))
        loss_b = self.objective.d(self.D(b, 1), self.D(fake_b[: len(b)], 1))
        return loss_a + loss_b, {"d_a": loss_a.detach(), "d_b": loss_b.detach()}

    def g_loss(self, batch) -> tuple[torch.Tensor, Logs]:
        fake_a, fake_b = self.G(self.sample_latent(len(batch["a"])))
        return self.objective.g(self.D(fake_a, 0)) + self.objective.g(self.D(fake_b, 1)), {}

    def sample_pairs(self, n: int, generator=None, G=None) -> tuple[torch.Tensor, torch.Tensor]:
        """``n`` generated pairs (A, B) in [-1, 1], one latent each."""
        return (G or self.G)(self.sample_latent(n, generator))

    @property
    def display_nrow(self) -> int:
        return 8

    display_columns = ("A", "B")

    @property
    def display_title(self) -> str:
        a, b = self.spec.class_names or ("A", "B")
        return f"pairs from one z: A {a}, B {b}"

    def sample(self, n: int, generator=None, G=None, condition=None) -> torch.Tensor:
        """``n`` images: generated pairs side by side, A then B."""
        a, b = self.sample_pairs((n + 1) // 2, generator, G)
        return side_by_side(a, b)[:n]
