"""Progress of long work (feature extraction, sampling for metrics, downloads, ``bench``): a
tqdm bar with its rate and time left on a terminal, and elsewhere (a pipe, CI, a scheduler's
log, where a bar is silent or a stream of carriage returns) a plain line every
:data:`PROGRESS_SECONDS`, so a log shows the work is alive and when it will end. Work shorter
than that interval prints nothing off a terminal."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from tqdm import tqdm

# Seconds between plain progress lines when the stream is not a terminal.
PROGRESS_SECONDS = 30.0


def duration(seconds: float) -> str:
    """``seconds`` as 45s, 12m05s or 3h20m."""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def amount(value: float, scaled: bool) -> str:
    """A count, or with ``scaled`` a size in k/M/G (bytes of a download)."""
    if not scaled:
        return f"{value:,.0f}"
    for prefix in ("", "k", "M", "G"):
        if abs(value) < 1000 or prefix == "G":
            return f"{value:.1f}{prefix}" if prefix else f"{value:.0f}"
        value /= 1000
    return f"{value:.1f}G"


class Meter:
    """Progress of ``total`` units of work (None when unknown), counted by :meth:`update`."""

    def __init__(self, desc: str, total: float | None, unit: str = "it",
                 unit_scale: bool = False, stream: TextIO | None = None,
                 every: float | None = None, enabled: bool = True) -> None:
        self.desc, self.total, self.unit, self.unit_scale = desc, total, unit, unit_scale
        self.stream = stream if stream is not None else sys.stderr
        self.every = PROGRESS_SECONDS if every is None else every
        self.enabled = enabled
        self.done = 0.0
        self._start = self._last_line = time.perf_counter()
        on_terminal = enabled and self.stream.isatty()
        self._bar = (tqdm(total=total, unit=unit, unit_scale=unit_scale, desc=desc,
                          dynamic_ncols=True, file=self.stream, leave=False)
                     if on_terminal else None)

    def update(self, n: float = 1) -> None:
        self.done += n
        if self._bar is not None:
            self._bar.update(n)
            return
        now = time.perf_counter()
        if self.enabled and now - self._last_line >= self.every:
            self._last_line = now
            print(self.line(now), file=self.stream, flush=True)

    def write(self, text: str) -> None:
        """A line of output that does not break the bar."""
        if self._bar is not None:
            self._bar.write(text, file=self.stream)
        else:
            print(text, file=self.stream, flush=True)

    def line(self, now: float) -> str:
        rate = self.done / max(now - self._start, 1e-9)
        of = f"/{amount(self.total, self.unit_scale)}" if self.total else ""
        text = (f"{self.desc}: {amount(self.done, self.unit_scale)}{of} {self.unit}  "
                f"{amount(rate, self.unit_scale)} {self.unit}/s")
        if self.total and rate > 0:
            text += f"  eta {duration(max(self.total - self.done, 0) / rate)}"
        return text

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()

    def __enter__(self) -> Meter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
