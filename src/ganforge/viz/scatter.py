"""Scatter plots of 2-D samples and animated GIFs of them, drawn with PIL (no matplotlib), for
watching a generator spread over, or collapse onto, the modes of a toy mixture."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from ganforge.errors import GanforgeError
from ganforge.viz.grid import check_suffix

Extent = tuple[float, float, float, float]

_AXES = (215, 215, 215)
_POINT = np.array([31.0, 119.0, 180.0])
_CENTER = (214, 39, 40)
_POINT_ALPHA = 0.35  # per overlapping dot, so dense regions read darker


def _square_extent(points: np.ndarray, centers: np.ndarray | None) -> Extent:
    """A square window around the points and centers with a 15% margin, so circles stay round."""
    stacked = points if centers is None else np.concatenate([points, centers])
    stacked = stacked[np.isfinite(stacked).all(1)]
    if len(stacked) == 0:
        return (-1.0, 1.0, -1.0, 1.0)
    lo, hi = stacked.min(0), stacked.max(0)
    mid, half = (lo + hi) / 2, max(float((hi - lo).max()) / 2, 1e-6) * 1.15
    return (mid[0] - half, mid[0] + half, mid[1] - half, mid[1] + half)


def scatter_plot(
    points: torch.Tensor,
    centers: torch.Tensor | None = None,
    extent: float | Extent | None = None,
    size: int = 384,
) -> torch.Tensor:
    """Draw points [N, 2] as small translucent dots on white, with light axes through the origin
    and ``centers`` [K, 2] (e.g. a mixture's means) as red rings; returns uint8 [3, size, size].

    ``extent`` is (xmin, xmax, ymin, ymax), or e for (-e, e, -e, e); fix it across the frames of
    an animation so they line up. By default it fits the points and centers. Points outside
    it, and non-finite ones, are left out. The dots are binned with numpy, not drawn one by one.
    """
    pts = points.detach().reshape(-1, 2).double().cpu().numpy()
    ctr = None if centers is None else centers.detach().reshape(-1, 2).double().cpu().numpy()
    if extent is None:
        extent = _square_extent(pts, ctr)
    elif isinstance(extent, (int, float)):
        extent = (-float(extent), float(extent), -float(extent), float(extent))
    xmin, xmax, ymin, ymax = extent
    if not (xmax > xmin and ymax > ymin):
        raise GanforgeError(f"scatter_plot needs xmin < xmax and ymin < ymax, got {extent}")

    def to_pixels(xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        col = np.rint((xy[:, 0] - xmin) / (xmax - xmin) * (size - 1))
        row = np.rint((ymax - xy[:, 1]) / (ymax - ymin) * (size - 1))  # +y points up
        return row, col

    row, col = to_pixels(pts)
    inside = np.isfinite(row) & np.isfinite(col)
    inside &= (row >= 0) & (row < size) & (col >= 0) & (col < size)
    flat = row[inside].astype(np.int64) * size + col[inside].astype(np.int64)
    hits = np.bincount(flat, minlength=size * size).reshape(size, size).astype(np.float64)
    # Each point becomes a plus-shaped dot of 5 pixels: add the hit map shifted by one pixel.
    padded = np.pad(hits, 1)
    dots = hits + padded[:-2, 1:-1] + padded[2:, 1:-1] + padded[1:-1, :-2] + padded[1:-1, 2:]
    alpha = (1 - (1 - _POINT_ALPHA) ** dots)[..., None]

    canvas = Image.new("RGB", (size, size), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    origin_row, origin_col = to_pixels(np.zeros((1, 2)))
    if 0 <= origin_col[0] < size:
        draw.line([(origin_col[0], 0), (origin_col[0], size - 1)], fill=_AXES)
    if 0 <= origin_row[0] < size:
        draw.line([(0, origin_row[0]), (size - 1, origin_row[0])], fill=_AXES)
    background = np.asarray(canvas, dtype=np.float64)
    picture = background * (1 - alpha) + _POINT * alpha
    canvas = Image.fromarray(np.rint(picture).astype(np.uint8))

    if ctr is not None:
        draw = ImageDraw.Draw(canvas)
        radius = max(size // 96, 3)
        for r, c in zip(*to_pixels(ctr), strict=True):
            if math.isfinite(r) and math.isfinite(c):
                draw.ellipse([c - radius, r - radius, c + radius, r + radius], outline=_CENTER)
    return torch.from_numpy(np.asarray(canvas).copy()).permute(2, 0, 1).contiguous()


def save_gif(
    frames: Sequence[torch.Tensor], path: str | Path, duration_ms: int = 100, loop: int = 0
) -> Path:
    """Write uint8 [C, H, W] frames (C is 1 or 3, all one shape) as an animated GIF shown
    ``duration_ms`` per frame, looping ``loop`` times (0: forever); the file appears whole or
    not at all. GIF holds 256 colours per frame, plenty for scatter plots. PIL merges
    consecutive identical frames into one longer frame."""
    if len(frames) == 0:
        raise GanforgeError("save_gif got no frames; collect at least one picture first")
    shape = tuple(frames[0].shape)
    if any(tuple(f.shape) != shape for f in frames) or len(shape) != 3 or shape[0] not in (1, 3):
        raise GanforgeError(
            f"save_gif needs frames of one shape [C, H, W] with C 1 or 3, got "
            f"{sorted({tuple(f.shape) for f in frames})}; render every frame at one size"
        )
    if any(f.dtype != torch.uint8 for f in frames):
        raise GanforgeError("save_gif needs uint8 frames; convert with ganforge.data.to_uint8")
    images = []
    for frame in frames:
        array = frame.detach().cpu().permute(1, 2, 0).numpy()
        array = array[..., 0] if shape[0] == 1 else array
        images.append(Image.fromarray(np.ascontiguousarray(array)))
    path = check_suffix(path, ".gif", "an animated GIF")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    images[0].save(
        tmp, format="GIF", save_all=True, append_images=images[1:], duration=duration_ms, loop=loop
    )
    os.replace(tmp, path)
    return path
