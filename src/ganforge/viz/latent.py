"""Paths and grids through latent space: the points behind interpolation strips, walks, the
even grid over a 2-D latent space (seed 000's figure) and InfoGAN's code sweeps."""

from __future__ import annotations

import torch

from ganforge.errors import GanforgeError

MODES = ("linear", "slerp")


def lerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Points (1 - t) a + t b for each t: [len(t), *a.shape]."""
    t = t.to(a.dtype).view(-1, *([1] * a.dim()))
    return a + t * (b - a)


def slerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation along the great circle from a to b (White 2016), per row of a
    and b. Gaussian latents live near a sphere, and the straight line between two of them cuts
    through the low-density interior, which renders as washed-out midpoints."""
    a2, b2 = a.reshape(-1, a.shape[-1]), b.reshape(-1, b.shape[-1])
    na, nb = a2.norm(dim=1, keepdim=True), b2.norm(dim=1, keepdim=True)
    cos = ((a2 / na) * (b2 / nb)).sum(1, keepdim=True).clamp(-1.0, 1.0)
    omega = torch.arccos(cos)
    so = torch.sin(omega)
    t = t.to(a.dtype).view(-1, 1, 1)
    # Where a and b are (anti)parallel the great circle is undefined; fall back to lerp.
    near = so.abs() < 1e-6
    safe = torch.where(near, torch.ones_like(so), so)
    wa = torch.where(near, 1 - t, torch.sin((1 - t) * omega) / safe)
    wb = torch.where(near, t, torch.sin(t * omega) / safe)
    return (wa * a2 + wb * b2).view(len(t), *a.shape)


def interpolate(a: torch.Tensor, b: torch.Tensor, steps: int, mode: str = "slerp"):
    """``steps`` points from a to b inclusive, [steps, *a.shape]."""
    if mode not in MODES:
        raise GanforgeError(f"unknown interpolation {mode!r}; choose one of: {', '.join(MODES)}")
    if steps < 2:
        raise GanforgeError(f"an interpolation needs at least 2 steps, got {steps}")
    t = torch.linspace(0.0, 1.0, steps, device=a.device)
    return (slerp if mode == "slerp" else lerp)(a, b, t)


def loop_through(keyframes: torch.Tensor, steps: int, mode: str = "slerp") -> torch.Tensor:
    """A closed walk through keyframes [K, ...]: ``steps`` points per leg, K legs, the last
    back to the first, so an animation of it loops without a jump: [K * steps, ...]."""
    nxt = torch.roll(keyframes, -1, dims=0)
    t = torch.arange(steps, device=keyframes.device) / steps
    fn = slerp if mode == "slerp" else lerp
    legs = [fn(a, b, t) for a, b in zip(keyframes, nxt, strict=True)]
    return torch.cat(legs, dim=0)


def even_grid(n: int, extent: float) -> torch.Tensor:
    """n x n points evenly spaced over [-extent, extent]^2, row by row: the first coordinate
    grows left to right, the second falls top to bottom (as on a plot). Shape [n * n, 2]."""
    if n < 2:
        raise GanforgeError(f"a latent grid needs at least 2 points a side, got {n}")
    if not extent > 0:
        raise GanforgeError(f"--range must be positive, got {extent}")
    axis = torch.linspace(-extent, extent, n)
    y, x = torch.meshgrid(axis.flip(0), axis, indexing="ij")
    return torch.stack([x.reshape(-1), y.reshape(-1)], dim=1)
