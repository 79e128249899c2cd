"""The torchvision pieces the usual MNIST training scripts use, written out.

torchvision's wheel is broken on the benchmark machine, so the baselines that compare ganforge
with "the loop people write" use these instead. Each follows torchvision's code path for a PIL
image of MNIST (torchvision 0.2x): ``datasets.MNIST.__getitem__`` (uint8 tensor -> PIL image,
mode "L" -> transform), ``transforms.Resize(size)`` (shorter edge to ``size``, PIL bilinear),
``ToTensor`` (HWC uint8 -> CHW float in [0, 1]) and ``Normalize`` (not in place), chained by
``Compose``. Only MNIST from local IDX files is offered: nothing is downloaded.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from ganforge.data import read_idx


def to_tensor(pic: Image.Image) -> torch.Tensor:
    """torchvision.transforms.functional.to_tensor for a PIL image: HWC uint8 -> CHW [0, 1]."""
    img = torch.from_numpy(np.array(pic, np.uint8, copy=True))
    img = img.view(pic.size[1], pic.size[0], len(pic.getbands()))
    img = img.permute((2, 0, 1)).contiguous()
    return img.to(dtype=torch.get_default_dtype()).div(255)


def normalize(tensor: torch.Tensor, mean: list[float], std: list[float]) -> torch.Tensor:
    """torchvision.transforms.functional.normalize (not in place: it clones first)."""
    tensor = tensor.clone()
    mean_t = torch.as_tensor(mean, dtype=tensor.dtype, device=tensor.device).view(-1, 1, 1)
    std_t = torch.as_tensor(std, dtype=tensor.dtype, device=tensor.device).view(-1, 1, 1)
    return tensor.sub_(mean_t).div_(std_t)


def resize(pic: Image.Image, size: int) -> Image.Image:
    """torchvision.transforms.functional.resize of a PIL image to an int ``size``: the shorter
    edge becomes ``size``, the aspect ratio is kept, PIL's bilinear filter (antialiased)."""
    w, h = pic.size
    short, long = (w, h) if w <= h else (h, w)
    new_short, new_long = size, int(size * long / short)
    new_w, new_h = (new_short, new_long) if w <= h else (new_long, new_short)
    return pic.resize((new_w, new_h), Image.Resampling.BILINEAR)


class Compose:
    def __init__(self, transforms: list[Callable]) -> None:
        self.transforms = transforms

    def __call__(self, img):
        for t in self.transforms:
            img = t(img)
        return img


class Resize:
    def __init__(self, size: int) -> None:
        self.size = size

    def __call__(self, img: Image.Image) -> Image.Image:
        return resize(img, self.size)


class ToTensor:
    def __call__(self, pic: Image.Image) -> torch.Tensor:
        return to_tensor(pic)


class Normalize:
    def __init__(self, mean: list[float], std: list[float]) -> None:
        self.mean, self.std = mean, std

    def __call__(self, tensor: torch.Tensor) -> torch.Tensor:
        return normalize(tensor, self.mean, self.std)


class MNIST(Dataset):
    """torchvision.datasets.MNIST over the IDX files in ``root`` (the folder holding
    train-images-idx3-ubyte.gz and its siblings); ``download`` is not offered."""

    def __init__(self, root: str | Path, train: bool = True,
                 transform: Callable | None = None) -> None:
        prefix = "train" if train else "t10k"
        images = read_idx(Path(root) / f"{prefix}-images-idx3-ubyte.gz")
        labels = read_idx(Path(root) / f"{prefix}-labels-idx1-ubyte.gz")
        self.data = torch.from_numpy(images.copy())  # uint8 [N, 28, 28], as torchvision's
        self.targets = torch.from_numpy(labels.astype(np.int64))
        self.transform = transform

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        img, target = self.data[index], int(self.targets[index])
        img = Image.fromarray(img.numpy(), mode="L")
        if self.transform is not None:
            img = self.transform(img)
        return img, target
