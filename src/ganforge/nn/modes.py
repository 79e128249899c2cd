"""Switching a module's mode for a while."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from torch import nn


@contextlib.contextmanager
def eval_mode(module: nn.Module) -> Iterator[nn.Module]:
    """``module`` in eval mode inside the block, back in its previous mode after it (also when
    the block raises): batch norm uses running statistics, noise layers are off."""
    was_training = module.training
    module.eval()
    try:
        yield module
    finally:
        module.train(was_training)
