"""Plug & Play Generative Networks' sampler (Nguyen et al. 2017, "PPGN"): generation by iterated
gradient steps in a generator's latent space toward a condition network's class.

A chain of latent codes h follows the paper's update (eq. 11, in the space of h):

    h <- h + eps1 (R(h) - h) + eps2 d log p(y | G(h)) / dh + N(0, eps3^2)

The first term is the prior: R is a denoising autoencoder of h, and R(h) - h points toward
likelier codes (Alain & Bengio 2014: R(h) - h ~ sigma^2 d log p(h) / dh for DAE noise sigma);
the second pulls G(h) toward class y under the condition network (here a digit classifier);
the third keeps the chain mixing. PPGN-h learns R on the features h of an encoder. Here h is a
trained GAN's latent z, whose distribution is N(0, I) by construction; the DAE that is optimal
for it is known in closed form, R(h) = h / (1 + sigma^2), so no DAE has to be trained and the
prior term is exact. The condition network sees G's images in [0, 1].
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ganforge.errors import GanforgeError


@dataclass(frozen=True)
class PPGNSettings:
    """The chain's step sizes (eps1 prior, eps2 condition, eps3 noise), its length, and the DAE
    noise sigma of the prior.

    With sigma = 1 the prior term is -eps1 h / 2, Langevin dynamics on N(0, I) with step eps1,
    whose noise for the right stationary spread is sqrt(eps1): eps3 = 0.14 for eps1 = 0.02.
    eps2 = 0.3 is six times what exact sampling of p(h | y) would take (eps1 / 2), sharpening
    the class as the paper's large eps2 does. Chosen on a DCGAN of MNIST (benchmarks/ppgn.py):
    100 steps at eps1 = 0.1 left 27% of chains off their class under exact Langevin
    (eps2 = 0.05), 11-14% at eps2 = 0.3-1, and these settings 2%, with samples as spread out as
    the real digits of their class."""

    steps: int = 200
    eps1: float = 0.02
    eps2: float = 0.3
    eps3: float = 0.14
    sigma: float = 1.0

    def __post_init__(self) -> None:
        if self.steps < 1:
            raise GanforgeError(f"a PPGN chain needs at least 1 step; got {self.steps}")
        for name in ("eps1", "eps2", "eps3", "sigma"):
            if getattr(self, name) < 0:
                raise GanforgeError(f"PPGN's {name} must be at least 0; got {getattr(self, name)}")


def gaussian_dae(h: torch.Tensor, sigma: float) -> torch.Tensor:
    """The optimal denoising autoencoder of N(0, I) codes corrupted by N(0, sigma^2 I) noise:
    E[h | h + noise] = (h + noise) / (1 + sigma^2)."""
    return h / (1.0 + sigma ** 2)


def ppgn_step(h: torch.Tensor, y: torch.Tensor, render: Callable[[torch.Tensor], torch.Tensor],
              classifier: Callable[[torch.Tensor], torch.Tensor], settings: PPGNSettings,
              noise: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """One update of every chain: the new codes, and log p(y | G(h)) of the old ones."""
    h = h.detach().requires_grad_(True)
    log_p = F.log_softmax(classifier(render(h)), dim=1).gather(1, y[:, None])[:, 0]
    (condition,) = torch.autograd.grad(log_p.sum(), h)
    prior = gaussian_dae(h.detach(), settings.sigma) - h.detach()
    step = settings.eps1 * prior + settings.eps2 * condition + settings.eps3 * noise
    return h.detach() + step, log_p.detach()


def ppgn_chains(h: torch.Tensor, y: torch.Tensor, render: Callable[[torch.Tensor], torch.Tensor],
                classifier: Callable[[torch.Tensor], torch.Tensor], settings: PPGNSettings,
                generator: torch.Generator | None = None, keep_at: Collection[int] = ()
                ) -> tuple[torch.Tensor, list[torch.Tensor], torch.Tensor]:
    """Run the chains from codes ``h`` toward classes ``y``: the last codes, the codes after
    each step in ``keep_at`` (0: the start) and log p(y | G(h)) along the way [steps, n]."""
    kept, trace = [h.clone()] if 0 in keep_at else [], []
    for t in range(1, settings.steps + 1):
        noise = torch.randn(h.shape, generator=generator).to(h.device)
        h, log_p = ppgn_step(h, y, render, classifier, settings, noise)
        trace.append(log_p)
        if t in keep_at:
            kept.append(h.clone())
    return h, kept, torch.stack(trace)
