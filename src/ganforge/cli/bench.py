"""`ganforge bench`: training throughput and FLOPs per image."""

from __future__ import annotations

import argparse

from ganforge.config import PRECISIONS
from ganforge.devices import DEVICES
from ganforge.errors import GanforgeError
from ganforge.training.bench import WINDOW_SECONDS, run_benchmarks


def add_parser(sub) -> None:
    p = sub.add_parser(
        "bench", help="measure training throughput (images/s) and model FLOPs per image",
        description="Time Trainer.train_step() end to end for each method and batch size on "
                    "this device and print images/s, ms/step, the model FLOPs per image (one "
                    "training step's matrix products and convolutions, forward and backward, "
                    "counted by torch.utils.flop_counter) and the GFLOP/s achieved. One image "
                    "is one real image consumed by a discriminator step. Nothing is written "
                    "unless --json is given.")
    p.add_argument("--methods", default="gan,dcgan,cgan,wgan-gp", metavar="LIST",
                   help="comma-separated method names (default: gan,dcgan,cgan,wgan-gp)")
    p.add_argument("--batch-sizes", default="64,256", metavar="LIST",
                   help="comma-separated batch sizes (default: 64,256)")
    p.add_argument("--dataset", default="fake",
                   help="data set to draw batches from (fake: 512 random 28x28 images, MNIST's "
                   "shape, nothing to download; the default)")
    p.add_argument("--data-dir", default=None,
                   help="folder holding the data sets (default: $GANFORGE_DATA or "
                   "~/.cache/ganforge/data)")
    p.add_argument("--image-size", type=int, default=None,
                   help="resize images to this size (default: the data set's)")
    p.add_argument("--device", default="auto", help=f"one of: {', '.join(DEVICES)} (default: auto)")
    p.add_argument("--precision", default="fp32",
                   help=f"one of: {', '.join(PRECISIONS)} (default: fp32)")
    p.add_argument("--steps", type=int, default=None,
                   help=f"timed steps per window (default: as many as take about "
                   f"{WINDOW_SECONDS:g} s, judged from the warmup)")
    p.add_argument("--warmup", type=int, default=5, help="untimed steps before timing (default: 5)")
    p.add_argument("--cuda-graphs", action=argparse.BooleanOptionalAction, default=None,
                   help="time replays of the whole step captured in a CUDA graph, as `ganforge "
                   "train` trains on CUDA by default (methods that cannot be captured are timed "
                   "eagerly, marked so in the table; --no-cuda-graphs times every step eagerly)")
    p.add_argument("--threads", type=int, default=None,
                   help="torch.set_num_threads for the run (default: torch's own choice)")
    p.add_argument("--repeats", type=int, default=3,
                   help="timed windows per method and batch size; the median is reported "
                   "(default: 3)")
    p.add_argument("--json", default=None, metavar="PATH", help="also write the results here")


def _comma_list(flag: str, text: str, kind=str) -> list:
    try:
        values = [kind(x.strip()) for x in text.split(",") if x.strip()]
    except ValueError:
        raise GanforgeError(f"{flag} takes a comma-separated list, got {text!r}") from None
    if not values:
        raise GanforgeError(f"{flag} is empty")
    return values


def run(args: argparse.Namespace) -> int:
    run_benchmarks(
        _comma_list("--methods", args.methods), _comma_list("--batch-sizes", args.batch_sizes, int),
        dataset=args.dataset, data_dir=args.data_dir, image_size=args.image_size,
        device=args.device, precision=args.precision, steps=args.steps, warmup=args.warmup,
        repeats=args.repeats, threads=args.threads, json_path=args.json,
        cuda_graphs=args.cuda_graphs)
    return 0
