"""The resolved configuration of a training run: plain data, frozen, saved as config.json."""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ganforge.errors import GanforgeError
from ganforge.files import write_json  # noqa: F401  (callers import it from here)

if TYPE_CHECKING:
    import torch

DEVICES = ("auto", "cpu", "cuda", "cuda:N")
D_NORMS = ("batch", "none", "layer", "spectral")
G_NORMS = ("batch", "virtual")
PRECISIONS = ("fp32", "bf16", "fp16")
OPTIMIZERS = ("adam", "rmsprop", "sgd")
# Without --steps or --epochs a run trains this many generator steps...
DEFAULT_STEPS = 1500
# ...and a run of the MLP GAN, the quick start's method, this many (about 50 s on 2 CPU cores).
GAN_STEPS = 4000


@dataclass(frozen=True)
class TrainConfig:
    """Every choice of a run. ``None`` means "the method's or data set's default"."""

    # The quick start's: at its CPU budget the MLP GAN with an EMA of G draws the embedded digits
    # far better than DCGAN (benchmarks/RESULTS.md, "Sample quality per CPU-minute").
    method: str = "gan"
    dataset: str = "digits"
    data_dir: str | None = None
    image_size: int | None = None
    arch: str | None = None
    width: int = 64
    latent_dim: int = 100
    steps: int | None = None
    epochs: float | None = None
    # Stop (with a checkpoint) once this many seconds of training have passed, whatever the step.
    # It bounds one session: a resumed run has no limit unless given one again. Benchmarks use it
    # to give methods the same budget.
    time_limit: float | None = None
    batch_size: int = 64
    optimizer: str = "adam"
    lr: float = 2e-4
    lr_g: float | None = None
    lr_d: float | None = None
    beta1: float = 0.5
    beta2: float = 0.999
    # Adam's epsilon, added to the root of the second moment. Improved GAN's Theano Adam adds
    # 1e-8 under the root instead, i.e. about 1e-4 here: it damps the steps of weights whose
    # gradients are tiny, which PyTorch's 1e-8 moves by about the learning rate every step.
    adam_eps: float = 1e-8
    # From this fraction of training on, both learning rates fall linearly to 0 at the last step
    # (CycleGAN: 0.5, i.e. 100 epochs constant then 100 decaying). None: constant.
    lr_decay_from: float | None = None
    d_steps: int = 1
    # Data augmentation in the batcher: random horizontal flips, and random crops moving up to
    # ``jitter`` pixels (pix2pix's 286 -> 256 jitter is 15 at 256 px).
    flip: bool = False
    jitter: int = 0
    # Two-domain data: which way to learn. BtoA swaps the domains (the pix2pix sets facades and
    # cityscapes store [photo | labels] and are trained labels -> photo, i.e. BtoA).
    direction: str = "AtoB"
    # The adversarial objective (ganforge.losses.ADVERSARIAL_LOSSES): gan (non-saturating),
    # minimax, wasserstein, least-squares, hinge, relativistic.
    loss: str = "gan"
    # Stabilisers any image method can combine (see ganforge.methods.stabilisers).
    d_norm: str = "batch"
    gp_weight: float | None = None
    r1_weight: float | None = None
    clip: float | None = None
    label_smoothing: float = 0.0
    feature_matching: bool = False
    minibatch_kernels: int = 0
    # Differentiable augmentation of every image D sees (ganforge.nn.augment): a comma-separated
    # policy of color, translation, cutout; None: off.
    augment: str | None = None
    history_weight: float | None = None
    g_norm: str = "batch"
    attention: int | None = None
    ema: float | None = None
    seed: int = 0
    device: str = "auto"
    precision: str = "fp32"
    # Under torchrun on GPUs: batch norm statistics over the global batch (SyncBatchNorm) rather
    # than each process's slice of it.
    sync_bn: bool = False
    # Capture the whole training step in one CUDA graph and replay it (see
    # ganforge.training.graphed). None: wherever it works on CUDA (methods and settings that
    # cannot be captured train eagerly without a word); True: asked for (a run that cannot be
    # captured says why); False: never.
    cuda_graphs: bool | None = None
    out: str | None = None
    log_every: int = 50
    sample_every: int = 500
    checkpoint_every: int = 1000
    n_samples: int = 64
    # Periodic evaluation: every eval_every steps compute eval_metrics (comma-separated names of
    # ganforge.metrics.METRICS; None: the data set's default) on eval_n samples of the sampling
    # generator, and keep checkpoint-best.safetensors by best_metric (a value name such as
    # "mnist_fid"; its registered direction says whether lower or higher is better).
    eval_every: int | None = None
    eval_metrics: str | None = None
    eval_n: int = 2000
    best_metric: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        if "g_loss" in data:  # runs of ganforge 0.1 chose the generator loss alone
            data = {**data, "loss": "minimax" if data["g_loss"] == "minimax" else "gan"}
            data.pop("g_loss")
        unknown = sorted(set(data) - known)
        if unknown:
            raise GanforgeError(
                f"unknown config keys {', '.join(unknown)}; valid keys: {', '.join(sorted(known))}"
            )
        return cls(**data)

    def replace(self, **changes: Any) -> TrainConfig:
        return dataclasses.replace(self, **changes)

    @property
    def g_lr(self) -> float:
        return self.lr_g if self.lr_g is not None else self.lr

    @property
    def d_lr(self) -> float:
        return self.lr_d if self.lr_d is not None else self.lr


def check_choice(kind: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise GanforgeError(f"unknown {kind} {value!r}; choose one of: {', '.join(choices)}")


def resolve_device(name: str) -> torch.device:
    """auto picks CUDA when present; asking for CUDA without it is an error, not a fallback."""
    import torch  # here, not at the top: `ganforge --help` and start-up stay free of torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name == "cuda" or (name.startswith("cuda:") and name[5:].isdigit()):
        if not torch.cuda.is_available():
            raise GanforgeError(f"device {name!r} asked for but CUDA is not available; use "
                                "--device cpu or auto")
        index = int(name[5:]) if ":" in name else 0
        if index >= torch.cuda.device_count():
            raise GanforgeError(f"device {name!r} does not exist: this machine has "
                                f"{torch.cuda.device_count()} CUDA device(s)")
        return torch.device(name)
    raise GanforgeError(f"unknown device {name!r}; choose one of: {', '.join(DEVICES)}")


# Far beyond any sensible run: a typo (--latent-dim 1000000000) or a damaged config.json fails
# here in one line instead of asking for terabytes when the networks are built.
UPPER_BOUNDS = {"latent_dim": 4096, "width": 2048, "image_size": 4096, "batch_size": 65_536,
                "d_steps": 1000, "n_samples": 10_000, "minibatch_kernels": 4096,
                "steps": 10**9, "eval_n": 1_000_000, "jitter": 1024, "attention": 2048}


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


def check_field_types(obj: Any) -> None:
    """Each field of the dataclass ``obj`` holds a value of its annotated type (``int | None``
    takes an int or None); a one-line error naming the field otherwise. Dataclasses do not
    check, and a config.json edited by hand or damaged can hold anything."""
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        allowed = [t.strip() for t in str(f.type).split("|")]
        if not any(_has_type(value, t) for t in allowed):
            kinds = " or ".join("null" if t == "None" else t for t in allowed)
            raise GanforgeError(f"{f.name} must be {kinds}, got {value!r}")
        if isinstance(value, float) and value != value:  # NaN passes every bound below
            raise GanforgeError(f"{f.name} must be a number, got NaN")


def validate(cfg: TrainConfig, *, saved_run: bool = False) -> TrainConfig:
    """Check every field a user can get wrong, with one line naming the field and the fix.

    ``saved_run``: ``cfg`` comes from a run directory's config.json, loaded to sample or to
    resume: its device need not exist on this machine (resume names the device to go on with),
    and its warnings were given when it trained."""
    from ganforge.data import DATASETS, dataset_names, is_point_dataset
    from ganforge.data.datasets import FOLDER_PREFIX
    from ganforge.losses import ADVERSARIAL_LOSSES
    from ganforge.methods import METHODS
    from ganforge.models import ARCHITECTURES

    check_field_types(cfg)
    for name, bound in UPPER_BOUNDS.items():
        value = getattr(cfg, name)
        if value is not None and value > bound:
            raise GanforgeError(f"--{name.replace('_', '-')} must be at most {bound}, got "
                                f"{value}")

    METHODS.get(cfg.method).check_options(cfg.extra)
    points = is_point_dataset(cfg.dataset)
    prefixes = (FOLDER_PREFIX, "paired:", "unpaired:", "captions:")
    if not cfg.dataset.startswith(prefixes) and cfg.dataset not in DATASETS and not points:
        raise GanforgeError(
            f"unknown dataset {cfg.dataset!r}; choose one of: {', '.join(dataset_names())}"
        )
    if cfg.arch is not None:
        ARCHITECTURES.get(cfg.arch)
    validate_stabilisers(cfg, ADVERSARIAL_LOSSES.get(cfg.loss), warn=not saved_run)
    check_choice("precision", cfg.precision, PRECISIONS)
    check_choice("optimizer", cfg.optimizer, OPTIMIZERS)
    if not saved_run:
        on_cuda = resolve_device(cfg.device).type == "cuda"
        if not on_cuda and cfg.cuda_graphs:
            raise GanforgeError("--cuda-graphs replays the training step on a CUDA device; this "
                                "run is on the CPU: drop it")
        if not on_cuda and cfg.sync_bn:
            raise GanforgeError("--sync-bn synchronises batch norm between GPUs and needs CUDA; "
                                "on CPUs each process normalises its own slice of the batch: "
                                "drop it")
    positive = ("batch_size", "latent_dim", "width", "d_steps", "log_every", "sample_every",
                "checkpoint_every", "n_samples")
    for name in positive:
        if getattr(cfg, name) < 1:
            raise GanforgeError(f"--{name.replace('_', '-')} must be at least 1, got "
                                f"{getattr(cfg, name)}")
    if cfg.steps is not None and cfg.steps < 1:
        raise GanforgeError(f"--steps must be at least 1, got {cfg.steps}")
    if cfg.epochs is not None and cfg.epochs <= 0:
        raise GanforgeError(f"--epochs must be positive, got {cfg.epochs}")
    if cfg.time_limit is not None and not cfg.time_limit > 0:
        raise GanforgeError(f"--time-limit is in seconds and must be positive, got "
                            f"{cfg.time_limit}")
    if points and cfg.epochs is not None:
        raise GanforgeError(f"{cfg.dataset} is sampled afresh every batch and has no epochs; "
                            "give --steps instead of --epochs")
    if cfg.steps is not None and cfg.epochs is not None:
        raise GanforgeError("give --steps or --epochs, not both")
    for name in ("lr", "lr_g", "lr_d", "adam_eps"):
        value = getattr(cfg, name)
        if value is not None and not value > 0:
            raise GanforgeError(f"--{name.replace('_', '-')} must be positive, got {value}")
    if cfg.lr_decay_from is not None and not 0.0 <= cfg.lr_decay_from < 1.0:
        raise GanforgeError(f"--lr-decay-from is the fraction of training after which the "
                            f"learning rate decays, in [0, 1), e.g. 0.5; got {cfg.lr_decay_from}")
    check_choice("--direction", cfg.direction, ("AtoB", "BtoA"))
    if cfg.jitter < 0:
        raise GanforgeError(f"--jitter is a number of pixels, 0 or more; got {cfg.jitter}")
    if cfg.ema is not None and not 0.0 <= cfg.ema < 1.0:
        raise GanforgeError(f"--ema is a decay in (0, 1), e.g. 0.999, or 0 for none; got "
                            f"{cfg.ema}")
    if cfg.image_size is not None and cfg.image_size < 4:
        raise GanforgeError(f"--image-size must be at least 4, got {cfg.image_size}")
    validate_evaluation(cfg)
    return cfg


def validate_stabilisers(cfg: TrainConfig, loss, warn: bool = True) -> None:
    """Refuse combinations that make no sense before any training time is spent."""
    check_choice("--d-norm", cfg.d_norm, D_NORMS)
    check_choice("--g-norm", cfg.g_norm, G_NORMS)
    for name in ("gp_weight", "r1_weight", "clip", "history_weight"):
        value = getattr(cfg, name)
        if value is not None and not value > 0:
            raise GanforgeError(f"--{name.replace('_', '-')} must be positive, got {value}")
    if not 0.0 <= cfg.label_smoothing < 0.5:
        raise GanforgeError(f"--label-smoothing is the amount taken off the real target, in "
                            f"[0, 0.5), e.g. 0.1; got {cfg.label_smoothing}")
    if cfg.label_smoothing and not loss.label_smoothing:
        raise GanforgeError(f"--label-smoothing applies to the sigmoid losses (gan, minimax), "
                            f"not --loss {cfg.loss}")
    from ganforge.nn.augment import parse_policy

    parse_policy(cfg.augment)
    if cfg.minibatch_kernels < 0:
        raise GanforgeError(f"--minibatch-kernels must be 0 (off) or more, got "
                            f"{cfg.minibatch_kernels}")
    if cfg.clip is not None and cfg.gp_weight is not None:
        raise GanforgeError("--clip and --gp-weight both enforce D's Lipschitz constraint, the "
                            "gradient penalty replacing clipping (Gulrajani et al. 2017); use one")
    if cfg.clip is not None and cfg.d_norm == "spectral":
        raise GanforgeError("--clip and --d-norm spectral both bound D's Lipschitz constant; "
                            "use one")
    if warn and cfg.loss == "wasserstein" and cfg.clip is None and cfg.gp_weight is None and (
        cfg.d_norm != "spectral"
    ):
        warnings.warn("--loss wasserstein without --clip, --gp-weight or --d-norm spectral "
                      "leaves the critic unconstrained; its loss can grow without bound",
                      stacklevel=3)


def validate_evaluation(cfg: TrainConfig) -> None:
    """Check the periodic-evaluation fields before any training time is spent."""
    from ganforge.data import is_point_dataset

    if cfg.eval_every is not None and is_point_dataset(cfg.dataset):
        validate_point_evaluation(cfg)
        return
    if cfg.eval_every is None:
        for name in ("eval_metrics", "best_metric"):
            if getattr(cfg, name) is not None:
                raise GanforgeError(f"--{name.replace('_', '-')} needs --eval-every N")
        return
    # Here, not above: the metrics stack (scipy) is only needed by runs that evaluate.
    from ganforge.metrics.evaluate import check_sample_counts, default_metrics, parse_metrics

    for name in ("eval_every", "eval_n"):
        if getattr(cfg, name) < 1:
            raise GanforgeError(f"--{name.replace('_', '-')} must be at least 1, got "
                                f"{getattr(cfg, name)}")
    metrics = parse_metrics(cfg.eval_metrics or default_metrics(cfg.dataset))
    check_sample_counts(metrics, cfg.eval_n)
    if cfg.best_metric is not None:
        directions = {k: v for m in metrics for k, v in m.better.items()}
        if cfg.best_metric not in directions:
            choices = ", ".join(f"{k} ({v} is better)" for k, v in directions.items())
            raise GanforgeError(f"--best-metric {cfg.best_metric!r} is not computed by the "
                                f"evaluation metrics; choose one of: {choices}")


def validate_point_evaluation(cfg: TrainConfig) -> None:
    from ganforge.training.evaluation import POINT_METRICS

    if cfg.eval_metrics not in (None, "modes"):
        raise GanforgeError(f"{cfg.dataset} is evaluated with --eval-metrics modes (modes "
                            f"covered and high-quality share), not {cfg.eval_metrics!r}")
    if cfg.eval_every < 1 or cfg.eval_n < 1:
        raise GanforgeError("--eval-every and --eval-n must be at least 1")
    if cfg.best_metric is not None and cfg.best_metric not in POINT_METRICS:
        choices = ", ".join(f"{k} ({v} is better)" for k, v in POINT_METRICS.items())
        raise GanforgeError(f"--best-metric {cfg.best_metric!r} is not computed on "
                            f"{cfg.dataset}; choose one of: {choices}")


# What the 2-D toy mixtures change from the image defaults: the point backbone, the batch size
# and width of the mode-collapse literature, and a mode count every sample picture (2,500 points,
# VEEGAN's evaluation size), so the scatter plots and the metrics show the same points.
POINT_DATA_DEFAULTS: dict[str, Any] = {
    "arch": "toy", "width": 128, "batch_size": 256, "n_samples": 2500, "sample_every": 250,
    "eval_every": 250, "eval_n": 2500,
}


def dataset_defaults(dataset: str) -> dict[str, Any]:
    """Config fields a data set changes from TrainConfig's defaults, over the method's."""
    from ganforge.data import is_point_dataset

    return dict(POINT_DATA_DEFAULTS) if is_point_dataset(dataset) else {}


def with_method_defaults(method: str, **overrides: Any) -> TrainConfig:
    """A config for ``method``: its class's defaults, then its data set's, then the caller's
    overrides on top."""
    from ganforge.methods import METHODS

    dataset = overrides.get("dataset", TrainConfig.dataset)
    return TrainConfig(method=method, **runnable({**METHODS.get(method).defaults,
                                                  **dataset_defaults(dataset)}, overrides))


def runnable(defaults: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    """``given`` over ``defaults``, except that a method's default step count yields to
    ``--epochs`` given by the user (a run is measured in one or the other)."""
    if given.get("epochs") is not None and given.get("steps") is None:
        defaults = {k: v for k, v in defaults.items() if k != "steps"}
    return {**defaults, **given}
