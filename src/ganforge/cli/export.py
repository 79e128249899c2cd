"""`ganforge export`: a run's sampling generator (or translator) as ONNX or TorchScript."""

from __future__ import annotations

import argparse
from pathlib import Path

from ganforge.inference import load
from ganforge.inference.export import FORMATS, export

SUFFIX = {"onnx": ".onnx", "torchscript": ".pt"}


def add_parser(sub) -> None:
    p = sub.add_parser("export", help="write a run's generator as ONNX or TorchScript",
                       description="Export the sampling generator (the EMA copy when kept) of "
                       "an image method, or one direction of a translator, with a dynamic "
                       "batch size; images in [0, 1].")
    p.add_argument("run_dir", help="a run directory written by `ganforge train`")
    p.add_argument("--format", dest="fmt", choices=FORMATS, required=True)
    p.add_argument("--out", default=None,
                   help="file to write (default: RUN/generator.onnx or RUN/generator.pt)")
    p.add_argument("--direction", default="AtoB", help="translators: AtoB or BtoA")


def run(args: argparse.Namespace) -> int:
    model = load(args.run_dir, device="cpu")
    out = Path(args.out) if args.out else Path(args.run_dir) / f"generator{SUFFIX[args.fmt]}"
    path, inputs = export(model, out, args.fmt, args.direction)
    print(f"wrote {args.fmt} {path}: inputs {', '.join(inputs)} (batch dimension free)")
    return 0
