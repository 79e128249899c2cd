"""The knobs of the GAN game, each declared once: a method's Settings derive from those it
has, so a method without one simply lacks it (``--gp-weight`` of a VAE is an unknown setting
of that method, refused by :mod:`ganforge.configure` with the methods that have it).

``GameSettings`` is the whole set, which the GAN family honours (:class:`ganforge.methods.gan.
GAN`); LAPGAN, ProGAN, BiGAN, VAE-GAN, the VAE and text2img take the subsets their networks and
losses can honour. A knob acts where it is read: the backbone knobs in
:mod:`ganforge.methods.backbone`, the objective and penalties in the GAN game's losses.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

from ganforge.config import Settings, setting
from ganforge.errors import GanforgeError
from ganforge.losses import ADVERSARIAL_LOSSES
from ganforge.models import ARCHITECTURES
from ganforge.nn.augment import parse_policy

D_NORMS = ("batch", "none", "layer", "spectral")
G_NORMS = ("batch", "virtual")
# Said of two declarations each: the translation methods' knobs of the same name take fewer
# values (translation.py).
LOSS_HELP = ("adversarial objective; gan is the non-saturating loss, minimax eq. 1 of "
             "Goodfellow et al.; f:<divergence> is f-GAN (Nowozin et al. 2016) with that "
             "f-divergence")
D_NORM_HELP = ("D's normalisation (batch: the backbone's own; spectral: Miyato et al. 2018, "
               "replacing batch norm)")


@dataclass(frozen=True)
class Width(Settings):
    width: int = setting(64, "base channel width of the networks", at_least=1, at_most=2048)


@dataclass(frozen=True)
class Latent(Settings):
    latent_dim: int = setting(100, "size of z", at_least=1, at_most=4096)


@dataclass(frozen=True)
class Backbone(Latent, Width):
    """G and D from a backbone of ``ARCHITECTURES``, G's batch norm replaceable."""

    arch: str | None = setting(None, "backbone", choices=tuple(ARCHITECTURES.names()),
                               noun="architecture", default_text="the method's")
    g_norm: str = setting("batch", "G's normalisation (virtual: virtual batch norm, Salimans "
                          "et al. 2016)", choices=G_NORMS)


@dataclass(frozen=True)
class Attention(Settings):
    attention: int | None = setting(
        None, "a SAGAN self-attention block in G and D at the RES x RES feature map (dcgan and "
        "resnet backbones)", at_most=2048, metavar="RES", default_text="off")


@dataclass(frozen=True)
class GradientPenalty(Settings):
    gp_weight: float | None = setting(None, "WGAN-GP gradient penalty on interpolates, e.g. 10",
                                      above=0, metavar="LAMBDA", default_text="off")


@dataclass(frozen=True)
class R1Penalty(Settings):
    r1_weight: float | None = setting(None, "R1 penalty gamma/2 E||grad D(x)||^2 on real data",
                                      above=0, metavar="GAMMA", default_text="off")


@dataclass(frozen=True)
class DNorm(Settings):
    d_norm: str = setting("batch", D_NORM_HELP, choices=D_NORMS)


@dataclass(frozen=True)
class Clip(Settings):
    clip: float | None = setting(None, "WGAN weight clipping of D to [-C, C], e.g. 0.01",
                                 above=0, metavar="C", default_text="off")

    def check(self, warn: bool = True) -> None:
        super().check(warn)
        if self.clip is not None and isinstance(self, GradientPenalty) and (
                self.gp_weight is not None):
            raise GanforgeError("--clip and --gp-weight both enforce D's Lipschitz constraint, "
                                "the gradient penalty replacing clipping (Gulrajani et al. "
                                "2017); use one")
        if self.clip is not None and isinstance(self, DNorm) and self.d_norm == "spectral":
            raise GanforgeError("--clip and --d-norm spectral both bound D's Lipschitz "
                                "constant; use one")


@dataclass(frozen=True)
class MinibatchDiscrimination(Settings):
    minibatch_kernels: int = setting(0, "minibatch discrimination with B kernels before D's "
                                     "head, e.g. 50 (0: off)", at_least=0, at_most=4096,
                                     metavar="B")


@dataclass(frozen=True)
class Loss(Settings):
    """The adversarial objective, one of ``ADVERSARIAL_LOSSES``."""

    loss: str = setting("gan", LOSS_HELP, choices=tuple(ADVERSARIAL_LOSSES.names()),
                        noun="loss")

    def check(self, warn: bool = True) -> None:
        super().check(warn)
        constrained = (isinstance(self, Clip) and self.clip is not None) or (
            isinstance(self, GradientPenalty) and self.gp_weight is not None) or (
            isinstance(self, DNorm) and self.d_norm == "spectral")
        if warn and self.loss == "wasserstein" and not constrained:
            warnings.warn("--loss wasserstein without --clip, --gp-weight or --d-norm spectral "
                          "leaves the critic unconstrained; its loss can grow without bound",
                          stacklevel=4)


@dataclass(frozen=True)
class Objective(Loss):
    """The objective with one-sided label smoothing (Salimans et al. 2016), for the sigmoid
    losses."""

    label_smoothing: float = setting(0.0, "one-sided label smoothing: real target 1 - S, e.g. "
                                     "0.1", at_least=0.0, below=0.5, example=0.1, metavar="S",
                                     what="the amount taken off the real target,")

    def check(self, warn: bool = True) -> None:
        super().check(warn)
        if self.label_smoothing and not ADVERSARIAL_LOSSES.get(self.loss).label_smoothing:
            raise GanforgeError(f"--label-smoothing applies to the sigmoid losses (gan, "
                                f"minimax), not --loss {self.loss}")


@dataclass(frozen=True)
class FeatureMatching(Settings):
    feature_matching: bool = setting(False, "G matches the mean of D's features on real data "
                                     "(Salimans et al. 2016) instead of the adversarial G loss")


@dataclass(frozen=True)
class SharedFakes(Settings):
    shared_fakes: bool = setting(
        False, "G's update reuses the fakes D's update was just given (one G forward a step "
        "instead of two, as PyTorch's DCGAN example does) instead of drawing fresh noise "
        "(Algorithm 1 of Goodfellow et al.)")


@dataclass(frozen=True)
class HistoricalAveraging(Settings):
    history_weight: float | None = setting(None, "historical averaging penalty W ||theta - mean "
                                           "theta||^2 on both players", above=0, metavar="W",
                                           default_text="off")


@dataclass(frozen=True)
class Augment(Settings):
    augment: str | None = setting(None, "differentiable augmentation of every image D sees, "
                                  "real and fake (DiffAugment): comma-separated, of color, "
                                  "translation, cutout (DiffAugment's) and affine, stroke; "
                                  "none turns off a data set's default",
                                  metavar="LIST", default_text="off")
    ada_target: float | None = setting(
        None, "ADA: apply each --augment transform with a probability p adapted to keep "
        "E[sign(D(real))] at TARGET (the paper: 0.6)", above=0, below=1, metavar="TARGET",
        default_text="off: every image is augmented")
    ada_speed: float = setting(100_000, "ADA: images for p to go from 0 to 1", above=0,
                               metavar="IMAGES")

    def check(self, warn: bool = True) -> None:
        super().check(warn)
        parse_policy(self.augment)
        if self.ada_target is not None and not self.augment:
            raise GanforgeError("--ada-target adapts how often --augment's transforms apply: "
                                "give --augment too, e.g. --augment translation,cutout")


@dataclass(frozen=True)
class DiscriminatorGame(R1Penalty, GradientPenalty, Clip, Objective, MinibatchDiscrimination,
                        DNorm):
    """D's side of the game: its normalisation and minibatch discrimination, the objective it is
    trained with, and the constraints on it (clipping, the gradient and R1 penalties)."""


@dataclass(frozen=True)
class OwnStepGameSettings(Augment, HistoricalAveraging, FeatureMatching, DiscriminatorGame,
                          Attention, Backbone):
    """The knobs of the GAN game a method honours whose G step is its own (MRGAN's adds terms
    on G(E(x))): all but ``--shared-fakes``, whose fakes only GAN's own steps hand over. Left
    out of the settings, not refused at run time, so ``--help`` names only methods that take it
    and ``--dry-run`` refuses it too."""


@dataclass(frozen=True)
class GameSettings(SharedFakes, OwnStepGameSettings):
    """Every knob of the GAN game: what the GAN family (gan, dcgan, the conditional GANs, the
    presets) honours."""


def penalises_gradients(settings: Settings) -> bool:
    """Whether D's input gradient is penalised (gradient penalty or R1): D then needs twice
    differentiable layers and no batch norm."""
    return (isinstance(settings, GradientPenalty) and settings.gp_weight is not None) or (
        isinstance(settings, R1Penalty) and settings.r1_weight is not None)
