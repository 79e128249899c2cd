"""Data-parallel training over the processes ``torchrun`` starts, on ``torch.distributed``.

Every process (a *rank*) holds all of G and D and trains on its slice of each global batch;
before each optimiser step the ranks average the group's gradients, so they all take the same
step and keep the same weights: the arithmetic of DDP (Li et al. 2020, "PyTorch Distributed",
sec. 3), NCCL between GPUs and gloo between CPUs.

Why not the ``DistributedDataParallel`` class: its reducer hooks the wrapper's ``forward`` and
waits for a gradient of every parameter that requires one. GAN methods call ``D.features``,
``D.head`` and ``G`` directly, and the Trainer switches ``requires_grad`` between the D and G
groups every step, so the wrapper would see no forward, or wait for gradients that never come.
Averaging a group's gradients after its ``backward`` (:func:`average_gradients`) is the same
arithmetic; what it gives up is DDP's overlap of communication with the backward pass.

Random numbers: every rank is seeded alike and draws the same numbers in the same order, so
torch's generators stay in lockstep. The latents are drawn for the whole global batch and each
rank keeps its rows (:func:`setup` tells :mod:`ganforge.nn.noise` which are this process's),
and the batchers draw the global permutation, points and flips and keep the rank's slice; a run
at any world size therefore sees what a one-process run with the same global batch sees, and its
checkpoint (written by rank 0) holds nothing per rank.
Other draws inside methods (dropout masks, noise layers, conditional labels) coincide across
ranks: each rank's loss is still an unbiased estimate, so this is harmless for data
parallelism; the ranks' draws are merely correlated rather than independent.

Outside ``torchrun`` (``WORLD_SIZE`` unset or 1) nothing here creates a process group and every
helper returns at once.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

import torch
import torch.distributed as dist
from torch._utils import _flatten_dense_tensors, _unflatten_dense_tensors

from ganforge.devices import resolve_device
from ganforge.errors import GanforgeError
from ganforge.nn import noise

T = TypeVar("T")

# Gradients travel in buckets of at most this many bytes: a bucket's all-reduce runs while the
# next is being flattened, and the extra memory stays at one copy of the gradients.
BUCKET_BYTES = 32 * 2**20

_cpu_group = None  # a gloo group for host-side messages when the default group is NCCL


def launched() -> bool:
    """Whether ``torchrun`` started this process as one of several."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def active() -> bool:
    return dist.is_available() and dist.is_initialized()


def world_size() -> int:
    return dist.get_world_size() if active() else 1


def rank() -> int:
    return dist.get_rank() if active() else 0


def local_rank() -> int:
    """The process's number on its node (torchrun's LOCAL_RANK; else its rank)."""
    return int(os.environ.get("LOCAL_RANK", rank()))


def is_main() -> bool:
    """Rank 0, the one process that writes checkpoints, samples, logs and evaluations."""
    return rank() == 0


def shard() -> tuple[int, int]:
    """(rank, world size): which slice of every global batch this process trains on."""
    return rank(), world_size()


def process_device(name: str) -> torch.device:
    """The device of this process under ``torchrun``: cuda:LOCAL_RANK on GPUs, else the CPU."""
    if name.startswith("cuda:"):
        raise GanforgeError(f"--device {name} names one GPU, but under torchrun each process "
                            "trains on cuda:LOCAL_RANK; use --device cuda or auto")
    device = resolve_device(name)
    if device.type == "cpu":
        return device
    index, count = local_rank(), torch.cuda.device_count()
    if index >= count:
        raise GanforgeError(f"process LOCAL_RANK {index} has no GPU of its own: this node shows "
                            f"{count}; use --nproc-per-node {count} or fewer")
    return torch.device("cuda", index)


def setup(device_name: str) -> torch.device:
    """The device this process trains on. Under ``torchrun`` also join the process group (NCCL
    on GPUs, gloo on CPUs), once, and keep this rank's rows of the latents; otherwise only
    resolve ``device_name``."""
    if not (launched() or active()):
        return resolve_device(device_name)
    device = process_device(device_name)
    if not active():
        if device.type == "cuda":
            torch.cuda.set_device(device)
            # device_id binds the communicator to this GPU at once (barriers need to know it).
            dist.init_process_group("nccl", device_id=device)
        else:
            dist.init_process_group("gloo")
    noise.keep_rows_of(rank(), world_size())
    return device


def teardown() -> None:
    global _cpu_group
    if active():
        dist.destroy_process_group()
    noise.keep_rows_of(0, 1)
    _cpu_group = None


def barrier() -> None:
    if world_size() > 1:
        dist.barrier()


def in_turn(load: Callable[[], T]) -> T:
    """``load()`` on rank 0 first, then on each node's first process, then on the others:
    downloads and caches are written once before the other processes read them (two writers
    would clobber one temporary file)."""
    if world_size() == 1:
        return load()
    turn = 0 if is_main() else 1 if local_rank() == 0 else 2
    result = None
    for wave in range(3):
        if wave == turn:
            result = load()
        dist.barrier()
    return result


def _buckets(tensors: Sequence[torch.Tensor]) -> Iterable[list[torch.Tensor]]:
    """``tensors`` in runs of one device and dtype, each at most BUCKET_BYTES (or one tensor)."""
    by_kind: dict[tuple, list[torch.Tensor]] = {}
    for t in tensors:
        by_kind.setdefault((t.device, t.dtype), []).append(t)
    for group in by_kind.values():
        bucket, size = [], 0
        for t in group:
            if bucket and size + t.nbytes > BUCKET_BYTES:
                yield bucket
                bucket, size = [], 0
            bucket.append(t)
            size += t.nbytes
        yield bucket


def average_gradients(params: Sequence[torch.nn.Parameter]) -> None:
    """Replace the gradients of ``params`` by their mean over the ranks; a no-op in one process.

    Call after ``backward`` and before ``optimizer.step``. Parameters without a gradient are
    skipped: which ones get a gradient depends on the code path, which every rank runs alike.
    Under fp16 the gradients are still loss-scaled: ``GradScaler.step`` unscales the averages
    afterwards (the scale is a common factor, so the order does not matter), and since every
    rank then holds the same gradients, every rank finds the same inf/NaN and skips, or takes,
    the same step. Unscaling before averaging would let one rank skip a step the others take.
    """
    world = world_size()
    if world == 1:
        return
    grads = [p.grad for p in params if p.grad is not None]
    pending = []
    for bucket in _buckets(grads):
        flat = _flatten_dense_tensors(bucket)
        pending.append((bucket, flat, dist.all_reduce(flat, async_op=True)))
    for bucket, flat, work in pending:
        work.wait()
        flat.div_(world)
        torch._foreach_copy_(bucket, _unflatten_dense_tensors(flat, bucket))


@torch.no_grad()
def broadcast_from_main(tensors: Iterable[torch.Tensor]) -> None:
    """Give every rank rank 0's values of ``tensors`` (weights and buffers at the start, as DDP
    does), so the ranks start identical even where building a network is not bitwise
    reproducible (nondeterministic GPU kernels in a data-dependent init)."""
    if world_size() == 1:
        return
    for bucket in _buckets(list(tensors)):
        flat = _flatten_dense_tensors(bucket)
        dist.broadcast(flat, src=0)
        torch._foreach_copy_(bucket, _unflatten_dense_tensors(flat, bucket))


def average(tensor: torch.Tensor) -> torch.Tensor:
    """The mean of ``tensor`` over the ranks (one all-reduce); ``tensor`` itself in one process.
    Summed, then divided: an average of flags that are all 1.0 is exactly 1.0."""
    world = world_size()
    if world == 1:
        return tensor
    total = tensor.clone()
    dist.all_reduce(total)
    return total / world


def _host_group():
    """A process group for small host-side messages: the default one when it is gloo; beside
    NCCL a gloo group, so a message never waits for the GPU's queue of work to drain."""
    global _cpu_group
    if dist.get_backend() == "gloo":
        return None
    if _cpu_group is None:
        _cpu_group = dist.new_group(backend="gloo")
    return _cpu_group


def main_flag(flag: bool) -> bool:
    """Rank 0's ``flag`` on every rank (one one-byte broadcast); ``flag`` in one process."""
    if world_size() == 1:
        return flag
    decision = torch.tensor([flag], dtype=torch.uint8)
    dist.broadcast(decision, src=0, group=_host_group())
    return bool(decision.item())


def main_value(value: T) -> T:
    """Rank 0's ``value`` (any picklable object, sent between processes and never stored) on
    every rank; ``value`` in one process."""
    if world_size() == 1:
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0, group=_host_group())
    return box[0]
