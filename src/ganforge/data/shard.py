"""Data parallelism's share of a batch: which rows of every global batch a process trains on."""

from __future__ import annotations

from ganforge.errors import GanforgeError

# (rank, world size) of data-parallel training: which slice of every global batch to take.
Shard = tuple[int, int]


def shard_slice(batch_size: int, shard: Shard) -> slice:
    """The rows of a global batch of ``batch_size`` that rank ``shard[0]`` of ``shard[1]``
    trains on: one contiguous slice of the same size on every rank."""
    rank, world = shard
    if batch_size % world:
        raise GanforgeError(f"--batch-size {batch_size} (the global batch) does not split "
                            f"evenly over {world} processes; give a multiple of {world}")
    local = batch_size // world
    return slice(rank * local, (rank + 1) * local)
