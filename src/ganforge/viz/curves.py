"""Training curves: how a run went, from its log.jsonl and metrics.jsonl, several runs overlaid.

One panel per quantity: the losses, D's scores of real and generated data, the throughput, and
each metric of metrics.jsonl; against the step, or against the training seconds (estimated from
each logged interval's images and images/s, since the log keeps rates, not clock times).
matplotlib is an optional extra (``pip install "ganforge[plot]"``): it is imported here only.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from ganforge.errors import GanforgeError

RATE_KEYS = ("images_per_s", "points_per_s")
SKIP = {"step", "epoch"}


def _rows(path: Path) -> list[dict]:
    if not path.exists():
        return []
    rows = []
    for line in path.read_text().splitlines():
        try:
            rows.append(json.loads(line))
        except ValueError:
            continue  # a line cut short by a kill
    return rows


def run_curves(run: Path) -> dict[str, list[tuple[int, float, float]]]:
    """{quantity: [(step, seconds, value), ...]} of a run directory."""
    config = json.loads((run / "config.json").read_text()).get("config", {})
    per_step = (config.get("batch_size") or 1) * (config.get("d_steps") or 1)
    curves: dict[str, list[tuple[int, float, float]]] = {}
    seconds_at: dict[int, float] = {0: 0.0}
    elapsed, last_step = 0.0, 0
    for row in _rows(run / "log.jsonl"):
        step = int(row.get("step", 0))
        rate = next((row[k] for k in RATE_KEYS if k in row), None)
        if rate:
            elapsed += (step - last_step) * per_step / rate
        seconds_at[step], last_step = elapsed, step
        for key, value in row.items():
            if key not in SKIP and isinstance(value, (int, float)) and math.isfinite(value):
                curves.setdefault(key, []).append((step, elapsed, float(value)))
    steps = sorted(seconds_at)
    for row in _rows(run / "metrics.jsonl"):
        step = int(row.get("step", 0))
        # The seconds of the nearest logged step at or before this one.
        before = max((s for s in steps if s <= step), default=0)
        for key, value in row.items():
            if key not in SKIP and isinstance(value, (int, float)) and math.isfinite(value):
                curves.setdefault(f"metric: {key}", []).append(
                    (step, seconds_at[before], float(value)))
    return curves


def _panel_of(key: str) -> str:
    if key.startswith("metric: "):
        return key
    if key in RATE_KEYS:
        return "throughput"
    if "loss" in key:
        return "losses"
    if key.startswith("D("):
        return "D's scores"
    return key


def plot_runs(runs: list[Path], out: Path, against: str = "step") -> Path:
    """Write a picture of the runs' curves to ``out`` (PNG); ``against`` step or seconds."""
    try:
        # The object-oriented API, not pyplot: no GUI backend to choose, no global figure state,
        # and a second less to import at the end of every run.
        from matplotlib.figure import Figure
    except ImportError:
        raise GanforgeError('plotting needs matplotlib: pip install "ganforge[plot]"') from None
    data = {}
    for run in runs:
        if not (run / "config.json").exists():
            raise GanforgeError(f"{run} is not a run directory (no config.json)")
        data[run] = run_curves(run)
    panels: dict[str, list[tuple[Path, str]]] = {}
    for run, curves in data.items():
        for key in curves:
            panels.setdefault(_panel_of(key), []).append((run, key))
    if not panels:
        raise GanforgeError(f"nothing to plot: {', '.join(map(str, runs))} logged no rows yet")
    names = sorted(panels, key=lambda p: (p.startswith("metric"), p != "losses", p))
    cols = min(3, len(names))
    rows = math.ceil(len(names) / cols)
    fig = Figure(figsize=(4.6 * cols, 3.4 * rows))
    axes = fig.subplots(rows, cols, squeeze=False)
    # A run keeps its colour in every panel; within a panel its quantities differ by dash.
    colour = {run: f"C{i % 10}" for i, run in enumerate(data)}
    dashes = ("-", "--", ":", "-.")
    for ax, name in zip(axes.flat, names, strict=False):
        keys = sorted({key for _, key in panels[name]})
        for run, key in panels[name]:
            points = data[run][key]
            label = run.name if len(runs) > 1 else key
            if len(runs) > 1 and len(keys) > 1:
                label = f"{run.name}: {key}"
            ax.plot([p[0] if against == "step" else p[1] for p in points], [p[2] for p in points],
                    label=label, linewidth=1.2,
                    color=colour[run] if len(runs) > 1 else None,
                    linestyle=dashes[keys.index(key) % len(dashes)] if len(runs) > 1 else "-")
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("step" if against == "step" else "training seconds (estimated)")
        ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(names):]:
        ax.axis("off")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp.png")
    fig.savefig(tmp, dpi=90)
    tmp.replace(out)
    return out
