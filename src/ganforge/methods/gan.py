"""The original GAN (Goodfellow et al. 2014) and DCGAN (Radford et al. 2016)."""

from __future__ import annotations

import torch

from ganforge.losses import G_LOSSES, bce_d
from ganforge.methods.base import DataSpec, Method, build_backbone, register_method


@register_method("gan")
class GAN(Method):
    """Goodfellow et al. 2014, Algorithm 1: D ascends log D(x) + log(1 - D(G(z))) for ``d_steps``
    steps, then G descends log(1 - D(G(z))) (``--g-loss minimax``) or ascends log D(G(z))
    (``--g-loss nonsaturating``, the paper's practical choice and our default). MLP backbone."""

    defaults = {"arch": "mlp"}

    def __init__(self, cfg, spec: DataSpec) -> None:
        super().__init__(cfg, spec)
        self.G, self.D = build_backbone(cfg, spec)
        self.adversarial_g = G_LOSSES.get(cfg.g_loss)

    def d_loss(self, batch):
        real = batch["image"]
        with torch.no_grad():
            fake = self.generate(len(real))
        real_logits, fake_logits = self.D(real), self.D(fake)
        logs = {"D(x)": torch.sigmoid(real_logits).mean(),
                "D(G(z))": torch.sigmoid(fake_logits).mean()}
        return bce_d(real_logits, fake_logits), logs

    def g_loss(self, batch):
        return self.adversarial_g(self.D(self.generate(len(batch["image"])))), {}


@register_method("dcgan")
class DCGAN(GAN):
    """Radford et al. 2016: the GAN objective on the all-convolutional DCGAN backbone
    (Adam, lr 2e-4, beta1 0.5, as in sec. 4 of the paper)."""

    defaults = {"arch": "dcgan"}
