"""S²-GAN (Wang & Gupta 2016): structure first, then style.

A Structure-GAN draws a structure map from z^; a Style-GAN renders the image from a structure
map and z~, its D judging (structure, image) pairs; a fully convolutional network (FCN) reads
the structure back from an image, and the Style-GAN's generator is also penalised when the FCN
does not find in its image the structure it was given (the paper's pixel-wise consistency
loss). The two GANs are first trained apart, the Style-GAN on real structure maps; from
``joint_from`` of the run on they are trained jointly: the Style-GAN renders the
Structure-GAN's maps, and its losses flow back into the Structure-GAN's generator (sec. 4).

Here the structure is a digit's edge map: the data are ``edges2mnist``'s (edge map, digit)
pairs, A the structure and B the image.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ganforge.config import setting
from ganforge.losses import ADVERSARIAL_LOSSES
from ganforge.methods.base import DataNeeds, Logs, Method, register_method
from ganforge.methods.capabilities import Phased, Staged
from ganforge.methods.game import Latent, Loss, Width
from ganforge.models.dcgan import DCGANDiscriminator, DCGANGenerator
from ganforge.models.s2gan import StructureStyleGenerator, StyleGenerator


@register_method("s2gan")
class S2GAN(Phased, Staged, Method):
    """G is the Structure-GAN's and the Style-GAN's generators joined (``sample`` draws
    images, ``stage_pictures`` the structure beside the image); the D group holds the two
    discriminators and the FCN, which learns from real pairs only."""

    @dataclass(frozen=True)
    class Settings(Latent, Width, Loss):
        consistency_weight: float = setting(1.0, "weight of the FCN consistency term: the L1 "
                                            "distance between the structure the FCN reads in "
                                            "the Style-GAN's image and the structure it was "
                                            "given", at_least=0)
        joint_from: float = setting(0.5, "share of the run trained with the two GANs apart "
                                    "before joint training (1: never joint)",
                                    at_least=0, at_most=1)

    defaults = {"lr": 2e-4, "beta1": 0.5, "batch_size": 64, "width": 32}
    trains_on = DataNeeds(kinds=("translation",), pairs=True)

    def __init__(self, cfg, spec) -> None:
        super().__init__(cfg, spec)
        s, size = self.settings, spec.img_size
        structure_channels, image_channels = spec.img_channels, spec.b_channels or spec.img_channels
        self.G = StructureStyleGenerator(
            DCGANGenerator(s.latent_dim, structure_channels, size, s.width),
            StyleGenerator(structure_channels, image_channels, size, s.latent_dim, s.width),
            s.latent_dim)
        self.D = nn.ModuleDict({
            "structure": DCGANDiscriminator(structure_channels, size, s.width),
            "style": DCGANDiscriminator(structure_channels + image_channels, size, s.width)})
        self.fcn = StyleGenerator(image_channels, structure_channels, size, 0, s.width)
        self.objective = ADVERSARIAL_LOSSES.get(s.loss)
        self.joint = False

    @property
    def latent_width(self) -> int:
        return 2 * self.settings.latent_dim  # [z^, z~]

    def groups(self):
        return {"D": [self.D, self.fcn], "G": [self.G]}

    # ---- phases: apart, then joint -------------------------------------------------------------

    def phase(self, step: int, total_steps: int) -> str:
        return "joint" if step >= self.settings.joint_from * total_steps else "apart"

    def set_progress(self, step: int, total_steps: int) -> None:
        self.joint = self.phase(step, total_steps) == "joint"

    # ---- losses --------------------------------------------------------------------------------

    def _split(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return z.split([self.settings.latent_dim] * 2, 1)

    def d_loss(self, batch) -> tuple[torch.Tensor, Logs]:
        structure, image = batch["a"], batch["b"]
        z_hat, z_tilde = self._split(self.sample_latent(len(image)))
        with torch.no_grad():
            fake_structure = self.G.structure(z_hat)
            given = fake_structure if self.joint else structure
            fake_image = self.G.style(given, z_tilde)
        d_structure = self.objective.d(self.D["structure"](structure),
                                       self.D["structure"](fake_structure))
        d_style = self.objective.d(self.D["style"](torch.cat([structure, image], 1)),
                                   self.D["style"](torch.cat([given, fake_image], 1)))
        fcn = F.l1_loss(self.fcn(image), structure)
        return d_structure + d_style + fcn, {"d_structure": d_structure.detach(),
                                             "d_style": d_style.detach(), "fcn": fcn.detach()}

    def g_loss(self, batch) -> tuple[torch.Tensor, Logs]:
        z_hat, z_tilde = self._split(self.sample_latent(len(batch["b"])))
        fake_structure = self.G.structure(z_hat)
        # Apart, the Style-GAN renders real structure maps; jointly, the Structure-GAN's, and its
        # losses reach the Structure-GAN's generator through them.
        given = fake_structure if self.joint else batch["a"]
        fake_image = self.G.style(given, z_tilde)
        g_structure = self.objective.g(self.D["structure"](fake_structure))
        g_style = self.objective.g(self.D["style"](torch.cat([given, fake_image], 1)))
        consistency = F.l1_loss(self.fcn(fake_image), given)
        loss = g_structure + g_style + self.settings.consistency_weight * consistency
        return loss, {"g_structure": g_structure.detach(), "g_style": g_style.detach(),
                      "consistency": consistency.detach()}

    # ---- sampling ------------------------------------------------------------------------------

    def stage_pictures(self, n, generator=None, G=None):
        structure, image = (G or self.G).stages(self.sample_latent(n, generator))
        return [("structure", structure), ("image", image)]
