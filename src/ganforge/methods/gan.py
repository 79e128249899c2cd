"""The original GAN (Goodfellow et al. 2014) and DCGAN (Radford et al. 2016).

``GAN`` is also the skeleton of every method that plays the same two-player game with extra
terms: conditional methods pass their condition through it, and ACGAN and InfoGAN add auxiliary
losses on D's features through ``aux_d_loss`` / ``aux_g_loss`` without restating the game. It
honours every knob of the game its settings have (:mod:`ganforge.methods.game`).
"""

from __future__ import annotations

import functools

import torch
from torch import nn

from ganforge.config import GAN_STEPS
from ganforge.data.spec import DataSpec
from ganforge.errors import GanforgeError
from ganforge.losses import (
    ADVERSARIAL_LOSSES,
    AdversarialLoss,
    HistoricalAverage,
    clip_weights_,
    gradient_penalty,
    r1_penalty,
)
from ganforge.methods.backbone import build_backbone
from ganforge.methods.base import DataNeeds, Logs, Method, register_method
from ganforge.methods.game import (
    Augment,
    Clip,
    FeatureMatching,
    GameSettings,
    GradientPenalty,
    HistoricalAveraging,
    Objective,
    R1Penalty,
    SharedFakes,
)
from ganforge.nn.augment import DiffAugment, parse_policy
from ganforge.nn.rows import rows_independent


def refuse_points(policy: str | None, flag: str, spec: DataSpec, dataset: str) -> None:
    """Augmentation settings (``--augment``, ``--code-augment``) transform images: refused in
    one line for a data set of 2-D points."""
    if parse_policy(policy, flag) and spec.kind != "image":
        raise GanforgeError(f"{flag} transforms images; {dataset} holds 2-D points: leave it off")


@register_method("gan")
class GAN(Method):
    """Goodfellow et al. 2014, Algorithm 1: D ascends log D(x) + log(1 - D(G(z))) for ``d_steps``
    steps, then G ascends log D(G(z)) (``--loss gan``, the paper's practical choice and our
    default) or descends log(1 - D(G(z))) (``--loss minimax``, eq. 1). MLP backbone.

    Every stabiliser of the settings is honoured here, so each method built on this game can
    combine them: the objective (``--loss``), one-sided label smoothing, the gradient penalty
    and R1 on D, weight clipping, feature matching for G, historical averaging, and (through
    the backbones) D's normalisation, minibatch discrimination, virtual batch norm and
    self-attention.
    """

    Settings = GameSettings
    # An EMA of G lifted the MLP GAN's samples most of all the settings measured for issue #22
    # (benchmarks/RESULTS.md): the MLP's samples swing between strokes from step to step.
    # Sharing the D update's fakes with the G update saves one of the MLP's two G forwards a
    # step (14% of the quick start's step time) at the same sample quality over 3 seeds
    # (benchmarks/RESULTS.md, "One G forward a step").
    defaults = {"arch": "mlp", "ema": 0.999, "steps": GAN_STEPS, "shared_fakes": True}
    trains_on = DataNeeds(kinds=("image", "points"))
    # Feature matching's loss: the squared distance between the feature means (sec. 3.1), or
    # with this set, its mean over the features (the released semi-supervised code's).
    feature_matching_per_feature = False

    def __init__(self, cfg, spec: DataSpec) -> None:
        super().__init__(cfg, spec)
        s = self.settings
        self.G, self.D = self.build_networks()
        augment = s.augment if isinstance(s, Augment) else None
        refuse_points(augment, "--augment", spec, cfg.dataset)
        self.augment = (DiffAugment(augment, s.ada_target, s.ada_speed) if augment
                        else DiffAugment(None))
        if self.augment.adaptive and type(self).d_loss is not GAN.d_loss:
            # ADA reads D's outputs on the reals in GAN.d_loss; a D step of its own never would.
            raise GanforgeError(f"--ada-target is not available for {cfg.method} (its D step "
                                "is its own); use a fixed --augment policy")
        if self.shared_fakes and (type(self).d_loss is not GAN.d_loss
                               or type(self).g_loss is not GAN.g_loss):
            raise GanforgeError(f"--shared-fakes is not available for {cfg.method} (its D or G "
                                "step is its own)")
        # The fakes of the last D update with G's graph, for the G update (--shared-fakes).
        self._fakes_for_g: tuple[torch.Tensor, object] | None = None
        self.objective = self.adversarial_loss()
        self.real_target = 1.0 - (s.label_smoothing if isinstance(s, Objective) else 0.0)
        if self.history_weight is not None:
            self.history = nn.ModuleDict({g: HistoricalAverage(p for m in mods
                                                               for p in m.parameters())
                                          for g, mods in self.groups().items()})

    def build_networks(self):
        return build_backbone(self.cfg, self.spec)

    def adversarial_loss(self) -> AdversarialLoss:
        """The objective D and G play (``--loss``)."""
        return ADVERSARIAL_LOSSES.get(self.settings.loss)

    # ---- the knobs of the game this method's settings have; a knob it lacks is off -----------

    @property
    def gp_weight(self) -> float | None:
        return self.settings.gp_weight if isinstance(self.settings, GradientPenalty) else None

    @property
    def r1_weight(self) -> float | None:
        return self.settings.r1_weight if isinstance(self.settings, R1Penalty) else None

    @property
    def history_weight(self) -> float | None:
        s = self.settings
        return s.history_weight if isinstance(s, HistoricalAveraging) else None

    @property
    def shared_fakes(self) -> bool:
        return isinstance(self.settings, SharedFakes) and self.settings.shared_fakes

    @property
    def clip(self) -> float | None:
        return self.settings.clip if isinstance(self.settings, Clip) else None

    @property
    def feature_matching(self) -> bool:
        s = self.settings
        return isinstance(s, FeatureMatching) and s.feature_matching

    # ---- D's two halves: flat features, then the real/fake logit --------------------------------

    def d_features(self, x: torch.Tensor, c=None) -> torch.Tensor:
        """D's flat features of images ``x``, which D sees through ``--augment``'s
        differentiable augmentation (every image D sees: reals, fakes, penalty points)."""
        return self.d_body(self.augment(x), c)

    def d_body(self, x: torch.Tensor, c=None) -> torch.Tensor:
        """D's flat features of images exactly as given."""
        return self.D.features(x)

    def d_logits(self, h: torch.Tensor, c=None) -> torch.Tensor:
        return self.D.head(h).squeeze(1)

    @functools.cached_property
    def d_rows_independent(self) -> bool:
        # Asked at D's first update, once the Trainer has finished with the networks.
        return rows_independent(self.D)

    def d_features_of_both(self, real, c_real, fake, c_fake):
        """D's features of the reals and of the fakes: through one pass of both when D treats
        each row alone (:func:`~ganforge.nn.rows.rows_independent`), which gives the same
        features as two passes for less work: one matrix product of 2N rows instead of two of
        N (the quick start's step on a 2-core AVX2 CPU: 19.9 against 20.3 ms)."""
        both = (c_real, c_fake)
        if self.d_rows_independent and (all(c is None for c in both)
                                        or all(isinstance(c, torch.Tensor) for c in both)):
            c = None if c_real is None else torch.cat(both)
            h = self.d_features(torch.cat([real, fake]), c)
            return h[: len(real)], h[len(real):]
        return self.d_features(real, c_real), self.d_features(fake, c_fake)

    def discriminate(self, x: torch.Tensor, c=None) -> torch.Tensor:
        return self.d_logits(self.d_features(x, c), c)

    def adv_d(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        return self.objective.d(real_logits, fake_logits, real_target=self.real_target)

    def aux_d_loss(self, h_real, c_real, h_fake, c_fake) -> tuple[torch.Tensor | float, Logs]:
        """Extra discriminator-side terms on D's features of the real and fake batch."""
        return 0.0, {}

    def aux_g_loss(self, h_fake, c_fake) -> tuple[torch.Tensor | float, Logs]:
        """Extra generator-side terms on D's features of the fakes."""
        return 0.0, {}

    def penalties(self, group: str, real, c_real, fake) -> tuple[torch.Tensor | float, Logs]:
        total, logs = 0.0, {}
        if group == "D":
            critic = lambda x: self.discriminate(x, c_real)  # noqa: E731
            if self.gp_weight is not None:
                logs["gp"] = gradient_penalty(critic, real, fake)
                total = total + self.gp_weight * logs["gp"]
            if self.r1_weight is not None:
                logs["r1"] = r1_penalty(critic, real)
                total = total + self.r1_weight / 2 * logs["r1"]
        if self.history_weight is not None:
            logs[f"history_{group}"] = self.history[group].penalty()
            total = total + self.history_weight * logs[f"history_{group}"]
        return total, logs

    def after_update(self, group: str) -> None:
        """Called by the Trainer after each optimiser step of ``group``."""
        if group == "D" and self.clip is not None:
            clip_weights_(self.D.parameters(), self.clip)
        if self.history_weight is not None:
            self.history[group].update()

    def fakes_for_d(self, n: int):
        """``n`` fakes and their conditions for D's update, detached from G. Under
        ``--shared-fakes`` G's graph is kept for the G update that follows: the Trainer froze G
        for D's update, so G's parameters take gradients here just while it runs."""
        c = self.sample_condition(n)
        if not self.shared_fakes:
            with torch.no_grad():
                return self.generate(n, condition=c), c
        params = [p for m in self.groups()["G"] for p in m.parameters() if not p.requires_grad]
        for p in params:
            p.requires_grad_(True)
        try:
            fake = self.generate(n, condition=c)
        finally:
            for p in params:
                p.requires_grad_(False)
        self._fakes_for_g = (fake, c)
        return fake.detach(), c

    def fakes_for_g(self, n: int):
        """``n`` fakes and their conditions for G's update: those D's update was given, once,
        under ``--shared-fakes``, else fresh ones."""
        shared, self._fakes_for_g = self._fakes_for_g, None
        if shared is not None and len(shared[0]) == n:
            return shared
        c = self.sample_condition(n)
        return self.generate(n, condition=c), c

    def d_loss(self, batch):
        real = batch["x"]
        c_real = self.real_condition(batch)
        fake, c_fake = self.fakes_for_d(len(real))
        h_real, h_fake = self.d_features_of_both(real, c_real, fake, c_fake)
        real_logits, fake_logits = self.d_logits(h_real, c_real), self.d_logits(h_fake, c_fake)
        aux, logs = self.aux_d_loss(h_real, c_real, h_fake, c_fake)
        penalty, penalty_logs = self.penalties("D", real, c_real, fake)
        # Sigmoid losses report D's probabilities; the others its raw scores.
        score = torch.sigmoid if self.objective.label_smoothing else (lambda x: x)
        logs = {"D(x)": score(real_logits).mean(), "D(G(z))": score(fake_logits).mean(),
                **logs, **penalty_logs}
        if self.augment.adaptive:
            logs["ada_rt"] = self.augment.observe(real_logits)
            logs["ada_p"] = self.augment.p.clone()
        return self.adv_d(real_logits, fake_logits) + aux + penalty, logs

    def g_loss(self, batch):
        real = batch["x"]
        fake, c = self.fakes_for_g(len(real))
        h = self.d_features(fake, c)
        if self.feature_matching or self.objective.g_needs_real:
            c_real = self.real_condition(batch)
            with torch.no_grad():
                h_real = self.d_features(real, c_real)
        if self.feature_matching:
            # Salimans et al. 2016, sec. 3.1: match the mean of D's features on real data.
            gap = (h_real.mean(0) - h.mean(0)).pow(2)
            adversarial = gap.mean() if self.feature_matching_per_feature else gap.sum()
        else:
            real_logits = (self.d_logits(h_real, c_real) if self.objective.g_needs_real
                           else None)
            adversarial = self.objective.g(self.d_logits(h, c), real_logits)
        aux, logs = self.aux_g_loss(h, c)
        penalty, penalty_logs = self.penalties("G", real, None, None)
        return adversarial + aux + penalty, {**logs, **penalty_logs}


class ConditionedD:
    """D sees the condition beside the image (cGAN's label, BiGAN's code): its features and
    logits both take it."""

    def d_body(self, x: torch.Tensor, c=None) -> torch.Tensor:
        return self.D.features(x, c)

    def d_logits(self, h: torch.Tensor, c=None) -> torch.Tensor:
        return self.D.logits(h, c)


@register_method("dcgan")
class DCGAN(GAN):
    """Radford et al. 2016: the GAN objective on the all-convolutional DCGAN backbone
    (Adam, lr 2e-4, beta1 0.5, as in sec. 4 of the paper)."""

    defaults = {"arch": "dcgan"}
    # On the 1,500 embedded digits D memorises the reals: ADA's adaptive augmentation lowered
    # digits-FID from 174 to 150 and halved the class KL over 3 seeds at 1,500 steps
    # (benchmarks/RESULTS.md, "Augmentation and ADA"). Declared here, not inherited: the
    # presets' critics (Wasserstein, least squares) do not score the reals by their sign.
    #
    # On MNIST, DCGAN's objective on the all-convolutional nets was at MNIST-FID ~197 and 61%
    # confident after ~5 CPU-minutes. With a dense 1,024-unit layer on each side (the InfoGAN
    # nets; the MNIST DCGANs of TensorFlow's tutorial and PyTorch-GAN start G with one too),
    # Adam at 2e-3 for G and 4e-4 for D, the paper's batch of 128 and an EMA of G it reaches
    # FID 6-8 and 89% confident in the same time (benchmarks/RESULTS.md, "DCGAN's MNIST
    # default"). At width 32 rather than 64 a step costs 0.41x, and 2,400 steps reach FID ~5
    # and 90% confident in the CPU time of 1,000 at width 64 (RESULTS.md, "Width 32"). The
    # nets, their width and rates go together (--arch dcgan gives back the paper's nets with
    # the paper's width and rates); the batch and the EMA stand apart. One G forward a step
    # (--shared-fakes, as PyTorch's DCGAN example does) gave the same samples over 3 seeds in
    # 7% less time (RESULTS.md, "One G forward a step").
    data_defaults = {"digits": ({"augment": "translation,cutout", "ada_target": 0.6},),
                     "mnist": ({"arch": "infogan", "width": 32, "lr_g": 2e-3, "lr_d": 4e-4},
                               {"batch_size": 128}, {"ema": 0.999}, {"shared_fakes": True})}
