"""The noise every generator starts from, drawn so that data-parallel training sees what one
process would.

Under data parallelism the processes' torch generators run in lockstep (every rank is seeded
alike, :mod:`ganforge.training.distributed`), so each rank draws the latents of the whole global
batch and keeps its own rows: they differ across ranks, and a run at any world size draws what
one process would. The training layer says which rows are this process's
(:func:`keep_rows_of`); the methods only ask for noise.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

# (rank, world size) of this process in data-parallel training.
_rows: tuple[int, int] = (0, 1)


def keep_rows_of(rank: int, world_size: int) -> None:
    """From now on, training draws (no ``generator``) keep rank ``rank``'s rows of
    ``world_size`` times the asked-for noise."""
    global _rows
    _rows = (rank, world_size)


@contextlib.contextmanager
def rows_of(rank: int, world_size: int) -> Iterator[None]:
    """:func:`keep_rows_of` for the duration of a ``with`` block."""
    before = _rows
    keep_rows_of(rank, world_size)
    try:
        yield
    finally:
        keep_rows_of(*before)


def standard_normal(n: int, width: int, generator: torch.Generator | None = None,
                    device: torch.device | str | None = None) -> torch.Tensor:
    """``n`` rows of N(0, I) noise of ``width`` on ``device``. With a seeded CPU ``generator``
    (sample grids, inference) exactly its draws; without one (training) this process's rows
    of the global draw."""
    rank, world = _rows if generator is None else (0, 1)
    z = torch.randn(n * world, width, generator=generator,
                    device="cpu" if generator is not None else device)
    return z[rank * n : (rank + 1) * n].to(device)
