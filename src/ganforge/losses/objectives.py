"""Named adversarial objectives: a D loss and the G loss it is trained against.

Every entry has the same two signatures, so a method can swap objectives without branching:

    d(real_logits, fake_logits, real_target=1.0) -> loss
    g(fake_logits, real_logits=None) -> loss

``g_needs_real`` says whether G's loss reads D's logits on real data (only the relativistic
objective does), so a method computes D(real) in its G step only when it must.
``label_smoothing`` says whether ``real_target`` < 1 means anything: one-sided label smoothing
(Salimans et al. 2016) is defined for the sigmoid cross-entropy losses only. The other D
losses reject ``real_target`` != 1 instead of silently ignoring it, and a config can check
``label_smoothing`` before training starts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from ganforge.errors import GanforgeError
from ganforge.losses.adversarial import (
    bce_d,
    hinge_d,
    hinge_g,
    least_squares_d,
    least_squares_g,
    minimax_g,
    nonsaturating_g,
    relativistic_average_d,
    relativistic_average_g,
    wasserstein_d,
    wasserstein_g,
)
from ganforge.losses.fdivergence import DIVERGENCES, FDivergence
from ganforge.registry import Registry

DLoss = Callable[..., torch.Tensor]
GLoss = Callable[..., torch.Tensor]


@dataclass(frozen=True)
class AdversarialLoss:
    name: str
    d: DLoss
    g: GLoss
    g_needs_real: bool
    label_smoothing: bool = False


def _named_like(wrapper: Callable, wrapped: Callable) -> Callable:
    """Borrow the wrapped loss's name and docstring, but keep the wrapper's own signature
    (functools.wraps would make inspect.signature report the wrapped one)."""
    wrapper.__name__, wrapper.__qualname__ = wrapped.__name__, wrapped.__qualname__
    wrapper.__doc__ = wrapped.__doc__
    return wrapper


def _without_smoothing(name: str, d: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> DLoss:
    """Give a two-argument D loss the uniform signature, refusing a real target it cannot use."""

    def loss(
        real_logits: torch.Tensor, fake_logits: torch.Tensor, real_target: float = 1.0
    ) -> torch.Tensor:
        if real_target != 1.0:
            raise GanforgeError(
                f"label smoothing (real target {real_target}) is defined for the 'gan' and "
                f"'minimax' losses only, not {name!r}; set the real target to 1.0"
            )
        return d(real_logits, fake_logits)

    return _named_like(loss, d)


def _fake_only(g: Callable[[torch.Tensor], torch.Tensor]) -> GLoss:
    """Give a G loss of the fake logits alone the uniform signature."""

    def loss(fake_logits: torch.Tensor, real_logits: torch.Tensor | None = None) -> torch.Tensor:
        return g(fake_logits)

    return _named_like(loss, g)


def _relativistic_g(
    fake_logits: torch.Tensor, real_logits: torch.Tensor | None = None
) -> torch.Tensor:
    if real_logits is None:
        raise GanforgeError(
            "the 'relativistic' generator loss needs D's logits on real data; pass real_logits "
            "(AdversarialLoss.g_needs_real is True)"
        )
    return relativistic_average_g(fake_logits, real_logits)


_named_like(_relativistic_g, relativistic_average_g)

ADVERSARIAL_LOSSES: Registry[AdversarialLoss] = Registry("loss")


def _add(loss: AdversarialLoss) -> None:
    ADVERSARIAL_LOSSES.register(loss.name)(loss)


_add(
    AdversarialLoss(
        "gan", bce_d, _fake_only(nonsaturating_g), g_needs_real=False, label_smoothing=True
    )
)
_add(
    AdversarialLoss(
        "minimax", bce_d, _fake_only(minimax_g), g_needs_real=False, label_smoothing=True
    )
)
_add(
    AdversarialLoss(
        "wasserstein",
        _without_smoothing("wasserstein", wasserstein_d),
        _fake_only(wasserstein_g),
        g_needs_real=False,
    )
)
_add(
    AdversarialLoss(
        "least-squares",
        _without_smoothing("least-squares", least_squares_d),
        _fake_only(least_squares_g),
        g_needs_real=False,
    )
)
_add(
    AdversarialLoss(
        "hinge", _without_smoothing("hinge", hinge_d), _fake_only(hinge_g), g_needs_real=False
    )
)
_add(
    AdversarialLoss(
        "relativistic",
        _without_smoothing("relativistic", relativistic_average_d),
        _relativistic_g,
        g_needs_real=True,
    )
)


def _add_f_gan(divergence: FDivergence) -> None:
    name = f"f:{divergence.name}"
    d = _without_smoothing(name, divergence.d_loss)
    g = _fake_only(divergence.g_loss)
    d.__doc__ = g.__doc__ = f"f-GAN (Nowozin et al. 2016) with the {divergence.name} divergence"
    _add(AdversarialLoss(name, d, g, g_needs_real=False))


for _divergence in DIVERGENCES.values():
    _add_f_gan(_divergence)
