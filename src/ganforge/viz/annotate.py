"""Grids with their rows and columns named, so a class grid or a code sweep reads by itself."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from ganforge.viz.grid import image_grid

TEXT = 220


def _font(size: int):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 has only the fixed bitmap font
        return ImageFont.load_default()


def stage_grid(rows: Sequence[tuple[str, torch.Tensor]], scale: int = 1,
               title: str = "") -> torch.Tensor:
    """The (label, images in [-1, 1]) rows of a coarse-to-fine method's stages as one labelled
    picture, a row per stage and a column per sample."""
    labels = [label for label, _ in rows]
    images = torch.cat([x for _, x in rows]).detach().cpu()
    pixels = images.add(1.0).mul(127.5).round().clamp(0, 255).to(torch.uint8)
    return labelled_grid(pixels, nrow=len(rows[0][1]), row_labels=labels, scale=scale,
                         title=title)


def labelled_grid(
    images: torch.Tensor, nrow: int, row_labels: Sequence[str] = (),
    col_labels: Sequence[str] = (), scale: int = 1, title: str = "", padding: int = 2,
) -> torch.Tensor:
    """Tile uint8 [N, C, H, W] images ``nrow`` to a row, enlarged ``scale`` times, with row
    labels in a left margin, column labels above and an optional title: uint8 [C', H', W']
    (C' is the images' channel count, 1 or 3)."""
    grid = image_grid(images, nrow=nrow, padding=padding)
    c = grid.shape[0]
    body = Image.fromarray(np.ascontiguousarray(
        grid.permute(1, 2, 0).numpy()[..., 0] if c == 1 else grid.permute(1, 2, 0).numpy()))
    if scale > 1:
        body = body.resize((body.width * scale, body.height * scale), Image.Resampling.NEAREST)
    cell_h = (images.shape[2] + padding) * scale
    cell_w = (images.shape[3] + padding) * scale
    font = _font(max(10, min(16, cell_h // 3)))
    draw_probe = ImageDraw.Draw(body)

    def width(text: str) -> int:
        left, _, right, _ = draw_probe.textbbox((0, 0), text, font=font)
        return right - left

    line = font.size + 4 if hasattr(font, "size") else 14
    left = max((width(t) for t in row_labels), default=0) + 8 if row_labels else 0
    top = (line if col_labels else 0) + (line if title else 0)
    canvas = Image.new(body.mode, (body.width + left, body.height + top), 0)
    canvas.paste(body, (left, top))
    draw = ImageDraw.Draw(canvas)
    fill = TEXT if body.mode == "L" else (TEXT,) * 3
    if title:
        draw.text((left + 2, 2), title, fill=fill, font=font)
    y0 = top - line if col_labels else 0
    for j, text in enumerate(col_labels):
        x = left + padding * scale + j * cell_w + (cell_w - padding * scale - width(text)) // 2
        draw.text((x, y0 + 2), text, fill=fill, font=font)
    for i, text in enumerate(row_labels):
        y = top + padding * scale + i * cell_h + (cell_h - padding * scale - line) // 2
        draw.text((left - 4 - width(text), y + 2), text, fill=fill, font=font)
    array = torch.from_numpy(np.asarray(canvas).copy())
    return array[None] if array.dim() == 2 else array.permute(2, 0, 1).contiguous()
