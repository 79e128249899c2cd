"""Whether a network treats each row of its batch alone."""

from __future__ import annotations

from torch import nn

# Layers whose output row i depends on input row i only, in training mode as in eval mode.
# A whitelist, not a blacklist: a layer not named here (batch norm, minibatch discrimination,
# virtual batch norm, a model's own layer) may mix rows, and one is enough to say no.
_PER_ROW = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.ConvTranspose2d, nn.Embedding,
            nn.LeakyReLU, nn.ReLU, nn.ELU, nn.GELU, nn.SiLU, nn.Tanh, nn.Sigmoid, nn.Softplus,
            nn.Dropout, nn.Dropout2d, nn.Flatten, nn.Unflatten, nn.Identity, nn.LayerNorm,
            nn.GroupNorm, nn.AvgPool2d, nn.MaxPool2d, nn.AdaptiveAvgPool2d, nn.Upsample,
            nn.ZeroPad2d, nn.ReflectionPad2d)
_CONTAINERS = (nn.Sequential, nn.ModuleList, nn.ModuleDict)


def rows_independent(module: nn.Module) -> bool:
    """True when every part of ``module`` maps each row of a batch on its own: running two
    batches through it as one then gives each batch what a pass of its own would. A model's
    own class says so of its own code with ``treats_rows_alone = True``; its layers must be
    plain ones named above, with no hooks or parametrizations (spectral norm steps its power
    iteration at every forward, so one pass instead of two would change its estimate)."""
    for m in module.modules():
        if m._forward_hooks or m._forward_pre_hooks or hasattr(m, "parametrizations"):
            return False
        if not (type(m) in _PER_ROW + _CONTAINERS
                or vars(type(m)).get("treats_rows_alone", False)):
            return False
    return True
