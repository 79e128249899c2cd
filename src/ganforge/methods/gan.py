"""The original GAN (Goodfellow et al. 2014) and DCGAN (Radford et al. 2016).

``GAN`` is also the skeleton of every method that plays the same two-player game with extra
terms: conditional methods pass their condition through it, and ACGAN and InfoGAN add auxiliary
losses on D's features through ``aux_d_loss`` / ``aux_g_loss`` without restating the game.
"""

from __future__ import annotations

import torch

from ganforge.losses import G_LOSSES, bce_d
from ganforge.methods.base import DataSpec, Logs, Method, build_backbone, register_method


@register_method("gan")
class GAN(Method):
    """Goodfellow et al. 2014, Algorithm 1: D ascends log D(x) + log(1 - D(G(z))) for ``d_steps``
    steps, then G descends log(1 - D(G(z))) (``--g-loss minimax``) or ascends log D(G(z))
    (``--g-loss nonsaturating``, the paper's practical choice and our default). MLP backbone."""

    defaults = {"arch": "mlp"}

    def __init__(self, cfg, spec: DataSpec) -> None:
        super().__init__(cfg, spec)
        self.G, self.D = self.build_networks()
        self.adversarial_g = G_LOSSES.get(cfg.g_loss)

    def build_networks(self):
        return build_backbone(self.cfg, self.spec)

    def adv_d(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        return bce_d(real_logits, fake_logits)

    def adv_g(self, fake_logits: torch.Tensor) -> torch.Tensor:
        return self.adversarial_g(fake_logits)

    def aux_d_loss(self, h_real, c_real, h_fake, c_fake) -> tuple[torch.Tensor | float, Logs]:
        """Extra discriminator-side terms on D's features of the real and fake batch."""
        return 0.0, {}

    def aux_g_loss(self, h_fake, c_fake) -> tuple[torch.Tensor | float, Logs]:
        """Extra generator-side terms on D's features of the fakes."""
        return 0.0, {}

    def d_loss(self, batch):
        real = batch["image"]
        c_real = self.real_condition(batch)
        c_fake = self.sample_condition(len(real))
        with torch.no_grad():
            fake = self.generate(len(real), condition=c_fake)
        h_real, h_fake = self.d_features(real, c_real), self.d_features(fake, c_fake)
        real_logits, fake_logits = self.d_logits(h_real, c_real), self.d_logits(h_fake, c_fake)
        aux, logs = self.aux_d_loss(h_real, c_real, h_fake, c_fake)
        logs = {"D(x)": torch.sigmoid(real_logits).mean(),
                "D(G(z))": torch.sigmoid(fake_logits).mean(), **logs}
        return self.adv_d(real_logits, fake_logits) + aux, logs

    def g_loss(self, batch):
        n = len(batch["image"])
        c = self.sample_condition(n)
        h = self.d_features(self.generate(n, condition=c), c)
        aux, logs = self.aux_g_loss(h, c)
        return self.adv_g(self.d_logits(h, c)) + aux, logs


@register_method("dcgan")
class DCGAN(GAN):
    """Radford et al. 2016: the GAN objective on the all-convolutional DCGAN backbone
    (Adam, lr 2e-4, beta1 0.5, as in sec. 4 of the paper)."""

    defaults = {"arch": "dcgan"}
