"""Files that a reader never sees half-written, and JSON that every JSON reader can parse."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

TMP_SUFFIX = ".tmp"


def atomic_write(path: str | os.PathLike, data: bytes | str) -> None:
    """Write ``data`` to ``path`` through a temporary file beside it and one rename, so ``path``
    holds the old content or the new, never a mix, whatever kills the process. The temporary
    file is flushed to disk before the rename: a crash of the machine keeps the old file rather
    than a renamed empty one. A failed write (a full disk) removes the temporary file and
    leaves ``path`` as it was."""
    path = Path(path)
    tmp = path.with_name(path.name + TMP_SUFFIX)
    raw = data.encode() if isinstance(data, str) else data
    try:
        with open(tmp, "wb") as f:
            f.write(raw)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        if e.filename is None:  # fsync's ENOSPC names no file; the user needs to know which
            raise OSError(e.errno, e.strerror or str(e), str(path)) from None
        raise
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def json_safe(value: Any) -> Any:
    """``value`` with every NaN or infinite float replaced by None: Python's json module writes
    them as the bare words NaN and Infinity, which are not JSON and which other readers
    (jq, JavaScript, pandas' strict mode) refuse."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def json_line(row: dict[str, Any]) -> str:
    """One row of a ``.jsonl`` file, with its newline."""
    return json.dumps(json_safe(row), allow_nan=False) + "\n"


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write JSON atomically: a reader never sees half a file."""
    atomic_write(path, json.dumps(json_safe(data), indent=2, sort_keys=True,
                                  allow_nan=False) + "\n")


def read_jsonl(path: str | os.PathLike) -> list[dict[str, Any]]:
    """The rows of a ``.jsonl`` file. A last line cut short (the process was killed while
    appending it) is dropped; a bad line before the last means the file itself is damaged."""
    from ganforge.errors import GanforgeError

    lines = [line for line in Path(path).read_text().splitlines() if line.strip()]
    rows = []
    for number, line in enumerate(lines, 1):
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            if number == len(lines):
                break
            raise GanforgeError(f"{path}: line {number} is not JSON; repair or delete the "
                                "file") from None
        if not isinstance(row, dict):
            raise GanforgeError(f"{path}: line {number} is not a JSON object; repair or delete "
                                "the file")
        rows.append(row)
    return rows


def rewrite_jsonl(path: Path, keep_through_step: int | None) -> None:
    """Keep the rows of ``path`` up to ``keep_through_step`` (all rows beyond it describe steps
    that a resumed run will redo; None keeps none), atomically."""
    if not path.exists():
        return
    rows = ([] if keep_through_step is None
            else [r for r in read_jsonl(path) if r.get("step", 0) <= keep_through_step])
    atomic_write(path, "".join(json_line(r) for r in rows))
