"""What the image-to-image translation methods share: pix2pix (:mod:`.pix2pix`), CycleGAN with
DualGAN and DiscoGAN (:mod:`.cyclegan`), UNIT (:mod:`.unit`) and StarGAN (:mod:`.stargan`).

Batches are {"a", "b"} (two domains, paired or not) or, for StarGAN, {"x", "label"} with the
label naming each image's domain. Every method translates (``translate(x, direction)``) and
draws its training pictures from a fixed set of input images kept with the run
(``display_a/_b``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ganforge.config import setting
from ganforge.data import TranslationData, from_uint8
from ganforge.data.spec import DataSpec
from ganforge.errors import GanforgeError
from ganforge.losses import ADVERSARIAL_LOSSES, clip_weights_
from ganforge.methods.base import DataNeeds, Method
from ganforge.methods.capabilities import Translator
from ganforge.methods.game import D_NORM_HELP, LOSS_HELP, Clip, DNorm, Loss, Width
from ganforge.models.patch import PATCH_SIZES, PatchDiscriminator, patch_discriminator
from ganforge.models.translation import GENERATORS, translation_generator
from ganforge.viz import side_by_side

DIRECTIONS = ("AtoB", "BtoA")
# Examples shown in training pictures; two make a row.
SHOWN = 16


# The objectives whose G loss needs no real images, and D's norms the papers' Ds can take.
@dataclass(frozen=True)
class TranslationLoss(Loss):
    loss: str = setting("gan", LOSS_HELP, noun="loss", choices=tuple(
        name for name, loss in ADVERSARIAL_LOSSES.items() if not loss.g_needs_real))


@dataclass(frozen=True)
class PaperDNorm(DNorm):
    d_norm: str = setting("batch", D_NORM_HELP, choices=("batch", "spectral"))


@dataclass(frozen=True)
class TranslationSettings(Width, TranslationLoss, PaperDNorm, Clip):
    """The translation game's knobs: its objective, D's normalisation, clipping."""


@dataclass(frozen=True)
class Patch(TranslationSettings):
    patch: int = setting(70, "receptive field of the PatchGAN discriminator in pixels: 16, 34, "
                         "70 (the papers'), 142 or 286", choices=tuple(PATCH_SIZES))


@dataclass(frozen=True)
class Generator(TranslationSettings):
    generator: str = setting("unet", "G's architecture", choices=GENERATORS)


def first(images: torch.Tensor, n: int) -> torch.Tensor:
    """The first ``n`` images, repeated when there are fewer."""
    return images[torch.arange(n) % len(images)]


class Translation(Translator, Method):
    """What the translation methods share: the adversarial objective, weight clipping, the
    fixed display inputs and pictures of their translations."""

    Settings = TranslationSettings
    defaults = {"lr": 2e-4, "beta1": 0.5, "loss": "gan"}
    trains_on = DataNeeds(kinds=("translation",))
    # D's normalisation in the paper: CycleGAN and UNIT use instance norm whatever the batch.
    paper_d_norm = "batch"

    def __init__(self, cfg, spec: DataSpec) -> None:
        super().__init__(cfg, spec)
        # A method with its own D objective (DTN's three-way D) lacks the --loss knob.
        loss = self.settings.loss if isinstance(self.settings, Loss) else None
        self.objective = ADVERSARIAL_LOSSES.get(loss) if loss else None
        # ganforge's least-squares G loss is Mao et al.'s 1/2 E[(D - 1)^2]; the translation
        # papers' code weighs E[(D - 1)^2] against its cycle and reconstruction terms.
        self.g_scale = 2.0 if loss == "least-squares" else 1.0
        channels_b = spec.b_channels or spec.img_channels
        shape = (spec.img_size, spec.img_size)
        self.register_buffer("display_a", torch.zeros(SHOWN, spec.img_channels, *shape,
                                                      dtype=torch.uint8))
        self.register_buffer("display_b", torch.zeros(SHOWN, channels_b, *shape,
                                                      dtype=torch.uint8))

    def generator(self, kind: str, channels_in: int, channels_out: int) -> nn.Module:
        """G of ``kind``; batch norm over a batch of one is instance norm (pix2pix's note)."""
        norm = "instance" if self.cfg.batch_size == 1 else "batch"
        return translation_generator(kind, channels_in, channels_out, self.spec.img_size,
                                     self.settings.width, norm)

    def discriminator(self, channels: int) -> PatchDiscriminator:
        """A PatchGAN seeing ``--patch`` pixels, normalised as the paper's (batch norm being
        instance norm over a batch of one) or spectrally."""
        norm = self.paper_d_norm
        if self.settings.d_norm == "spectral":
            norm = "spectral"
        elif norm == "batch" and self.cfg.batch_size == 1:
            norm = "instance"
        return patch_discriminator(channels, self.spec.img_size, self.settings.patch,
                                   self.settings.width, norm)

    def bind_data(self, data) -> None:
        if isinstance(data, TranslationData):
            self.display_a.copy_(first(data.a, SHOWN))
            self.display_b.copy_(first(data.b, SHOWN))

    def adv_d(self, real_logits, fake_logits) -> torch.Tensor:
        # pix2pix and CycleGAN halve D's objective "to slow down the rate at which D learns".
        return 0.5 * self.objective.d(real_logits, fake_logits)

    def adv_g(self, fake_logits) -> torch.Tensor:
        return self.g_scale * self.objective.g(fake_logits)

    def after_update(self, group: str) -> None:
        if group == "D" and isinstance(self.settings, Clip) and self.settings.clip is not None:
            clip_weights_(self.D.parameters(), self.settings.clip)

    def check_direction(self, direction: str) -> None:
        if direction not in DIRECTIONS:
            raise GanforgeError(f"unknown direction {direction!r}; choose AtoB or BtoA")

    @property
    def display_nrow(self) -> int:
        return 2 * len(self.display_columns)

    @property
    def display_columns(self) -> tuple[str, ...]:
        return ("input", "output", "target") if self.spec.paired else ("A", "A>B", "B", "B>A")

    @property
    def display_title(self) -> str:
        names = self.spec.class_names
        return f"A: {names[0]}, B: {names[1]}" if len(names or ()) == 2 else ""

    def sample(self, n: int, generator=None, G=None, condition=None) -> torch.Tensor:
        """The training picture: for paired data input | translation | target, else
        A | A->B | B | B->A, for the fixed display inputs (``n`` is not used)."""
        a, b = from_uint8(self.display_a), from_uint8(self.display_b)
        if self.spec.paired:
            return side_by_side(a, self.translate(a, "AtoB", G), b)
        return side_by_side(a, self.translate(a, "AtoB", G), b, self.translate(b, "BtoA", G))
