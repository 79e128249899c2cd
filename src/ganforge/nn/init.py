"""Weight initialisation."""

import torch
from torch import nn

from ganforge.nn.modes import mode


def dcgan_init(module: nn.Module) -> None:
    """Radford et al. 2016, sec. 4: weights from N(0, 0.02); batch-norm scales from N(1, 0.02)."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


def is_weight_normed(layer: nn.Module) -> bool:
    """Whether ``layer.weight`` is weight-normalised (torch.nn.utils.parametrizations.weight_norm,
    which keeps the gain as ``original0``), as opposed to unparametrised or spectrally normed."""
    from torch.nn.utils import parametrize

    return (parametrize.is_parametrized(layer, "weight")
            and hasattr(layer.parametrizations.weight, "original0"))


@torch.no_grad()
def weight_norm_data_init_(module: nn.Module, x: torch.Tensor, training: bool = False) -> None:
    """Data-dependent initialisation of weight-normalised layers (Salimans & Kingma 2016, sec.
    3): one forward pass of ``x`` in which each weight-normalised Linear or Conv2d layer, in
    order, rescales its gain g and sets its bias so that its outputs on ``x`` have zero mean and
    unit variance per unit. Without it, noise layers of fixed size (Improved GAN's D) drown a
    signal that default initialisation shrinks layer by layer. ``training=True`` runs the pass
    in training mode, so that noise layers count in the statistics, as the released Improved-GAN
    code does."""
    def normalise(layer: nn.Module, _inputs, out: torch.Tensor) -> torch.Tensor:
        dims = [0] + list(range(2, out.dim()))
        mean, std = out.mean(dims), out.std(dims).clamp_min(1e-6)
        gain = layer.parametrizations.weight.original0
        gain.div_(std.view(gain.shape))
        layer.bias.sub_(mean).div_(std)
        shape = [1, -1] + [1] * (out.dim() - 2)
        return (out - mean.view(shape)) / std.view(shape)

    hooks = [m.register_forward_hook(normalise) for m in module.modules()
             if isinstance(m, (nn.Linear, nn.Conv2d)) and is_weight_normed(m)
             and m.bias is not None]
    try:
        with mode(module, training):
            module(x)
    finally:
        for hook in hooks:
            hook.remove()
