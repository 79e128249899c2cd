"""Image files on disk: read whole or refused in one line naming the file, and every pixel
format brought to 8-bit gray (mode L) or RGB at its true brightness."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from ganforge.errors import DataError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".webp"}
# 16-bit gray, as PIL opens PNGs and TIFFs of 16 bits per pixel (older PILs: I).
_SIXTEEN_BIT = {"I;16", "I;16B", "I;16L", "I;16N", "I"}


def _eight_bit(img: Image.Image) -> Image.Image:
    if img.mode in ("L", "RGB"):
        return img
    if img.mode in _SIXTEEN_BIT:
        # PIL's convert("L") / convert("RGB") clips these at 255, turning a 16-bit picture
        # (0..65535) nearly white; scaled, 65535 is 255.
        pixels = np.asarray(img, dtype=np.float64) / 257.0
        return Image.fromarray(np.rint(pixels).clip(0, 255).astype(np.uint8))
    if img.mode in ("1", "LA", "La"):
        return img.convert("L")
    return img.convert("RGB")


def _refuse(path: Path, error: Exception) -> DataError:
    if isinstance(error, Image.DecompressionBombError):
        return DataError(f"{path} is larger than ganforge reads ({error}); shrink it or remove "
                         "it from the folder")
    return DataError(f"{path} is not a readable image ({error}); remove or replace it")


def open_image(path: Path) -> Image.Image:
    """The picture in ``path``, read whole, in mode L or RGB; a DataError naming the file when
    it cannot be read (not an image, truncated, a decompression bomb of 20000x20000 pixels)."""
    try:
        with Image.open(path) as img:
            img.load()
            return _eight_bit(img)
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError,
            SyntaxError) as e:
        raise _refuse(path, e) from None


def image_size(path: Path) -> tuple[int, int]:
    """(width, height) of the picture in ``path``, from its header."""
    try:
        with Image.open(path) as img:
            return img.size
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError,
            SyntaxError) as e:
        raise _refuse(path, e) from None


def load_square_image(path: Path, size: int) -> Image.Image:
    """The picture in ``path`` centre-cropped square and resized to ``size`` (bicubic)."""
    img = open_image(path)
    w, h = img.size
    side = min(w, h)
    box = ((w - side) // 2, (h - side) // 2, (w - side) // 2 + side, (h - side) // 2 + side)
    return img.resize((size, size), Image.Resampling.BICUBIC, box=box)


def read_images(files: list[Path], size: int) -> torch.Tensor:
    """uint8 [N, C, H, W] of image files, centre-cropped square and resized to ``size``: gray
    (C = 1) when every file is, else RGB."""
    loaded = [load_square_image(p, size) for p in files]
    grayscale = all(img.mode == "L" for img in loaded)
    arrays = [np.asarray(img.convert("L" if grayscale else "RGB")) for img in loaded]
    images = torch.from_numpy(np.stack(arrays))
    return images[:, None] if grayscale else images.permute(0, 3, 1, 2).contiguous()
