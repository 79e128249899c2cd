"""Device names as users write them (``auto``, ``cpu``, ``cuda``, ``cuda:N``), resolved."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ganforge.errors import GanforgeError

if TYPE_CHECKING:
    import torch

DEVICES = ("auto", "cpu", "cuda", "cuda:N")


def resolve_device(name: str) -> torch.device:
    """auto picks CUDA when present; asking for CUDA without it is an error, not a fallback."""
    import torch  # here, not at the top: `ganforge --help` and start-up stay free of torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name == "cuda" or (name.startswith("cuda:") and name[5:].isdigit()):
        if not torch.cuda.is_available():
            raise GanforgeError(f"device {name!r} asked for but CUDA is not available; use "
                                "--device cpu or auto")
        index = int(name[5:]) if ":" in name else 0
        if index >= torch.cuda.device_count():
            raise GanforgeError(f"device {name!r} does not exist: this machine has "
                                f"{torch.cuda.device_count()} CUDA device(s)")
        return torch.device(name)
    raise GanforgeError(f"unknown device {name!r}; choose one of: {', '.join(DEVICES)}")
