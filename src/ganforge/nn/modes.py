"""Switching a module's mode for a while."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from torch import nn


@contextlib.contextmanager
def mode(module: nn.Module, training: bool) -> Iterator[nn.Module]:
    """``module`` in training or eval mode inside the block, back in its previous mode after it
    (also when the block raises)."""
    was_training = module.training
    module.train(training)
    try:
        yield module
    finally:
        module.train(was_training)


def eval_mode(module: nn.Module) -> contextlib.AbstractContextManager[nn.Module]:
    """``module`` in eval mode inside the block: batch norm uses running statistics, noise
    layers are off."""
    return mode(module, False)
