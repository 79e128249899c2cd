"""Device names as users write them (``auto``, ``cpu``, ``cuda``, ``cuda:N``), resolved, and the
precision ``auto`` resolved for a device."""

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


def native_bf16(device: torch.device) -> bool:
    """Whether the device computes bf16 in hardware. A CPU without AVX512-BF16 or AMX emulates
    it, and bf16 autocast there runs several times slower than fp32 (measured ~10x on a
    convolutional DCGAN step on an AVX2-only AMD EPYC): a slowdown, not a speed-up."""
    import torch

    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        # Private probes (torch >= 2.1); a torch without them gets fp32, the safe answer.
        probes = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
        return any(getattr(torch.cpu, probe, lambda: False)() for probe in probes)
    return False


def resolve_precision(name: str, device: torch.device) -> str:
    """``auto`` is bf16 where the device computes it natively and fp32 elsewhere; the other
    names stand as given."""
    if name != "auto":
        return name
    return "bf16" if native_bf16(device) else "fp32"
