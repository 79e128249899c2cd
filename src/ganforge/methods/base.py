"""A GAN method: its networks and how their losses are computed; the Trainer does the rest.

A method declares, as class attributes, everything the layers above ask of it before it is
built: its ``Settings`` (a dataclass of the knobs it has, :mod:`ganforge.config`), the
``defaults`` it changes (of the run's fields or of its settings), the data it ``trains_on``,
and its ``players``. What it can do beyond sampling it declares by the capability classes it
derives from (:mod:`ganforge.methods.capabilities`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import nn

from ganforge.config import Settings, TrainConfig, general_fields
from ganforge.data.spec import DataSpec
from ganforge.errors import GanforgeError
from ganforge.nn.noise import standard_normal
from ganforge.registry import Registry

Logs = dict[str, torch.Tensor]

# What each kind of data is, as error messages name it, and the data sets of that kind.
DATA_KINDS = {
    "image": ("images", "an image data set (digits, mnist, fashion-mnist, cifar10, folder:PATH)"),
    "points": ("2-D points", "ring8 or grid25"),
    "translation": ("images of two domains, for image-to-image translation",
                    "edges2mnist, digits2mnist, paired:PATH or unpaired:PATH"),
}


@dataclass(frozen=True)
class DataNeeds:
    """The data a method trains on: the ``kinds`` of DataSpec it takes, and whether it needs
    class ``labels``, ``pairs`` (A[i] belongs with B[i]) or ``captions``."""

    kinds: tuple[str, ...] = ("image",)
    labels: bool = False
    pairs: bool = False
    captions: bool = False
    # The labelled data sets to suggest when the data has no labels.
    labelled: str = "digits, mnist, fashion-mnist or cifar10"

    def check(self, method: str, dataset: str, spec: DataSpec) -> None:
        """A one-line error, naming what ``method`` needs and what fits, unless ``spec`` is
        such data."""
        if spec.kind not in self.kinds:
            held, _ = DATA_KINDS[spec.kind]
            wanted = " or ".join(DATA_KINDS[k][0] for k in self.kinds)
            fitting = [m for m, k in METHODS.items() if spec.kind in k.trains_on.kinds]
            choices = [self.labelled if self.labels and k == "image" else DATA_KINDS[k][1]
                       for k in self.kinds]
            raise GanforgeError(f"{method} trains on {wanted}; {dataset} holds {held}: choose "
                                f"{' or '.join(choices)}, or train {', '.join(fitting)} on it")
        if self.labels and spec.num_classes < 2:
            raise GanforgeError(f"{method} needs a labelled data set; {dataset} has no class "
                                f"labels (try {self.labelled})")
        if self.pairs and not spec.paired:
            raise GanforgeError(f"{method} learns from paired images (A[i] with B[i]); "
                                f"{dataset} is unpaired: use cyclegan or unit")
        if self.captions and not spec.vocabulary:
            raise GanforgeError(f"{method} draws from captions; {dataset} has none: use "
                                "captioned-mnist, captioned-digits or captions:PATH")


class Method(nn.Module):
    """Base of every GAN method.

    A method builds its networks in ``__init__``, names which of them each optimiser updates in
    ``groups``, and says how the discriminator and generator losses are computed. It never calls
    ``backward`` or ``step``, and never moves anything between devices.
    """

    # Its knobs; a subclass with more declares a Settings dataclass deriving from its parent's.
    Settings: ClassVar[type[Settings]] = Settings
    # Fields this method changes from their declared defaults (a preset is such a diff).
    defaults: ClassVar[dict[str, Any]] = {}
    # Per data set name, fields changed on that data set only, in units each taken as a whole
    # unless the user sets one of its fields (configure.data_defaults); read from the class
    # itself, not inherited.
    data_defaults: ClassVar[dict[str, tuple[dict[str, Any], ...]]] = {}
    trains_on: ClassVar[DataNeeds] = DataNeeds()
    # The optimiser groups it trains: a method without a discriminator (the VAE) has only G,
    # and the Trainer then makes one update per step (--d-steps does not apply).
    players: ClassVar[tuple[str, ...]] = ("D", "G")

    @classmethod
    def own_data_defaults(cls) -> dict[str, tuple[dict[str, Any], ...]]:
        """``data_defaults`` as this class itself declares it: a subclass (WGAN-GP of DCGAN)
        does not inherit a data set's recipe, which was measured for its parent."""
        return vars(cls).get("data_defaults", {})

    def __init__(self, cfg: TrainConfig, spec: DataSpec) -> None:
        super().__init__()
        if not isinstance(cfg.settings, self.Settings):
            raise TypeError(f"{type(self).__name__} takes a config made by "
                            "ganforge.configure.configure")
        self.trains_on.check(cfg.method, cfg.dataset, spec)
        self.cfg = cfg
        self.settings = cfg.settings
        self.spec = spec

    def groups(self) -> dict[str, list[nn.Module]]:
        """Optimiser groups: the D group steps ``d_steps`` times, then the G group once."""
        return {"D": [self.D], "G": [self.G]}

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    @property
    def latent_width(self) -> int:
        """Columns of what ``sample_latent`` draws: z, and any other noise G takes with it
        (text2img's conditioning-augmentation draw), so a seed fixes all of G's randomness."""
        return self.settings.latent_dim

    def sample_latent(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` latent vectors: from a seeded CPU ``generator`` for pictures and inference, or
        from the training stream (see :mod:`ganforge.nn.noise`)."""
        return standard_normal(n, self.latent_width, generator, self.device)

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
    # What each column of a sample grid shows, for pictures whose columns repeat a layout
    # (a translation's input | output | target): labels the grid's columns, left to right.
    display_columns: tuple[str, ...] = ()
    display_title: str = ""

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

    def bind_data(self, data) -> None:
        """Called once by the Trainer with its training data before the first step (the
        semi-supervised GAN keeps its labelled subset)."""

    def after_update(self, group: str) -> None:
        """Called by the Trainer after each optimiser step of ``group`` (weight clipping,
        historical averages)."""

    def d_loss(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, Logs]:
        raise NotImplementedError

    def g_loss(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, Logs]:
        raise NotImplementedError


METHODS: Registry[type[Method]] = Registry("method")


def register_method(name: str):
    """Register a method class under ``name``, once its declarations are checked: its settings
    must not shadow a run field, and its ``defaults`` must name fields it has (a typo there
    would otherwise be a silent no-op)."""
    def decorate(cls: type[Method]) -> type[Method]:
        general = {f.name for f in general_fields()}
        own = {f.name for f in dataclasses.fields(cls.Settings)}
        if own & general:
            raise TypeError(f"{cls.__name__}.Settings redeclares run fields: {own & general}")
        declared = set(cls.defaults).union(*(
            unit for units in cls.own_data_defaults().values() for unit in units))
        unknown = declared - general - own
        if unknown:
            raise TypeError(f"{cls.__name__}.defaults names fields it lacks: {sorted(unknown)}")
        return METHODS.register(name)(cls)

    return decorate
