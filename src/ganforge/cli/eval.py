"""`ganforge eval`: metrics of a trained run or of image files, as a table and metrics.json
(:mod:`ganforge.metrics.report`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ganforge.data import ToyMixture, is_point_dataset
from ganforge.devices import DEVICES, resolve_device
from ganforge.errors import GanforgeError
from ganforge.inference import load
from ganforge.inference.sources import load_source, run_data
from ganforge.metrics import METRICS
from ganforge.metrics.evaluate import Evaluator, default_metrics
from ganforge.metrics.modes import point_metrics
from ganforge.metrics.report import image_report, points_report, write_report
from ganforge.metrics.sources import source_kind


def _metric_help() -> str:
    lines = ["metrics (and the values they report; --best-metric takes one of those):"]
    for name in sorted(METRICS):
        metric = METRICS[name]
        values = ", ".join(f"{k} ({v} is better)" for k, v in metric.better.items())
        lines += [f"  {name:<14} {metric.description}", f"  {'':<14} -> {values}"]
    return "\n".join(lines)


def add_parser(sub) -> None:
    p = sub.add_parser(
        "eval", help="compute metrics of a trained run or of image files",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Compute metrics of generated images against real ones, print a table and\n"
                    "write metrics.json. Images come from a run directory (RUN_DIR or --fake), an\n"
                    "image folder, an .npz file (key images or arr_0; NHWC or NCHW, uint8 or\n"
                    "float in [0, 1]) or a data set NAME[:SPLIT] (mnist, mnist:test, digits,\n"
                    "stacked-mnist, ...).",
        epilog=_metric_help(),
    )
    p.add_argument("run_dir", nargs="?", default=None, metavar="RUN_DIR",
                   help="a run directory written by `ganforge train`: n images are generated "
                   "(EMA weights when kept) and compared with its training data")
    p.add_argument("--fake", default=None, metavar="PATH",
                   help="generated images: a run directory, image folder, .npz or data set")
    p.add_argument("--real", default=None, metavar="SPEC",
                   help="real images: image folder, .npz or data set NAME[:SPLIT] (default with "
                   "RUN_DIR: the run's data set, train split, at the run's image size)")
    p.add_argument("--metrics", default=None, metavar="LIST",
                   help="comma-separated metric names (default: mnist-fid,mnist-is for digit "
                   "data sets, stacked-modes for stacked-mnist, else fid)")
    p.add_argument("--n", type=int, default=None,
                   help="images per side; real sets smaller than this are used whole "
                   "(default: 10000; 2500 points for a toy-mixture run, as in training)")
    p.add_argument("--data-dir", default=None,
                   help="where data sets live (default: the run's, else $GANFORGE_DATA)")
    p.add_argument("--device", default="auto",
                   help=f"one of: {', '.join(DEVICES)} (default: auto)")
    p.add_argument("--seed", type=int, default=0, help="seed of the generated noise (default: 0)")
    p.add_argument("--out", default=None,
                   help="JSON file to write (default: RUN_DIR/metrics.json, else metrics.json)")
    p.add_argument("--cache-dir", default=None,
                   help="real-data statistics cache (default: ~/.cache/ganforge/stats)")


def run(args: argparse.Namespace) -> int:
    if (args.run_dir is None) == (args.fake is None):
        raise GanforgeError("give a RUN_DIR or --fake PATH (one of them)")
    if args.n is not None and args.n < 1:
        raise GanforgeError(f"--n must be at least 1, got {args.n}")
    fake_spec = args.run_dir or args.fake
    run_info = run_data(fake_spec) if source_kind(fake_spec) == "run" else None
    if run_info is not None and is_point_dataset(run_info["dataset"]):
        return eval_points(args, fake_spec, run_info["dataset"], args.n or 2500)
    n = args.n or 10_000
    if args.real is not None:
        source_kind(args.real)
    data_dir = args.data_dir or (run_info["data_dir"] if run_info else None)
    image_size = run_info["image_size"] if run_info else None
    real_spec = args.real or (run_info["dataset"] if run_info else None)
    evaluator = Evaluator(args.metrics or default_metrics(run_info and run_info["dataset"]),
                          device=resolve_device(args.device), cache_dir=args.cache_dir)
    evaluator.check_sample_counts(n, n)
    if evaluator.needs_real and real_spec is None:
        needs = ", ".join(m.name for m in evaluator.metrics if m.needs_real)
        raise GanforgeError(f"{needs} compare with real images; give --real PATH")
    extractors = evaluator.extractor_hashes()  # loads the networks: missing weights fail here
    fake = load_source(fake_spec, n, seed=args.seed, device=args.device, data_dir=data_dir,
                       image_size=image_size)
    real = (load_source(real_spec, n, data_dir=data_dir, image_size=image_size)
            if evaluator.needs_real else None)
    values = evaluator(fake.images, real.images if real else None, real.id if real else "")
    out = Path(args.out) if args.out else Path(args.run_dir or ".") / "metrics.json"
    write_report(image_report(values, fake, real, extractors), out,
                 f"fake: {fake_spec} ({len(fake.images)} images)"
                 + (f"; real: {real_spec} ({len(real.images)} images)" if real else ""))
    return 0


def eval_points(args: argparse.Namespace, run_dir: str, dataset: str, n: int) -> int:
    """``ganforge eval`` of a toy-mixture run: modes covered and high-quality share."""
    if args.metrics not in (None, "modes") or args.real is not None:
        raise GanforgeError(f"{run_dir} learned the 2-D mixture {dataset}; it is evaluated "
                            "with its modes (no --metrics or --real)")
    points = load(run_dir, device=args.device).sample(n, seed=args.seed)
    values = point_metrics(points, ToyMixture(dataset))
    out = Path(args.out) if args.out else Path(run_dir) / "metrics.json"
    write_report(points_report(values, run_dir, n, dataset), out,
                 f"fake: {run_dir} ({n} points); real: the {dataset} mixture")
    return 0
