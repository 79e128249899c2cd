"""Sample grids."""

from __future__ import annotations

import io
import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image


def image_grid(images: torch.Tensor, nrow: int | None = None, padding: int = 2,
               pad_value: int = 0) -> torch.Tensor:
    """Tile uint8 [N, C, H, W] images into one uint8 [C, H', W'] picture, ``nrow`` per row."""
    n, c, h, w = images.shape
    nrow = nrow or math.ceil(math.sqrt(n))
    rows = math.ceil(n / nrow)
    grid = torch.full((c, rows * (h + padding) + padding, nrow * (w + padding) + padding),
                      pad_value, dtype=torch.uint8)
    for i, img in enumerate(images.cpu()):
        r, col = divmod(i, nrow)
        top, left = padding + r * (h + padding), padding + col * (w + padding)
        grid[:, top : top + h, left : left + w] = img
    return grid


def grid_scale(img_size: int) -> int:
    """How many times sample pictures enlarge images of ``img_size``: small ones to ~64 px."""
    return max(1, 64 // img_size)


def as_rgb(*images: torch.Tensor) -> list[torch.Tensor]:
    """Gray images repeated to three channels when they are shown beside colour ones."""
    channels = max(x.shape[1] for x in images)
    return [x.expand(-1, channels, -1, -1) if x.shape[1] == 1 else x for x in images]


def side_by_side(*columns: torch.Tensor) -> torch.Tensor:
    """Images of each column interleaved row by row: [a0, b0, c0, a1, b1, c1, ...], so a grid
    of ``len(columns)`` images per row shows each input beside what became of it."""
    columns = as_rgb(*columns)
    return torch.stack(columns, dim=1).flatten(0, 1)


def montage(pictures: Sequence[torch.Tensor], ncol: int, padding: int = 8) -> torch.Tensor:
    """Tile uint8 [C, H, W] pictures of different sizes (grids, labelled grids) ``ncol`` to a
    row, each in a cell the size of the largest, top-left aligned; grey pictures become RGB
    when any picture is RGB."""
    c = max(p.shape[0] for p in pictures)
    h = max(p.shape[1] for p in pictures)
    w = max(p.shape[2] for p in pictures)
    cells = torch.zeros(len(pictures), c, h, w, dtype=torch.uint8)
    for cell, picture in zip(cells, pictures, strict=True):
        cell[:, : picture.shape[1], : picture.shape[2]] = picture
    return image_grid(cells, nrow=ncol, padding=padding)


def check_suffix(path: str | Path, suffix: str, kind: str) -> Path:
    """``path`` as a Path if it ends in ``suffix``; a picture viewer trusts the name, so a GIF
    written into walk.png, or a PNG into grid.jpg, shows as broken."""
    from ganforge.errors import GanforgeError

    path = Path(path)
    if path.suffix.lower() != suffix:
        raise GanforgeError(f"{path}: this picture is written as {kind}; give a file name "
                            f"ending in {suffix}")
    return path


def as_pil(picture: torch.Tensor, scale: int = 1) -> Image.Image:
    """A uint8 [C, H, W] picture (C is 1 or 3) as a PIL image, enlarged ``scale`` times with
    nearest-neighbour so small digits stay crisp."""
    array = picture.permute(1, 2, 0).numpy()
    array = array[..., 0] if array.shape[-1] == 1 else array
    img = Image.fromarray(np.ascontiguousarray(array))
    if scale > 1:
        img = img.resize((img.width * scale, img.height * scale), Image.Resampling.NEAREST)
    return img


def png_bytes(picture: torch.Tensor, scale: int = 1) -> bytes:
    """A uint8 [C, H, W] picture encoded as PNG in memory (what a web page is sent)."""
    buffer = io.BytesIO()
    as_pil(picture, scale).save(buffer, format="PNG")
    return buffer.getvalue()


def save_image(picture: torch.Tensor, path: str | Path, scale: int = 1) -> Path:
    """Write a uint8 [C, H, W] picture (C is 1 or 3) as PNG, enlarged ``scale`` times (see
    :func:`as_pil`); the file appears whole or not at all."""
    path = check_suffix(path, ".png", "PNG")
    img = as_pil(picture, scale)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    img.save(tmp, format="PNG")
    os.replace(tmp, path)
    return path
