"""Disk cache for real-data feature statistics, as safetensors files (no pickle).

The real side of FID is the same for every evaluation of a run, and for every run on the same
data, so its mean and covariance (and, for KID and precision/recall, the raw features) are
computed once and stored under a key that hashes the data set's identity together with the
extractor's weights hash. Files are written to a temporary name and moved into place with
``os.replace``, so concurrent runs and crashes never leave a half-written entry.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import safe_open
from safetensors.numpy import save_file

from ganforge.metrics.errors import MetricError

CACHE_FORMAT = "ganforge-feature-stats-v1"


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/ganforge/stats`` (``~/.cache/ganforge/stats`` by default), beside the
    weights folder of :func:`ganforge.metrics.inception.weights_dirs`."""
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache).expanduser() / "ganforge" / "stats"


def statistics_key(dataset_id: str, extractor_hash: str, **details: Any) -> str:
    """A stable key for one data set seen through one extractor.

    ``dataset_id`` should pin the data exactly (name, split, resolution, number of images and,
    ideally, a checksum of the files); ``extractor_hash`` is the extractor's ``hash``; any
    ``details`` (say, ``num_images=50000``) are folded in as sorted JSON.
    """
    payload = {"dataset": dataset_id, "extractor": extractor_hash, **details}
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)


def cache_path(key: str, cache_dir: str | os.PathLike[str]) -> Path:
    """The file that holds the entry for ``key``: ``<cache_dir>/<sha256(key)[:32]>.safetensors``."""
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
    return Path(cache_dir) / f"{digest}.safetensors"


def _to_numpy(name: str, value: Any) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        value = value.detach().to("cpu").numpy()
    array = np.ascontiguousarray(value)
    if array.dtype == object or not np.issubdtype(array.dtype, np.number):
        raise MetricError(f"cached statistic {name!r} is not a numeric array ({array.dtype})")
    return array


def _read(path: Path, key: str, required: Iterable[str]) -> dict[str, np.ndarray] | None:
    """The entry at ``path`` if it is readable, made for ``key`` and holds ``required``."""
    try:
        with safe_open(str(path), framework="numpy") as f:
            metadata = f.metadata() or {}
            if metadata.get("format") != CACHE_FORMAT or metadata.get("key") != key:
                return None
            arrays = {name: f.get_tensor(name) for name in f.keys()}
    except Exception as exc:  # a truncated or foreign file is a cache miss, not a failure
        warnings.warn(f"ignoring unreadable statistics cache {path}: {exc}", stacklevel=3)
        return None
    if not set(required) <= set(arrays):
        return None
    return arrays


def _write_atomic(path: Path, arrays: Mapping[str, np.ndarray], key: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=path.name + ".", suffix=".part", dir=path.parent)
    os.close(fd)
    try:
        save_file(dict(arrays), tmp_name, metadata={"format": CACHE_FORMAT, "key": key})
        os.replace(tmp_name, path)
    finally:
        Path(tmp_name).unlink(missing_ok=True)


def cached_statistics(
    key: str,
    compute_fn: Callable[[], Mapping[str, Any]],
    cache_dir: str | os.PathLike[str],
    required: Iterable[str] = ("mu", "sigma"),
) -> dict[str, np.ndarray]:
    """Load the arrays cached under ``key``, or compute them with ``compute_fn`` and cache them.

    ``compute_fn()`` returns a mapping of numeric arrays or tensors, e.g. ``{"mu": ..., "sigma":
    ..., "pool": ...}`` (``pool`` being the raw features KID and precision/recall need). An entry
    that lacks one of ``required``, was made for another key (the file name is a hash of the
    key, and the full key is stored inside and compared), or cannot be read is recomputed and
    overwritten.
    """
    required = tuple(required)
    path = cache_path(key, cache_dir)
    if path.is_file():
        cached = _read(path, key, required)
        if cached is not None:
            return cached
    computed = {name: _to_numpy(name, value) for name, value in compute_fn().items()}
    missing = [name for name in required if name not in computed]
    if missing:
        raise MetricError(f"statistics for {key!r} lack {', '.join(missing)}")
    _write_atomic(path, computed, key)
    return computed
