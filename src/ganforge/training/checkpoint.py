"""Checkpoints: tensors in safetensors, everything else as JSON; written atomically.

The file holds the flat tensor dict plus a JSON ``state`` string in the safetensors metadata, so
one rename publishes weights and counters together. ``state.json`` beside it is a readable copy.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from ganforge.errors import GanforgeError

CHECKPOINT = "checkpoint.safetensors"
FORMAT = "ganforge-checkpoint-1"


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


def save_checkpoint(path: Path, tensors: dict[str, torch.Tensor], state: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    plain = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    save_file(plain, str(tmp), metadata={"format": FORMAT, "state": json.dumps(state)})
    os.replace(tmp, path)


def load_checkpoint(path: Path) -> tuple[dict[str, torch.Tensor], dict]:
    if not path.exists():
        raise GanforgeError(f"{path} not found; is {path.parent} a ganforge run directory?")
    try:
        tensors = load_file(str(path))
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as f:
            metadata = f.metadata() or {}
    except (SafetensorError, OSError, ValueError) as e:
        raise GanforgeError(f"{path} is truncated or corrupt ({e}); resume from another run "
                            "or retrain") from None
    if metadata.get("format") != FORMAT:
        raise GanforgeError(f"{path} is not a {FORMAT} file")
    return tensors, json.loads(metadata["state"])


def prefixed(prefix: str, state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {f"{prefix}.{k}": v for k, v in state_dict.items()}


def unprefixed(prefix: str, tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    cut = len(prefix) + 1
    return {k[cut:]: v for k, v in tensors.items() if k.startswith(prefix + ".")}
