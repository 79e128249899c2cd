"""CycleGAN (Zhu et al. 2017): translation learned from unpaired domains by cycle consistency;
DualGAN (Yi et al. 2017) and DiscoGAN (Kim et al. 2017) are its presets."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ganforge.config import setting
from ganforge.data.spec import DataSpec
from ganforge.losses.translation import ImagePool, cycle_loss, identity_loss
from ganforge.methods.base import Logs, register_method
from ganforge.methods.translation import Generator, Patch, Translation


@register_method("cyclegan")
class CycleGAN(Translation):
    """Zhu et al. 2017: two generators G: A -> B and F: B -> A (ResNet, instance norm) and two
    PatchGAN discriminators, least-squares losses, cycle consistency ||F(G(a)) - a||_1 +
    ||G(F(b)) - b||_1 with lambda 10, the identity loss (weight 0.5 lambda) when the domains
    have the same channels, discriminators fed from a history of 50 generated images, Adam 2e-4
    beta1 0.5, batch 1, learning rates decaying linearly to 0 over the second half."""

    @dataclass(frozen=True)
    class Settings(Patch, Generator):
        cycle_weight: float = setting(10.0, "lambda: weight of the cycle-consistency loss",
                                      at_least=0)
        identity_weight: float = setting(0.5, "weight of the identity loss, as a fraction of "
                                         "lambda (0: off)", at_least=0)
        pool_size: int = setting(50, "generated images kept in each discriminator's history "
                                 "(0: none)", at_least=0)
        recon_loss: str = setting("l1", "distance of the cycle reconstruction",
                                  choices=("l1", "l2"))

    defaults = {**Translation.defaults, "loss": "least-squares", "batch_size": 1,
                "lr_decay_from": 0.5, "generator": "resnet"}
    paper_d_norm = "instance"

    def __init__(self, cfg, spec: DataSpec) -> None:
        super().__init__(cfg, spec)
        ca, cb = spec.img_channels, spec.b_channels
        kind = self.settings.generator
        self.G = nn.ModuleDict({"ab": self.generator(kind, ca, cb),
                                "ba": self.generator(kind, cb, ca)})
        self.D = nn.ModuleDict({side: self.discriminator(ch)
                                for side, ch in (("a", ca), ("b", cb))})
        size = (spec.img_size, spec.img_size)
        self.pool_a = ImagePool((ca, *size), self.settings.pool_size)
        self.pool_b = ImagePool((cb, *size), self.settings.pool_size)

    def translate(self, x, direction="AtoB", G=None):
        self.check_direction(direction)
        return (G or self.G)["ab" if direction == "AtoB" else "ba"](x)

    def distance(self, x, y) -> torch.Tensor:
        return cycle_loss(x, y) if self.settings.recon_loss == "l1" else F.mse_loss(y, x)

    def d_loss(self, batch) -> tuple[torch.Tensor, Logs]:
        a, b = batch["a"], batch["b"]
        with torch.no_grad():
            fake_b, fake_a = self.pool_b.query(self.G["ab"](a)), self.pool_a.query(self.G["ba"](b))
        loss_a = self.adv_d(self.D["a"](a), self.D["a"](fake_a))
        loss_b = self.adv_d(self.D["b"](b), self.D["b"](fake_b))
        return loss_a + loss_b, {"d_a": loss_a.detach(), "d_b": loss_b.detach()}

    def g_loss(self, batch) -> tuple[torch.Tensor, Logs]:
        a, b = batch["a"], batch["b"]
        fake_b, fake_a = self.G["ab"](a), self.G["ba"](b)
        adversarial = self.adv_g(self.D["b"](fake_b)) + self.adv_g(self.D["a"](fake_a))
        cycle = self.distance(a, self.G["ba"](fake_b)) + self.distance(b, self.G["ab"](fake_a))
        loss = adversarial + self.settings.cycle_weight * cycle
        logs = {"g_adv": adversarial.detach(), "cycle": cycle.detach()}
        weight = self.settings.identity_weight * self.settings.cycle_weight
        if weight > 0 and self.spec.img_channels == self.spec.b_channels:
            identity = identity_loss(b, self.G["ab"](b)) + identity_loss(a, self.G["ba"](a))
            loss = loss + weight * identity
            logs["identity"] = identity.detach()
        return loss, logs


@register_method("dualgan")
class DualGAN(CycleGAN):
    """Yi et al. 2017: CycleGAN's two translators with U-Net generators and PatchGAN critics
    trained by the Wasserstein loss with clipped weights (RMSprop 5e-5), reconstruction
    weight 1000 (the paper uses 100 to 1000), no identity loss and no image history."""

    defaults = {**Translation.defaults, "loss": "wasserstein", "clip": 0.01,
                "optimizer": "rmsprop", "lr": 5e-5, "batch_size": 1, "cycle_weight": 1000.0,
                "identity_weight": 0.0, "pool_size": 0, "generator": "unet"}
    paper_d_norm = "batch"

    def adv_d(self, real_logits, fake_logits) -> torch.Tensor:
        return self.objective.d(real_logits, fake_logits)


@register_method("discogan")
class DiscoGAN(CycleGAN):
    """Kim et al. 2017: CycleGAN's two translators as plain encoder-decoders (no skips), the
    non-saturating GAN loss, the reconstruction measured by squared error with weight 1, no
    identity loss and no image history; Adam 2e-4, betas (0.5, 0.999)."""

    defaults = {**Translation.defaults, "batch_size": 64, "cycle_weight": 1.0,
                "identity_weight": 0.0, "pool_size": 0, "generator": "encoder-decoder",
                "recon_loss": "l2"}
    paper_d_norm = "batch"

    def adv_d(self, real_logits, fake_logits) -> torch.Tensor:
        return self.objective.d(real_logits, fake_logits)
