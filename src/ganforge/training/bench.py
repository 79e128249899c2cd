"""How fast the methods train on this device: images/s, ms/step and model FLOPs per image.

One *image* is one real image consumed by a discriminator step, so a training step of a method
with ``d_steps`` critic steps consumes ``batch_size * d_steps`` images (``batch_size`` for a
method without a discriminator). A step is ``Trainer.train_step()`` end to end: the Trainer's
own batcher, both players' updates, the device-side log sums; each timed window ends with one
``flush_logs()`` (its single host sync) and, on CUDA, ``torch.cuda.synchronize()`` brackets it.

The FLOPs are those of one whole ``train_step`` as ``torch.utils.flop_counter.FlopCounterMode``
counts them: 2 FLOPs per multiply-add of every matrix product and convolution, forward and
backward (a weight gradient and an input gradient each cost what the forward did; no input
gradient is computed for the first layer fed with data, nor weight gradients of the player that
is not being updated), gradient penalties' double backward included; element-wise work (batch
norm, activations, the optimiser) is not counted. Divided by the images the step consumed,
it is the model cost of learning from one image; times images/s it says how close to the
hardware's peak a run is.

The Trainer built here never opens a run directory: nothing is written to disk.
"""

from __future__ import annotations

import math
import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

from ganforge.configure import configure
from ganforge.data import ImageDataset, TrainingData
from ganforge.errors import GanforgeError
from ganforge.training.graphed import WARMUP_STEPS
from ganforge.training.trainer import Trainer

# Without --steps, each timed window is sized to take about this long.
WINDOW_SECONDS = 2.0


def sync(device: torch.device) -> None:
    """Wait for queued device work, so a host clock measures it (a no-op on the CPU)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def device_name(device: torch.device) -> str:
    """The GPU's name, or the CPU's model name."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_lines(device: torch.device) -> list[str]:
    """What a reader of a benchmark needs to know about the machine it ran on."""
    lines = [f"torch {torch.__version__}, Python {platform.python_version()}",
             f"device: {device} ({device_name(device)})",
             f"threads: torch.get_num_threads()={torch.get_num_threads()}, "
             f"os.cpu_count()={os.cpu_count()}, "
             f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', '(unset)')}"]
    if hasattr(os, "getloadavg"):
        load = os.getloadavg()
        busy = load[0] > 0.5 * (os.cpu_count() or 1)
        # Waiting OpenMP threads spin by default; on cores shared with other work that spinning
        # slowed 2-thread CPU steps 2-4x in benchmarks/RESULTS.md.
        hint = ("  (other work is running: expect noisy numbers; on a shared CPU set "
                "OMP_WAIT_POLICY=PASSIVE or use fewer threads)")
        lines.append(f"load average at start: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
                     + (hint if busy else ""))
    return lines


def bench_trainer(method: str, dataset_name: str, dataset: TrainingData, batch_size: int,
                  device: torch.device, **overrides) -> Trainer:
    """A Trainer of ``method`` with its defaults, seed 0, on data already loaded. Only
    ``fit()`` opens a run directory, so stepping it writes nothing."""
    cfg = configure(method=method, dataset=dataset_name, batch_size=batch_size,
                    device=str(device), seed=0, steps=1_000_000, **overrides)
    trainer = Trainer(cfg, dataset=dataset)
    trainer.method.train()
    return trainer


def images_per_step(trainer: Trainer) -> int:
    """Real images one ``train_step`` consumes."""
    d_steps = trainer.cfg.d_steps if "D" in trainer.optimizers else 1
    return trainer.cfg.batch_size * d_steps


def time_steps(trainer: Trainer, step: Callable[[], object], steps: int) -> float:
    """Seconds for ``steps`` calls of ``step`` plus the one ``flush_logs``, started from a
    drained device."""
    trainer.flush_logs()
    sync(trainer.device)
    start = time.perf_counter()
    for _ in range(steps):
        step()
    trainer.flush_logs()
    sync(trainer.device)
    return time.perf_counter() - start


class _TotalOnly:
    """Stands in for FlopCounterMode's ModuleTracker, which files FLOPs under module names with
    hooks that ``torch.autograd.grad(..., create_graph=True)`` (the gradient penalty) rejects:
    "A leaf node was passed to _will_engine_execute_node" (pytorch/pytorch#131753). Only the
    total is wanted here."""

    parents = frozenset({"Global"})

    def __enter__(self) -> _TotalOnly:
        return self

    def __exit__(self, *exc) -> None:
        return None


def count_flops(step: Callable[[], object]) -> int:
    """FLOPs of one call of ``step`` as FlopCounterMode counts them (see the module's doc)."""
    counter = FlopCounterMode(display=False)
    counter.mod_tracker = _TotalOnly()
    with counter:
        step()
    return counter.get_total_flops()


@dataclass
class BenchResult:
    """The timings of one (method, batch size); the derived figures are properties."""

    method: str
    batch_size: int
    device: str
    precision: str
    images_per_step: int
    flops_per_step: int
    steps: int
    warmup: int
    cuda_graph: bool = False  # whether the timed steps were replays of a captured step
    window_seconds: list[float] = field(default_factory=list)

    @property
    def seconds_per_step(self) -> float:
        return statistics.median(self.window_seconds) / self.steps

    @property
    def images_per_s(self) -> float:
        return self.images_per_step / self.seconds_per_step

    @property
    def flops_per_image(self) -> float:
        return self.flops_per_step / self.images_per_step

    @property
    def gflops_per_s(self) -> float:
        return self.flops_per_step / self.seconds_per_step / 1e9

    def to_dict(self) -> dict:
        return {**asdict(self), "images_per_s": self.images_per_s,
                "ms_per_step": 1e3 * self.seconds_per_step,
                "flops_per_image": self.flops_per_image, "gflops_per_s": self.gflops_per_s}


def bench_method(method: str, batch_size: int, *, dataset_name: str, dataset: TrainingData,
                 device: torch.device, precision: str = "fp32", steps: int | None = None,
                 warmup: int = 5, repeats: int = 3, window_seconds: float = WINDOW_SECONDS,
                 cuda_graphs: bool | None = None, overrides: dict | None = None) -> BenchResult:
    """Count one step's FLOPs (that step also warms up), run ``warmup`` more untimed steps,
    then time ``repeats`` windows of ``steps`` steps. Without ``steps`` the windows are sized
    from the warmup (at least one step of it) to last about ``window_seconds``. With
    CUDA graphs (``cuda_graphs`` as in training: None is on wherever the step can be captured)
    the warmup also covers the eager steps before capture and the capture. ``overrides``:
    config fields that differ from the method's defaults (``{"arch": "mlp"}``)."""
    trainer = bench_trainer(method, dataset_name, dataset, batch_size, device,
                            precision=precision, cuda_graphs=cuda_graphs, **(overrides or {}))
    flops = count_flops(trainer.train_step)
    warm = warmup if steps is not None else max(warmup, 1)
    if trainer.graphed_step is not None:
        warm = max(warm, WARMUP_STEPS + 1)
    warm_seconds = time_steps(trainer, trainer.train_step, warm) if warm else 0.0
    if steps is None:
        steps = max(1, math.ceil(window_seconds / (warm_seconds / warm)))
    captured = trainer.replays_cuda_graph
    result = BenchResult(method, batch_size, str(device), trainer.cfg.precision,
                         images_per_step(trainer),
                         flops, steps, warm, cuda_graph=captured)
    for _ in range(repeats):
        result.window_seconds.append(time_steps(trainer, trainer.train_step, steps))
    return result


def format_table(results: list[BenchResult]) -> str:
    """A Markdown table: method, batch, images/s, ms/step, MFLOP/image, GFLOP/s."""
    header = ("method", "batch", "images/s", "ms/step", "MFLOP/image", "GFLOP/s")
    rows = [header] + [
        (r.method + (" (graph)" if r.cuda_graph else ""), str(r.batch_size),
         f"{r.images_per_s:,.0f}", f"{1e3 * r.seconds_per_step:.1f}",
         f"{r.flops_per_image / 1e6:,.1f}", f"{r.gflops_per_s:,.1f}")
        for r in results
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = []
    for i, row in enumerate(rows):
        cells = (c.ljust(w) if j == 0 else c.rjust(w)
                 for j, (c, w) in enumerate(zip(row, widths, strict=True)))
        lines.append("| " + " | ".join(cells) + " |")
        if i == 0:
            lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def run_benchmarks(methods: list[str], batch_sizes: list[int], *, dataset: str = "fake",
                   data_dir: str | None = None, image_size: int | None = None,
                   device: str = "auto", precision: str = "fp32", steps: int | None = None,
                   warmup: int = 5, repeats: int = 3, threads: int | None = None,
                   json_path: str | Path | None = None, cuda_graphs: bool | None = None,
                   window_seconds: float = WINDOW_SECONDS,
                   overrides: dict | None = None) -> list[BenchResult]:
    """``ganforge bench``: check every argument before any timing, load the data once, bench
    each (method, batch size) in turn (progress on stderr), print the machine and the table,
    and write the results to ``json_path`` when given."""
    from ganforge.config import PRECISIONS, check_choice
    from ganforge.data import load_training_data
    from ganforge.devices import resolve_device
    from ganforge.files import write_json
    from ganforge.methods import METHODS
    from ganforge.progress import Meter
    from ganforge.version import __version__

    for name in methods:
        METHODS.get(name)  # an unknown name fails here, listing the valid ones
    if min(batch_sizes) < 1:
        raise GanforgeError(f"--batch-sizes must be positive, got {batch_sizes}")
    if steps is not None and steps < 1:
        raise GanforgeError(f"--steps must be at least 1, got {steps}")
    if warmup < 0 or repeats < 1:
        raise GanforgeError(f"--warmup must be at least 0 and --repeats at least 1, got "
                            f"{warmup} and {repeats}")
    if threads is not None and threads < 1:
        raise GanforgeError(f"--threads must be at least 1, got {threads}")
    check_choice("precision", precision, PRECISIONS)
    torch_device = resolve_device(device)
    if cuda_graphs and torch_device.type != "cuda":
        raise GanforgeError("--cuda-graphs replays training steps on a CUDA device; this "
                            f"bench runs on {torch_device.type}: drop it")
    if threads is not None:
        torch.set_num_threads(threads)
    data = load_training_data(dataset, data_dir=data_dir, image_size=image_size)
    print("\n".join(machine_lines(torch_device)))
    shape = tuple(data.images.shape[1:]) if isinstance(data, ImageDataset) else "2-D points"
    print(f"data: {dataset} {shape}; precision {precision}; median of {repeats} timed "
          f"windows after {warmup} warmup steps", flush=True)
    results = []
    meter = Meter("bench", len(methods) * len(batch_sizes), "runs")
    for method in methods:
        for batch_size in batch_sizes:
            start = time.perf_counter()
            result = bench_method(method, batch_size, dataset_name=dataset, dataset=data,
                                  device=torch_device, precision=precision, steps=steps,
                                  warmup=warmup, repeats=repeats, cuda_graphs=cuda_graphs,
                                  window_seconds=window_seconds, overrides=overrides)
            results.append(result)
            meter.write(f"  {method} batch {batch_size}: {result.images_per_s:,.0f} images/s, "
                        f"windows of {result.steps} steps took "
                        f"{', '.join(f'{s:.2f}' for s in result.window_seconds)} s "
                        f"({time.perf_counter() - start:.0f} s in all)")
            meter.update()
    meter.close()
    print(format_table(results))
    if json_path is not None:
        out = Path(json_path)
        out.parent.mkdir(parents=True, exist_ok=True)
        meta = {"ganforge_version": __version__, "torch": torch.__version__,
                "device_name": device_name(torch_device), "threads": torch.get_num_threads(),
                "dataset": dataset, "image_size": image_size,
                "date": time.strftime("%Y-%m-%d %H:%M:%S")}
        write_json(out, {"meta": meta, "results": [r.to_dict() for r in results]})
        print(f"wrote {out}")
    return results
