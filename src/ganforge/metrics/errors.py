"""The one error type the metrics layer raises for bad input, missing weights or too few samples."""

from __future__ import annotations

from ganforge.errors import GanforgeError


class MetricError(GanforgeError):
    """A metric cannot be computed as asked; the message is one line that names the fix.

    Subclasses :class:`ganforge.errors.GanforgeError` (itself a ``ValueError``) so that the CLI
    prints it as one line without a traceback, like every other user-facing error.
    """
