"""Training logs: one JSON object per line, mirrored to TensorBoard when it is installed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ganforge.files import json_line, read_jsonl, rewrite_jsonl


class RunLog:
    """``log.jsonl`` of a run. A fresh run starts it empty; a resumed one keeps the rows up to
    the step it resumes from (rows after it describe steps that will be redone)."""

    def __init__(self, path: Path, resume_step: int | None = None) -> None:
        self.path = path
        rewrite_jsonl(path, resume_step)
        self._file = open(path, "a")  # noqa: SIM115  (closed in close())
        self._tb = None
        try:
            from torch.utils.tensorboard import SummaryWriter

            self._tb = SummaryWriter(str(path.parent / "tensorboard"))
        except ImportError:
            pass

    def write(self, row: dict[str, Any]) -> None:
        self._file.write(json_line(row))
        self._file.flush()
        if self._tb is not None:
            for key, value in row.items():
                if key != "step" and isinstance(value, (int, float)):
                    self._tb.add_scalar(key, value, row["step"])

    def close(self) -> None:
        self._file.close()
        if self._tb is not None:
            self._tb.close()


def read_log(path: str | Path) -> list[dict[str, Any]]:
    return read_jsonl(path)
