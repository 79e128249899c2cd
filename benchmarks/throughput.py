"""Training throughput of ganforge's GAN methods, and what its data path costs.

One *image* is one real image consumed by a discriminator step, so a generator step counts
``batch_size * d_steps`` images (``batch_size`` with the default ``d_steps=1``). For every
(method, batch size) three ways of feeding the same ganforge model step are timed:

1. **end to end** -- ``Trainer.train_step()`` drawing from the Trainer's own ``Batcher`` (the
   real data path: the uint8 data set on the device, one ``index_select`` per batch, then the
   conversion to float in [-1, 1]). ``trainer.flush_logs()`` is called once at the end of each
   timed window, so the deferred logging work (and its single host sync) is included.
2. **model step** -- the same ``train_step(batches=itertools.repeat(batch))`` with one batch
   made beforehand and already on the device: the data path costs nothing. This is the ceiling
   for (1); the goal is end to end >= 0.9x model step.
3. **DataLoader baseline** -- the loop people write with torchvision (written out here without
   it): a ``torch.utils.data.Dataset`` whose ``__getitem__`` makes a PIL image of one MNIST
   digit, applies ToTensor (PIL -> float [0, 1] CHW) and Normalize([0.5], [0.5]) and returns
   ``(tensor, label)``; a ``DataLoader(batch_size=B, shuffle=True, drop_last=True)`` with
   ``num_workers=0`` and with ``num_workers=2``; each batch moved to the device and fed to the
   SAME ganforge model step. The faster worker count is reported. The goal is end to end >= 2x
   this baseline.

The modes are interleaved (each repeat times every mode once, in turn), after ``--warmup``
untimed steps each, and the median of ``--repeats`` (default 3) timed windows of ``--steps``
steps is reported, so drifting load from other processes hits all modes alike. Each mode gets
its own freshly built Trainer (same seed, so the same initial networks). Timing is
``time.perf_counter``; on CUDA ``torch.cuda.synchronize()`` brackets every window.

Run from the repository root::

    python benchmarks/throughput.py --device cpu
    python benchmarks/throughput.py --device cuda --batch-sizes 64,256 --json out.json

The data: ``--data-dir`` (default ``$GANFORGE_DATA``, else ``../shared/data`` if it exists)
must hold MNIST's IDX files (``mnist/train-images-idx3-ubyte.gz`` ...); nothing is downloaded.
With neither available the script falls back to the built-in ``fake`` data set at 28x28
(512 images) and says so.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import torch
from paper_dcgan import PAPER_DCGAN_NETS
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision_equivalents import normalize, to_tensor

from ganforge.data import ImageDataset, load_dataset
from ganforge.devices import resolve_device
from ganforge.errors import GanforgeError
from ganforge.training import Trainer
from ganforge.training.bench import (
    bench_trainer,
    device_name,
    images_per_step,
    machine_lines,
    time_steps,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
# Timed steps per window when --steps is not given: the MLP GAN's step is far cheaper.
DEFAULT_STEPS = {"gan": 300, "dcgan": 100}
FALLBACK_STEPS = 100
GOAL_RATIO = 0.9
GOAL_SPEEDUP = 2.0


# ---- data -------------------------------------------------------------------------------------


def find_data_dir(arg: str | None) -> tuple[Path | None, str]:
    """(data dir or None for the fake fallback, where it came from)."""
    if arg is not None:
        return Path(arg), "--data-dir"
    env = os.environ.get("GANFORGE_DATA")
    if env:
        return Path(env), "$GANFORGE_DATA"
    for candidate in (Path.cwd() / ".." / "shared" / "data", REPO_ROOT / ".." / "shared" / "data"):
        if candidate.is_dir():
            return candidate.resolve(), "../shared/data"
    return None, "none found"


def load_data(data_dir: Path | None) -> ImageDataset:
    if data_dir is None:
        return load_dataset("fake", image_size=28)
    if not data_dir.is_dir():
        raise GanforgeError(f"data directory {data_dir} does not exist; pass --data-dir with "
                            "the folder that holds mnist/ (or set GANFORGE_DATA)")
    try:
        return load_dataset("mnist", data_dir=data_dir, split="train", download=False)
    except GanforgeError as e:
        raise GanforgeError(f"MNIST not found or unreadable under {data_dir} ({e}); this "
                            "benchmark never downloads: pass --data-dir with the folder that "
                            "holds mnist/train-images-idx3-ubyte.gz and its labels file, or "
                            "fetch it first with `ganforge train --dataset mnist ...`") from None


class PILDigits(Dataset):
    """torchvision.datasets.MNIST's __getitem__ plus ToTensor and Normalize, written out."""

    def __init__(self, dataset: ImageDataset) -> None:
        self.data = dataset.images[:, 0]  # uint8 [N, H, W], as torchvision's MNIST holds it
        self.targets = dataset.labels

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        img = Image.fromarray(self.data[index].numpy(), mode="L")
        target = int(self.targets[index])
        return normalize(to_tensor(img), [0.5], [0.5]), target


def dataloader_batches(
    dataset: ImageDataset, batch_size: int, device: torch.device, workers: int
) -> Iterator[dict[str, torch.Tensor]]:
    """Endless {"x", "label"} batches from a torchvision-style DataLoader, on ``device``."""
    loader = DataLoader(
        PILDigits(dataset), batch_size=batch_size, shuffle=True, drop_last=True,
        num_workers=workers, persistent_workers=workers > 0,
        pin_memory=device.type == "cuda", generator=torch.Generator().manual_seed(0),
    )
    non_blocking = device.type == "cuda"
    while True:
        for images, labels in loader:
            yield {"x": images.to(device, non_blocking=non_blocking),
                   "label": labels.to(device, non_blocking=non_blocking)}


# ---- timing -----------------------------------------------------------------------------------


class Mode:
    """One way of feeding a Trainer: ``step()`` runs one generator step (d_steps D steps)."""

    def __init__(self, name: str, trainer: Trainer, step: Callable[[], None]) -> None:
        self.name = name
        self.trainer = trainer
        self.step = step
        self.seconds: list[float] = []


def paper_nets(method: str) -> dict:
    """The figures here are of DCGAN's all-convolutional nets without EMA, its MNIST default
    until 2026-12-06 (now InfoGAN's dense-layer nets with an EMA of G)."""
    return dict(PAPER_DCGAN_NETS) if method == "dcgan" else {}


def bench_one(method: str, batch_size: int, dataset_name: str, dataset: ImageDataset,
              device: torch.device, steps: int, warmup: int, repeats: int,
              workers: list[int]) -> dict:
    """Time every mode for one (method, batch size); returns a result row."""
    modes: list[Mode] = []

    e2e = bench_trainer(method, dataset_name, dataset, batch_size, device, **paper_nets(method))
    modes.append(Mode("end_to_end", e2e, e2e.train_step))

    model = bench_trainer(method, dataset_name, dataset, batch_size, device, **paper_nets(method))
    fixed = itertools.repeat(next(model.batcher))
    modes.append(Mode("model_step", model, lambda t=model, b=fixed: t.train_step(b)))

    streams = []
    for n in workers:
        base = bench_trainer(method, dataset_name, dataset, batch_size, device,
                             **paper_nets(method))
        stream = dataloader_batches(dataset, batch_size, device, n)
        streams.append(stream)
        # One batch per train_step, exactly as train_step(batches=iter([batch])) per batch.
        modes.append(Mode(f"dataloader_w{n}", base, lambda t=base, s=stream: t.train_step(s)))

    for mode in modes:
        time_steps(mode.trainer, mode.step, warmup)
    for _ in range(repeats):
        for mode in modes:
            mode.seconds.append(time_steps(mode.trainer, mode.step, steps))

    images = images_per_step(e2e)
    ips = {m.name: images * steps / statistics.median(m.seconds) for m in modes}
    spread = {m.name: (max(m.seconds) - min(m.seconds)) / statistics.median(m.seconds)
              for m in modes}
    baselines = {n: ips[f"dataloader_w{n}"] for n in workers}
    best_workers = max(baselines, key=baselines.get)
    row = {
        "method": method,
        "batch_size": batch_size,
        "device": str(device),
        "d_steps": e2e.cfg.d_steps,
        "steps": steps,
        "warmup": warmup,
        "repeats": repeats,
        "end_to_end_img_s": ips["end_to_end"],
        "model_step_img_s": ips["model_step"],
        "ratio_e2e_over_model": ips["end_to_end"] / ips["model_step"],
        "dataloader_img_s": baselines[best_workers],
        "dataloader_workers": best_workers,
        "dataloader_img_s_by_workers": {str(n): v for n, v in baselines.items()},
        "speedup_e2e_over_dataloader": ips["end_to_end"] / baselines[best_workers],
        "window_seconds": {m.name: m.seconds for m in modes},
        "spread": spread,
    }
    for stream in streams:  # shut the DataLoader workers down now, not at garbage collection
        stream.close()
    return row


# ---- report -----------------------------------------------------------------------------------


def print_table(rows: list[dict]) -> None:
    header = ("method", "batch", "device", "e2e img/s", "model img/s", "e2e/model",
              "DataLoader img/s", "e2e/DataLoader")
    lines = [header]
    for r in rows:
        lines.append((
            r["method"], str(r["batch_size"]), r["device"],
            f"{r['end_to_end_img_s']:,.0f}", f"{r['model_step_img_s']:,.0f}",
            f"{r['ratio_e2e_over_model']:.2f}",
            f"{r['dataloader_img_s']:,.0f} (w={r['dataloader_workers']})",
            f"{r['speedup_e2e_over_dataloader']:.2f}x",
        ))
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    for i, line in enumerate(lines):
        print("| " + " | ".join(c.ljust(w) if j < 3 else c.rjust(w)
                                for j, (c, w) in enumerate(zip(line, widths, strict=True))) + " |")
        if i == 0:
            print("|" + "|".join("-" * (w + 2) for w in widths) + "|")


def parse_list(text: str, kind: Callable = str) -> list:
    try:
        return [kind(x.strip()) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a comma-separated list, got {text!r}") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--methods", type=parse_list, default=["gan", "dcgan"],
                        help="comma-separated methods (default: gan,dcgan)")
    parser.add_argument("--batch-sizes", type=lambda s: parse_list(s, int), default=[64],
                        help="comma-separated batch sizes (default: 64)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    parser.add_argument("--steps", type=int, default=None,
                        help="timed generator steps per window (default: gan 300, dcgan 100)")
    parser.add_argument("--warmup", type=int, default=10, help="untimed steps per mode first")
    parser.add_argument("--repeats", type=int, default=3, help="timed windows; the median wins")
    parser.add_argument("--workers", type=lambda s: parse_list(s, int), default=[0, 2],
                        help="DataLoader num_workers values to try (default: 0,2)")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch.set_num_threads for the run (default: torch's own default)")
    parser.add_argument("--data-dir", default=None,
                        help="folder holding mnist/ (default: $GANFORGE_DATA, else "
                             "../shared/data, else the fake data set)")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args(argv)
    if (args.steps is not None and args.steps < 1) or args.warmup < 0 or args.repeats < 1:
        parser.error("--steps and --repeats must be at least 1, --warmup at least 0")
    if not args.batch_sizes or any(b < 1 for b in args.batch_sizes):
        parser.error("--batch-sizes must be positive integers")
    if not args.workers or any(w < 0 for w in args.workers):
        parser.error("--workers must be non-negative integers")
    if args.threads is not None:
        if args.threads < 1:
            parser.error("--threads must be at least 1")
        torch.set_num_threads(args.threads)

    try:
        device = resolve_device(args.device)
        data_dir, source = find_data_dir(args.data_dir)
        dataset = load_data(data_dir)
    except GanforgeError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    dataset_name = "mnist" if data_dir is not None else "fake"

    print("\n".join(machine_lines(device)))
    if data_dir is None:
        print("data: NO MNIST FOUND (no --data-dir, $GANFORGE_DATA or ../shared/data): falling "
              "back to the built-in 'fake' data set, 512 random 28x28 images -- not MNIST")
    else:
        print(f"data: MNIST train, {len(dataset)} images {tuple(dataset.images.shape[1:])}, "
              f"from {data_dir} ({source})")
    print(f"warmup {args.warmup} steps, median of {args.repeats} windows of "
          f"{args.steps or 'gan 300 / dcgan 100'} steps; modes interleaved; "
          f"one image = one real image per D step", flush=True)

    rows = []
    started = time.perf_counter()
    try:
        for method in args.methods:
            steps = args.steps or DEFAULT_STEPS.get(method, FALLBACK_STEPS)
            for batch_size in args.batch_sizes:
                t0 = time.perf_counter()
                row = bench_one(method, batch_size, dataset_name, dataset, device, steps,
                                args.warmup, args.repeats, args.workers)
                rows.append(row)
                noisy = [k for k, v in row["spread"].items() if v > 0.10]
                by_w = ", ".join(f"w={k}: {v:,.0f}"
                                 for k, v in row["dataloader_img_s_by_workers"].items())
                print(f"  {method} batch {batch_size}: done in {time.perf_counter() - t0:.0f} s"
                      f" (DataLoader {by_w} img/s)"
                      + (f"; repeats differ by >10% in {', '.join(noisy)}" if noisy else ""),
                      flush=True)
    except GanforgeError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2

    print()
    print_table(rows)
    print(f"\ngoals: e2e/model >= {GOAL_RATIO}, e2e/DataLoader >= {GOAL_SPEEDUP:g}x; "
          f"total {time.perf_counter() - started:.0f} s")
    if args.json is not None:
        meta = {
            "torch": torch.__version__,
            "python": platform.python_version(),
            "device": str(device),
            "device_name": device_name(device),
            "threads": torch.get_num_threads(),
            "cpu_count": os.cpu_count(),
            "dataset": dataset_name,
            "data_dir": str(data_dir) if data_dir is not None else None,
            "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"meta": meta, "results": rows}, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
