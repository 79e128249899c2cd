"""DistanceGAN (Benaim & Wolf 2017): one-sided unsupervised translation A -> B that keeps
distances.

A single G: A -> B and a D on B; instead of a second generator and a cycle, G is asked to keep
how far apart images are: for every pair of a batch, the L1 distance of the two sources and the
L1 distance of their translations, each standardised by its domain's mean and standard
deviation (measured once over the training images), must agree (eq. 5). The self-distance
variant compares an image's left and right halves instead of pairs, so it works image by image
(eq. 6). With ``--cycle-weight`` > 0 it becomes the paper's "DistanceGAN + cycle": a second
translator B -> A with its own D, and CycleGAN's cycle term beside the distance term.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ganforge.config import setting
from ganforge.data import TranslationData, from_uint8
from ganforge.data.spec import DataSpec
from ganforge.errors import GanforgeError
from ganforge.losses.translation import (
    cycle_loss,
    distance_loss,
    distance_stats,
    halves_l1,
    pairwise_l1,
)
from ganforge.methods.base import Logs, register_method
from ganforge.methods.translation import Generator, Patch, Translation
from ganforge.viz import side_by_side

MEASURES = {"pairs": pairwise_l1, "self": halves_l1}


@register_method("distancegan")
class DistanceGAN(Translation):
    """One-sided A -> B with the distance constraint; DiscoGAN's networks and loss (the
    paper's digit experiments build on DiscoGAN's code), batch 64."""

    @dataclass(frozen=True)
    class Settings(Patch, Generator):
        distance: str = setting("pairs", "what G keeps: pairs (the distance between every two "
                                "images of a batch) or self (between each image's left and "
                                "right halves)", choices=tuple(MEASURES))
        distance_weight: float = setting(1.0, "weight of the distance loss", at_least=0)
        cycle_weight: float = setting(0.0, "with a value > 0: a second translator B -> A and "
                                      "the cycle loss at this weight (DistanceGAN + cycle)",
                                      at_least=0)

    defaults = {**Translation.defaults, "batch_size": 64, "generator": "encoder-decoder"}

    def __init__(self, cfg, spec: DataSpec) -> None:
        super().__init__(cfg, spec)
        ca, cb = spec.img_channels, spec.b_channels or spec.img_channels
        kind = self.settings.generator
        both = self.settings.cycle_weight > 0
        self.G = nn.ModuleDict({"ab": self.generator(kind, ca, cb),
                                **({"ba": self.generator(kind, cb, ca)} if both else {})})
        self.D = nn.ModuleDict({"b": self.discriminator(cb),
                                **({"a": self.discriminator(ca)} if both else {})})
        # (μ, σ) of the chosen distance over each domain's training images, kept with the run.
        self.register_buffer("stats_a", torch.tensor([0.0, 1.0]))
        self.register_buffer("stats_b", torch.tensor([0.0, 1.0]))

    @property
    def one_sided(self) -> bool:
        return "ba" not in self.G

    def bind_data(self, data) -> None:
        super().bind_data(data)
        if isinstance(data, TranslationData):
            measure = MEASURES[self.settings.distance]
            generator = torch.Generator().manual_seed(self.cfg.seed)
            for side, images in (("a", data.a), ("b", data.b)):
                sample = images[torch.randperm(len(images), generator=generator)[:200]]
                stats = distance_stats(from_uint8(sample).float(), measure)
                getattr(self, f"stats_{side}").copy_(stats)

    def translate(self, x, direction="AtoB", G=None):
        self.check_direction(direction)
        if direction == "BtoA" and self.one_sided:
            raise GanforgeError("this distancegan run is one-sided (A -> B only); train it "
                                "with --cycle-weight > 0 for a B -> A translator too")
        return (G or self.G)["ab" if direction == "AtoB" else "ba"](x)

    def distance_term(self, source, translated, source_stats, target_stats) -> torch.Tensor:
        measure = MEASURES[self.settings.distance]
        return distance_loss(measure(source), measure(translated), source_stats, target_stats)

    def d_loss(self, batch) -> tuple[torch.Tensor, Logs]:
        a, b = batch["a"], batch["b"]
        with torch.no_grad():
            fake_b = self.G["ab"](a)
        loss = self.adv_d(self.D["b"](b), self.D["b"](fake_b))
        if not self.one_sided:
            with torch.no_grad():
                fake_a = self.G["ba"](b)
            loss = loss + self.adv_d(self.D["a"](a), self.D["a"](fake_a))
        return loss, {}

    def g_loss(self, batch) -> tuple[torch.Tensor, Logs]:
        a, b = batch["a"], batch["b"]
        fake_b = self.G["ab"](a)
        adversarial = self.adv_g(self.D["b"](fake_b))
        distance = self.distance_term(a, fake_b, self.stats_a, self.stats_b)
        logs = {"g_adv": adversarial.detach(), "distance": distance.detach()}
        loss = adversarial + self.settings.distance_weight * distance
        if not self.one_sided:
            fake_a = self.G["ba"](b)
            loss = loss + self.adv_g(self.D["a"](fake_a)) + self.settings.distance_weight * (
                self.distance_term(b, fake_a, self.stats_b, self.stats_a))
            cycle = cycle_loss(a, self.G["ba"](fake_b)) + cycle_loss(b, self.G["ab"](fake_a))
            loss = loss + self.settings.cycle_weight * cycle
            logs["cycle"] = cycle.detach()
        return loss, logs

    @property
    def display_columns(self) -> tuple[str, ...]:
        return ("A", "A>B", "B") if self.one_sided else super().display_columns

    def sample(self, n: int, generator=None, G=None, condition=None) -> torch.Tensor:
        """A | A -> B | B (and B -> A with the cycle) for the fixed display inputs."""
        if not self.one_sided:
            return super().sample(n, generator, G, condition)
        a, b = from_uint8(self.display_a), from_uint8(self.display_b)
        return side_by_side(a, self.translate(a, "AtoB", G), b)
