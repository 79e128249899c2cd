"""`ganforge runs [DIR]`: a table of the run directories under a folder.

It reads only the small JSON files a run keeps (config.json, state.json, the last line of
metrics.jsonl), never a checkpoint and never torch, so a folder of many runs lists at once.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from pathlib import Path

from ganforge.errors import GanforgeError

MAX_DEPTH = 4


def add_parser(sub) -> None:
    p = sub.add_parser("runs", help="list the runs under a folder: method, data, steps, time, "
                       "last metrics, best checkpoint",
                       description="List the run directories under DIR (default: runs).")
    p.add_argument("dir", nargs="?", default="runs", help="folder to look in (default: runs)")
    p.add_argument("--sort", default=None, metavar="METRIC",
                   help="order by the last value of this metric (metrics.jsonl), lowest first")
    p.add_argument("--reverse", action="store_true", help="highest first")


def find_runs(root: Path, depth: int = MAX_DEPTH) -> list[Path]:
    """Folders under ``root`` (itself included) holding a config.json and a state.json."""
    found: list[Path] = []
    for folder, subfolders, files in os.walk(root):
        here = Path(folder)
        if "config.json" in files and "state.json" in files:
            found.append(here)
            subfolders.clear()  # a run's own folders (samples/) hold no runs
        elif len(here.relative_to(root).parts) >= depth:
            subfolders.clear()
        subfolders.sort()
    return found


def _last_json_line(path: Path) -> dict:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 8192))
            lines = f.read().decode(errors="replace").strip().splitlines()
        return json.loads(lines[-1]) if lines else {}
    except (OSError, ValueError):
        return {}


def describe(run: Path) -> dict:
    """One row: what the run is, how far it got, its last metrics and best checkpoint."""
    try:
        config = json.loads((run / "config.json").read_text())
        state = json.loads((run / "state.json").read_text())
    except (OSError, ValueError) as error:
        return {"run": str(run), "error": f"unreadable ({error.__class__.__name__})"}
    cfg = config.get("config", {})
    metrics = {k: v for k, v in _last_json_line(run / "metrics.jsonl").items() if k != "step"}
    best = state.get("evaluation") or {}
    seconds = (run / "state.json").stat().st_mtime - (run / "config.json").stat().st_mtime
    return {
        "run": str(run), "method": config.get("method", cfg.get("method", "?")),
        "dataset": cfg.get("dataset", "?"), "step": state.get("step", 0),
        "total": state.get("total_steps") or config.get("total_steps"),
        "seconds": max(seconds, 0.0), "metrics": metrics,
        "best": (f"{best['best_metric']} {_number(best['best_value'])} @ {best['best_step']}"
                 if best.get("best_metric") else "-"),
    }


def _number(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _duration(seconds: float) -> str:
    return time.strftime("%H:%M:%S", time.gmtime(seconds)) if seconds < 86400 else (
        f"{seconds / 86400:.1f} d")


def table(rows: list[dict]) -> str:
    header = ["run", "method", "dataset", "steps", "time", "last metrics", "best checkpoint"]
    body = []
    for r in rows:
        if "error" in r:
            body.append([r["run"], r["error"], "", "", "", "", ""])
            continue
        shown = ", ".join(f"{k} {_number(v)}" for k, v in r["metrics"].items()) or "-"
        steps = f"{r['step']}/{r['total']}" if r["total"] else str(r["step"])
        body.append([r["run"], r["method"], r["dataset"], steps, _duration(r["seconds"]),
                     shown, r["best"]])
    widths = [max(len(str(row[i])) for row in [header, *body]) for i in range(len(header))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
             for row in [header, *body]]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    root = Path(args.dir)
    if not root.is_dir():
        raise GanforgeError(f"{root} is not a folder; give the folder your runs are in "
                            "(`ganforge train` writes them under runs/)")
    rows = [{**describe(r), "run": str(r.relative_to(root)) if r != root else str(root)}
            for r in find_runs(root)]
    if not rows:
        print(f"no runs under {root}")
        return 0
    if args.sort:
        known = sorted({k for r in rows for k in r.get("metrics", {})})
        if args.sort not in known:
            raise GanforgeError(f"no run here has the metric {args.sort!r}; sort by one of: "
                                f"{', '.join(known) or '(none: no run has metrics.jsonl)'}")

        def key(r: dict) -> float:
            value = r.get("metrics", {}).get(args.sort)
            if not isinstance(value, (int, float)) or math.isnan(value):
                return math.inf  # runs without it go last either way
            return -value if args.reverse else value

        rows.sort(key=key)
    print(table(rows))
    return 0
