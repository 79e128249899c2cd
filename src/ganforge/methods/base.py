"""A GAN method: its networks and how their losses are computed; the Trainer does the rest."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import nn

from ganforge.config import TrainConfig
from ganforge.errors import GanforgeError
from ganforge.models import ARCHITECTURES
from ganforge.registry import Registry

Logs = dict[str, torch.Tensor]


@dataclass(frozen=True)
class DataSpec:
    """What the networks need to know of the data; saved with a run so loading needs no data.

    ``kind`` is ``"image"`` ([C, H, W] samples), ``"points"`` (the toy mixtures' [D] vectors,
    with ``img_channels`` = D and ``img_size`` = 1) or ``"translation"`` (two domains: A has
    ``img_channels`` channels, B ``b_channels``; ``class_names`` name the domains; ``paired``
    says whether A[i] and B[i] belong together). Captioned data (text-to-image) adds the
    ``vocabulary`` of its token ids, the ``caption_length`` in tokens, and the
    ``example_captions`` sample grids show.
    """

    img_channels: int
    img_size: int
    num_classes: int = 0
    class_names: tuple[str, ...] = ()
    kind: str = "image"
    b_channels: int = 0
    paired: bool = False
    vocabulary: tuple[str, ...] = ()
    caption_length: int = 0
    example_captions: tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, data: dict) -> DataSpec:
        """The spec saved in a run's config.json, its fields' types and sizes checked: the
        networks are built from it before any weight is read."""
        from ganforge.config import check_field_types

        # JSON turns the tuples into lists.
        spec = cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})
        check_field_types(spec)
        for name, low, high in SPEC_BOUNDS:
            value = getattr(spec, name)
            if not low <= value <= high:
                raise GanforgeError(f"data_spec {name} must lie in [{low}, {high}], got {value}")
        if len(spec.vocabulary) > MAX_VOCABULARY:
            raise GanforgeError(f"data_spec vocabulary holds {len(spec.vocabulary)} words, more "
                                f"than {MAX_VOCABULARY}")
        return spec


# What a saved DataSpec may hold; far beyond any data set ganforge reads.
SPEC_BOUNDS = (("img_channels", 1, 64), ("img_size", 1, 4096), ("num_classes", 0, 100_000),
               ("b_channels", 0, 64), ("caption_length", 0, 10_000))
MAX_VOCABULARY = 1_000_000


@dataclass(frozen=True)
class Option:
    """A setting only some methods have (InfoGAN's codes, cGAN's way of conditioning D).

    Options live in ``TrainConfig.extra`` under ``name``; the CLI offers each as
    ``--name-with-dashes``, so a new method's settings need no change to the config or CLI.
    """

    name: str
    default: Any
    help: str
    type: Callable[[str], Any] = str
    choices: tuple[Any, ...] = ()

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def check(self, value: Any) -> Any:
        # Values come from the command line (parsed by ``type``) or from a config.json, which
        # can hold anything: a number where a number belongs.
        numeric = {int: "an integer", float: "a number"}.get(self.type)
        if numeric and value is not None and not (
                isinstance(value, (int, float)) and not isinstance(value, bool)
                and (self.type is float or isinstance(value, int))
                and math.isfinite(value)):
            raise GanforgeError(f"{self.flag} must be {numeric}, got {value!r}")
        if self.choices and value not in self.choices:
            raise GanforgeError(f"unknown {self.flag} {value!r}; choose one of: "
                                f"{', '.join(map(str, self.choices))}")
        return value


class Method(nn.Module):
    """Base of every GAN method.

    A method builds its networks in ``__init__``, names which of them each optimiser updates in
    ``groups``, and says how the discriminator and generator losses are computed. It never calls
    ``backward`` or ``step``, and never moves anything between devices.
    """

    # Config fields this method changes from TrainConfig's defaults (a preset is such a diff).
    defaults: ClassVar[dict[str, Any]] = {}
    # Settings of this method alone, kept in cfg.extra.
    options: ClassVar[tuple[Option, ...]] = ()
    # Whether D sees the condition (cGAN) or only G does (InfoGAN, ACGAN).
    d_conditioned: ClassVar[bool] = False

    def __init__(self, cfg: TrainConfig, spec: DataSpec) -> None:
        super().__init__()
        self.check_options(cfg.extra)
        self.cfg = cfg
        self.spec = spec

    @classmethod
    def check_options(cls, extra: dict[str, Any]) -> None:
        known = {o.name: o for o in cls.options}
        for name, value in extra.items():
            if name not in known:
                flag = "--" + name.replace("_", "-")
                owners = [m for m, k in METHODS.items() if any(o.name == name for o in k.options)]
                where = f"it is an option of {', '.join(owners)}" if owners else "unknown option"
                have = (f"; {cls.__name__} takes {', '.join(o.flag for o in cls.options)}"
                        if cls.options else f"; {cls.__name__} takes no method options")
                raise GanforgeError(f"{flag} does not apply to this method ({where}){have}")
            known[name].check(value)

    def option(self, name: str) -> Any:
        option = next(o for o in self.options if o.name == name)
        return self.cfg.extra.get(name, option.default)

    def groups(self) -> dict[str, list[nn.Module]]:
        """Optimiser groups: the D group steps ``d_steps`` times, then the G group once."""
        return {"D": [self.D], "G": [self.G]}

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    # (rank, world size) under data-parallel training, set by the Trainer: see sample_latent.
    shard: tuple[int, int] = (0, 1)

    @property
    def latent_width(self) -> int:
        """Columns of what ``sample_latent`` draws: z, and any other noise G takes with it
        (text2img's conditioning-augmentation draw), so a seed fixes all of G's randomness."""
        return self.cfg.latent_dim

    def sample_latent(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` latent vectors. In training (no ``generator``) under data parallelism the ranks'
        torch generators run in lockstep, so each draws the latents of the whole global batch
        and keeps its own rows: they differ across ranks, and a run at any world size draws
        what one process would (:mod:`ganforge.training.distributed`)."""
        rank, world = self.shard if generator is None else (0, 1)
        z = torch.randn(n * world, self.latent_width, generator=generator,
                        device="cpu" if generator is not None else self.device)
        return z[rank * n : (rank + 1) * n].to(self.device)

    # ---- conditions: class labels or latent codes; None for an unconditional G ------------------

    def sample_condition(self, n: int, generator: torch.Generator | None = None):
        """Conditions for ``n`` fakes, drawn as in training."""
        return None

    def real_condition(self, batch: dict[str, torch.Tensor]):
        """The condition D sees with real images (their labels for cGAN)."""
        return None

    def display_condition(self, n: int):
        """Conditions for sample grids: classes or code values in order, so columns read as
        classes when ``display_nrow`` images make a row."""
        return None

    display_nrow: int | None = None

    def run_G(self, z: torch.Tensor, c=None, G: nn.Module | None = None) -> torch.Tensor:
        G = G or self.G
        return G(z) if c is None else G(z, c)

    def generate(self, n: int, G: nn.Module | None = None, condition=None) -> torch.Tensor:
        return self.run_G(self.sample_latent(n), condition, G)

    def sample(
        self, n: int, generator: torch.Generator | None = None, G: nn.Module | None = None,
        condition=None,
    ) -> torch.Tensor:
        """``n`` images in [-1, 1] for grids and inference; ``G`` may be the EMA copy."""
        z = self.sample_latent(n, generator)
        if condition is None:
            condition = self.sample_condition(n, generator)
        return self.run_G(z, condition, G)

    # ---- D's two halves: flat features, then the real/fake logit --------------------------------

    def d_features(self, x: torch.Tensor, c=None) -> torch.Tensor:
        return self.D.features(x, c) if self.d_conditioned else self.D.features(x)

    def d_logits(self, h: torch.Tensor, c=None) -> torch.Tensor:
        return self.D.logits(h, c) if self.d_conditioned else self.D.head(h).squeeze(1)

    def discriminate(self, x: torch.Tensor, c=None) -> torch.Tensor:
        return self.d_logits(self.d_features(x, c), c)

    def bind_data(self, data) -> None:
        """Called once by the Trainer with its training data before the first step (the
        semi-supervised GAN keeps its labelled subset)."""

    def after_update(self, group: str) -> None:
        """Called by the Trainer after each optimiser step of ``group`` (weight clipping,
        running averages)."""

    def stage_pictures(self, n: int, generator: torch.Generator | None = None,
                       G: nn.Module | None = None) -> list[tuple[str, torch.Tensor]] | None:
        """For methods that generate coarse to fine (LAPGAN, progressive growing): for the ``n``
        samples ``sample(n, generator)`` draws, (label, images in [-1, 1] at the full size)
        rows showing each stage. None for single-stage methods."""
        return None

    def set_progress(self, step: int, total_steps: int) -> None:
        """Called by the Trainer before every training step with the number of steps done and
        the run's total: methods whose networks change as training goes on (progressive
        growing) derive their phase from it, so a resumed run is in the phase it left."""

    def restarts_optimizers(self, step: int, total_steps: int) -> bool:
        """Whether the optimisers start afresh at ``step``: their moments and step counts are
        cleared before it (progressive growing's official code does so at every new phase).
        A pure function of the step, so a resumed run restarts where the unbroken one did."""
        return False

    def capture_blocker(self) -> str | None:
        """Why this method's training step cannot be captured in a CUDA graph (None: it can).
        A captured step replays the work of the step it was recorded at, so a method whose
        step changes with host-side state must say so here."""
        if type(self).set_progress is not Method.set_progress:
            return f"{type(self).__name__}'s networks change with the training step"
        if type(self).restarts_optimizers is not Method.restarts_optimizers:
            # A replay keeps the captured optimiser state tensors; clearing them is not seen.
            return f"{type(self).__name__} restarts its optimisers during training"
        return None

    def d_loss(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, Logs]:
        raise NotImplementedError

    def g_loss(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, Logs]:
        raise NotImplementedError


METHODS: Registry[type[Method]] = Registry("method")
register_method = METHODS.register


def build_backbone(
    cfg: TrainConfig, spec: DataSpec, g_extra_inputs: int = 0, d_extra_channels: int = 0
) -> tuple[nn.Module, nn.Module]:
    """The (G, D) pair of the configured architecture for this data, with the configured
    stabilisers; conditioning wrappers ask for extra latent inputs to G and extra image planes
    for D."""
    from ganforge.methods.stabilisers import stabilise_discriminator, stabilise_generator

    arch = ARCHITECTURES.get(cfg.arch)
    if arch.data != spec.kind:
        fitting = [n for n, a in ARCHITECTURES.items() if a.data == spec.kind]
        if spec.kind == "translation":
            raise GanforgeError(f"{cfg.dataset} holds images of two domains, for image-to-image "
                                f"translation; {cfg.method} draws images from noise: train a "
                                "translation method (pix2pix, cyclegan, unit, ...) on it, or "
                                "choose an image data set")
        what = {"image": "images", "points": "2-D points"}
        raise GanforgeError(f"the {cfg.arch} backbone draws {what[arch.data]}, but this data "
                            f"set holds {what[spec.kind]}; use --arch {' or '.join(fitting)}")
    extra = {} if cfg.attention is None else {"attention_at": cfg.attention}
    try:
        G = arch.generator(z_dim=cfg.latent_dim + g_extra_inputs, img_channels=spec.img_channels,
                           img_size=spec.img_size, width=cfg.width, **extra)
        D = arch.discriminator(img_channels=spec.img_channels + d_extra_channels,
                               img_size=spec.img_size, width=cfg.width, **extra)
    except TypeError as e:
        if "attention_at" not in str(e):
            raise
        raise GanforgeError(f"--attention is not offered by the {cfg.arch} backbone; use "
                            "--arch dcgan or resnet") from None
    return stabilise_generator(G, cfg), stabilise_discriminator(D, cfg)
