"""The semi-supervised GAN of Salimans et al. 2016 (Improved GAN, sec. 5).

D is a K-class classifier whose logits l_1..l_K stand for the real classes; the fake class K+1
has its logit fixed to 0. Then p(real | x) = Z(x) / (Z(x) + 1) with Z = sum_k exp(l_k), i.e.
D(x) = sigmoid(logsumexp(l)), so the unsupervised part of D's loss is exactly the GAN game on
the logit logsumexp(l), and the supervised part is cross-entropy over the K real classes on a
small labelled subset. G is trained by feature matching (the paper's best choice for
classification). After training, D's argmax over l is the classifier.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize

from ganforge.config import setting
from ganforge.data import ImageDataset, balanced_subset, from_uint8
from ganforge.data.spec import DataSpec
from ganforge.errors import GanforgeError
from ganforge.methods.base import DataNeeds, register_method
from ganforge.methods.capabilities import AveragedCopy, KeepsAverages
from ganforge.methods.game import GameSettings
from ganforge.methods.gan import GAN
from ganforge.models.improved_gan import weight_normed_linear
from ganforge.nn import is_weight_normed, weight_norm_data_init_
from ganforge.nn.layers import spectral_norm_all

_INIT_IMAGES = 500


def output_layer(D: nn.Module) -> nn.Linear:
    """The linear layer that makes D's logits: its head, or the head's last layer."""
    return D.head[-1] if isinstance(D.head, nn.Sequential) else D.head


def with_class_outputs(D: nn.Module, num_classes: int) -> nn.Module:
    """Give D's head ``num_classes`` outputs in place of its one logit, normalised as the old
    output layer was (weight norm, spectral norm or none)."""
    last = output_layer(D)
    layer = nn.Linear(last.in_features, num_classes)
    if is_weight_normed(last):
        layer = weight_normed_linear(last.in_features, num_classes)
    elif parametrize.is_parametrized(last, "weight"):
        spectral_norm_all(layer)
    if isinstance(D.head, nn.Sequential):
        D.head[-1] = layer
    else:
        D.head = layer
    return D


@register_method("ssgan")
class SemiSupervisedGAN(KeepsAverages, GAN):
    """Salimans et al. 2016: K+1-class discriminator, ``--labels-per-class`` labelled examples
    per class (balanced, chosen by ``--labels-seed``, else the seed), every training image as
    unlabelled data, feature matching for G; the paper's MNIST networks and optimiser (Adam
    3e-3, beta1 0.5, batch 100).
    """

    # adam_eps: the released code's Adam divides by sqrt(v + 1e-8), not sqrt(v) + 1e-8; with
    # PyTorch's 1e-8 the weight-normalised directions, whose gradients are tiny, moved by about
    # the learning rate every step and D's features blew up every few thousand steps.
    defaults = {"arch": "improved-gan", "feature_matching": True, "lr": 3e-3, "beta1": 0.5,
                "batch_size": 100, "adam_eps": 1e-4}
    # The released code's mean over D's 250 features, not their sum: under the epsilon above,
    # G's gradients, 250x smaller (~1e-5 to 1e-4), make its steps several times shorter; with
    # the sum, feature matching burst every few thousand steps (benchmarks/RESULTS.md).
    feature_matching_per_feature = True
    trains_on = DataNeeds(labels=True)

    @dataclass(frozen=True)
    class Settings(GameSettings):
        labels_per_class: int = setting(10, "labelled training examples per class", at_least=1,
                                        metavar="N")
        labels_seed: int | None = setting(
            None, "seed that picks the labelled subset; fix it to vary only the model's seed, "
            "as the released code's --seed_data does", default_text="--seed")
        unlabelled_weight: float = setting(0.5, "weight of the unsupervised (real/fake) part of "
                                           "D's loss against the supervised cross-entropy (0.5 "
                                           "in the released code)", above=0)
        classifier_decay: float = setting(0.999, "decay of the moving average of D's weights "
                                          "that classifies (0: no average; the released code "
                                          "averages too, at 0.9999 over 300 epochs)",
                                          at_least=0.0, below=1.0, what="a decay",
                                          example=0.999)

    def __init__(self, cfg, spec: DataSpec) -> None:
        super().__init__(cfg, spec)
        # D's weights averaged over training classify: a GAN's D moves with G, and single
        # iterates of it can be far worse classifiers than their average.
        self.D_average = copy.deepcopy(self.D).requires_grad_(False)
        self.register_buffer("average_updates", torch.zeros((), dtype=torch.long))
        n = self.settings.labels_per_class * self.num_classes
        # The labelled subset travels with the checkpoint, so a loaded run knows its labels.
        self.register_buffer("labelled_images", torch.zeros(
            n, spec.img_channels, spec.img_size, spec.img_size, dtype=torch.uint8))
        self.register_buffer("labelled_labels", torch.zeros(n, dtype=torch.long))

    @property
    def num_classes(self) -> int:
        return self.spec.num_classes

    def build_networks(self):
        G, D = super().build_networks()
        return G, with_class_outputs(D, self.num_classes)

    def bind_data(self, data) -> None:
        if not isinstance(data, ImageDataset) or data.labels is None:
            raise GanforgeError("ssgan needs labelled images")
        labels_seed = self.settings.labels_seed
        index = balanced_subset(data.labels, self.settings.labels_per_class,
                                self.cfg.seed if labels_seed is None else labels_seed)
        self.labelled_images.copy_(data.images[index])
        self.labelled_labels.copy_(data.labels[index])
        # The paper's data-dependent init of D's weight-normalised layers on 500 training
        # images, with D's noise on, as in the released MNIST code.
        generator = torch.Generator().manual_seed(self.cfg.seed)
        sample = torch.randperm(len(data), generator=generator)[:_INIT_IMAGES]
        images = from_uint8(data.images[sample].to(self.device))
        weight_norm_data_init_(self.D, images, training=True)
        self.D_average.load_state_dict(self.D.state_dict())

    def class_logits(self, h: torch.Tensor) -> torch.Tensor:
        """The K real-class logits from D's features."""
        return self.D.head(h)

    def classify(self, x: torch.Tensor, averaged: bool = True) -> torch.Tensor:
        """Class logits [N, K] of images in [-1, 1], by D's averaged weights (or the current
        ones); call in eval mode for the test error."""
        D = self.D_average if averaged else self.D
        return D.head(D.features(x))

    def averaged_copies(self) -> list[AveragedCopy]:
        return [AveragedCopy(self.D, self.D_average, self.average_updates,
                             self.settings.classifier_decay, "D")]

    def d_logits(self, h: torch.Tensor, c=None) -> torch.Tensor:
        # The fake class's logit is 0, so log(p_real / p_fake) = logsumexp of the K logits.
        return torch.logsumexp(self.class_logits(h), dim=1)

    def adv_d(self, real_logits, fake_logits):
        return self.settings.unlabelled_weight * super().adv_d(real_logits, fake_logits)

    def labelled_batch(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """All labelled examples when there are at most ``n``, else a random ``n`` of them."""
        count = len(self.labelled_labels)
        if count > n:
            index = torch.randperm(count, device=self.labelled_labels.device)[:n]
            images, labels = self.labelled_images[index], self.labelled_labels[index]
        else:
            images, labels = self.labelled_images, self.labelled_labels
        return from_uint8(images), labels

    def aux_d_loss(self, h_real, c_real, h_fake, c_fake):
        images, labels = self.labelled_batch(len(h_real))
        logits = self.classify(images, averaged=False)
        supervised = F.cross_entropy(logits, labels)
        accuracy = (logits.detach().argmax(1) == labels).float().mean()
        return supervised, {"supervised": supervised.detach(), "labelled_acc": accuracy}
