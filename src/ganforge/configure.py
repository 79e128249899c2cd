"""A run's configuration, made in one pipeline: defaults -> resolve -> validate.

:func:`configure` makes the config of a new run from what a user gave (the command line's flags,
``ganforge.train``'s keyword arguments); :func:`configure_saved` reads a run's config.json again
(this version's flat form, or the form of earlier runs: every field at the top and the method's
options in ``extra``). Both end in the same :func:`resolve` and :func:`validate`, once; what they
return is what the Trainer and inference build from, unchecked again.

The fields come from their declarations: the run's in :class:`ganforge.config.TrainConfig`, the
method's in its ``Settings`` (:mod:`ganforge.methods`), each with its type, default, bounds and
choices.
"""

from __future__ import annotations

import dataclasses
import warnings
from typing import Any

from ganforge.config import (
    TrainConfig,
    check_bounds,
    check_choices,
    check_field_types,
    flag_of,
    general_fields,
)
from ganforge.data import DATASETS, dataset_names, is_point_dataset
from ganforge.data.datasets import FOLDER_PREFIX
from ganforge.devices import resolve_device
from ganforge.errors import GanforgeError
from ganforge.methods import METHODS, Method
from ganforge.methods.capabilities import Translator

# What the 2-D toy mixtures change from the image defaults: the point backbone, the batch size
# and width of the mode-collapse literature, and a mode count every sample picture (2,500 points,
# VEEGAN's evaluation size), so the scatter plots and the metrics show the same points.
POINT_DATA_DEFAULTS: dict[str, Any] = {
    "arch": "toy", "width": 128, "batch_size": 256, "n_samples": 2500, "sample_every": 250,
    "eval_every": 250, "eval_n": 2500,
}
# Fields every run had before the methods declared their settings, now settings of some: a
# config.json of such a run holds them whatever its method, and they meant nothing to a method
# that lacks them now.
FORMER_RUN_FIELDS = ("arch", "width", "latent_dim", "loss", "d_norm", "gp_weight", "r1_weight",
                     "clip", "label_smoothing", "feature_matching", "minibatch_kernels",
                     "augment", "history_weight", "g_norm", "attention")
DATA_PREFIXES = (FOLDER_PREFIX, "paired:", "unpaired:", "captions:")


def settings_fields(method: type[Method]) -> dict[str, dataclasses.Field]:
    return {f.name: f for f in dataclasses.fields(method.Settings)}


def setting_owners() -> dict[str, list[str]]:
    """Each setting's name, with the methods that have it."""
    owners: dict[str, list[str]] = {}
    for name, method in METHODS.items():
        for field in dataclasses.fields(method.Settings):
            owners.setdefault(field.name, []).append(name)
    return owners


def method_defaults(method: type[Method], dataset: str,
                    epochs: float | None = None) -> dict[str, Any]:
    """The fields ``method`` and then ``dataset`` change from their declared defaults. A
    method's default step count yields to ``epochs`` given by the user: a run is measured in
    one or the other."""
    own = settings_fields(method).keys() | {f.name for f in general_fields()}
    data = POINT_DATA_DEFAULTS if is_point_dataset(dataset) else {}
    defaults = {**method.defaults, **{k: v for k, v in data.items() if k in own}}
    if epochs is not None:
        defaults.pop("steps", None)
    return defaults


def _not_a_setting(name: str, method: str, from_file: bool) -> GanforgeError:
    """The error for a field ``method`` lacks: in a config.json, with the keys it takes; from a
    user, with the methods that have it and the settings ``method`` has."""
    if from_file:
        valid = [f.name for f in general_fields()] + list(settings_fields(METHODS.get(method)))
        return GanforgeError(f"unknown config key {name!r} for {method}; valid keys: "
                             f"{', '.join(sorted(valid))}")
    owners = setting_owners().get(name)
    where = f"it is a setting of {', '.join(owners)}" if owners else "unknown option"
    own = settings_fields(METHODS.get(method))
    takes = (f"{method} takes {', '.join(flag_of(n) for n in own)}" if own
             else f"{method} takes no settings of its own")
    return GanforgeError(f"{flag_of(name)} does not apply to {method} ({where}); {takes}")


def _build(method: str, fields: dict[str, Any], from_file: bool = False) -> TrainConfig:
    """A TrainConfig of ``method`` from flat ``fields``; a field the method lacks is refused,
    naming the methods that have it."""
    cls = METHODS.get(method)
    general = {f.name for f in general_fields()}
    own = settings_fields(cls)
    for name in fields:
        if name not in general and name not in own:
            raise _not_a_setting(name, method, from_file)
    settings = cls.Settings(**{k: v for k, v in fields.items() if k in own})
    return TrainConfig(**{k: v for k, v in fields.items() if k in general},
                       method=method, settings=settings)


def configure(fields: dict[str, Any] | None = None, **overrides: Any) -> TrainConfig:
    """The validated config of a new run: the declared defaults, then the method's and the data
    set's (``method_defaults``), then ``fields`` and ``overrides`` (flat: the run's fields and
    the method's settings alike, ``configure(method="cgan", d_cond="projection")``)."""
    given = {**(fields or {}), **overrides}
    method = given.pop("method", TrainConfig.method)
    dataset = given.get("dataset", TrainConfig.dataset)
    if given.get("steps") is None:
        epochs = given.get("epochs")
    else:
        epochs = None
    cls = METHODS.get(method)
    _warn_of_split_units(cls, method, dataset, given)
    cfg = _build(method, {**method_defaults(cls, dataset, epochs),
                          **data_defaults(cls, dataset, given), **given})
    return validate(resolve(cfg))


def data_defaults(method: type[Method], dataset: str, given: dict[str, Any]) -> dict[str, Any]:
    """The part of a recipe ``method`` declares for one data set (its ``data_defaults``, of
    that class itself, not inherited), each of its units taken whole or not at all: a user who
    sets any field of a unit (``--augment none``, or None as a config.json of an older run
    holds) has chosen that part of the recipe."""
    units = method.own_data_defaults().get(dataset, ())
    return {k: v for unit in units if not any(k in given for k in unit)
            for k, v in unit.items()}


def _warn_of_split_units(cls: type[Method], method: str, dataset: str,
                         given: dict[str, Any]) -> None:
    """Say which fields of a data set's recipe unit a user's partial choice also gives back:
    ``--lr-d`` alone on dcgan's mnist recipe returns the paper's nets and G rate with it, which
    a user tuning one rate would not guess."""
    for unit in cls.own_data_defaults().get(dataset, ()):
        chosen = [flag_of(k) for k in unit if k in given]
        dropped = [f"{flag_of(k)} {unit[k]}" for k in unit if k not in given]
        if chosen and dropped:
            warnings.warn(f"{', '.join(chosen)} replaces part of {method}'s {dataset} recipe, "
                          f"whose fields go together, so it also drops {', '.join(dropped)} "
                          "(give them too to keep them)", stacklevel=3)


def configure_saved(data: dict[str, Any], **changes: Any) -> TrainConfig:
    """The config saved in a run's config.json, with ``changes`` to the run's fields (a resumed
    run's new total of steps), checked as a new one is (its device need not exist here, and its
    warnings were given when it trained)."""
    if not isinstance(data, dict):
        raise GanforgeError("the config is not a JSON object")
    data = {**data, **changes}
    if "g_loss" in data:  # runs of ganforge 0.1 chose the generator loss alone
        data["loss"] = "minimax" if data.pop("g_loss") == "minimax" else "gan"
    method = data.pop("method", TrainConfig.method)
    if "extra" in data:  # every field at the top, the method's options in extra
        extra = data.pop("extra")
        if not isinstance(extra, dict):
            raise GanforgeError(f"extra must be a dict, got {extra!r}")
        own = settings_fields(METHODS.get(method))
        data = {k: v for k, v in data.items() if k not in FORMER_RUN_FIELDS or k in own}
        for name in extra:
            if name not in own:
                raise _not_a_setting(name, method, from_file=False)
        data.update(extra)
    return validate(resolve(_build(method, data, from_file=True)), saved_run=True)


def resolve(cfg: TrainConfig) -> TrainConfig:
    """Fill fields left as None from the method's and data set's defaults (e.g. its backbone),
    and the evaluation metrics from the data set."""
    values = cfg.to_dict()
    defaults = method_defaults(METHODS.get(cfg.method), cfg.dataset,
                               cfg.epochs if cfg.steps is None else None)
    filled = {k: v for k, v in defaults.items() if values[k] is None}
    cfg = cfg.replace(**filled) if filled else cfg
    if cfg.eval_every is not None and cfg.eval_metrics is None:
        # Here, not at the top: the metrics stack (scipy) is only needed by runs that evaluate.
        from ganforge.metrics.evaluate import default_metrics

        cfg = cfg.replace(eval_metrics="modes" if is_point_dataset(cfg.dataset)
                          else default_metrics(cfg.dataset))
    return cfg


def _check_fields(cfg: TrainConfig) -> None:
    """Types, bounds and choices of every field, from its declaration; a value another method's
    same-named setting offers is refused naming the choices of this one."""
    fields = [*general_fields(), *dataclasses.fields(cfg.settings)]
    check_field_types(cfg, general_fields())
    check_field_types(cfg.settings)
    values = cfg.to_dict()
    for field in fields:
        value = values[field.name]
        check_bounds(field, value)
        if field.metadata["choices"] and value is not None and (
                value not in field.metadata["choices"]):
            elsewhere = [m for m, cls in METHODS.items() if m != cfg.method and any(
                f.name == field.name and value in f.metadata["choices"]
                for f in dataclasses.fields(cls.Settings))]
            if elsewhere:
                raise GanforgeError(
                    f"{flag_of(field.name)} {value} does not apply to {cfg.method} (it does to "
                    f"{', '.join(elsewhere)}); choose one of: "
                    f"{', '.join(map(str, field.metadata['choices']))}")
            check_choices(field, value)


def validate(cfg: TrainConfig, *, saved_run: bool = False) -> TrainConfig:
    """Check every field a user can get wrong, with one line naming the field and the fix.

    ``saved_run``: ``cfg`` comes from a run directory's config.json, loaded to sample or to
    resume: its device need not exist on this machine (resume names the device to go on with),
    and its warnings were given when it trained."""
    method = METHODS.get(cfg.method)
    _check_fields(cfg)
    points = is_point_dataset(cfg.dataset)
    if not cfg.dataset.startswith(DATA_PREFIXES) and cfg.dataset not in DATASETS and not points:
        raise GanforgeError(
            f"unknown dataset {cfg.dataset!r}; choose one of: {', '.join(dataset_names())}")
    if not saved_run:
        on_cuda = resolve_device(cfg.device).type == "cuda"
        if not on_cuda and cfg.cuda_graphs:
            raise GanforgeError("--cuda-graphs replays the training step on a CUDA device; this "
                                "run is on the CPU: drop it")
        if not on_cuda and cfg.sync_bn:
            raise GanforgeError("--sync-bn synchronises batch norm between GPUs and needs CUDA; "
                                "on CPUs each process normalises its own slice of the batch: "
                                "drop it")
    if points and cfg.epochs is not None:
        raise GanforgeError(f"{cfg.dataset} is sampled afresh every batch and has no epochs; "
                            "give --steps instead of --epochs")
    if cfg.steps is not None and cfg.epochs is not None:
        raise GanforgeError("give --steps or --epochs, not both")
    if cfg.d_steps != 1 and "D" not in method.players:
        raise GanforgeError(f"--d-steps does not apply to {cfg.method}: it has no "
                            "discriminator")
    if cfg.eval_every is not None and issubclass(method, Translator):
        raise GanforgeError(f"--eval-every does not apply to {cfg.method}: it translates given "
                            "images; score translations with benchmarks/translation.py")
    cfg.settings.check(warn=not saved_run)
    _check_evaluation(cfg, points)
    return cfg


def _check_evaluation(cfg: TrainConfig, points: bool) -> None:
    """Check the periodic-evaluation fields before any training time is spent."""
    if cfg.eval_every is None:
        for name in ("eval_metrics", "best_metric"):
            if getattr(cfg, name) is not None:
                raise GanforgeError(f"{flag_of(name)} needs --eval-every N")
        return
    from ganforge.metrics.evaluate import check_sample_counts, parse_metrics
    from ganforge.metrics.modes import POINT_METRICS

    if points:
        if cfg.eval_metrics not in (None, "modes"):
            raise GanforgeError(f"{cfg.dataset} is evaluated with --eval-metrics modes (modes "
                                f"covered and high-quality share), not {cfg.eval_metrics!r}")
        directions = POINT_METRICS
    else:
        metrics = parse_metrics(cfg.eval_metrics)
        check_sample_counts(metrics, cfg.eval_n)
        directions = {k: v for m in metrics for k, v in m.better.items()}
    if cfg.best_metric is not None and cfg.best_metric not in directions:
        choices = ", ".join(f"{k} ({v} is better)" for k, v in directions.items())
        where = f"computed on {cfg.dataset}" if points else "computed by the evaluation metrics"
        raise GanforgeError(f"--best-metric {cfg.best_metric!r} is not {where}; choose one "
                            f"of: {choices}")
