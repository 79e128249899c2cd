"""The network-side stabilisers every image method shares, applied to the backbones from the
config: D's normalisation (batch, none, layer, spectral), minibatch discrimination before D's
head, virtual batch norm in G, self-attention at a chosen resolution.

They are model surgery on plain backbones rather than constructor flags, so every backbone in
``ARCHITECTURES`` gains them at once.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from ganforge.config import TrainConfig
from ganforge.errors import GanforgeError
from ganforge.nn.layers import MinibatchDiscrimination, VirtualBatchNorm, spectral_norm_all

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


def stabilise_discriminator(D: nn.Module, cfg: TrainConfig) -> nn.Module:
    if cfg.d_norm in ("none", "spectral"):
        replace_batch_norm(D, lambda bn: nn.Identity())
    elif cfg.d_norm == "layer":
        replace_batch_norm(D, _layer_norm)
    if cfg.minibatch_kernels:
        penalised = cfg.gp_weight is not None or cfg.r1_weight is not None
        layer = MinibatchDiscrimination(D.feature_dim, cfg.minibatch_kernels,
                                        twice_differentiable=penalised)
        D.head = nn.Sequential(layer, nn.Linear(layer.out_features, 1))
    if cfg.d_norm == "spectral":
        spectral_norm_all(D)
    if (cfg.gp_weight is not None or cfg.r1_weight is not None) and has_batch_norm(D):
        raise GanforgeError(
            "a gradient penalty is taken per example, but batch norm in D mixes the examples "
            "of a batch; add --d-norm layer (WGAN-GP's choice), none or spectral")
    return D


def stabilise_generator(G: nn.Module, cfg: TrainConfig) -> nn.Module:
    if cfg.g_norm == "virtual":
        made = replace_batch_norm(G, lambda bn: VirtualBatchNorm(bn.num_features, bn.eps))
        if not made:
            raise GanforgeError(f"--g-norm virtual replaces G's batch norm, but the {cfg.arch} "
                                "generator has none")
    return G
