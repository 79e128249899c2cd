"""Class-conditional GANs: cGAN (Mirza & Osindero 2014) and ACGAN (Odena et al. 2017)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ganforge.config import Settings, setting
from ganforge.methods.backbone import build_backbone
from ganforge.methods.base import DataNeeds, register_method
from ganforge.methods.capabilities import Conditional
from ganforge.methods.game import GameSettings
from ganforge.methods.gan import GAN, ConditionedD
from ganforge.models.conditional import (
    ConcatDiscriminator,
    ConditionedGenerator,
    ProjectionDiscriminator,
    TwoHeadDiscriminator,
    check_labels,
)


class LabelConditioned(Conditional, GAN):
    """G(z, y) for class labels y: an embedding of y concatenated to z. Fakes are drawn for
    uniformly random classes; grids show the classes in order, one per column."""

    defaults = {"arch": "dcgan"}
    trains_on = DataNeeds(labels=True)

    @property
    def num_classes(self) -> int:
        return self.spec.num_classes

    def label_encoder(self) -> nn.Module:
        return nn.Embedding(self.num_classes, self.num_classes)

    def sample_condition(self, n, generator=None):
        y = torch.randint(self.num_classes, (n,), generator=generator,
                          device="cpu" if generator is not None else self.device)
        return y.to(self.device)

    def real_condition(self, batch):
        return batch["label"]

    def display_condition(self, n):
        return torch.arange(n, device=self.device) % self.num_classes

    @property
    def display_nrow(self) -> int:
        return self.num_classes

    def condition_for(self, classes) -> torch.Tensor:
        """User-given class indices, checked, as the condition of this method."""
        return check_labels(torch.as_tensor(classes), self.num_classes).to(self.device)


@register_method("cgan")
class CGAN(ConditionedD, LabelConditioned):
    """Mirza & Osindero 2014: y is given to both G and D. D takes it as an extra input plane
    (``--d-cond concat``, the paper's concatenation) or by projection onto its features
    (``--d-cond projection``, Miyato & Koyama 2018)."""

    # Measured for issue #22 (benchmarks/RESULTS.md, 3 seeds, the same CPU time): 99.1% of
    # samples of the requested class against 95.2% for concat at batch 64 without an average.
    defaults = {"arch": "dcgan", "d_cond": "projection", "batch_size": 32, "lr_g": 1e-4,
                "lr_d": 2e-4, "ema": 0.99}

    @dataclass(frozen=True)
    class Settings(GameSettings):
        d_cond: str = setting("concat", "how D sees the class: concat (an embedded label plane "
                              "beside the image), projection (inner product with D's "
                              "features) or two-head (a realism head and a separate head "
                              "scoring whether image and class match)",
                              choices=("concat", "projection", "two-head"))
        match_weight: float = setting(1.0, "with --d-cond two-head: the weight of the match "
                                      "head's loss, for D and for G", at_least=0)

    def build_networks(self):
        concat = self.settings.d_cond == "concat"
        G, D = build_backbone(self.cfg, self.spec, g_extra_inputs=self.num_classes,
                              d_extra_channels=1 if concat else 0)
        if concat:
            D = ConcatDiscriminator(D, self.num_classes, self.spec.img_size)
        elif self.settings.d_cond == "two-head":
            D = TwoHeadDiscriminator(D, self.num_classes)
        else:
            D = ProjectionDiscriminator(D, self.num_classes)
        return ConditionedGenerator(G, self.label_encoder()), D

    # The two-head D's match head is a classifier of (x, y) pairs, trained on real images with
    # their own label (matched) and with a wrong one (mismatched). Fakes are not among its
    # negatives: whether a fake looks real is the realism head's question, and teaching the
    # match head that fakes never match would make it a second realism head. G wants its
    # images read as real by one head and as showing the requested class by the other.

    def aux_d_loss(self, h_real, c_real, h_fake, c_fake):
        if self.settings.d_cond != "two-head":
            return 0.0, {}
        shift = torch.randint(1, self.num_classes, c_real.shape, device=c_real.device)
        wrong = (c_real + shift) % self.num_classes
        matched, mismatched = self.D.match(h_real, c_real), self.D.match(h_real, wrong)
        loss = F.softplus(-matched).mean() + F.softplus(mismatched).mean()
        accuracy = ((matched > 0).float().mean() + (mismatched < 0).float().mean()) / 2
        return self.settings.match_weight * loss, {"match_loss": loss, "match_acc": accuracy}

    def aux_g_loss(self, h_fake, c_fake):
        if self.settings.d_cond != "two-head":
            return 0.0, {}
        loss = F.softplus(-self.D.match(h_fake, c_fake)).mean()
        return self.settings.match_weight * loss, {"g_match_loss": loss}


class AuxiliaryClassifier(GAN):
    """A class head on D's features (Odena et al. 2017): D learns to name the class of real
    images, G to make its fakes read as the class they were drawn for. ACGAN uses it with label
    conditioning, TAC-GAN with captions. A subclass calls :meth:`build_classifier` in its
    ``build_networks`` and passes the labels to ``aux_d_loss`` / ``aux_g_loss``.

    In the paper D's class loss is counted on real *and* fake images. Then D's classifier also
    learns from G's fakes, so a mix-up early in training (class 2 drawn as 7-like strokes) is
    taught to it as the truth and never corrected: on MNIST, 3,000 steps, ACGAN's fakes of class
    2 were 23% recognisable as 2 (83% over all classes). By default D's classifier learns from
    real images only, so the requested class must look like that class (98% after the same
    steps); ``--fake-class-weight 1`` restores the paper's form."""

    @dataclass(frozen=True)
    class ClassLoss(Settings):
        class_weight: float = setting(1.0, "weight of the auxiliary class loss L_C")
        fake_class_weight: float = setting(0.0, "weight of the fakes' share of D's class loss: "
                                           "1 is the paper's form, which lets D's classifier "
                                           "learn G's early class mix-ups as the truth; 0 trains "
                                           "it on real images only")

    @dataclass(frozen=True)
    class Settings(GameSettings, ClassLoss):
        pass

    def build_classifier(self, feature_dim: int) -> None:
        self.classifier = nn.Linear(feature_dim, self.spec.num_classes)

    def groups(self):
        return {"D": [self.D, self.classifier], "G": [self.G]}

    def aux_d_loss(self, h_real, c_real, h_fake, c_fake):
        real_logits = self.classifier(h_real)
        loss = F.cross_entropy(real_logits, c_real)
        if self.settings.fake_class_weight:
            fake_loss = F.cross_entropy(self.classifier(h_fake), c_fake)
            loss = loss + self.settings.fake_class_weight * fake_loss
        accuracy = (real_logits.argmax(1) == c_real).float().mean()
        return self.settings.class_weight * loss, {"class_loss": loss, "real_acc": accuracy}

    def aux_g_loss(self, h_fake, c_fake):
        loss = F.cross_entropy(self.classifier(h_fake), c_fake)
        return self.settings.class_weight * loss, {"g_class_loss": loss}


@register_method("acgan")
class ACGAN(AuxiliaryClassifier, LabelConditioned):
    """Odena et al. 2017: D does not see y but predicts it; G maximises L_C - L_S, where L_C
    is the log-likelihood of the requested class of its fakes under D's classifier (see
    :class:`AuxiliaryClassifier` for why D's classifier learns from real images only by
    default)."""

    # Measured for issue #22 (benchmarks/RESULTS.md): 98.6% of the requested class over 3 seeds,
    # none under 97%, in the CPU time of 3,000 steps at batch 64.
    defaults = {"arch": "dcgan", "batch_size": 32, "ema": 0.999}

    def build_networks(self):
        G, D = build_backbone(self.cfg, self.spec, g_extra_inputs=self.num_classes)
        self.build_classifier(D.feature_dim)
        return ConditionedGenerator(G, self.label_encoder()), D
