"""Regularisers that keep the discriminator (or its parameters) in check.

``critic`` is any callable x -> logits, so a conditional discriminator is passed as
``lambda x: D(x, labels)``. The gradient penalties differentiate D's output with respect to its
input with ``create_graph=True``, so the penalty itself can be backpropagated into D. A critic
with batch norm mixes examples, which breaks the per-example gradient these penalties assume
(Gulrajani et al. 2017, sec. 4): use layer norm or none.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
from torch import nn

from ganforge.errors import GanforgeError

Critic = Callable[[torch.Tensor], torch.Tensor]


def _input_gradient(critic: Critic, x: torch.Tensor) -> torch.Tensor:
    """d sum(critic(x)) / dx: per-example gradients, because example i's logit depends on x_i
    only; kept in the graph so a penalty on it trains the critic."""
    x = x.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x).sum(), x, create_graph=True)
    return grad.flatten(1)


def gradient_penalty(
    critic: Critic,
    real: torch.Tensor,
    fake: torch.Tensor,
    generator: torch.Generator | None = None,
    center: float = 1.0,
) -> torch.Tensor:
    """WGAN-GP penalty (Gulrajani et al. 2017, eq. 3 and Algorithm 1):
    E[(||grad D(x_hat)||_2 - center)^2] with x_hat = eps * real + (1 - eps) * fake and one
    eps ~ U[0, 1] per example. Two-sided, as in the paper; ``center=0`` gives the zero-centred
    variant of Thanh-Tung et al. 2019. Returned unweighted: the caller multiplies by lambda (10
    in the paper). ``real`` and ``fake`` are detached, so the penalty trains the critic only."""
    if real.shape != fake.shape:
        raise GanforgeError(
            f"gradient_penalty needs real and fake batches of one shape, got {tuple(real.shape)} "
            f"and {tuple(fake.shape)}; generate as many fakes as there are reals"
        )
    real, fake = real.detach(), fake.detach()
    eps_shape = (len(real),) + (1,) * (real.dim() - 1)
    eps = torch.rand(eps_shape, generator=generator, dtype=real.dtype, device=real.device)
    x_hat = eps * real + (1 - eps) * fake
    norm = _input_gradient(critic, x_hat).norm(2, dim=1)
    return (norm - center).pow(2).mean()


def r1_penalty(critic: Critic, real: torch.Tensor) -> torch.Tensor:
    """R1 penalty (Mescheder et al. 2018, eq. 9): E[||grad D(x)||_2^2] over real data. Returned
    as the plain mean squared norm; the paper's regulariser is gamma/2 times this."""
    return _input_gradient(critic, real).pow(2).sum(1).mean()


class HistoricalAverage(nn.Module):
    """Historical averaging (Salimans et al. 2016, sec. 3.3): the penalty
    sum_k ||theta_k - mean_t theta_k[t]||^2 pulls parameters towards their own running mean,
    which damps the orbits that gradient descent can circle in a two-player game.

    The average starts at the parameters' values on construction (the first term of the mean,
    so ``penalty()`` is 0 until they move) and ``update()`` adds their current values:
    avg <- avg + (theta - avg) / t. Averages and the count t are buffers, so they travel with
    ``state_dict`` and ``.to(device)``; the tracked parameters are referenced, not owned, so
    they appear neither in this module's parameters nor twice in a checkpoint.
    """

    def __init__(self, params: Iterable[nn.Parameter]) -> None:
        super().__init__()
        self.params = list(params)
        if not self.params:
            raise GanforgeError("HistoricalAverage got no parameters; pass e.g. D.parameters()")
        for i, p in enumerate(self.params):
            self.register_buffer(f"average_{i}", p.detach().clone())
        self.register_buffer("steps", torch.tensor(1, dtype=torch.long))

    def averages(self) -> list[torch.Tensor]:
        return [getattr(self, f"average_{i}") for i in range(len(self.params))]

    def penalty(self) -> torch.Tensor:
        """sum_k ||theta_k - avg_k||^2, differentiable with respect to the parameters."""
        pairs = zip(self.params, self.averages(), strict=True)
        return torch.stack([(p - avg).pow(2).sum() for p, avg in pairs]).sum()

    @torch.no_grad()
    def update(self) -> None:
        """Fold the parameters' current values into the average; call after each step."""
        self.steps += 1
        for p, avg in zip(self.params, self.averages(), strict=True):
            avg.add_((p - avg) / self.steps)


@torch.no_grad()
def clip_weights_(params: Iterable[torch.Tensor], c: float = 0.01) -> None:
    """Clamp every parameter to [-c, c] in place: WGAN's crude Lipschitz constraint (Arjovsky
    et al. 2017, Algorithm 1, c = 0.01), applied after each critic step."""
    if c <= 0:
        raise GanforgeError(f"weight clipping needs c > 0, got {c}; the WGAN paper uses 0.01")
    for p in params:
        p.clamp_(-c, c)
