"""`ganforge plot RUN [RUN ...]`: the training curves of runs, overlaid, as one PNG.

Like ``runs`` it reads only a run's JSON files, so it needs no torch (matplotlib only).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ganforge.errors import GanforgeError


def add_parser(sub) -> None:
    p = sub.add_parser("plot", help="plot runs' losses, D's scores, throughput and metrics",
                       description="Plot the curves of one or more runs (log.jsonl and "
                       "metrics.jsonl), several runs overlaid with a legend.")
    p.add_argument("runs", nargs="+", metavar="RUN", help="run directories")
    p.add_argument("--out", default=None,
                   help="PNG to write (default: RUN/curves.png for one run, curves.png for "
                   "several)")
    p.add_argument("--against", choices=("step", "seconds"), default="step",
                   help="x axis: the step, or the training seconds (default: step)")


def run(args: argparse.Namespace) -> int:
    from ganforge.viz.curves import plot_runs

    runs = [Path(r) for r in args.runs]
    for r in runs:
        if not r.is_dir():
            raise GanforgeError(f"{r} is not a run directory; give the folders `ganforge "
                                "train` wrote (list them with `ganforge runs`)")
    if args.out:
        out = Path(args.out)
    else:
        out = runs[0] / "curves.png" if len(runs) == 1 else Path("curves.png")
    print(plot_runs(runs, out, against=args.against))
    return 0
