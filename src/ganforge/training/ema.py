"""Exponential moving average of G's weights (Karras et al. 2018; Yazici et al. 2019)."""

from __future__ import annotations

import copy

import torch
from torch import nn


class EMA:
    """``G_ema <- decay * G_ema + (1 - decay) * G`` after every generator step, buffers copied."""

    def __init__(self, G: nn.Module, decay: float) -> None:
        self.decay = decay
        self.module = copy.deepcopy(G).eval().requires_grad_(False)
        self._src_params = list(G.parameters())
        self._dst_params = list(self.module.parameters())
        self._src_buffers = list(G.buffers())
        self._dst_buffers = list(self.module.buffers())

    @torch.no_grad()
    def update(self) -> None:
        torch._foreach_lerp_(self._dst_params, self._src_params, 1.0 - self.decay)
        for dst, src in zip(self._dst_buffers, self._src_buffers, strict=True):
            dst.copy_(src)
