"""`ganforge train`'s flags, generated from the declarations of the config's fields
(:class:`ganforge.config.TrainConfig`) and of every method's settings: a new method's or knob's
setting is a flag, with its help, choices and each method's default, by being declared."""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

from ganforge.config import field_types, flag_of, general_fields
from ganforge.configure import setting_owners
from ganforge.data import dataset_names
from ganforge.devices import DEVICES
from ganforge.methods import METHODS
from ganforge.methods.game import GameSettings

# Fields whose values come from a registry rather than their declaration.
REGISTRY_CHOICES = {"method": METHODS.names, "dataset": dataset_names, "device": lambda: DEVICES}


def flag_kwargs(field: dataclasses.Field, switched_on: bool = False) -> dict[str, Any]:
    """How argparse reads the field: a switch for a bool, --x/--no-x for a bool that may be
    unset or that a method's default turns on (``switched_on``), else a value of the field's
    type."""
    types = [t for t in field_types(field) if t != "None"]
    if types == ["bool"]:
        negatable = switched_on or "None" in field_types(field)
        return {"action": argparse.BooleanOptionalAction if negatable else "store_true"}
    return {"type": {"int": int, "float": float}.get(types[0], str)}


def _show(value: Any) -> str:
    return str(value)


def _by_value(pairs: list[tuple[str, Any]]) -> list[tuple[list[str], Any]]:
    """The distinct values of (method, value) pairs in first-seen order, each with its
    methods."""
    groups: dict[str, tuple[list[str], Any]] = {}
    for method, value in pairs:
        groups.setdefault(repr(value), ([], value))[0].append(method)
    return list(groups.values())


def _owners_text(owners: list[str]) -> str:
    everyone = METHODS.names()
    if len(owners) > len(everyone) / 2:
        lacking = [m for m in everyone if m not in owners]
        return "all methods" + (f" but {', '.join(lacking)}" if lacking else "")
    return ", ".join(owners)


def _defaults_text(name: str, declared: list[tuple[str, dataclasses.Field]]) -> str | None:
    """The default, then each method's where it differs (``default: 1.0; 0.01 for unit``); every
    value with its methods when their declarations differ."""
    pairs = [(m, METHODS.get(m).defaults.get(name, f.default)) for m, f in declared]
    declared_defaults = {repr(f.default) for _, f in declared}
    base = declared[0][1].default if len(declared_defaults) == 1 else None
    shown = []
    for owners, value in _by_value(pairs):
        if len(declared_defaults) == 1 and value == base:
            if value is None:
                text = declared[0][1].metadata["default_text"]
                if text:
                    shown.insert(0, text)
            else:
                shown.insert(0, _show(value))
        else:
            shown.append(f"{_show(value)} for {', '.join(owners)}")
    for method, _ in declared:  # a data set's own recipe (Method.data_defaults)
        for dataset, units in METHODS.get(method).own_data_defaults().items():
            shown += [f"{_show(unit[name])} for {method} on {dataset}"
                      for unit in units if name in unit]
    return "default: " + "; ".join(shown) if shown else None


def _help(name: str, declared: list[tuple[str, dataclasses.Field]]) -> str:
    """One flag's help from the declarations of the field in ``declared`` (method, field)."""
    texts = _by_value([(m, f.metadata["help"]) for m, f in declared])
    text = (texts[0][1] if len(texts) == 1
            else "; ".join(f"{', '.join(owners)}: {help_}" for owners, help_ in texts))
    field = declared[0][1]
    choices = (REGISTRY_CHOICES[name]() if name in REGISTRY_CHOICES
               else list(dict.fromkeys(c for _, f in declared for c in f.metadata["choices"])))
    notes = [f"one of: {', '.join(map(str, choices))}"] if choices else []
    defaults = _defaults_text(name, declared)
    if defaults and _reading(field, None, declared).get("action") != "store_true":
        notes.append(defaults)
    return f"{text} ({'; '.join(notes)})" if notes else text


def add_config_flags(parser: argparse.ArgumentParser) -> None:
    """The run's fields as flags, then the GAN game's knobs and the methods' own settings, each
    naming the methods that take it. Unset flags stay out of the namespace (SUPPRESS), so the
    method's defaults apply to them."""
    for field in general_fields():
        everyone = [(m, field) for m in METHODS.names()]
        parser.add_argument(flag_of(field.name), dest=field.name, default=argparse.SUPPRESS,
                            help=_help(field.name, everyone),
                            **_reading(field, field.metadata["metavar"], everyone))
    knobs = [f.name for f in dataclasses.fields(GameSettings)]
    game = parser.add_argument_group("the GAN game (each option names the methods that take it)")
    own = parser.add_argument_group("method options (only the methods named take them)")
    declared: dict[str, list[tuple[str, dataclasses.Field]]] = {}
    for method, cls in METHODS.items():
        for field in dataclasses.fields(cls.Settings):
            declared.setdefault(field.name, []).append((method, field))
    owners = setting_owners()
    order = list(knobs)
    for name, pairs in sorted(declared.items(), key=lambda kv: (
            kv[0] not in knobs, order.index(kv[0]) if kv[0] in knobs else 0)):
        field = pairs[0][1]
        metavar = field.metadata["metavar"] or name.split("_")[-1].upper()
        (game if name in knobs else own).add_argument(
            flag_of(name), dest=name, default=argparse.SUPPRESS,
            help=f"[{_owners_text(owners[name])}] {_help(name, pairs)}",
            **_reading(field, metavar, pairs))


def _reading(field: dataclasses.Field, metavar: str | None,
             declared: list[tuple[str, dataclasses.Field]]) -> dict[str, Any]:
    """``flag_kwargs`` with the metavar of a flag that takes a value; a bool that one of the
    ``declared`` (method, field) pairs' methods turns on by default, everywhere or on one data
    set (``Method.data_defaults``), gets its --no- form."""
    def recipes(method: str):
        cls = METHODS.get(method)
        return [cls.defaults, *(unit for units in cls.own_data_defaults().values()
                                for unit in units)]

    switched_on = any(unit.get(f.name) is True for m, f in declared for unit in recipes(m))
    kwargs = flag_kwargs(field, switched_on)
    return {**kwargs, "metavar": metavar} if "type" in kwargs else kwargs


class DefaultsHelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Says an option's default once: not for options whose help already names it, not for
    required ones or switches, and not when there is none (``(default: None)`` tells a reader
    nothing)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if (action.default in (None, argparse.SUPPRESS) or action.required
                or action.nargs == 0 or "default" in text):
            return text
        return super()._get_help_string(action)
