"""The published recipes of the stabilised GANs: each is the GAN game with a config diff.

Any field can still be overridden (``--method wgan-gp --arch resnet``); the presets only say
what the papers used.
"""

from __future__ import annotations

from ganforge.methods.backbone import build_backbone
from ganforge.methods.base import DataNeeds, register_method
from ganforge.methods.gan import DCGAN


@register_method("wgan")
class WGAN(DCGAN):
    """Arjovsky et al. 2017, Algorithm 1: Wasserstein critic with weights clipped to
    [-0.01, 0.01], RMSprop at 5e-5, 5 critic steps per generator step."""

    defaults = {**DCGAN.defaults, "loss": "wasserstein", "clip": 0.01, "optimizer": "rmsprop",
                "lr": 5e-5, "d_steps": 5}


@register_method("wgan-gp")
class WGANGP(DCGAN):
    """Gulrajani et al. 2017, Algorithm 1: Wasserstein critic with a two-sided gradient penalty
    (lambda 10) on interpolates, Adam 1e-4 with betas (0, 0.9), 5 critic steps, layer norm in
    place of the critic's batch norm (sec. 4)."""

    defaults = {**DCGAN.defaults, "loss": "wasserstein", "gp_weight": 10.0, "d_norm": "layer",
                "lr": 1e-4, "beta1": 0.0, "beta2": 0.9, "d_steps": 5}


@register_method("lsgan")
class LSGAN(DCGAN):
    """Mao et al. 2017: least-squares losses with a=0, b=c=1 (eq. 9), Adam 2e-4, beta1 0.5."""

    defaults = {**DCGAN.defaults, "loss": "least-squares"}


@register_method("sngan")
class SNGAN(DCGAN):
    """Miyato et al. 2018: spectrally normalised ResNet critic with the hinge loss, Adam 2e-4
    with betas (0, 0.9), 5 critic steps (their CIFAR-10 setting)."""

    defaults = {"arch": "resnet", "loss": "hinge", "d_norm": "spectral", "lr": 2e-4,
                "beta1": 0.0, "beta2": 0.9, "d_steps": 5}


@register_method("sagan")
class SAGAN(DCGAN):
    """Zhang et al. 2019: SNGAN's hinge critic plus self-attention in G and D at half the image
    resolution (unless --attention says where), two time-scale learning rates (G 1e-4,
    D 4e-4), betas (0, 0.9), one critic step. (The paper also normalises G spectrally; here
    only D is.)"""

    defaults = {"arch": "resnet", "loss": "hinge", "d_norm": "spectral", "lr_g": 1e-4,
                "lr_d": 4e-4, "beta1": 0.0, "beta2": 0.9}
    trains_on = DataNeeds()

    def build_networks(self):
        attention = self.settings.attention
        return build_backbone(self.cfg, self.spec, attention=(
            self.spec.img_size // 2 if attention is None else attention))
