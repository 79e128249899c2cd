"""The configuration of a training run: plain frozen data, saved as config.json.

``TrainConfig`` holds what every run has (data, optimiser, loop, devices, files). What only
some methods have lives in ``TrainConfig.settings``: a ``Settings`` dataclass that the method
declares beside itself (:mod:`ganforge.methods`), the GAN game's knobs declared once by the
family that has them. Every field says its type, default, help and bounds once, as field
metadata (:func:`setting`); the command line, ``--help`` and the checks are generated from
those declarations (:mod:`ganforge.configure`, :mod:`ganforge.cli.flags`).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from ganforge.errors import GanforgeError

PRECISIONS = ("fp32", "bf16", "fp16", "auto")
OPTIMIZERS = ("adam", "rmsprop", "sgd")
DIRECTIONS = ("AtoB", "BtoA")
# Without --steps or --epochs a run trains this many generator steps...
DEFAULT_STEPS = 1500
# ...and a run of the MLP GAN, the quick start's method, this many (about 50 s on 2 CPU cores).
GAN_STEPS = 4000


def setting(default: Any, help: str, *, choices: tuple = (), at_least: float | None = None,
            above: float | None = None, at_most: float | None = None,
            below: float | None = None, what: str = "", example: Any = None, noun: str = "",
            metavar: str | None = None, default_text: str = "") -> Any:
    """A field of a configuration dataclass with everything the command line and the checks
    need: ``help``; ``choices``; bounds (``at_least``/``above`` below it, ``at_most``/``below``
    above it); ``what`` the value is and an ``example`` for the message of a value out of its
    interval; the ``noun`` an unknown choice is called ("unknown loss 'x'"; the flag
    otherwise); the ``metavar`` of its flag; ``default_text`` in --help where the default
    is None and means something."""
    return field(default=default, metadata={
        "help": help, "choices": tuple(choices), "at_least": at_least, "above": above,
        "at_most": at_most, "below": below, "what": what, "example": example, "noun": noun,
        "metavar": metavar, "default_text": default_text})


def flag_of(name: str) -> str:
    return "--" + name.replace("_", "-")


@dataclass(frozen=True)
class Settings:
    """Base of a method's settings: a frozen dataclass of :func:`setting` fields. Subclasses
    are composed from the knobs they have; ``check`` holds what a field's own bounds cannot say
    (one setting against another), each class calling ``super().check(warn)``."""

    def check(self, warn: bool = True) -> None:
        """Refuse combinations of settings that make no sense; ``warn``: also warn about
        doubtful ones (not when a saved run is read again)."""


@dataclass(frozen=True)
class TrainConfig:
    """What every run has. ``None`` means "the method's or data set's default"."""

    # The quick start's: at its CPU budget the MLP GAN with an EMA of G draws the embedded
    # digits far better than DCGAN (benchmarks/RESULTS.md, "Sample quality per CPU-minute").
    method: str = setting("gan", "the GAN method", noun="method")
    dataset: str = setting("digits", "the data set", noun="dataset")
    data_dir: str | None = setting(
        None, "folder holding the data sets; downloads go there",
        default_text="$GANFORGE_DATA or ~/.cache/ganforge/data")
    image_size: int | None = setting(
        None, "resize images to this size", at_least=4, at_most=4096,
        default_text="the data set's: digits 16, mnist/fashion-mnist 28, cifar10 32, folder 64")
    steps: int | None = setting(None, "generator steps to train", at_least=1, at_most=10**9,
                                default_text=f"{DEFAULT_STEPS}; gan: {GAN_STEPS}")
    epochs: float | None = setting(None, "train this many passes over the data instead of "
                                   "--steps", above=0)
    # It bounds one session: a resumed run has no limit unless given one again. Benchmarks use
    # it to give methods the same budget.
    time_limit: float | None = setting(
        None, "stop after this much training time, checkpoint written", above=0,
        what="in seconds", metavar="SECONDS", default_text="off")
    batch_size: int = setting(64, "images per batch (the global batch under torchrun)",
                              at_least=1, at_most=65_536)
    optimizer: str = setting("adam", "the optimiser of G and D", choices=OPTIMIZERS,
                             noun="optimizer")
    lr: float = setting(2e-4, "learning rate of G and D", above=0)
    lr_g: float | None = setting(None, "G's learning rate", above=0, default_text="--lr")
    lr_d: float | None = setting(None, "D's learning rate", above=0, default_text="--lr")
    beta1: float = setting(0.5, "Adam beta1 (SGD: the momentum)")
    beta2: float = setting(0.999, "Adam beta2")
    # Adam's epsilon, added to the root of the second moment. Improved GAN's Theano Adam adds
    # 1e-8 under the root instead, i.e. about 1e-4 here: it damps the steps of weights whose
    # gradients are tiny, which PyTorch's 1e-8 moves by about the learning rate every step.
    adam_eps: float = setting(1e-8, "Adam epsilon", above=0)
    # CycleGAN: 0.5, i.e. 100 epochs constant then 100 decaying.
    lr_decay_from: float | None = setting(
        None, "decay both learning rates linearly to 0 from this fraction of training on, "
        "e.g. 0.5 as CycleGAN", at_least=0.0, below=1.0, example=0.5, metavar="FRACTION",
        what="the fraction of training after which the learning rate decays,",
        default_text="constant")
    d_steps: int = setting(1, "discriminator steps per generator step, k of Algorithm 1",
                           at_least=1, at_most=1000)
    # pix2pix's 286 -> 256 jitter is 15 at 256 px.
    flip: bool = setting(False, "augment with random horizontal flips (the same flip for both "
                         "images of a pair)")
    jitter: int = setting(0, "augment with random crops moving up to PIXELS (pix2pix: 15 at "
                          "256 px)", at_least=0, at_most=1024, what="a number of pixels",
                          metavar="PIXELS")
    # The pix2pix sets facades and cityscapes store [photo | labels] and are trained
    # labels -> photo, i.e. BtoA.
    direction: str = setting("AtoB", "two-domain data: learn A -> B or B -> A",
                             choices=DIRECTIONS)
    ema: float | None = setting(None, "keep an EMA of G with this decay, e.g. 0.999; 0: none",
                                at_least=0.0, below=1.0, what="a decay (0: none)",
                                example=0.999, default_text="off")
    seed: int = setting(0, "seed of every random draw of the run")
    device: str = setting("auto", "where to train", noun="device")
    precision: str = setting("fp32", "autocast mixed precision (fp16 with a gradient scaler); "
                             "auto: bf16 where the device computes it natively (a CUDA GPU "
                             "with bf16, a CPU with AVX512-BF16 or AMX), else fp32",
                             choices=PRECISIONS, noun="precision")
    sync_bn: bool = setting(False, "under torchrun on GPUs: batch norm over the global batch "
                            "(SyncBatchNorm) instead of each process's slice")
    # See ganforge.training.graphed: methods and settings that cannot be captured train eagerly
    # without a word on the default (None); True says why.
    cuda_graphs: bool | None = setting(
        None, "capture the whole training step in one CUDA graph and replay it: several times "
        "faster for small models at small batches (--cuda-graphs says why when the step "
        "cannot be captured, --no-cuda-graphs turns it off)",
        default_text="on CUDA wherever the step can be captured")
    out: str | None = setting(None, "run directory", default_text="runs/METHOD-DATASET-TIME")
    log_every: int = setting(50, "steps between rows of log.jsonl", at_least=1)
    sample_every: int = setting(500, "steps between sample pictures", at_least=1)
    checkpoint_every: int = setting(1000, "steps between checkpoints", at_least=1)
    n_samples: int = setting(64, "samples in each sample picture", at_least=1, at_most=10_000)
    # A value name such as "mnist_fid"; its registered direction says whether lower or higher
    # is better.
    eval_every: int | None = setting(
        None, "compute --eval-metrics every N steps (and at the end) on samples of the sampling "
        "generator (EMA if kept); rows go to metrics.jsonl", at_least=1, metavar="N",
        default_text="off")
    eval_metrics: str | None = setting(
        None, "comma-separated metric names (see `ganforge eval --help`)", metavar="LIST",
        default_text="mnist-fid,mnist-is for digit data sets, stacked-modes for stacked-mnist, "
        "else fid")
    eval_n: int = setting(2000, "images generated per evaluation", at_least=1,
                          at_most=1_000_000)
    best_metric: str | None = setting(
        None, "keep checkpoint-best.safetensors by this value, e.g. mnist_fid (lower is better) "
        "or stacked_modes (higher is better)", metavar="VALUE", default_text="off")
    settings: Settings = field(default_factory=Settings)

    def to_dict(self) -> dict[str, Any]:
        """One flat dict: the run's fields, then its method's settings (as config.json and
        ``--dry-run`` show them)."""
        general = {f.name: getattr(self, f.name) for f in general_fields()}
        return {**general, **dataclasses.asdict(self.settings)}

    def replace(self, **changes: Any) -> TrainConfig:
        """A copy with fields changed, a method's settings among them (``loss=...``)."""
        own = {f.name for f in general_fields()}
        settings = {k: changes.pop(k) for k in list(changes) if k not in own}
        if settings:
            changes["settings"] = dataclasses.replace(self.settings, **settings)
        return dataclasses.replace(self, **changes)

    @property
    def g_lr(self) -> float:
        return self.lr_g if self.lr_g is not None else self.lr

    @property
    def d_lr(self) -> float:
        return self.lr_d if self.lr_d is not None else self.lr


def general_fields() -> tuple[dataclasses.Field, ...]:
    """TrainConfig's own fields: all but ``settings``."""
    return tuple(f for f in dataclasses.fields(TrainConfig) if f.name != "settings")


def check_choice(kind: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise GanforgeError(f"unknown {kind} {value!r}; choose one of: {', '.join(choices)}")


def _has_type(value: Any, name: str) -> bool:
    """Whether ``value`` is of the annotated type ``name`` (a dataclass field's annotation, a
    string under ``from __future__ import annotations``), as JSON can hold it."""
    if name == "bool":
        return isinstance(value, bool)
    if name == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if name == "float":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if name == "str":
        return isinstance(value, str)
    if name == "None":
        return value is None
    if name.startswith("dict["):
        return isinstance(value, dict) and all(isinstance(k, str) for k in value)
    if name.startswith("tuple[str"):
        return isinstance(value, (tuple, list)) and all(isinstance(v, str) for v in value)
    raise TypeError(f"no type check for annotation {name!r}")


def field_types(f: dataclasses.Field) -> list[str]:
    """The types a field's annotation allows: ``int | None`` -> ["int", "None"]."""
    return [t.strip() for t in str(f.type).split("|")]


def check_field_types(obj: Any, fields: tuple[dataclasses.Field, ...] | None = None) -> None:
    """Each field of the dataclass ``obj`` holds a value of its annotated type (``int | None``
    takes an int or None); a one-line error naming the field otherwise. Dataclasses do not
    check, and a config.json edited by hand or damaged can hold anything."""
    for f in fields if fields is not None else dataclasses.fields(obj):
        value = getattr(obj, f.name)
        allowed = field_types(f)
        if not any(_has_type(value, t) for t in allowed):
            kinds = " or ".join("null" if t == "None" else t for t in allowed)
            raise GanforgeError(f"{f.name} must be {kinds}, got {value!r}")
        if isinstance(value, float) and not math.isfinite(value):  # NaN passes every bound
            raise GanforgeError(f"{f.name} must be a finite number, got {value}")


def _number(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def check_bounds(f: dataclasses.Field, value: Any) -> None:
    """``value`` of field ``f`` within the bounds its metadata declares; a one-line error
    naming the flag, the bounds and the value otherwise."""
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
        return
    meta, flag, what = f.metadata, flag_of(f.name), f.metadata["what"]
    at_least, above, at_most, below = (meta[k] for k in ("at_least", "above", "at_most", "below"))
    too_low = (at_least is not None and value < at_least) or (above is not None and value <= above)
    too_high = (at_most is not None and value > at_most) or (below is not None and value >= below)
    if not (too_low or too_high):
        return
    low = at_least if at_least is not None else above
    high = at_most if at_most is not None else below
    if what and low is not None and high is not None:
        interval = (f"{'[' if at_least is not None else '('}{_number(low)}, "
                    f"{_number(high)}{']' if at_most is not None else ')'}")
        example = f", e.g. {meta['example']}" if meta["example"] is not None else ""
        raise GanforgeError(f"{flag} is {what} in {interval}{example}; got {value}")
    if too_high:
        rule = f"must be at most {_number(high)}"
    elif above is not None:
        rule = "must be positive" if above == 0 else f"must be above {_number(above)}"
    else:
        rule = "must be 0 or more" if at_least == 0 else f"must be at least {_number(at_least)}"
    raise GanforgeError(f"{flag} is {what} and {rule}, got {value}" if what
                        else f"{flag} {rule}, got {value}")


def check_choices(f: dataclasses.Field, value: Any) -> None:
    choices = f.metadata["choices"]
    if choices and value not in choices:
        kind = f.metadata["noun"] or flag_of(f.name)
        raise GanforgeError(f"unknown {kind} {value!r}; choose one of: "
                            f"{', '.join(map(str, choices))}")
