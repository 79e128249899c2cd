"""Generating with the discriminator's help: draw many candidates from G, keep those D likes.

Discriminator rejection sampling (Azadi et al. 2019, "DRS"): an optimal D gives the density
ratio p_data / p_g = exp(D̃(x)) through its logit D̃, so accepting x ~ p_g with probability
exp(D̃(x) - D̃_M) (D̃_M the largest logit) samples p_data exactly. A real D is not optimal and
that probability is tiny for most x, so the paper accepts with sigmoid(F(x)), where

    F(x) = D̃(x) - D̃_M - log(1 - exp(D̃(x) - D̃_M - ε)) - γ          (sec. 3.2, eq. 8)

ε keeps the log finite and γ shifts the acceptance so a useful share passes: γ is a percentile
of F over each batch of candidates (95, as in the authors' released code), D̃_M the largest
logit seen so far (a burn-in batch first). D's logits are calibrated first, as the paper does:
a logistic regression (Platt scaling: a·logit + b) fitted on D's logits for held-out real
images against fresh fakes, so that sigmoid(D̃) is a probability the density-ratio argument can
use. The simpler ``top`` filter keeps the best fraction of the candidates by D's logit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from ganforge.errors import GanforgeError
from ganforge.methods.gan import ConditionedD


@dataclass(frozen=True)
class DFilter:
    """What ``--d-filter`` asked for: ``drs`` or ``top:P%`` (keep the best P percent)."""

    kind: str
    keep: float = 1.0
    percentile: float = 95.0
    epsilon: float = 1e-6

    @classmethod
    def parse(cls, text: str) -> DFilter:
        text = str(text).strip()
        if text == "drs":
            return cls("drs")
        kind, _, share = text.partition(":")
        if kind == "top":
            try:
                keep = float(share.rstrip("%")) / 100
            except ValueError:
                keep = -1.0
            if 0 < keep <= 1:
                return cls("top", keep=keep)
        raise GanforgeError(f"unknown --d-filter {text!r}; use drs (discriminator rejection "
                            "sampling, Azadi et al. 2019) or top:P% (keep the best P percent "
                            "of candidates by D's score, e.g. top:20%)")


def drs_scores(logits: torch.Tensor, max_logit: float, epsilon: float = 1e-6) -> torch.Tensor:
    """F(x) before the γ shift, for calibrated logits no larger than ``max_logit``."""
    gap = logits.double() - max_logit
    return gap - torch.log1p(-torch.exp(gap - epsilon))


def drs_accept(logits: torch.Tensor, max_logit: float, uniform: torch.Tensor,
               percentile: float = 95.0, epsilon: float = 1e-6) -> torch.Tensor:
    """Which candidates the rule accepts: u < sigmoid(F(x) - γ), γ the ``percentile`` of F."""
    f = drs_scores(logits, max_logit, epsilon)
    gamma = torch.quantile(f, percentile / 100)
    return uniform.double() < torch.sigmoid(f - gamma)


@dataclass
class Calibration:
    """calibrated logit = a * logit + b (Platt scaling)."""

    a: float = 1.0
    b: float = 0.0

    def __call__(self, logits: torch.Tensor) -> torch.Tensor:
        return logits * self.a + self.b

    @classmethod
    def fit(cls, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> Calibration:
        x = torch.cat([real_logits, fake_logits]).double().cpu()
        y = torch.cat([torch.ones(len(real_logits)), torch.zeros(len(fake_logits))]).double()
        params = torch.tensor([1.0, 0.0], dtype=torch.float64, requires_grad=True)
        opt = torch.optim.LBFGS([params], max_iter=200, line_search_fn="strong_wolfe")

        def closure():
            opt.zero_grad()
            loss = torch.nn.functional.binary_cross_entropy_with_logits(
                params[0] * x + params[1], y)
            loss.backward()
            return loss

        opt.step(closure)
        a, b = params.detach().tolist()
        if not (math.isfinite(a) and math.isfinite(b)):
            raise GanforgeError("could not calibrate D's scores (its logits are not finite); "
                                "use --d-filter top:P% instead")
        return cls(a, b)


@dataclass
class FilterReport:
    candidates: int = 0
    accepted: int = 0
    calibration: Calibration = field(default_factory=Calibration)

    @property
    def acceptance(self) -> float:
        return self.accepted / max(self.candidates, 1)


class DiscriminatorFilter:
    """Samples of a loaded run's G filtered by its D (``method`` in eval mode)."""

    def __init__(self, method, rule: DFilter, real: torch.Tensor | None = None,
                 batch_size: int = 1000, max_candidates_per_sample: int = 200) -> None:
        if not hasattr(method, "discriminate") or getattr(method, "D", None) is None:
            raise GanforgeError(f"--d-filter needs a run whose method has a discriminator over "
                                f"images; {method.cfg.method} has none")
        if isinstance(method, ConditionedD):
            raise GanforgeError(f"--d-filter scores unconditional samples; {method.cfg.method}'s "
                                "D also reads the condition, which this filter does not draw")
        self.method = method
        self.rule = rule
        self.batch_size = batch_size
        self.max_candidates = max_candidates_per_sample
        self.report = FilterReport()
        self.real = real

    @torch.no_grad()
    def _candidates(self, n: int, generator: torch.Generator, condition=None):
        """(images in [-1, 1], D's raw logits)."""
        if condition is None:
            condition = self.method.sample_condition(n, generator)
        fakes = self.method.sample(n, generator, condition=condition)
        return fakes, self.method.discriminate(fakes, condition).float().reshape(-1)

    @torch.no_grad()
    def _calibrate(self, generator: torch.Generator) -> torch.Tensor:
        """Fit the calibration when real images were given; return the calibrated logits of a
        burn-in batch of fakes."""
        _, fake_logits = self._candidates(self.batch_size, generator)
        if self.real is not None:
            real = self.real.to(self.method.device).float().div(127.5).sub(1.0)
            condition = self.method.sample_condition(len(real), generator)
            real_logits = self.method.discriminate(real, condition).float().reshape(-1)
            self.report.calibration = Calibration.fit(real_logits, fake_logits)
        return self.report.calibration(fake_logits)

    @torch.no_grad()
    def sample(self, n: int, seed: int = 0, condition_for=None) -> torch.Tensor:
        """``n`` accepted images in [-1, 1]; ``condition_for(k)`` gives the conditions of k
        candidates when the classes are fixed."""
        generator = torch.Generator().manual_seed(seed)
        burn_in = self._calibrate(generator)
        calibrate = self.report.calibration
        kept: list[torch.Tensor] = []
        have, max_logit = 0, float(burn_in.max())
        while have < n:
            if self.report.candidates >= self.max_candidates * n:
                raise GanforgeError(
                    f"--d-filter accepted {have} of {self.report.candidates} candidates, too few "
                    f"for {n} samples; ask for fewer or use a larger top:P%")
            k = self.batch_size
            condition = condition_for(k) if condition_for else None
            fakes, logits = self._candidates(k, generator, condition)
            logits = calibrate(logits)
            if self.rule.kind == "top":
                order = logits.argsort(descending=True)
                accepted = torch.zeros(k, dtype=torch.bool, device=logits.device)
                accepted[order[: max(1, round(self.rule.keep * k))]] = True
            else:
                max_logit = max(max_logit, float(logits.max()))
                uniform = torch.rand(k, generator=generator).to(logits.device)
                accepted = drs_accept(logits, max_logit, uniform, self.rule.percentile,
                                      self.rule.epsilon)
            self.report.candidates += k
            self.report.accepted += int(accepted.sum())
            kept.append(fakes[accepted])
            have += int(accepted.sum())
        return torch.cat(kept)[:n]
