"""The whole training step (D and G updates, EMA, log sums) captured in one CUDA graph.

At batch 64 a DCGAN step is a few hundred small kernels, and on a fast GPU launching them costs
more than running them: the step is bound by the host. A CUDA graph records the kernels of one
step once and replays them with a single launch (the PyTorch guide's "whole network capture").
What the capture needs of a step, and how the Trainer provides it:

- fixed inputs: each step's batches are copied into the same static tensors before a replay;
- no host syncs and no host-side state inside the step: logs are summed into fixed device
  tensors in place, and the learning rate is a device tensor that the decay fills in place;
- an optimiser whose state lives on the device (Adam with ``capturable=True``);
- its state created before capture: the first ``WARMUP_STEPS`` steps run eagerly, on a side
  stream as the guide asks, and they are real training steps;
- autocast's weight cache off (a cached cast would be freed after capture).

A method whose step depends on host-side state (progressive growing's phase, virtual batch
norm's check for its reference), a run under fp16 (its loss scaler reads its overflow flag on the
host every step), a data-parallel run or an optimiser other than Adam is not captured:
:func:`capture_blocker` says why, and the Trainer says it once, at start, and trains eagerly.
Anything else in a step that waits for the host would break the capture, and a failed capture
leaves CUDA's generator and allocator unusable in the process; so the last warm-up step runs
with CUDA's sync debug mode set to "warn" and the syncs it reports are collected. The step itself
completes either way, so nothing is half done: when a sync was seen, a run that asked for
``--cuda-graphs`` stops with a one-line error naming the operation, and a run on the default
(graphs wherever they work on CUDA) says so once and goes on eagerly. A capture that fails all
the same stops the run with the operation named (run with --no-cuda-graphs).
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable
from pathlib import Path

import torch

from ganforge.errors import GanforgeError
from ganforge.methods import Method
from ganforge.methods.capabilities import Phased
from ganforge.nn.layers import VirtualBatchNorm

# Eager steps before capture: the first creates the optimisers' state, the next let the caching
# allocator and cuDNN's algorithm choices settle (the PyTorch guide warms up with 3 too).
WARMUP_STEPS = 3

Batches = list[dict[str, torch.Tensor]]


def capture_blocker(cfg, method: Method, device: torch.device, world_size: int) -> str | None:
    """Why this run's training step cannot be captured in a CUDA graph; None when it can."""
    if device.type != "cuda":
        return f"CUDA graphs need a CUDA device, and this run trains on {device.type}"
    if cfg.precision == "fp16":
        return ("fp16's loss scaler reads its overflow flag on the host every step; "
                "use --precision bf16, which needs no scaler")
    if world_size > 1:
        return "the data-parallel gradient all-reduce is not captured"
    if cfg.optimizer != "adam":
        return f"only Adam keeps its step count on the device; this run uses {cfg.optimizer}"
    if any(isinstance(m, VirtualBatchNorm) for m in method.modules()):
        return "virtual batch norm checks on the host, every forward, for its reference batch"
    if isinstance(method, Phased):
        # A captured step replays the work of the step it was recorded at; the optimisers'
        # restarts would not be seen either (a replay keeps the captured state tensors).
        return f"{type(method).__name__}'s networks change with the training step"
    return None


class GraphedStep:
    """Runs ``body(batches)``, one training step, eagerly for the first ``WARMUP_STEPS`` calls,
    then captures it once and replays the capture for every later call.

    ``strict``: the user asked for graphs, so a step that waits for the host is an error; else
    (graphs by default) such a step is run eagerly from then on, with the reason said once."""

    def __init__(self, body: Callable[[Batches], None], device: torch.device,
                 strict: bool = True) -> None:
        self.body = body
        self.device = device
        self.strict = strict
        self.replay: Callable[[], None] | None = None
        self.static: Batches | None = None
        self.eager_steps = 0
        self.uncapturable: str | None = None  # why this step runs eagerly after its warm-up
        self.stream = torch.cuda.Stream(device) if device.type == "cuda" else None

    @property
    def captured(self) -> bool:
        return self.replay is not None

    def __call__(self, batches: Batches) -> None:
        if self.uncapturable is not None:
            self.body(batches)
            return
        if self.replay is None and self.eager_steps < WARMUP_STEPS:
            if self.eager_steps == WARMUP_STEPS - 1:
                syncs: list[str] = []
                with self._watch_syncs(syncs):
                    self._on_side_stream(batches)
                self.eager_steps += 1
                if syncs:
                    self._refuse(syncs[0])
            else:
                self._on_side_stream(batches)
                self.eager_steps += 1
            return
        if self.replay is None:
            self._capture(batches)
        for static, batch in zip(self.static, batches, strict=True):
            for key, value in batch.items():
                static[key].copy_(value)
        self.replay()

    def _refuse(self, sync: str) -> None:
        """The warm-up step waited for the host at ``sync``: stop (graphs were asked for) or go
        on eagerly (graphs by default)."""
        reason = f"this training step waits for the host ({sync}), so it cannot be captured"
        if self.strict:
            raise GanforgeError(f"--cuda-graphs: {reason}; run with --no-cuda-graphs")
        self.uncapturable = reason
        warnings.warn(f"CUDA graphs: {reason}; this run trains without them (--no-cuda-graphs "
                      "says so up front)", stacklevel=4)

    @contextlib.contextmanager
    def _watch_syncs(self, found: list[str]):
        """Run with CUDA's sync debug mode on "warn" and append to ``found`` the first line of
        each sync it reports (a warning does not stop the step, so it completes whole)."""
        if self.device.type != "cuda":
            yield
            return
        previous = torch.cuda.get_sync_debug_mode()
        torch.cuda.set_sync_debug_mode("warn")
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                yield
        finally:
            torch.cuda.set_sync_debug_mode(previous)
        for w in caught:
            if "synchronizing CUDA operation" in str(w.message):
                found.append(_sync_site(w))
            else:  # not ours to swallow
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)

    def _on_side_stream(self, batches: Batches) -> None:
        if self.stream is None:
            self.body(batches)
            return
        current = torch.cuda.current_stream(self.device)
        self.stream.wait_stream(current)
        with torch.cuda.stream(self.stream):
            self.body(batches)
        current.wait_stream(self.stream)

    def _capture(self, batches: Batches) -> None:
        """Record the step into static inputs, or stop the run with the reason."""
        self.static = [{k: v.clone() for k, v in batch.items()} for batch in batches]
        try:
            self.replay = self._record(self.static)
        except RuntimeError as e:
            # CUDA's end-of-capture error hides the operation that failed: it is the context.
            raise GanforgeError(f"CUDA graphs: the training step could not be captured "
                                f"({_first_line(e.__context__ or e)}); run with "
                                "--no-cuda-graphs") from e

    def _record(self, static: Batches) -> Callable[[], None]:
        """Capture ``body(static)`` (recorded only: nothing runs until a replay)."""
        graph = torch.cuda.CUDAGraph()
        torch.cuda.synchronize(self.device)
        with torch.cuda.graph(graph, stream=self.stream):
            self.body(static)
        return graph.replay


def _first_line(error: BaseException) -> str:
    return (str(error).strip() or type(error).__name__).splitlines()[0]


def _sync_site(warning: warnings.WarningMessage) -> str:
    """The sync warning's text, without torch's "(Triggered internally at ...)", and the
    Python line that asked for the sync."""
    text = _first_line(Exception(str(warning.message))).split(" (Triggered internally")[0]
    return f"{text} at {Path(warning.filename).name}:{warning.lineno}"
