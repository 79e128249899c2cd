"""SIGTERM and SIGINT as requests to stop training at the next step boundary.

SIGTERM is what batch schedulers, containers, `timeout` and `kill` send; SIGINT is Ctrl-C. Left
to Python, the first kills the process with nothing saved and the second raises
KeyboardInterrupt wherever the step happens to be: D updated, G not, the batcher moved on. Caught
here, either only sets :attr:`StopSignals.requested`; the Trainer reads it after each step, where
the state is whole, and stops with a checkpoint that resumes exactly. A second Ctrl-C raises
KeyboardInterrupt at once, for a user who will not wait for the step to end.
"""

from __future__ import annotations

import signal
import threading


class StopSignals:
    """Within ``with``, SIGTERM and SIGINT set ``requested`` to their number; the handlers in
    place before are restored on leaving. Inactive (Python's own handling stays) when not
    ``active``, and outside the main thread, where Python delivers no signals."""

    def __init__(self, active: bool = True) -> None:
        self.active = active
        self.requested: int | None = None
        self._previous: dict[int, object] = {}

    def _request(self, signum, frame) -> None:
        if signum == signal.SIGINT and self.requested == signal.SIGINT:
            raise KeyboardInterrupt
        self.requested = signum

    def __enter__(self) -> StopSignals:
        if self.active and threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGTERM, signal.SIGINT):
                self._previous[signum] = signal.signal(signum, self._request)
        return self

    def __exit__(self, *exc) -> None:
        for signum, handler in self._previous.items():
            # None: a handler not installed from Python; the default is the nearest there is.
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
        self._previous.clear()
