"""User-facing errors: one line that names the problem and the fix."""


class GanforgeError(ValueError):
    """A problem with the user's input or files; the CLI prints it as one line, no traceback."""


class DataError(GanforgeError):
    """A data set is missing, truncated, corrupt or fails its checksum."""


class TrainingDiverged(GanforgeError):
    """A loss became NaN or infinite; training stopped and the last good checkpoint was kept."""
