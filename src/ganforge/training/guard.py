"""The log of a training run's losses, kept on the device, and the guard that stops a run whose
losses or weights went wrong.

Values are summed on the device as the steps go, and the host reads them once per log interval:
no per-step host sync. At each read the guard checks the interval's losses for NaN and inf and
the networks' weights for NaN, inf or a runaway (beyond :data:`ganforge.runs.checkpoint.
WEIGHT_LIMIT`), so checkpoints are only ever written of healthy weights.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import torch

from ganforge.errors import GanforgeError
from ganforge.runs.checkpoint import WEIGHT_LIMIT
from ganforge.training import distributed


def weights_health(modules: list[torch.nn.Module]) -> tuple[torch.Tensor, torch.Tensor]:
    """On the device, without a sync: the sum of |w| over every floating-point tensor of
    ``modules`` (finite exactly when all are) and the largest |w|."""
    weights = [t for m in modules for t in m.state_dict().values()
               if t.is_floating_point() and t.numel()]
    total = torch.stack([n.float() for n in torch._foreach_norm(weights, 1)]).sum()
    largest = torch.stack([n.float() for n in torch._foreach_norm(weights, math.inf)]).max()
    return total, largest


class LossLog:
    """The sums of the current log interval and the count of its steps."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self._sums: dict[str, torch.Tensor] = {}
        self._finite = torch.ones((), dtype=torch.bool, device=device)
        self.reset(0)

    def reset(self, step: int) -> None:
        """Start an interval at ``step``."""
        # Zeroed in place, not replaced: a captured step adds into these very tensors.
        for total in self._sums.values():
            total.zero_()
        self._finite.fill_(True)
        self.count = 0
        self.start = (time.perf_counter(), step)

    def accumulate(self, logs: dict[str, torch.Tensor]) -> None:
        # Device-side sums: the host reads them once per log interval, not once per step.
        for key, value in logs.items():
            value = value.detach().float()
            if key in self._sums:
                self._sums[key].add_(value)
            else:  # the first step; a key's sum is zeroed, never dropped, at each flush
                if self.device.type == "cuda" and torch.cuda.is_current_stream_capturing():
                    # A capture would record this as an overwrite, replayed as one.
                    raise GanforgeError(f"log value {key!r} first appeared in a captured step; "
                                        "a method must log the same values every step")
                self._sums[key] = value.clone()
        for key in ("d_loss", "g_loss"):
            if key in logs:
                self._finite &= torch.isfinite(logs[key])

    def read(self, step: int, modules: list[torch.nn.Module],
             diverged: Callable[[str], Exception]) -> tuple[dict[str, float], float] | None:
        """The interval's mean values and its seconds (None when it holds no step), after the
        guard: ``diverged(what)`` is raised for NaN or inf losses, or weights of ``modules``
        that are not finite or ran away. One host sync; under torchrun the values are averaged
        over the ranks first (one all-reduce), so every rank's guard sees the same and all stop
        together."""
        if self.count == 0:
            return None
        keys = list(self._sums)
        weight_sum, largest = weights_health(modules)
        values = torch.stack([self._sums[k] for k in keys]
                             + [self._finite.float(), weight_sum, largest])
        values = distributed.average(values).tolist()
        largest, weight_sum, finite = values.pop(), values.pop(), values.pop() == 1.0
        start_time, start_step = self.start
        if not finite:
            raise diverged(f"a loss became NaN or inf between steps {start_step} and {step}")
        if not math.isfinite(weight_sum) or not math.isfinite(largest):
            raise diverged(f"the weights became NaN or inf between steps {start_step} and "
                           f"{step}")
        if largest > WEIGHT_LIMIT:
            raise diverged(f"the weights ran away (|w| up to {largest:.3g}, beyond "
                           f"{WEIGHT_LIMIT:g}) between steps {start_step} and {step}")
        means = {k: v / self.count for k, v in zip(keys, values, strict=True)}
        return means, time.perf_counter() - start_time
