"""DTN, the Domain Transfer Network (Taigman et al. 2017): G = g ∘ f with f fixed.

f is a network pretrained on the source domain and never trained here; g learns to draw a
target-domain image from f's representation. Four terms (sec. 3):

- a ternary D: class 1 for G of a source image, 2 for G of a target image, 3 for a real target
  image; G wants both kinds of its output read as class 3 (L_GANG, eq. 6);
- f-constancy, L_CONST = E_s MSE(f(x), f(G(x))) (α): the translation keeps what f sees;
- the identity term on target images, L_TID = E_t MSE(x, G(x)) (β): G fixes a target image;
- total variation of G's outputs (γ), for smoothness.

For the digit tasks f is the packaged classifier of scikit-learn's digits (the source domain of
``digits2mnist``), its penultimate 128 features, as the paper takes f from a digit classifier
trained on the source (SVHN) for SVHN -> MNIST; ``--encoder mnist-lenet`` takes the MNIST one.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ganforge.config import setting
from ganforge.data import from_uint8
from ganforge.data.spec import DataSpec
from ganforge.errors import GanforgeError
from ganforge.methods.backbone import replace_batch_norm
from ganforge.methods.base import Logs, register_method
from ganforge.methods.game import Width
from ganforge.methods.translation import Translation
from ganforge.metrics.domain import (
    DIGITS_WEIGHTS_PATH,
    DIGITS_WEIGHTS_SHA256,
    load_mnist_classifier,
)
from ganforge.models import ARCHITECTURES
from ganforge.viz import side_by_side

ENCODERS = ("digits-lenet", "mnist-lenet")
# D's three classes (eq. 5).
FROM_SOURCE, FROM_TARGET, REAL_TARGET = 0, 1, 2


def total_variation(x: torch.Tensor) -> torch.Tensor:
    """Anisotropic total variation, the mean absolute difference of neighbouring pixels."""
    return ((x[..., 1:, :] - x[..., :-1, :]).abs().mean()
            + (x[..., :, 1:] - x[..., :, :-1]).abs().mean())


@register_method("dtn")
class DTN(Translation):
    """Taigman et al. 2017 with the paper's digit weights (α = β = 15, γ = 0): f fixed, g a
    DCGAN generator from f's features, a DCGAN D with a three-way head, Adam 2e-4."""

    @dataclass(frozen=True)
    class Settings(Width):
        encoder: str = setting("digits-lenet", "f, the fixed source-domain network: the "
                               "packaged classifier of scikit-learn's digits or of MNIST",
                               choices=ENCODERS)
        const_weight: float = setting(15.0, "alpha: weight of f-constancy", at_least=0)
        tid_weight: float = setting(15.0, "beta: weight of the identity term on target images",
                                    at_least=0)
        tv_weight: float = setting(0.0, "gamma: weight of total variation", at_least=0)

    defaults = {"lr": 2e-4, "beta1": 0.5, "batch_size": 64}
    one_sided = True

    def __init__(self, cfg, spec: DataSpec) -> None:
        super().__init__(cfg, spec)
        if spec.img_channels not in (1, 3):
            raise GanforgeError(f"dtn's f reads grey or RGB images; domain A has "
                                f"{spec.img_channels} channels")
        weights = ({"path": DIGITS_WEIGHTS_PATH, "sha256": DIGITS_WEIGHTS_SHA256}
                   if self.settings.encoder == "digits-lenet" else {})
        self.f = load_mnist_classifier(**weights).eval().requires_grad_(False)
        dcgan = ARCHITECTURES.get("dcgan")
        cb = spec.b_channels or spec.img_channels
        self.G = nn.ModuleDict({"g": dcgan.generator(
            z_dim=self.f.feature_dim, img_channels=cb, img_size=spec.img_size,
            width=self.settings.width)})
        D = dcgan.discriminator(img_channels=cb, img_size=spec.img_size,
                                width=self.settings.width)
        D.head = nn.Linear(D.feature_dim, 3)
        # D sees one batch of all three classes, G a batch of its two: batch norm would score
        # G's outputs with other statistics than D learned them with, and G won by that gap
        # (D 100% right on its batches, G's fakes read as real on its own).
        replace_batch_norm(D, lambda bn: nn.Identity())
        self.D = D

    def train(self, mode: bool = True):
        super().train(mode)
        self.f.eval()  # f is fixed, batch norm statistics included
        return self

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """f's features of images in [-1, 1]."""
        return self.f.features(((x + 1) / 2).clamp(0, 1))

    def translate(self, x, direction="AtoB", G=None):
        self.check_direction(direction)
        if direction == "BtoA":
            raise GanforgeError("dtn translates A -> B only (G = g(f(x)) draws the target "
                                "domain)")
        return (G or self.G)["g"](self.encode(x))

    def d_loss(self, batch) -> tuple[torch.Tensor, Logs]:
        source, target = batch["a"], batch["b"]
        with torch.no_grad():
            fake_s, fake_t = self.translate(source), self.translate(target)
        logits = self.D(torch.cat([fake_s, fake_t, target]))
        labels = torch.cat([torch.full((len(source),), FROM_SOURCE),
                            torch.full((len(target),), FROM_TARGET),
                            torch.full((len(target),), REAL_TARGET)]).to(logits.device)
        loss = F.cross_entropy(logits, labels)
        return loss, {"d_acc": (logits.argmax(1) == labels).float().mean()}

    def g_loss(self, batch) -> tuple[torch.Tensor, Logs]:
        source, target = batch["a"], batch["b"]
        fake_s = self.translate(source)
        fake_t = self.translate(target)
        logits = self.D(torch.cat([fake_s, fake_t]))
        real = torch.full((len(logits),), REAL_TARGET, device=logits.device)
        adversarial = F.cross_entropy(logits, real)
        # Both distances are mean squared errors (the paper's d and d2).
        const = (self.encode(source) - self.encode(fake_s)).pow(2).mean()
        tid = (target - fake_t).pow(2).mean()
        s = self.settings
        loss = adversarial + s.const_weight * const + s.tid_weight * tid
        logs = {"g_adv": adversarial.detach(), "const": const.detach(), "tid": tid.detach()}
        if s.tv_weight:
            tv = total_variation(fake_s)
            loss = loss + s.tv_weight * tv
            logs["tv"] = tv.detach()
        return loss, logs

    display_columns = ("A", "A>B", "B")

    def sample(self, n: int, generator=None, G=None, condition=None) -> torch.Tensor:
        """A | A -> B | B for the fixed display inputs."""
        a, b = from_uint8(self.display_a), from_uint8(self.display_b)
        return side_by_side(a, self.translate(a, "AtoB", G), b)
