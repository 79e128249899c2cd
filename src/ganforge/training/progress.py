"""How a run shows its progress: a tqdm bar on a terminal, plain lines anywhere else.

Through a pipe, ``nohup``, CI or a batch scheduler's log a progress bar is either silent (tqdm
turns itself off without a terminal) or a stream of carriage returns; there a line every
``every`` seconds (step, losses, throughput, time left) keeps the log readable and shows that
the run is alive. Both start by naming the run directory, before the first step.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

from tqdm import tqdm

from ganforge.progress import PROGRESS_SECONDS, duration


class Progress:
    """Progress of ``total`` steps from ``initial``; ``per_step`` items (images or points, named
    by ``unit``) are consumed by a step. Silent when not ``enabled`` (the other ranks of a
    data-parallel run)."""

    def __init__(self, desc: str, initial: int, total: int, per_step: int, unit: str,
                 enabled: bool = True, every: float = PROGRESS_SECONDS,
                 stream: TextIO | None = None) -> None:
        self.desc, self.total, self.per_step, self.unit = desc, total, per_step, unit
        self.enabled, self.every = enabled, every
        self.stream = stream if stream is not None else sys.stderr
        self.on_terminal = enabled and self.stream.isatty()
        self._start = (time.perf_counter(), initial)
        self._last_line = self._start[0]
        self._losses: dict[str, float] = {}
        self._bar = (tqdm(total=total, initial=initial, unit="step", dynamic_ncols=True,
                          desc=desc, file=self.stream) if self.on_terminal else None)

    def announce(self, text: str) -> None:
        if self.enabled:
            (self._bar.write if self._bar is not None else self._print)(text)

    def _print(self, text: str) -> None:
        print(text, file=self.stream, flush=True)

    def update(self, step: int, row: dict | None = None) -> None:
        """One more step done; ``row`` is the log row just written, if any (no host sync here:
        the values are those the log interval already read)."""
        if row is not None:
            self._losses = {k: row[k] for k in ("d_loss", "g_loss") if k in row}
        if self._bar is not None:
            self._bar.update(1)
            if row is not None:
                self._bar.set_postfix({k: f"{v:.3f}" for k, v in self._losses.items()})
            return
        now = time.perf_counter()
        if self.enabled and now - self._last_line >= self.every:
            self._last_line = now
            self._print(self.line(step, now))

    def line(self, step: int, now: float) -> str:
        start_time, start_step = self._start
        rate = (step - start_step) / max(now - start_time, 1e-9)  # steps per second
        parts = [f"{self.desc}: step {step}/{self.total}"]
        parts += [f"{k} {v:.3f}" for k, v in self._losses.items()]
        parts.append(f"{rate * self.per_step:.0f} {self.unit}/s")
        if rate > 0:
            parts.append(f"eta {duration((self.total - step) / rate)}")
        return "  ".join(parts)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
