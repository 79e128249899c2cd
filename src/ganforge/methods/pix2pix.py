"""pix2pix (Isola et al. 2017): translation learned from paired images."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ganforge.config import setting
from ganforge.data.spec import DataSpec
from ganforge.errors import GanforgeError
from ganforge.losses.translation import l1_reconstruction
from ganforge.methods.base import DataNeeds, Logs, register_method
from ganforge.methods.translation import Generator, Patch, Translation


@register_method("pix2pix")
class Pix2Pix(Translation):
    """Isola et al. 2017: a U-Net G(a) (dropout as its noise) against a PatchGAN D(a, b) that
    judges each 70x70 patch of the pair; G's loss is the adversarial term + lambda L1(G(a), b),
    lambda 100; Adam 2e-4, beta1 0.5. ``--adversarial-weight 0`` trains the same U-Net on L1
    alone (the paper's baseline: blurrier outputs)."""

    @dataclass(frozen=True)
    class Settings(Patch, Generator):
        l1_weight: float = setting(100.0, "lambda: weight of the L1 distance to the target",
                                   at_least=0)
        adversarial_weight: float = setting(1.0, "weight of the adversarial term (0: L1 alone, "
                                            "no D)", at_least=0)

    trains_on = DataNeeds(kinds=("translation",), pairs=True)

    def __init__(self, cfg, spec: DataSpec) -> None:
        super().__init__(cfg, spec)
        self.G = self.generator(self.settings.generator, spec.img_channels, spec.b_channels)
        if self.settings.adversarial_weight > 0:
            self.D = self.discriminator(spec.img_channels + spec.b_channels)

    def groups(self):
        return ({"D": [self.D], "G": [self.G]} if self.settings.adversarial_weight > 0
                else {"G": [self.G]})

    def translate(self, x, direction="AtoB", G=None):
        self.check_direction(direction)
        if direction == "BtoA":
            raise GanforgeError("pix2pix learns A -> B only; for B -> A train a run with "
                                "--direction BtoA")
        return (G or self.G)(x)

    def d_loss(self, batch) -> tuple[torch.Tensor, Logs]:
        a, b = batch["a"], batch["b"]
        with torch.no_grad():
            fake = self.G(a)
        real_logits = self.D(torch.cat([a, b], 1))
        fake_logits = self.D(torch.cat([a, fake], 1))
        return self.adv_d(real_logits, fake_logits), {}

    def g_loss(self, batch) -> tuple[torch.Tensor, Logs]:
        a, b = batch["a"], batch["b"]
        fake = self.G(a)
        l1 = l1_reconstruction(fake, b)
        loss = self.settings.l1_weight * l1
        logs = {"l1": l1.detach()}
        if self.settings.adversarial_weight > 0:
            adversarial = self.adv_g(self.D(torch.cat([a, fake], 1)))
            loss = loss + self.settings.adversarial_weight * adversarial
            logs["g_adv"] = adversarial.detach()
        return loss, logs
