"""Metric registry, the safetensors statistics cache, and the generic extractor machinery."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from ganforge.metrics import METRICS, get_metric, register_metric
from ganforge.metrics.cache import cache_path, cached_statistics, statistics_key
from ganforge.metrics.errors import MetricError
from ganforge.metrics.extractor import (
    BatchedExtractor,
    FeatureExtractor,
    exact_float32,
    extract_features,
)
from ganforge.metrics.frechet import feature_statistics, frechet_distance

# ------------------------------------------------------------------------------ registry


def test_builtin_metrics_are_registered() -> None:
    assert {"fid", "is", "kid", "pr", "dc"} <= set(METRICS)
    assert get_metric("kid").needs_real == ("pool",)
    assert get_metric("fid").needs_real == ("stats",)
    assert get_metric("is").needs_fake == ("logits",)


def test_unknown_metric_lists_valid_names() -> None:
    with pytest.raises(MetricError) as info:
        get_metric("fdi")
    assert "fid" in str(info.value) and "kid" in str(info.value)


def test_duplicate_registration_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("ganforge.metrics.registry.METRICS", dict(METRICS))
    from ganforge.metrics import registry

    @register_metric("toy-metric")
    def toy(real, fake):  # noqa: ANN001, ANN202
        """A toy."""
        return {"toy": 1.0}

    assert registry.METRICS["toy-metric"](None, {}) == {"toy": 1.0}
    assert registry.METRICS["toy-metric"].description == "A toy."
    with pytest.raises(MetricError, match="registered twice"):
        register_metric("toy-metric")(toy)
    with pytest.raises(MetricError, match="registered twice"):
        register_metric("fid")(toy)


def test_registered_metrics_compute_from_feature_dicts() -> None:
    rng = np.random.default_rng(0)
    real = {"pool": rng.standard_normal((60, 8)), "logits": rng.standard_normal((60, 5))}
    fake = {"pool": rng.standard_normal((60, 8)) + 0.5, "logits": rng.standard_normal((60, 5))}
    mu, sigma = feature_statistics(real["pool"])
    from_stats = get_metric("fid")({"mu": mu, "sigma": sigma}, fake)["fid"]
    assert from_stats == pytest.approx(get_metric("fid")(real, fake)["fid"], rel=1e-12)
    assert from_stats == pytest.approx(
        frechet_distance(mu, sigma, *feature_statistics(fake["pool"])), rel=1e-12
    )
    assert set(get_metric("is")(None, fake, splits=3)) == {"is_mean", "is_std"}
    assert set(get_metric("kid")(real, fake, subset_size=20, num_subsets=3)) == {
        "kid_mean",
        "kid_std",
    }
    assert set(get_metric("pr")(real, fake)) == {"precision", "recall"}
    assert set(get_metric("dc")(real, fake)) == {"density", "coverage"}
    with pytest.raises(MetricError, match="needs real 'pool'"):
        get_metric("kid")({"mu": mu, "sigma": sigma}, fake)


# --------------------------------------------------------------------------------- cache


def test_cached_statistics_computes_once_and_stores_safetensors(tmp_path: Path) -> None:
    calls = []
    rng = np.random.default_rng(1)
    pool = rng.standard_normal((30, 4)).astype(np.float32)

    def compute() -> dict[str, object]:
        calls.append(1)
        mu, sigma = feature_statistics(pool)
        return {"mu": mu, "sigma": sigma, "pool": torch.from_numpy(pool)}

    key = statistics_key("cifar10/train/32px/n=50000", "abc123", num_images=30)
    first = cached_statistics(key, compute, tmp_path, required=("mu", "sigma", "pool"))
    second = cached_statistics(key, compute, tmp_path, required=("mu", "sigma", "pool"))
    assert len(calls) == 1
    for name in ("mu", "sigma", "pool"):
        np.testing.assert_array_equal(first[name], second[name])
    assert second["sigma"].dtype == np.float64 and second["pool"].dtype == np.float32

    path = cache_path(key, tmp_path)
    raw = path.read_bytes()
    (header_len,) = struct.unpack("<Q", raw[:8])  # safetensors: u64 header size + JSON header
    header = json.loads(raw[8 : 8 + header_len])
    assert header["__metadata__"]["key"] == key
    assert set(header) - {"__metadata__"} == {"mu", "sigma", "pool"}
    assert list(tmp_path.glob("*.part")) == []


def test_cache_recomputes_on_missing_fields_corruption_and_other_keys(tmp_path: Path) -> None:
    calls = []

    def compute(extra: bool = False):  # noqa: ANN202
        calls.append(1)
        out = {"mu": np.zeros(3), "sigma": np.eye(3)}
        if extra:
            out["pool"] = np.ones((5, 3))
        return out

    key = statistics_key("mnist/train", "h1")
    cached_statistics(key, compute, tmp_path)
    # raw features now required but not cached: recompute
    got = cached_statistics(key, lambda: compute(True), tmp_path, required=("mu", "pool"))
    assert len(calls) == 2 and "pool" in got
    # a corrupt file is a miss, not a crash
    cache_path(key, tmp_path).write_bytes(b"garbage")
    with pytest.warns(UserWarning, match="unreadable"):
        cached_statistics(key, compute, tmp_path)
    assert len(calls) == 3
    # another extractor hash is another entry
    assert cache_path(statistics_key("mnist/train", "h2"), tmp_path) != cache_path(key, tmp_path)
    # compute_fn must deliver what is required
    with pytest.raises(MetricError, match="lack sigma"):
        cached_statistics("other", lambda: {"mu": np.zeros(2)}, tmp_path)


def test_statistics_key_is_order_independent() -> None:
    assert statistics_key("d", "h", a=1, b=2) == statistics_key("d", "h", b=2, a=1)
    assert statistics_key("d", "h") != statistics_key("d", "h2")


# ----------------------------------------------------------------------------- extractor


class MeanColourExtractor(BatchedExtractor):
    """A tiny extractor: per-channel means as features, records batch sizes and grad mode."""

    name = "mean-colour"
    hash = "0"

    def __init__(self, batch_size: int) -> None:
        super().__init__(batch_size=batch_size)
        self.seen: list[tuple[int, bool]] = []

    def forward_batch(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        self.seen.append((len(images), torch.is_inference_mode_enabled()))
        x = images.float() / 255 if images.dtype == torch.uint8 else images
        return {"pool": x.mean(dim=(2, 3))}

    def empty_features(self) -> dict[str, torch.Tensor]:
        return {"pool": torch.empty(0, 3)}


def test_batched_extractor_batches_under_inference_mode() -> None:
    ext = MeanColourExtractor(batch_size=4)
    assert isinstance(ext, FeatureExtractor)
    images = torch.rand(10, 3, 5, 5)
    out = ext.features(images)
    assert [n for n, _ in ext.seen] == [4, 4, 2]
    assert all(mode for _, mode in ext.seen)
    torch.testing.assert_close(out["pool"], images.mean(dim=(2, 3)))
    ext.features(images, batch_size=3)
    assert [n for n, _ in ext.seen[3:]] == [3, 3, 3, 1]
    # images from a generator arrive batch by batch
    batches = (torch.full((2, 3, 4, 4), v) for v in (0.0, 0.5, 1.0))
    pooled = extract_features(ext, batches)["pool"]
    assert pooled.shape == (6, 3) and float(pooled[-1, 0]) == 1.0
    with pytest.raises(MetricError, match="no images"):
        extract_features(ext, [])


def test_exact_float32_restores_global_flags() -> None:
    before = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
    torch.backends.cudnn.allow_tf32 = True
    try:
        with exact_float32(torch.device("cpu")):
            assert not torch.backends.cudnn.allow_tf32
            assert not torch.backends.cuda.matmul.allow_tf32
        assert torch.backends.cudnn.allow_tf32
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = before
