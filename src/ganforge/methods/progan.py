"""Progressive growing of GANs (Karras et al. 2018).

Training starts at a low resolution (4x4 for 32 px images, 7x7 for 28 px) and doubles it in
phases: stable at the first level, then for every later level a fade-in, where the new blocks
of G and D blend in with weight alpha rising from 0 to 1 (sec. 3, fig. 2), and a stable phase.
The game is the paper's WGAN-GP (lambda 10) with the drift term eps * E[D(x)^2] (sec. A.1),
played by ``GAN`` at the current resolution: the real batch is average-pooled down to it (and
blended during a fade-in as G's output is), fakes are drawn there, and the gradient penalty is
taken there with the current (level, alpha).

The phase is a pure function of the step (:func:`growth_phase`), set by the Trainer before
every step, so a resumed run is mid-fade exactly where it stopped; sampling upsamples the
current level's images to the full size, so grids, EMA, metrics and ``ganforge sample`` see
full-size images throughout.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ganforge.config import setting
from ganforge.data.spec import DataSpec
from ganforge.methods.base import DataNeeds, register_method
from ganforge.methods.capabilities import Phased, Staged
from ganforge.methods.game import (
    Augment,
    Clip,
    FeatureMatching,
    GradientPenalty,
    HistoricalAveraging,
    Latent,
    Objective,
    R1Penalty,
    Width,
)
from ganforge.methods.gan import GAN
from ganforge.models.progan import ProDiscriminator, ProGenerator
from ganforge.nn.progressive import fade_in
from ganforge.nn.pyramid import enlarge, pool_to


def growth_phase(step: int, total_steps: int, levels: int, phase_steps: int = 0
                 ) -> tuple[int, float]:
    """(level, alpha) at ``step``: with ``levels`` resolutions there are ``2 * levels - 1``
    phases, stable at level 0, then a fade-in and a stable phase for every later level.

    Each phase lasts ``phase_steps`` steps, or with 0 the run's total split evenly (the last,
    stable phase takes the remainder, and any steps beyond the schedule). During the fade-in of
    level l, alpha = (steps into the phase) / phase length, from 0 (level l - 1 alone,
    upsampled) towards 1; alpha is 1 in stable phases."""
    phases = 2 * levels - 1
    length = phase_steps or max(total_steps // phases, 1)
    phase = min(step // length, phases - 1)
    level = (phase + 1) // 2
    alpha = (step - phase * length) / length if phase % 2 == 1 else 1.0
    return level, alpha


@register_method("progan")
class ProGAN(Staged, Phased, GAN):
    """Karras et al. 2018: progressive growing with the equalised learning rate, pixel norm in
    G and the minibatch standard deviation in D; WGAN-GP (lambda 10) plus the drift term
    (eps 0.001), Adam lr 1e-3 with betas (0, 0.99), one critic step, and an EMA of G
    for sampling (sec. A.1). Its own networks (:mod:`ganforge.models.progan`); ``--width``
    scales their feature maps. As in the official code (``reset_opt_for_new_lod``), Adam
    starts afresh at every new phase: moments gathered at one resolution and blend would
    steer the networks of the next.
    """

    # The EMA's decay is per step: the official code averages with a half-life of 10k images,
    # 0.5 ** (batch / 10_000), which is the paper's 0.999 at its batch of 16 and 0.9956 at
    # ganforge's 64 (a 0.999 average would still hold the fresh weights of a block grown a few
    # hundred steps ago). Width 4 gives 32-32-16-8 feature maps from 4 to 32 px (9 at 28 px),
    # small enough for MNIST on a CPU core; the paper's nets are far wider.
    defaults = {"loss": "wasserstein", "gp_weight": 10.0, "lr": 1e-3,
                "beta1": 0.0, "beta2": 0.99, "ema": 0.995, "width": 4}
    # The game's objective and terms, on its own networks (pixel norm in G, the minibatch
    # standard deviation in D): none of the backbone knobs.
    @dataclass(frozen=True)
    class Settings(Augment, HistoricalAveraging, FeatureMatching, R1Penalty, GradientPenalty,
                   Clip, Objective, Latent, Width):
        phase_steps: int = setting(0, "steps of each growth phase (stable, fade-in, stable, "
                                   "...); 0 splits the run's steps evenly over the 2L-1 phases",
                                   at_least=0)
        optimizer_restart: str = setting("phase", "clear the optimisers' moments and step "
                                         "counts at the start of every growth phase, as the "
                                         "official code does, or never",
                                         choices=("phase", "never"))
        drift: float = setting(0.001, "weight eps of the drift term eps * E[D(real)^2] that "
                               "keeps the critic's scores near 0 (the paper's 0.001)",
                               at_least=0)

    trains_on = DataNeeds()

    def __init__(self, cfg, spec: DataSpec) -> None:
        super().__init__(cfg, spec)
        self.level, self.alpha = 0, 1.0

    def build_networks(self):
        s, spec = self.settings, self.spec
        G = ProGenerator(s.latent_dim, spec.img_channels, spec.img_size, s.width)
        D = ProDiscriminator(spec.img_channels, spec.img_size, s.width)
        return G, D

    @property
    def levels(self) -> int:
        return self.G.levels

    @property
    def resolution(self) -> int:
        return self.G.sizes[self.level]

    def set_progress(self, step: int, total_steps: int) -> None:
        self.level, self.alpha = growth_phase(step, total_steps, self.levels,
                                              self.settings.phase_steps)

    def phase(self, step: int, total_steps: int) -> tuple[int, bool]:
        """The level and whether it is fading in: a new phase starts where this changes."""
        level, alpha = growth_phase(step, total_steps, self.levels, self.settings.phase_steps)
        return level, alpha < 1

    @property
    def restarts_optimizers(self) -> bool:
        return self.settings.optimizer_restart == "phase"

    # ---- G: full-size images outside training, the level's resolution inside it ---------------

    def full_size(self, images: torch.Tensor) -> torch.Tensor:
        return enlarge(images, self.spec.img_size)

    def run_G(self, z, c=None, G=None):
        """Images at the full size (the current level's, nearest-upsampled), from ``G`` (the
        EMA copy when sampling) at the current level and alpha."""
        return self.full_size((G or self.G)(z, self.level, self.alpha))

    def generate(self, n, G=None, condition=None):
        """Fakes for the losses, at the current level's resolution."""
        return (G or self.G)(self.sample_latent(n), self.level, self.alpha)

    @torch.no_grad()
    def stage_pictures(self, n, generator=None, G=None):
        """One row per level grown so far, each upsampled to the full size: what G draws now
        through that level's toRGB (earlier levels with alpha 1, the current one with the
        current alpha), for the noise ``sample(n, generator)`` draws."""
        G = G or self.G
        z = self.sample_latent(n, generator)
        return [(f"{G.sizes[level]}px",
                 self.full_size(G(z, level, self.alpha if level == self.level else 1.0)))
                for level in range(self.level + 1)]

    # ---- D and the game at the level's resolution ----------------------------------------------

    def real_at_level(self, x: torch.Tensor) -> torch.Tensor:
        """The real batch average-pooled to the current resolution; during a fade-in blended
        with its own half-resolution version as G's output is (the official code's reals)."""
        x = pool_to(x, self.resolution)
        if self.level > 0 and self.alpha < 1:
            low = F.interpolate(F.avg_pool2d(x, 2), scale_factor=2, mode="nearest")
            x = fade_in(self.alpha, low, x)
        return x

    def d_body(self, x, c=None):
        return self.D.features(x, self.level, self.alpha)

    def aux_d_loss(self, h_real, c_real, h_fake, c_fake):
        """The drift term eps * E[D(x)^2] on real scores (sec. A.1)."""
        drift = self.settings.drift
        if not drift:
            return 0.0, {}
        term = self.d_logits(h_real).pow(2).mean()
        return drift * term, {"drift": term}

    def _phase_logs(self, like: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"resolution": like.new_tensor(float(self.resolution)),
                "alpha": like.new_tensor(float(self.alpha))}

    def d_loss(self, batch):
        real = self.real_at_level(batch["x"])
        loss, logs = super().d_loss({**batch, "x": real})
        return loss, {**logs, **self._phase_logs(loss)}

    def g_loss(self, batch):
        return super().g_loss({**batch, "x": self.real_at_level(batch["x"])})
