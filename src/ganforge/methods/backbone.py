"""The networks of the GAN game built from a backbone of ``ARCHITECTURES``, and the
stabilisers applied to them from the settings: D's normalisation (batch, none, layer,
spectral), minibatch discrimination before D's head, virtual batch norm in G, self-attention at
a chosen resolution.

The stabilisers are model surgery on plain backbones rather than constructor flags, so every
backbone gains them at once. A knob a method's settings lack is off.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from ganforge.config import Settings, TrainConfig
from ganforge.data.spec import DataSpec
from ganforge.errors import GanforgeError
from ganforge.methods.game import (
    Attention,
    Backbone,
    DNorm,
    MinibatchDiscrimination,
    penalises_gradients,
)
from ganforge.models import ARCHITECTURES
from ganforge.nn.layers import MinibatchDiscrimination as MinibatchLayer
from ganforge.nn.layers import VirtualBatchNorm, spectral_norm_all

BATCH_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d)


def replace_batch_norm(module: nn.Module, make: Callable[[nn.Module], nn.Module]) -> int:
    """Replace every batch-norm layer of ``module`` by ``make(layer)``; returns how many."""
    count = 0
    for name, child in module.named_children():
        if isinstance(child, BATCH_NORMS):
            setattr(module, name, make(child))
            count += 1
        else:
            count += replace_batch_norm(child, make)
    return count


def _layer_norm(bn: nn.Module) -> nn.Module:
    # GroupNorm with one group normalises each example over all its channels and positions:
    # layer norm for feature maps, which WGAN-GP recommends in place of batch norm (sec. 4).
    if isinstance(bn, nn.BatchNorm2d):
        return nn.GroupNorm(1, bn.num_features)
    return nn.LayerNorm(bn.num_features)


def has_batch_norm(module: nn.Module) -> bool:
    return any(isinstance(m, BATCH_NORMS) for m in module.modules())


def stabilise_discriminator(D: nn.Module, settings: Settings) -> nn.Module:
    d_norm = settings.d_norm if isinstance(settings, DNorm) else "batch"
    if d_norm in ("none", "spectral"):
        replace_batch_norm(D, lambda bn: nn.Identity())
    elif d_norm == "layer":
        replace_batch_norm(D, _layer_norm)
    if isinstance(settings, MinibatchDiscrimination) and settings.minibatch_kernels:
        layer = MinibatchLayer(D.feature_dim, settings.minibatch_kernels,
                               twice_differentiable=penalises_gradients(settings))
        D.head = nn.Sequential(layer, nn.Linear(layer.out_features, 1))
    if d_norm == "spectral":
        spectral_norm_all(D)
    if penalises_gradients(settings) and has_batch_norm(D):
        raise GanforgeError(
            "a gradient penalty is taken per example, but batch norm in D mixes the examples "
            "of a batch; add --d-norm layer (WGAN-GP's choice), none or spectral")
    return D


def stabilise_generator(G: nn.Module, settings: Backbone) -> nn.Module:
    if settings.g_norm == "virtual":
        made = replace_batch_norm(G, lambda bn: VirtualBatchNorm(bn.num_features, bn.eps))
        if not made:
            raise GanforgeError(f"--g-norm virtual replaces G's batch norm, but the "
                                f"{settings.arch} generator has none")
    return G


def build_backbone(cfg: TrainConfig, spec: DataSpec, g_extra_inputs: int = 0,
                   d_extra_channels: int = 0, attention: int | None = None
                   ) -> tuple[nn.Module, nn.Module]:
    """The (G, D) pair of the configured architecture for this data, with the configured
    stabilisers; conditioning wrappers ask for extra latent inputs to G and extra image planes
    for D. ``attention`` overrides the setting's resolution."""
    settings: Backbone = cfg.settings
    arch = ARCHITECTURES.get(settings.arch)
    if arch.data != spec.kind:
        fitting = [n for n, a in ARCHITECTURES.items() if a.data == spec.kind]
        what = {"image": "images", "points": "2-D points"}
        raise GanforgeError(f"the {settings.arch} backbone draws {what[arch.data]}, but this "
                            f"data set holds {what[spec.kind]}; use --arch "
                            f"{' or '.join(fitting)}")
    if attention is None and isinstance(settings, Attention):
        attention = settings.attention
    extra = {} if attention is None else {"attention_at": attention}
    try:
        G = arch.generator(z_dim=settings.latent_dim + g_extra_inputs,
                           img_channels=spec.img_channels, img_size=spec.img_size,
                           width=settings.width, **extra)
        D = arch.discriminator(img_channels=spec.img_channels + d_extra_channels,
                               img_size=spec.img_size, width=settings.width, **extra)
    except TypeError as e:
        if "attention_at" not in str(e):
            raise
        raise GanforgeError(f"--attention is not offered by the {settings.arch} backbone; use "
                            "--arch dcgan or resnet") from None
    return stabilise_generator(G, settings), stabilise_discriminator(D, settings)
