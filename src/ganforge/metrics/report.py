"""The report of an evaluation, as `ganforge eval` writes it to metrics.json and prints it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ganforge.files import write_json
from ganforge.metrics.registry import metric_direction
from ganforge.metrics.sources import ImageSource
from ganforge.version import __version__


def format_table(values: dict) -> str:
    """An aligned two-column table of metric values (lists, such as histograms, on one line)."""

    def show(v) -> str:
        if isinstance(v, float):
            return f"{v:.4f}" if abs(v) < 1e5 else f"{v:.6g}"
        if isinstance(v, list):
            return " ".join(str(x) for x in v)
        return str(v)

    rows = [("metric", "value", "better")] + [
        (k, show(v), metric_direction(k) or "") for k, v in values.items()]
    name_width = max(len(r[0]) for r in rows)
    # Numbers are right-aligned on the widest number; a histogram simply runs on.
    value_width = max(len(show(v)) for v in [*values.values(), "value"] if not isinstance(v, list))
    return "\n".join(f"{k:<{name_width}}  {v:>{value_width}}  {b}".rstrip() for k, v, b in rows)


def image_report(values: dict[str, Any], fake: ImageSource, real: ImageSource | None,
                 extractors: dict[str, str]) -> dict[str, Any]:
    """What metrics.json records of an evaluation of images: the values, where the fake and real
    images came from, and the feature networks that measured them."""
    return {
        "metrics": values,
        "fake": {**fake.info, "num_images": len(fake.images)},
        "real": {**real.info, "id": real.id, "num_images": len(real.images)} if real else None,
        "extractors": extractors,
        "ganforge_version": __version__,
    }


def points_report(values: dict[str, Any], run_dir: str, n: int, mixture: str) -> dict[str, Any]:
    """What metrics.json records of the evaluation of a toy-mixture run."""
    return {"metrics": values, "fake": {"run": run_dir, "num_points": n},
            "real": {"mixture": mixture}, "ganforge_version": __version__}


def write_report(report: dict[str, Any], out: Path, header: str) -> None:
    """Write ``report`` to ``out`` and print ``header``, the table of its values and where it
    went."""
    write_json(out, report)
    print(header)
    print(format_table(report["metrics"]))
    print(f"wrote {out}")
