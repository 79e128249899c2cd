"""`ganforge translate`: image files through a trained translation run."""

from __future__ import annotations

import argparse
from pathlib import Path

from ganforge.cli.flags import DefaultsHelpFormatter
from ganforge.devices import DEVICES
from ganforge.inference import load
from ganforge.inference.translate_files import translate_files


def add_parser(sub) -> None:
    p = sub.add_parser(
        "translate", help="translate images with a pix2pix, cyclegan, unit or stargan run",
        formatter_class=DefaultsHelpFormatter,
        description="Translate an image file, or every image in a folder, with a trained "
                    "image-to-image run; outputs keep the input file names (as PNG), and "
                    "grid.png shows inputs beside outputs.")
    p.add_argument("run_dir", help="a run directory written by `ganforge train`")
    p.add_argument("--input", required=True, metavar="PATH", help="an image file or a folder")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for the outputs")
    p.add_argument("--direction", default="AtoB", choices=("AtoB", "BtoA"),
                   help="two-domain runs: which way to translate")
    p.add_argument("--to-domain", default=None, metavar="NAME",
                   help="stargan: the target domain (a name of the run's data set or an index)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace outputs already in --out (inputs are never replaced)")
    p.add_argument("--device", default="auto", help=f"one of: {', '.join(DEVICES)}")


def run(args: argparse.Namespace) -> int:
    model = load(args.run_dir, device=args.device)
    out = Path(args.out)
    files, grid = translate_files(model, Path(args.input), out, args.direction, args.to_domain,
                                  args.overwrite)
    target = args.to_domain if args.to_domain is not None else args.direction
    print(f"translated {len(files)} images ({target}) into {out}; inputs beside outputs: "
          f"{grid}")
    return 0
