"""InfoGAN (Chen et al. 2016): latent codes whose meaning is learned, not given.

G(z, c) takes structured codes c beside the noise z; a head Q on D's features predicts c from
G(z, c). Minimising Q's negative log-likelihood of c maximises L_I, a variational lower bound on
the mutual information I(c; G(z, c)) (eq. 4), so c must stay readable in the images. On MNIST a
10-way categorical code comes to stand for the digit and two continuous codes for rotation and
stroke width, with no labels at all.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ganforge.config import setting
from ganforge.data.spec import DataSpec
from ganforge.errors import GanforgeError
from ganforge.methods.backbone import build_backbone
from ganforge.methods.base import register_method
from ganforge.methods.capabilities import CodeConditioned
from ganforge.methods.game import GameSettings
from ganforge.methods.gan import GAN, refuse_points
from ganforge.models.conditional import ConditionedGenerator
from ganforge.nn.augment import DiffAugment, parse_policy

LOG_2PI = math.log(2 * math.pi)


@dataclass(frozen=True)
class LatentCodes:
    """Categorical codes (sizes) and uniform(-1, 1) continuous codes, e.g. ``cat:10,cont:2``.

    G sees them as one vector: each categorical code one-hot, then the continuous values.
    """

    categorical: tuple[int, ...]
    continuous: int

    @classmethod
    def parse(cls, text: str) -> LatentCodes:
        categorical: list[int] = []
        continuous = 0
        for part in filter(None, (p.strip() for p in str(text).split(","))):
            kind, _, size = part.partition(":")
            if kind not in ("cat", "cont") or not size.isdigit() or int(size) < 1 or (
                kind == "cat" and int(size) < 2
            ):
                raise GanforgeError(
                    f"bad code {part!r} in --codes {text!r}; write codes as cat:K (a K-way "
                    "categorical code, K >= 2) and cont:N (N continuous codes), e.g. cat:10,cont:2"
                )
            if kind == "cat":
                categorical.append(int(size))
            else:
                continuous += int(size)
        if not categorical and not continuous:
            raise GanforgeError(f"--codes {text!r} names no code; e.g. cat:10,cont:2")
        return cls(tuple(categorical), continuous)

    @property
    def width(self) -> int:
        return sum(self.categorical) + self.continuous

    def sample(self, n: int, generator=None, device=None) -> tuple[torch.Tensor, torch.Tensor]:
        """(categorical indices [n, n_cat] int64, continuous values [n, n_cont])."""
        where = "cpu" if generator is not None else device
        cat = torch.stack([torch.randint(k, (n,), generator=generator, device=where)
                           for k in self.categorical], 1) if self.categorical else (
            torch.zeros(n, 0, dtype=torch.long, device=where))
        cont = torch.rand(n, self.continuous, generator=generator, device=where) * 2 - 1
        return cat.to(device), cont.to(device)

    def encode(self, cat: torch.Tensor, cont: torch.Tensor) -> torch.Tensor:
        one_hots = [F.one_hot(cat[:, i], k).to(cont.dtype)
                    for i, k in enumerate(self.categorical)]
        return torch.cat([*one_hots, cont], dim=1)

    def split(self, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Inverse of ``encode``: the indices of the one-hot blocks and the continuous values."""
        blocks = c[:, : sum(self.categorical)].split(list(self.categorical), dim=1)
        cat = (torch.stack([b.argmax(1) for b in blocks], 1) if blocks
               else torch.zeros(len(c), 0, dtype=torch.long, device=c.device))
        return cat, c[:, sum(self.categorical):]


class QHead(nn.Module):
    """Q(c | x) on D's features: logits of each categorical code, then the mean and log-variance
    of each continuous code (the paper's FC 128 - BN - LeakyReLU - FC)."""

    def __init__(self, in_features: int, codes: LatentCodes, hidden: int = 128) -> None:
        super().__init__()
        self.codes = codes
        self.net = nn.Sequential(
            nn.Linear(in_features, hidden), nn.BatchNorm1d(hidden), nn.LeakyReLU(0.2, True),
            nn.Linear(hidden, sum(codes.categorical) + 2 * codes.continuous),
        )

    def forward(self, h: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor, torch.Tensor]:
        out = self.net(h)
        n_cat = sum(self.codes.categorical)
        cat_logits = list(out[:, :n_cat].split(list(self.codes.categorical), dim=1))
        mean, log_var = out[:, n_cat:].chunk(2, dim=1)
        return cat_logits, mean, log_var.clamp(-6.0, 4.0)


@register_method("infogan")
class InfoGAN(CodeConditioned, GAN):
    """Chen et al. 2016 with the paper's MNIST setting: 62 noise dimensions, a 10-way
    categorical and two continuous codes, lr 1e-3 for G and 2e-4 for D, lambda = 1. The
    information term -L_I is added to both players' losses: Q trains with D, G learns to keep
    c recoverable."""

    # The EMA of G (not in the paper) cut MNIST-FID 2-4x and lifted the confident share 2-5
    # points on each of 6 runs; the code's matched accuracy moved -1.7 to +4.1 points
    # (benchmarks/RESULTS.md, "InfoGAN in 4 minutes").
    defaults = {"arch": "infogan", "latent_dim": 62, "lr_g": 1e-3, "lr_d": 2e-4, "ema": 0.99}
    # On MNIST a code read back from the samples as drawn may stand for a slant or a stroke
    # width as well as a digit (two values sharing the 4s and 9s, one the thin 0s and 8s):
    # any ten parts of the data that G can draw and Q tell apart maximise L_I alike. Read back
    # through random slants, sizes, stroke widths and shifts (--code-augment
    # affine,stroke,translation), only what those keep can carry it. After 3,000 steps two
    # seeds of five still had two values sharing the 5s and 8s (92.7-99.9%
    # matched); with more steps every split given them settled into one digit a value, and
    # at 6,000 all five seeds matched 99.8-99.9%, so the README's line trains 6,000 steps
    # (RESULTS.md, "Translation too, and twice the steps").
    data_defaults = {"mnist": ({"width": 32}, {"code_augment": "affine,stroke,translation"})}

    @dataclass(frozen=True)
    class Settings(GameSettings):
        codes: str = setting("cat:10,cont:2", "latent codes: cat:K for a K-way categorical "
                             "code, cont:N for N uniform(-1, 1) continuous codes, "
                             "comma-separated")
        info_weight: float = setting(1.0, "lambda, the weight of the mutual-information term")
        cont_weight: float = setting(1.0, "the continuous codes' share of lambda (the paper "
                                     "gives them a smaller one than the categorical codes')")
        cont_loss: str = setting("mse", "continuous codes' term: mse (Gaussian NLL with unit "
                                 "variance, up to a constant: the released InfoGAN code's "
                                 "choice) or nll (learned variance; its 1/variance scaling lets "
                                 "the continuous codes outweigh the categorical one)",
                                 choices=("mse", "nll"))

        code_augment: str | None = setting(
            None, "read the codes back from the samples through these of --augment's "
            "transforms (e.g. affine,stroke: slant, size and stroke width), so that a code "
            "cannot stand for what they change; costs one more pass of D over the fakes",
            default_text="off: Q reads the samples as D sees them")

        def check(self, warn: bool = True) -> None:
            super().check(warn)
            LatentCodes.parse(self.codes)
            parse_policy(self.code_augment, "--code-augment")
            if not self.cont_weight >= 0:
                raise GanforgeError(f"--cont-weight {self.cont_weight} is negative: it weighs "
                                    "a log-likelihood, give 0 or more (e.g. 0.1)")

    def __init__(self, cfg, spec: DataSpec) -> None:
        self.codes = LatentCodes.parse(cfg.settings.codes)
        policy = cfg.settings.code_augment
        refuse_points(policy, "--code-augment", spec, cfg.dataset)
        super().__init__(cfg, spec)
        self.code_augment = DiffAugment(policy) if parse_policy(policy) else None
        self._fakes_for_q = None

    # Q reads the codes from D's features of the fakes; under --code-augment from those of the
    # transformed fakes, so the fakes themselves are kept from the step that drew them.
    def fakes_for_d(self, n: int):
        fake, c = super().fakes_for_d(n)
        self._fakes_for_q = fake
        return fake, c

    def fakes_for_g(self, n: int):
        fake, c = super().fakes_for_g(n)
        self._fakes_for_q = fake
        return fake, c

    def features_for_q(self, h_fake: torch.Tensor) -> torch.Tensor:
        # All codes are read through the transforms. Reading the continuous ones from the fakes
        # as drawn (free to stand for slant and width) split as many runs' categorical code
        # (RESULTS.md, "Translation too, and twice the steps").
        fake, self._fakes_for_q = self._fakes_for_q, None
        if self.code_augment is None or fake is None:
            return h_fake
        return self.d_body(self.code_augment(fake))

    def build_networks(self):
        G, D = build_backbone(self.cfg, self.spec, g_extra_inputs=self.codes.width)
        self.Q = QHead(D.feature_dim, self.codes)
        return ConditionedGenerator(G), D

    def groups(self):
        return {"D": [self.D, self.Q], "G": [self.G]}

    def sample_condition(self, n, generator=None):
        return self.codes.encode(*self.codes.sample(n, generator, self.device))

    def display_condition(self, n):
        """The first categorical code in order across columns; the others and the continuous
        codes at their centre (0 and value 0)."""
        cat = torch.zeros(n, len(self.codes.categorical), dtype=torch.long, device=self.device)
        if self.codes.categorical:
            cat[:, 0] = torch.arange(n, device=self.device) % self.codes.categorical[0]
        return self.codes.encode(cat, torch.zeros(n, self.codes.continuous, device=self.device))

    @property
    def display_nrow(self) -> int | None:
        return self.codes.categorical[0] if self.codes.categorical else None

    def information_loss(self, h_fake: torch.Tensor, c: torch.Tensor):
        """-L_I up to the constant H(c): the NLL of the codes under Q (eq. 5)."""
        cat, cont = self.codes.split(c)
        cat_logits, mean, log_var = self.Q(h_fake)
        cat_nll = sum((F.cross_entropy(logits, cat[:, i]) for i, logits in enumerate(cat_logits)),
                      torch.zeros((), device=h_fake.device))
        if self.codes.continuous == 0:
            cont_nll = torch.zeros((), device=h_fake.device)
        elif self.settings.cont_loss == "nll":
            cont_nll = 0.5 * (LOG_2PI + log_var + (cont - mean) ** 2 * torch.exp(-log_var))
            cont_nll = cont_nll.sum(1).mean()
        else:
            cont_nll = 0.5 * ((cont - mean) ** 2).sum(1).mean()
        logs = {"info_cat": cat_nll, "info_cont": cont_nll}
        if self.codes.categorical:
            # L_I of the categorical codes: H(c) - NLL, at most H(c) = sum log K.
            entropy = sum(math.log(k) for k in self.codes.categorical)
            logs["mi_cat"] = entropy - cat_nll
        return self.settings.info_weight * (cat_nll + self.settings.cont_weight * cont_nll), logs

    def aux_d_loss(self, h_real, c_real, h_fake, c_fake):
        return self.information_loss(self.features_for_q(h_fake), c_fake)

    def aux_g_loss(self, h_fake, c_fake):
        loss, logs = self.information_loss(self.features_for_q(h_fake), c_fake)
        return loss, {}

    def condition_for(self, classes, cont: torch.Tensor | None = None) -> torch.Tensor:
        """Codes with the first categorical code set to ``classes`` (other categorical codes 0),
        continuous codes given or 0."""
        classes = torch.as_tensor(classes, device=self.device).long().reshape(-1)
        if not self.codes.categorical:
            raise GanforgeError("this InfoGAN has no categorical code to choose; its --codes "
                                "have only continuous ones")
        k = self.codes.categorical[0]
        if classes.numel() and (int(classes.min()) < 0 or int(classes.max()) >= k):
            raise GanforgeError(f"code value {int(classes.max())} does not exist: the first "
                                f"categorical code has {k} values, 0 to {k - 1}")
        cat = torch.zeros(len(classes), len(self.codes.categorical), dtype=torch.long,
                          device=self.device)
        cat[:, 0] = classes
        if cont is None:
            cont = torch.zeros(len(classes), self.codes.continuous, device=self.device)
        return self.codes.encode(cat, cont.to(self.device))

    @property
    def num_classes(self) -> int:
        return self.codes.categorical[0] if self.codes.categorical else 0
