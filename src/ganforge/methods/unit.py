"""UNIT (Liu et al. 2017): translation through a latent space the two domains share."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ganforge.config import setting
from ganforge.data.spec import DataSpec
from ganforge.losses.translation import l1_reconstruction
from ganforge.methods.base import Logs, register_method
from ganforge.methods.translation import Patch, Translation
from ganforge.models.unit import UNITDecoders, UNITEncoders


@register_method("unit")
class UNIT(Translation):
    """Liu et al. 2017: a shared latent space. Encoders E_a, E_b whose last layers are one
    module, decoders G_a, G_b whose first layers are one module; q(z | x) = N(E(x), I), whose KL
    from N(0, I) is ||E(x)||^2 / 2 up to a constant (the released code penalises the mean of
    E(x)^2, and so does this). Losses (weights of the released code): adversarial on
    G_b(E_a(a)) and G_a(E_b(b)) (least squares, 1), within-domain reconstruction (L1, 10), KL
    (0.01), cycle reconstruction a -> b -> a (L1, 10) with its KL (0.01). Adam 1e-4,
    betas (0.5, 0.999)."""

    @dataclass(frozen=True)
    class Settings(Patch):
        recon_weight: float = setting(10.0, "weight of the within-domain and cycle "
                                      "reconstructions")
        kl_weight: float = setting(0.01, "weight of the KL terms")
        shared_blocks: int = setting(1, "residual blocks shared by the two encoders (and by the "
                                     "two decoders)", at_least=0, at_most=3)

    defaults = {**Translation.defaults, "loss": "least-squares", "lr": 1e-4, "batch_size": 1}
    paper_d_norm = "instance"

    def __init__(self, cfg, spec: DataSpec) -> None:
        super().__init__(cfg, spec)
        ca, cb, shared = spec.img_channels, spec.b_channels, self.settings.shared_blocks
        width = self.settings.width
        self.G = nn.ModuleDict({
            "encoders": UNITEncoders(ca, cb, width=width, shared_blocks=shared),
            "decoders": UNITDecoders(ca, cb, width=width, shared_blocks=shared)})
        self.D = nn.ModuleDict({side: self.discriminator(ch)
                                for side, ch in (("a", ca), ("b", cb))})

    def translate(self, x, direction="AtoB", G=None):
        self.check_direction(direction)
        G = G or self.G
        if direction == "AtoB":
            return G["decoders"].decode_b(G["encoders"].encode_a(x))
        return G["decoders"].decode_a(G["encoders"].encode_b(x))

    @staticmethod
    def draw(mu: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """z ~ N(mu, I) and the KL term of q(z | x) = N(mu, I) against N(0, I)."""
        return mu + torch.randn_like(mu), mu.pow(2).mean()

    def d_loss(self, batch) -> tuple[torch.Tensor, Logs]:
        a, b = batch["a"], batch["b"]
        enc, dec = self.G["encoders"], self.G["decoders"]
        with torch.no_grad():  # fakes from sampled codes, as in G's step
            fake_b = dec.decode_b(self.draw(enc.encode_a(a))[0])
            fake_a = dec.decode_a(self.draw(enc.encode_b(b))[0])
        loss_a = self.adv_d(self.D["a"](a), self.D["a"](fake_a))
        loss_b = self.adv_d(self.D["b"](b), self.D["b"](fake_b))
        return loss_a + loss_b, {"d_a": loss_a.detach(), "d_b": loss_b.detach()}

    def g_loss(self, batch) -> tuple[torch.Tensor, Logs]:
        a, b = batch["a"], batch["b"]
        enc, dec = self.G["encoders"], self.G["decoders"]
        z_a, kl_a = self.draw(enc.encode_a(a))
        z_b, kl_b = self.draw(enc.encode_b(b))
        fake_b, fake_a = dec.decode_b(z_a), dec.decode_a(z_b)
        recon = l1_reconstruction(dec.decode_a(z_a), a) + l1_reconstruction(dec.decode_b(z_b), b)
        z_ab, kl_ab = self.draw(enc.encode_b(fake_b))
        z_ba, kl_ba = self.draw(enc.encode_a(fake_a))
        cycle = l1_reconstruction(dec.decode_a(z_ab), a) + l1_reconstruction(dec.decode_b(z_ba), b)
        adversarial = self.adv_g(self.D["b"](fake_b)) + self.adv_g(self.D["a"](fake_a))
        kl = kl_a + kl_b + kl_ab + kl_ba
        loss = (adversarial + self.settings.recon_weight * (recon + cycle)
                + self.settings.kl_weight * kl)
        return loss, {"g_adv": adversarial.detach(), "recon": recon.detach(),
                      "cycle": cycle.detach(), "kl": kl.detach()}
