"""StarGAN (Choi et al. 2018): one generator translating among many domains."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ganforge.config import setting
from ganforge.data import ImageDataset, from_uint8
from ganforge.data.spec import DataSpec
from ganforge.errors import GanforgeError
from ganforge.losses import gradient_penalty
from ganforge.losses.translation import l1_reconstruction
from ganforge.methods.base import DataNeeds, Logs, register_method
from ganforge.methods.capabilities import DomainTranslator
from ganforge.methods.game import GradientPenalty
from ganforge.methods.translation import SHOWN, Translation, TranslationSettings, first
from ganforge.models.stargan import StarDiscriminator, StarGenerator
from ganforge.nn.layers import spectral_norm_all
from ganforge.viz import side_by_side


@register_method("stargan")
class StarGAN(DomainTranslator, Translation):
    """Choi et al. 2018: one generator G(x, c) for every pair of domains, c the target domain
    as a one-hot vector tiled over the image; D has a PatchGAN real/fake head and a domain
    classification head. D: WGAN-GP adversarial loss + lambda_cls CE(D_cls(x), c_x); G:
    adversarial + lambda_cls CE(D_cls(G(x, c)), c) + lambda_rec ||x - G(G(x, c), c_x)||_1;
    lambda_cls 1, lambda_rec 10, lambda_gp 10, 5 critic steps, Adam 1e-4 betas (0.5, 0.999).
    Trains on a labelled image data set whose classes are the domains (``mnist-styles``, or a
    ``folder:PATH`` with one subfolder per domain)."""

    # The translation game's knobs and the gradient penalty of its WGAN-GP critic.
    @dataclass(frozen=True)
    class Settings(TranslationSettings, GradientPenalty):
        cls_weight: float = setting(1.0, "lambda_cls: weight of the domain classification "
                                    "losses")
        rec_weight: float = setting(10.0, "lambda_rec: weight of the reconstruction loss")

    defaults = {"loss": "wasserstein", "gp_weight": 10.0, "d_steps": 5, "lr": 1e-4,
                "lr_decay_from": 0.5, "beta1": 0.5, "batch_size": 16}
    trains_on = DataNeeds(labels=True, labelled="--dataset mnist-styles, or folder:PATH with "
                          "one subfolder per domain")

    def __init__(self, cfg, spec: DataSpec) -> None:
        super().__init__(cfg, spec)
        self.num_domains = spec.num_classes
        width = self.settings.width
        self.G = StarGenerator(spec.img_channels, self.num_domains, width=width)
        self.D = StarDiscriminator(spec.img_channels, spec.img_size, self.num_domains,
                                   width=width)
        if self.settings.d_norm == "spectral":
            spectral_norm_all(self.D)

    def bind_data(self, data) -> None:
        if isinstance(data, ImageDataset):
            self.display_a.copy_(first(data.images, SHOWN))

    def domain(self, name: str | int) -> int:
        """A domain's index from its name or index."""
        names = list(self.spec.class_names)
        if isinstance(name, int) or str(name).isdigit():
            index = int(name)
            if 0 <= index < len(names):
                return index
        elif name in names:
            return names.index(name)
        raise GanforgeError(f"unknown domain {name!r}; choose one of: {', '.join(names)}")

    def one_hot(self, domains: torch.Tensor) -> torch.Tensor:
        return F.one_hot(domains, self.num_domains).float()

    def translate(self, x, direction="AtoB", G=None, to_domain: str | int | None = None):
        if to_domain is None:
            raise GanforgeError("stargan translates to a domain: give --to-domain, one of: "
                                f"{', '.join(self.spec.class_names)}")
        target = torch.full((len(x),), self.domain(to_domain), device=x.device)
        return (G or self.G)(x, self.one_hot(target))

    @property
    def display_nrow(self) -> int:
        return self.num_domains + 1

    @property
    def display_columns(self) -> tuple[str, ...]:
        return ("input", *(f">{name}" for name in self.spec.class_names))

    def sample(self, n, generator=None, G=None, condition=None) -> torch.Tensor:
        """Each display input followed by its translation to every domain."""
        x = from_uint8(self.display_a[: SHOWN // 2])
        outputs = [self.translate(x, G=G, to_domain=k) for k in range(self.num_domains)]
        return side_by_side(x, *outputs)

    def d_loss(self, batch) -> tuple[torch.Tensor, Logs]:
        x, source = batch["x"], batch["label"]
        target = torch.randint_like(source, self.num_domains)
        with torch.no_grad():
            fake = self.G(x, self.one_hot(target))
        real_src, real_cls = self.D(x)
        fake_src, _ = self.D(fake)
        classification = F.cross_entropy(real_cls, source)
        loss = self.objective.d(real_src, fake_src) + self.settings.cls_weight * classification
        logs = {"d_cls": classification.detach(),
                "d_cls_acc": (real_cls.detach().argmax(1) == source).float().mean()}
        if self.settings.gp_weight is not None:
            logs["gp"] = gradient_penalty(lambda y: self.D(y)[0], x, fake)
            loss = loss + self.settings.gp_weight * logs["gp"]
        return loss, logs

    def g_loss(self, batch) -> tuple[torch.Tensor, Logs]:
        x, source = batch["x"], batch["label"]
        target = torch.randint_like(source, self.num_domains)
        fake = self.G(x, self.one_hot(target))
        fake_src, fake_cls = self.D(fake)
        classification = F.cross_entropy(fake_cls, target)
        rec = l1_reconstruction(self.G(fake, self.one_hot(source)), x)
        loss = (self.adv_g(fake_src) + self.settings.cls_weight * classification
                + self.settings.rec_weight * rec)
        return loss, {"g_cls": classification.detach(), "rec": rec.detach()}
