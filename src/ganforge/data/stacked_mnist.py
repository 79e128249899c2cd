"""Stacked MNIST: three MNIST digits as the R, G and B channels of one image, 1,000 modes.

Metz et al., "Unrolled Generative Adversarial Networks", ICLR 2017, Sec. 3.3.2, and
Srivastava et al., "VEEGAN", NeurIPS 2017, Sec. 5.2: each channel holds an independently drawn
MNIST digit, so the label ``100 * d_R + 10 * d_G + d_B`` takes 1,000 values, each with
probability about 1/1000. A generator that misses modes shows it in the mode count of
:mod:`ganforge.metrics.stacked_mnist`, the standard test of mode collapse.
"""

from __future__ import annotations

import torch

from ganforge.data.dataset import ImageDataset

NUM_MODES = 1000
CLASS_NAMES = [f"{i:03d}" for i in range(NUM_MODES)]


def stack_digits(images: torch.Tensor, labels: torch.Tensor, n: int, seed: int) -> ImageDataset:
    """``n`` Stacked MNIST images from grey digits ``images`` [M, 1, H, W] with ``labels`` [M].

    Each of the 3 channels of each image is a digit drawn uniformly with replacement, all draws
    independent and fixed by ``seed``; built by one gather, with no per-sample Python.
    """
    if images.dim() != 4 or images.shape[1] != 1:
        raise ValueError(f"images must be grey [M, 1, H, W]; got {tuple(images.shape)}")
    index = torch.randint(0, len(images), (n, 3), generator=torch.Generator().manual_seed(seed))
    stacked = images[:, 0][index]  # [n, 3, H, W]
    label = (labels[index] * torch.tensor([100, 10, 1])).sum(dim=1)
    return ImageDataset("stacked-mnist", stacked.contiguous(), label, list(CLASS_NAMES))
