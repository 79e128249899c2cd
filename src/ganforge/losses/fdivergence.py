"""f-GAN (Nowozin et al. 2016): variational divergence minimisation for any f-divergence.

D_f(P || Q) = ∫ q f(p/q) is bounded below by sup_T E_P[T(x)] - E_Q[f*(T(x))] (eq. 4), f* the
convex conjugate of f. D outputs an unbounded v(x) and T = g_f(v) maps it into dom f* with the
paper's output activation (table 2), so one network architecture serves every divergence:

    D maximises F = E_P[g_f(v(x))] - E_Q[f*(g_f(v(G(z))))]          (eq. 6)
    G maximises E_Q[g_f(v(G(z)))]                                   (sec. 3.2, the variant the
                                                                     paper trains with)

G's loss is the paper's alternative to minimising F (like the non-saturating GAN loss it has
the same fixed point and strong gradients early on). ``f*(g_f(v))`` is written out per
divergence in a form that does not overflow where the literal composition would (the
Jensen-Shannon conjugate, -log(2 - e^t), is -log 2 + softplus(v) after the activation).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

Fn = Callable[[torch.Tensor], torch.Tensor]
LOG2 = math.log(2.0)


@dataclass(frozen=True)
class FDivergence:
    """One row of the paper's tables 1 and 2: the generator f, the activation g_f, the
    conjugate f* and f*∘g_f in a numerically stable form."""

    name: str
    f: Fn
    activation: Fn
    conjugate: Fn
    conjugate_of_activation: Fn

    def d_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        """-F of eq. 6, minimised by D."""
        return (self.conjugate_of_activation(fake_logits).mean()
                - self.activation(real_logits).mean())

    def g_loss(self, fake_logits: torch.Tensor) -> torch.Tensor:
        """-E_Q[g_f(v(G(z)))], minimised by G."""
        return -self.activation(fake_logits).mean()


DIVERGENCES: dict[str, FDivergence] = {
    d.name: d
    for d in (
        FDivergence(
            "kl", f=lambda u: u * torch.log(u),
            activation=lambda v: v,
            conjugate=lambda t: torch.exp(t - 1),
            conjugate_of_activation=lambda v: torch.exp(v - 1)),
        FDivergence(
            "reverse-kl", f=lambda u: -torch.log(u),
            activation=lambda v: -torch.exp(-v),
            conjugate=lambda t: -1 - torch.log(-t),
            conjugate_of_activation=lambda v: v - 1),
        FDivergence(
            "pearson", f=lambda u: (u - 1) ** 2,
            activation=lambda v: v,
            conjugate=lambda t: t * t / 4 + t,
            conjugate_of_activation=lambda v: v * v / 4 + v),
        FDivergence(
            "hellinger", f=lambda u: (torch.sqrt(u) - 1) ** 2,
            activation=lambda v: 1 - torch.exp(-v),
            conjugate=lambda t: t / (1 - t),
            conjugate_of_activation=lambda v: torch.expm1(v)),
        FDivergence(
            "js", f=lambda u: -(u + 1) * torch.log((1 + u) / 2) + u * torch.log(u),
            activation=lambda v: LOG2 - F.softplus(-v),
            conjugate=lambda t: -torch.log(2 - torch.exp(t)),
            conjugate_of_activation=lambda v: F.softplus(v) - LOG2),
        FDivergence(
            "gan", f=lambda u: u * torch.log(u) - (u + 1) * torch.log(u + 1),
            activation=lambda v: -F.softplus(-v),
            conjugate=lambda t: -torch.log(1 - torch.exp(t)),
            conjugate_of_activation=lambda v: F.softplus(v)),
        FDivergence(
            "tv", f=lambda u: 0.5 * (u - 1).abs(),
            activation=lambda v: 0.5 * torch.tanh(v),
            conjugate=lambda t: t,
            conjugate_of_activation=lambda v: 0.5 * torch.tanh(v)),
    )
}
