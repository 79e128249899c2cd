"""Generation with the discriminator alone (seed 000, "单独用 Discriminator 作生成"): no G.

The lecture's recipe: propose samples, let D score them, keep what D likes, and train D
iteratively against its own proposals. Made concrete the way energy-based models are trained
today: D's score s(x) is a negative energy, and a proposal is found from noise by short-run
Langevin dynamics on it (Nijkamp et al. 2019, "non-convergent non-persistent short-run MCMC";
Du & Mordatch 2019 for the regulariser):

    x_0 ~ U(-1, 1),   x_{k+1} = clamp(x_k + ε ∇ₓ s(x_k) + σ ξ_k),   ξ_k ~ N(0, I)

D then learns by the maximum-likelihood gradient of the energy model, raising its score on
real data and lowering it on the proposals, E s(x⁻) - E s(x⁺), with α E[s(x⁺)² + s(x⁻)²]
keeping the scores near zero. Sampling a trained model runs the same chains from fresh noise,
so what is drawn at the end is what D was trained against (a non-persistent chain: no replay
buffer whose samples the final chains could not reach).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ganforge.config import Settings, setting
from ganforge.data.spec import DataSpec
from ganforge.methods.backbone import stabilise_discriminator
from ganforge.methods.base import DataNeeds, Method, register_method
from ganforge.methods.game import D_NORMS, Width
from ganforge.models import ARCHITECTURES

REINIT = 0.05


@register_method("d-only")
class DiscriminatorOnly(Method):
    """D is trained against proposals found by Langevin steps on its own score; it is also the
    sampler. The settings are the chain's: its length, step and noise."""

    players = ("D",)
    trains_on = DataNeeds(kinds=("image", "points"))
    # On ring8 the chains cover all 8 modes from the first 250 steps and lose them after ~1,500
    # as D's score sharpens beyond what a fixed Langevin step follows (benchmarks/RESULTS.md).
    defaults = {"lr": 1e-4, "steps": 1000}

    @dataclass(frozen=True)
    class Settings(Width):
        # The backbone's D only: this method has no G to build, so it does not take the
        # game's Backbone knobs (latent size, G's norm).
        arch: str = setting("dcgan", "the backbone whose D is the energy",
                            choices=tuple(ARCHITECTURES.names()), noun="architecture")
        d_norm: str = setting("none", "D's normalisation; batch norm would make a sample's "
                              "score depend on its batch", choices=D_NORMS)
        langevin_steps: int = setting(40, "Langevin steps of each proposal chain", at_least=1,
                                      at_most=10_000)
        step_size: float = setting(1.0, "epsilon, the step along D's input gradient", above=0)
        langevin_noise: float = setting(0.01, "sigma, the chain's Gaussian noise per step",
                                        at_least=0)
        score_weight: float = setting(0.1, "alpha, the weight of E[s(x+)^2 + s(x-)^2]",
                                      at_least=0)
        buffer: int = setting(0, "a replay buffer of this many past proposals, from which "
                              "chains restart (persistent chains, Du & Mordatch 2019; 0: every "
                              "chain starts from noise)", at_least=0, at_most=1_000_000)
        sample_steps: int | None = setting(None, "Langevin steps when sampling a trained model",
                                           at_least=1, at_most=100_000,
                                           default_text="--langevin-steps")

    def __init__(self, cfg, spec: DataSpec) -> None:
        super().__init__(cfg, spec)
        s: Settings = self.settings
        arch = ARCHITECTURES.get("toy" if spec.kind == "points" and s.arch == "dcgan"
                                 else s.arch)
        self.D = stabilise_discriminator(
            arch.discriminator(img_channels=spec.img_channels, img_size=spec.img_size,
                               width=s.width), s)
        # No generator: the pictures and the checkpoint format ask for a G, and get one that
        # holds nothing; the samples come from ``sample``'s chains on D.
        self.G = torch.nn.Identity()

        if s.buffer:
            self.register_buffer("replay", self._start(s.buffer, torch.Generator().manual_seed(
                cfg.seed)).cpu())

    def groups(self):
        return {"D": [self.D]}

    def score(self, x: torch.Tensor) -> torch.Tensor:
        return self.D(x).reshape(len(x))

    def _start(self, n: int, generator: torch.Generator | None) -> torch.Tensor:
        shape = (n, 2) if self.spec.kind == "points" else (
            n, self.spec.img_channels, self.spec.img_size, self.spec.img_size)
        where = "cpu" if generator is not None else self.device
        x = torch.rand(shape, generator=generator, device=where) * 2 - 1
        # Points start on a square the toy mixtures' modes lie within.
        return (x * 3 if self.spec.kind == "points" else x).to(self.device)

    def langevin(self, x: torch.Tensor, steps: int,
                 generator: torch.Generator | None = None) -> torch.Tensor:
        """``steps`` Langevin steps on D's score from ``x``; no graph to D's weights is kept."""
        s = self.settings
        low, high = (-4.0, 4.0) if self.spec.kind == "points" else (-1.0, 1.0)
        for _ in range(steps):
            x = x.detach().requires_grad_(True)
            with torch.enable_grad():
                grad, = torch.autograd.grad(self.score(x).sum(), x)
            noise = torch.randn(x.shape, generator=generator,
                                device="cpu" if generator is not None else x.device)
            x = (x + s.step_size * grad + s.langevin_noise * noise.to(x.device)).clamp(low, high)
        return x.detach()

    def d_loss(self, batch):
        real = batch["x"]
        was_training = self.D.training
        self.D.eval()  # the chain must not move batch-norm statistics, if D has any
        start = self._start(len(real), None)
        if self.settings.buffer:
            # 95% of the chains go on from past proposals, 5% start afresh (Du & Mordatch).
            index = torch.randint(self.settings.buffer, (len(real),), device=self.replay.device)
            fresh = torch.rand(len(real), device=start.device) < REINIT
            start = torch.where(fresh.view(-1, *[1] * (start.dim() - 1)), start,
                                self.replay[index].to(start.device))
        proposals = self.langevin(start, self.settings.langevin_steps)
        if self.settings.buffer:
            self.replay[index] = proposals.to(self.replay.device)
        self.D.train(was_training)
        s_real, s_fake = self.score(real), self.score(proposals)
        contrast = s_fake.mean() - s_real.mean()
        magnitude = (s_real.pow(2) + s_fake.pow(2)).mean()
        loss = contrast + self.settings.score_weight * magnitude
        return loss, {"D(x)": s_real.mean(), "D(proposal)": s_fake.mean(),
                      "score_gap": -contrast}

    def sample(self, n, generator=None, G=None, condition=None):
        steps = self.settings.sample_steps or self.settings.langevin_steps
        return self.langevin(self._start(n, generator), steps, generator)

    def generate(self, n, G=None, condition=None):
        return self.sample(n)
