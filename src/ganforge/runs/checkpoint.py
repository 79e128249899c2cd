"""Checkpoints: tensors in safetensors, everything else as JSON; written atomically, verified
when read.

The file holds the flat tensor dict plus a JSON ``state`` string in the safetensors metadata, so
one rename publishes weights and counters together. ``state.json`` beside it is a readable copy.
The metadata also holds ``sha256``, a digest of every tensor (name, dtype, shape, bytes) and of
the state string, written at save time: a flipped byte anywhere in the file is caught on load.
A checkpoint whose weights are not finite, or run away past :data:`WEIGHT_LIMIT`, is never
written, and one that holds them (written by hand, or by an older ganforge) is refused on load.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file
from safetensors.torch import save as safetensors_bytes

from ganforge.errors import GanforgeError, TrainingDiverged
from ganforge.files import atomic_write

CHECKPOINT = "checkpoint.safetensors"
FORMAT = "ganforge-checkpoint-1"
# The tensors of the networks, as opposed to the optimisers' moments, the batcher's position and
# the random states. Only they are held to WEIGHT_LIMIT.
# Training state beside the networks (the EMA's update count too): not weights.
OTHER_PREFIXES = ("optim.", "batcher.", "rng.", "ema.")
# The averaged generator's weights, which sampling uses when a run kept them.
EMA_PREFIX = "G_ema"
# No weight or statistic of a healthy network comes near this: Adam moves a weight by about the
# learning rate per step, and batch norm's running variance, the largest statistic, is the
# square of its activations' scale (1e4 here). Weights past it have run away (an --lr of 1e6
# drives running variances to 1e29 within ten steps) and overflow soon after; a run stops there
# rather than save them.
WEIGHT_LIMIT = 1e8


def is_weight(key: str) -> bool:
    return not key.startswith(OTHER_PREFIXES)


def flatten_optimizer(prefix: str, state: dict) -> tuple[dict[str, torch.Tensor], dict]:
    """Split ``optimizer.state_dict()`` into tensors (by dotted key) and JSON-able rest."""
    # A capturable optimiser's learning rate is a 0-d device tensor: stored as the number.
    groups = [{k: v.item() if isinstance(v, torch.Tensor) else v for k, v in g.items()}
              for g in state["param_groups"]]
    tensors, rest = {}, {"param_groups": groups, "state": {}}
    for index, entry in state["state"].items():
        plain = {}
        for key, value in entry.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{prefix}.{index}.{key}"] = value
            else:
                plain[key] = value
        rest["state"][str(index)] = plain
    return tensors, rest


def unflatten_optimizer(prefix: str, tensors: dict[str, torch.Tensor], rest: dict) -> dict:
    state: dict[int, dict[str, Any]] = {int(i): dict(v) for i, v in rest["state"].items()}
    for key, value in tensors.items():
        if key.startswith(prefix + "."):
            index, name = key[len(prefix) + 1 :].split(".", 1)
            state.setdefault(int(index), {})[name] = value
    # JSON turned tuples such as Adam's betas into lists; give the optimiser back what it saved.
    groups = [{k: tuple(v) if isinstance(v, list) and k != "params" else v for k, v in g.items()}
              for g in rest["param_groups"]]
    return {"state": state, "param_groups": groups}


def content_digest(tensors: dict[str, torch.Tensor], state_text: str) -> str:
    """sha256 over every tensor's name, dtype, shape and bytes, in name order, then the state."""
    h = hashlib.sha256()
    for key in sorted(tensors):
        t = tensors[key]
        h.update(f"{key}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.reshape(-1).contiguous().view(torch.uint8).numpy())
    h.update(state_text.encode())
    return h.hexdigest()


def unhealthy_weights(tensors: dict[str, torch.Tensor]) -> str | None:
    """What is wrong with ``tensors``: the floating-point ones that hold NaN or inf, or weights
    (see :func:`is_weight`) beyond ±WEIGHT_LIMIT; None when nothing is."""
    bad, runaway = [], []
    for key, t in tensors.items():
        if not t.is_floating_point() or not t.numel():
            continue
        largest = t.detach().abs().max().item()
        if not math.isfinite(largest):
            bad.append(key)
        elif is_weight(key) and largest > WEIGHT_LIMIT:
            runaway.append((key, largest))
    if bad:
        return f"{len(bad)} tensors hold NaN or inf (first: {bad[0]})"
    if runaway:
        key, largest = max(runaway, key=lambda kv: kv[1])
        return (f"{len(runaway)} tensors hold weights beyond ±{WEIGHT_LIMIT:g} (largest: {key}, "
                f"{largest:.3g})")
    return None


def save_checkpoint(path: Path, tensors: dict[str, torch.Tensor], state: dict) -> None:
    """Write the checkpoint atomically (a temporary file, then one rename), with its digest.
    Refuses weights that are not finite or have run away: such a file could be neither sampled
    nor resumed, and it would replace the last good one."""
    plain = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    problem = unhealthy_weights(plain)
    if problem:
        raise TrainingDiverged(f"not writing {path}: {problem}")
    state_text = json.dumps(state, allow_nan=False)
    metadata = {"format": FORMAT, "state": state_text,
                "sha256": content_digest(plain, state_text)}
    atomic_write(path, safetensors_bytes(plain, metadata=metadata))


def read_metadata(path: Path) -> dict[str, str]:
    """The safetensors metadata of ``path`` alone, read from its header."""
    try:
        with safe_open(str(path), framework="pt") as f:
            return f.metadata() or {}
    except (SafetensorError, OSError, ValueError) as e:
        raise GanforgeError(f"{path} is truncated or corrupt ({e}); resume from another run "
                            "or retrain") from None


def checkpoint_step(path: Path) -> int | None:
    """The step a checkpoint holds, from its header (None if unreadable)."""
    try:
        return int(json.loads(read_metadata(path)["state"])["step"])
    except (GanforgeError, KeyError, TypeError, ValueError):
        return None


def load_checkpoint(path: Path) -> tuple[dict[str, torch.Tensor], dict]:
    """The tensors and state of a checkpoint, verified: its format, its state metadata, its
    digest (when it has one: files of ganforge 0.1 do not) and finite weights within
    WEIGHT_LIMIT. Every failure is one line naming the file."""
    if not path.exists():
        raise GanforgeError(f"{path} not found; is {path.parent} a ganforge run directory?")
    metadata = read_metadata(path)
    try:
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as e:
        raise GanforgeError(f"{path} is truncated or corrupt ({e}); resume from another run "
                            "or retrain") from None
    if metadata.get("format") != FORMAT:
        raise GanforgeError(f"{path} is not a {FORMAT} file")
    try:
        state = json.loads(metadata["state"])
        if not isinstance(state, dict) or not isinstance(state.get("step"), int) or not (
                isinstance(state.get("total_steps"), int)):
            raise ValueError("no integer step and total_steps")
    except (KeyError, ValueError) as e:
        raise GanforgeError(f"{path} holds no readable training state in its metadata ({e}); "
                            "the file is damaged: resume from another run or retrain") from None
    if "sha256" in metadata and content_digest(tensors, metadata["state"]) != metadata["sha256"]:
        raise GanforgeError(f"{path} fails its content checksum: the file was altered or damaged "
                            "after it was written; resume from another copy or retrain")
    problem = unhealthy_weights(tensors)
    if problem:
        raise GanforgeError(f"{path} cannot be used: {problem}; the run diverged before it was "
                            "saved: retrain with a lower --lr")
    return tensors, state


def check_tensors(path: Path, tensors: dict[str, torch.Tensor],
                  expected: dict[str, torch.Tensor], others: tuple[str, ...] = (),
                  any_shape: tuple[str, ...] = ()) -> None:
    """Raise a one-line GanforgeError naming ``path`` unless ``tensors`` holds every key of
    ``expected`` with its shape and dtype (keys starting with ``any_shape``: its dtype), and
    nothing else but keys starting with ``others``.
    A checkpoint of another method, or of another configuration, fails here and not with a
    traceback deep inside ``load_state_dict``."""
    missing = [k for k in expected if k not in tensors]
    unknown = [k for k in tensors if k not in expected and not k.startswith(others)]
    if missing or unknown:
        parts = ([f"lacks {len(missing)} tensors the run's networks have (first: {missing[0]})"]
                 if missing else [])
        parts += ([f"holds {len(unknown)} tensors they do not (first: {unknown[0]})"]
                  if unknown else [])
        raise GanforgeError(f"{path} {' and '.join(parts)}: it is not a checkpoint of the "
                            "method and configuration in config.json beside it")
    for key, reference in expected.items():
        got = tensors[key]
        if got.dtype != reference.dtype or (got.shape != reference.shape
                                            and not key.startswith(any_shape)):
            raise GanforgeError(
                f"{path}: tensor {key} is {str(got.dtype).removeprefix('torch.')} "
                f"{list(got.shape)}, the run's networks need "
                f"{str(reference.dtype).removeprefix('torch.')} {list(reference.shape)}: it is "
                "not a checkpoint of the configuration in config.json beside it")


def check_optimizer_tensors(path: Path, tensors: dict[str, torch.Tensor], prefix: str,
                            params: list[torch.Tensor]) -> None:
    """The optimiser state of ``prefix`` fits ``params``: each per-parameter tensor (Adam's
    moments, SGD's momentum) has its parameter's shape and dtype; step counts are scalars."""
    for key, value in tensors.items():
        if not key.startswith(prefix + "."):
            continue
        index, _, name = key[len(prefix) + 1 :].partition(".")
        if not index.isdigit() or int(index) >= len(params):
            raise GanforgeError(f"{path}: optimiser tensor {key} belongs to no parameter of the "
                                "run's networks: it is not a checkpoint of this configuration")
        param = params[int(index)]
        if name == "step":
            ok = value.numel() == 1 and value.is_floating_point()
        else:
            ok = value.shape == param.shape and value.dtype == param.dtype
        if not ok:
            raise GanforgeError(f"{path}: optimiser tensor {key} is "
                                f"{str(value.dtype).removeprefix('torch.')} {list(value.shape)}, "
                                f"which does not fit its parameter {list(param.shape)}")


def prefixed(prefix: str, state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {f"{prefix}.{k}": v for k, v in state_dict.items()}


def unprefixed(prefix: str, tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    cut = len(prefix) + 1
    return {k[cut:]: v for k, v in tensors.items() if k.startswith(prefix + ".")}


def sampling_weights(path: Path, tensors: dict[str, torch.Tensor],
                     expected: dict[str, torch.Tensor], ema: bool) -> dict[str, torch.Tensor]:
    """The method's weights to sample with, from a checkpoint's ``tensors``: checked against the
    method's ``expected`` state dict (and G's averaged copy when the run kept one, ``ema``),
    with the averaged G in place of G when it is there."""
    generator = unprefixed("G", expected)
    check_tensors(path, tensors, {**expected, **(prefixed(EMA_PREFIX, generator) if ema else {})},
                  others=OTHER_PREFIXES)
    weights = {k: v for k, v in tensors.items() if k in expected}
    averaged = unprefixed(EMA_PREFIX, tensors)
    if averaged:
        weights.update(prefixed("G", averaged))
    return weights
