"""ganforge against PyTorch-GAN's scripts as written, side by side in one run on this machine.

Two pairs, each timed end to end (data loading included) at batch 64 on MNIST:

* **dcgan**: PyTorch-GAN's ``dcgan.py`` (:mod:`reference_dcgan`: 32 px, its own networks, a
  ``DataLoader`` over PIL images) against ``ganforge`` dcgan with ``image_size=32``
  (``Trainer.train_step()`` drawing from its ``Batcher``);
* **gan**: PyTorch-GAN's ``gan.py`` (:mod:`reference_gan`, 28 px MLPs) against ``ganforge``
  gan at 28 px.

One image is one real image the discriminator learns from, so one batch of either loop is 64
images. The two sides run different networks (PyTorch-GAN's DCGAN generator works at 16 and
32 px with 128 channels, ganforge's is the paper's transposed-convolution pyramid), so the
model FLOPs per image of each are printed beside the speeds (counted as ``ganforge bench``
counts them: :mod:`ganforge.training.bench`).

With ``--tweaks`` ganforge's DCGAN step is also timed under each CPU option in the same
interleaved windows: channels_last weights and inputs, oneDNN (mkldnn) switched off, bf16
autocast (``--precision bf16``), Adam as a per-parameter for-loop (PyTorch's CPU default, which
ganforge used on CPUs before it chose fused Adam there too) and with ``foreach=True``, and one
intra-op thread instead of torch's default.

Every contender is built once (same seed), warmed up, and then each repeat times one window of
each, in an order that rotates from repeat to repeat, so load from other processes falls on all
of them alike; medians over ``--repeats`` windows are reported, and the ratio is also given as
the median of the per-repeat ratios (each from windows run back to back).

Run from the repository root::

    python benchmarks/cpu_vs_reference.py --data-dir ../shared/data --tweaks --json out.json
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import reference_dcgan
import reference_gan
import torch
from paper_dcgan import PAPER_DCGAN_NETS

from ganforge.data import load_dataset
from ganforge.training import Trainer
from ganforge.training.bench import bench_trainer, count_flops, images_per_step, machine_lines

REPO_ROOT = Path(__file__).resolve().parents[1]
BATCH = 64
# Timed batches per window when --batches is not given.
DEFAULT_BATCHES = {"dcgan": 10, "gan": 100}
IMAGE_SIZE = {"dcgan": 32, "gan": 28}


@dataclass
class Contender:
    """One loop: ``step()`` trains one batch and returns the images it consumed; ``finish()``
    waits for queued work (ganforge's one flush of its device-side logs); ``context()`` is
    entered around every window (a tweak's switch)."""

    name: str
    step: Callable[[], int]
    finish: Callable[[], object] = lambda: None
    context: Callable[[], contextlib.AbstractContextManager] = contextlib.nullcontext
    flops_per_image: float = 0.0
    windows: list[tuple[int, float]] = field(default_factory=list)

    def window(self, batches: int) -> None:
        with self.context():
            self.finish()
            start = time.perf_counter()
            images = sum(self.step() for _ in range(batches))
            self.finish()
            self.windows.append((images, time.perf_counter() - start))

    def rates(self) -> list[float]:
        return [images / seconds for images, seconds in self.windows]

    @property
    def images_per_s(self) -> float:
        return statistics.median(self.rates())


# ---- the two sides ------------------------------------------------------------------------------


def reference(pair: str, data_dir: Path) -> Contender:
    quiet = open(os.devnull, "w")  # the per-batch lines; open for the run
    if pair == "dcgan":
        opt = reference_dcgan.parser.parse_args([])
        loop = reference_dcgan.ReferenceLoop(opt, data_dir / "mnist", log=quiet)
    else:
        opt = reference_gan.parser.parse_args([])
        loop = reference_gan.gan_loop(opt, data_dir / "mnist", log=quiet)
    batches = loop.batches()
    contender = Contender(f"PyTorch-GAN {pair}.py", lambda: next(batches))
    contender.flops_per_image = count_flops(contender.step) / BATCH
    return contender


def ganforge_step(trainer: Trainer, batches=None) -> Callable[[], int]:
    images = images_per_step(trainer)

    def step() -> int:
        trainer.train_step(batches)
        return images

    return step


def ganforge(pair: str, data, name: str = "ganforge", precision: str = "fp32",
             tweak: Callable[[Trainer], dict] | None = None) -> Contender:
    """ganforge's ``pair`` method end to end; ``tweak(trainer)`` may change the trainer and
    return Contender fields to override (``step``, ``context``)."""
    # DCGAN's all-convolutional nets without EMA, its MNIST default until 2026-12-06, which
    # the figures in RESULTS.md measured.
    nets = PAPER_DCGAN_NETS if pair == "dcgan" else {}
    trainer = bench_trainer(pair, "mnist", data, BATCH, torch.device("cpu"), precision=precision,
                            **nets)
    fields = {"step": ganforge_step(trainer), **(tweak(trainer) if tweak else {})}
    contender = Contender(f"ganforge {pair}" + (f" [{name}]" if name != "ganforge" else ""),
                          finish=trainer.flush_logs, **fields)
    with contender.context():
        contender.flops_per_image = count_flops(contender.step) / images_per_step(trainer)
    return contender


# ---- CPU tweaks of ganforge's step --------------------------------------------------------------


def channels_last(trainer: Trainer) -> dict:
    trainer.method.to(memory_format=torch.channels_last)
    batches = ({**b, "x": b["x"].contiguous(memory_format=torch.channels_last)}
               for b in trainer.batcher)
    return {"step": ganforge_step(trainer, batches)}


@contextlib.contextmanager
def mkldnn_enabled(enabled: bool):
    before = torch.backends.mkldnn.enabled
    torch.backends.mkldnn.enabled = enabled
    try:
        yield
    finally:
        torch.backends.mkldnn.enabled = before


def mkldnn_off(trainer: Trainer) -> dict:
    return {"context": lambda: mkldnn_enabled(False)}


def adam(**kind) -> Callable[[Trainer], dict]:
    def tweak(trainer: Trainer) -> dict:
        for group, old in trainer.optimizers.items():
            defaults = old.defaults
            trainer.optimizers[group] = torch.optim.Adam(
                trainer.params[group], lr=defaults["lr"], betas=defaults["betas"], **kind)
        return {}

    return tweak


@contextlib.contextmanager
def threads(n: int):
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def one_thread(trainer: Trainer) -> dict:
    return {"context": lambda: threads(1)}


TWEAKS = {
    "channels_last": {"tweak": channels_last},
    "mkldnn off": {"tweak": mkldnn_off},
    "bf16 autocast": {"precision": "bf16"},
    "for-loop Adam": {"tweak": adam(foreach=False, fused=False)},
    "foreach Adam": {"tweak": adam(foreach=True)},
    "1 thread": {"tweak": one_thread},
}


# ---- the run ------------------------------------------------------------------------------------


def run_pair(pair: str, data_dir: Path, batches: int, warmup: int, repeats: int,
             tweaks: list[str]) -> dict:
    data = load_dataset("mnist", data_dir=data_dir, image_size=IMAGE_SIZE[pair], download=False)
    contenders = [reference(pair, data_dir), ganforge(pair, data)]
    contenders += [ganforge(pair, data, name, **TWEAKS[name]) for name in tweaks]
    for c in contenders:
        with c.context():
            for _ in range(warmup):
                c.step()
            c.finish()
    for r in range(repeats):
        shift = r % len(contenders)
        for c in contenders[shift:] + contenders[:shift]:
            c.window(batches)
        print(f"  {pair} repeat {r + 1}/{repeats}: " + ", ".join(
            f"{c.name} {c.rates()[-1]:,.1f}" for c in contenders) + " img/s", flush=True)
    ref, ours = contenders[0], contenders[1]
    pairwise = [a / b for a, b in zip(ours.rates(), ref.rates(), strict=True)]
    return {
        "pair": pair,
        "image_size": IMAGE_SIZE[pair],
        "batch_size": BATCH,
        "batches_per_window": batches,
        "repeats": repeats,
        "ratio_of_medians": ours.images_per_s / ref.images_per_s,
        "median_pairwise_ratio": statistics.median(pairwise),
        # Each contender against ganforge's default step, window by window within a repeat.
        "contenders": [{"name": c.name, "images_per_s": c.images_per_s,
                        "rates": c.rates(), "flops_per_image": c.flops_per_image,
                        "vs_ganforge_default": statistics.median(
                            a / b for a, b in zip(c.rates(), ours.rates(), strict=True))}
                       for c in contenders],
    }


def print_pair(result: dict) -> None:
    rows = [("loop", "img/s (median)", "min-max", "MFLOP/img", "GFLOP/s",
             "vs ganforge (median ratio)")]
    for c in result["contenders"]:
        rows.append((c["name"], f"{c['images_per_s']:,.1f}",
                     f"{min(c['rates']):,.0f}-{max(c['rates']):,.0f}",
                     f"{c['flops_per_image'] / 1e6:,.1f}",
                     f"{c['flops_per_image'] * c['images_per_s'] / 1e9:,.1f}",
                     f"{c['vs_ganforge_default']:.2f}"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for i, row in enumerate(rows):
        print("| " + " | ".join(c.ljust(w) if j == 0 else c.rjust(w)
                                for j, (c, w) in enumerate(zip(row, widths, strict=True))) + " |")
        if i == 0:
            print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    print(f"{result['pair']}: ganforge / PyTorch-GAN = {result['ratio_of_medians']:.2f}x "
          f"(ratio of medians), {result['median_pairwise_ratio']:.2f}x (median of per-repeat "
          f"ratios)\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", default="dcgan,gan", help="comma-separated: dcgan, gan")
    parser.add_argument("--batches", type=int, default=None,
                        help="timed batches per window (default: dcgan 10, gan 100)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed batches per loop first")
    parser.add_argument("--repeats", type=int, default=5, help="timed windows per loop")
    parser.add_argument("--tweaks", action="store_true",
                        help="also time ganforge's step under each CPU tweak")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch.set_num_threads for the run (default: torch's own)")
    parser.add_argument("--data-dir", type=Path, default=REPO_ROOT.parent / "shared" / "data",
                        help="folder holding mnist/ (default: ../shared/data)")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args(argv)
    pairs = [p.strip() for p in args.pairs.split(",") if p.strip()]
    if not pairs or set(pairs) - set(IMAGE_SIZE):
        parser.error(f"--pairs takes some of: {', '.join(IMAGE_SIZE)}")
    if not (args.data_dir / "mnist" / "train-images-idx3-ubyte.gz").is_file():
        parser.error(f"no MNIST under {args.data_dir}/mnist; pass --data-dir (nothing is "
                     "downloaded)")
    if args.threads is not None:
        torch.set_num_threads(args.threads)

    print("\n".join(machine_lines(torch.device("cpu"))))
    print(f"batch {BATCH}, MNIST train; warmup {args.warmup}, {args.repeats} interleaved "
          f"windows per loop, order rotating", flush=True)
    started = time.perf_counter()
    results = []
    for pair in pairs:
        tweaks = list(TWEAKS) if args.tweaks else []
        batches = args.batches or DEFAULT_BATCHES[pair]
        results.append(run_pair(pair, args.data_dir, batches, args.warmup, args.repeats, tweaks))
    print()
    for result in results:
        print_pair(result)
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    print(f"total {time.perf_counter() - started:.0f} s"
          + (f"; load average at end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}" if load else ""))
    if args.json is not None:
        meta = {"torch": torch.__version__, "threads": torch.get_num_threads(),
                "machine": machine_lines(torch.device("cpu")),
                "date": time.strftime("%Y-%m-%d %H:%M:%S")}
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"meta": meta, "results": results}, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
