"""ganforge.metrics.evaluate (metrics over image sets, the real-statistics cache),
ganforge.metrics.sources (where images come from) and the MNIST domain metrics in the registry."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.numpy import load_file
from test_inception_pipeline import randomised_model

from ganforge.data import load_dataset
from ganforge.metrics import METRICS, get_metric
from ganforge.metrics import inception as inc
from ganforge.metrics.domain import (
    MNISTClassifierExtractor,
    class_histogram,
    classifier_score,
    kl_to_uniform,
    mnist_fid,
)
from ganforge.metrics.errors import MetricError
from ganforge.metrics.evaluate import Evaluator, default_metrics, evaluate, parse_metrics
from ganforge.metrics.extractor import InceptionExtractor
from ganforge.metrics.frechet import feature_statistics, frechet_distance
from ganforge.metrics.registry import metric_direction
from ganforge.metrics.sources import load_images, take, to_uint8_nchw


@pytest.fixture(scope="module")
def lenet() -> MNISTClassifierExtractor:
    return MNISTClassifierExtractor()


@pytest.fixture(scope="module")
def real_fake() -> tuple[torch.Tensor, torch.Tensor]:
    digits = load_dataset("digits", image_size=16)
    blobs = load_dataset("fake", image_size=16)
    return digits.images[:300], blobs.images[:300]


class CountingExtractor:
    """Wraps an extractor and records how many images it was asked to embed."""

    def __init__(self, inner) -> None:  # noqa: ANN001
        self.inner, self.name, self.hash, self.calls = inner, inner.name, inner.hash, []

    def features(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        self.calls.append(len(images))
        return self.inner.features(images)


# ------------------------------------------------------------------------ domain metrics


def test_domain_metrics_are_registered_with_extractor_and_direction() -> None:
    assert {"mnist-fid", "mnist-is", "mnist-classes", "stacked-modes"} <= set(METRICS)
    assert get_metric("mnist-fid").extractor == "mnist-lenet"
    assert get_metric("fid").extractor == "inception"
    assert get_metric("stacked-modes").extractor == "mnist-lenet-channels"
    assert metric_direction("mnist_fid") == "lower"
    assert metric_direction("mnist_is_mean") == "higher"
    assert metric_direction("stacked_modes") == "higher"
    assert metric_direction("kid_mean") == "lower"
    assert metric_direction("mnist_is_std") is None
    assert default_metrics("mnist") == "mnist-fid,mnist-is"
    assert default_metrics("stacked-mnist") == "stacked-modes"
    assert default_metrics("cifar10") == "fid"


def test_domain_metrics_match_the_domain_functions(real_fake, lenet) -> None:
    real, fake = real_fake
    values = evaluate(fake, real, ["mnist-fid", "mnist-is", "mnist-classes"], cache_dir=False,
                      extractors={"mnist-lenet": lenet})
    logits = lenet.features(fake)["logits"]
    assert values["mnist_fid"] == pytest.approx(mnist_fid(real, fake, lenet), rel=1e-9)
    assert values["mnist_fid"] > 10  # blobs are not digits
    mean, std = classifier_score(logits)
    assert (values["mnist_is_mean"], values["mnist_is_std"]) == pytest.approx((mean, std))
    counts = class_histogram(logits)
    assert values["mnist_class_histogram"] == counts.tolist() and sum(counts) == 300
    assert values["mnist_kl_uniform"] == pytest.approx(kl_to_uniform(counts))
    assert 0.0 <= values["mnist_confident_share"] <= 1.0


def test_mnist_fid_is_small_between_two_halves_of_real_digits(real_fake, lenet) -> None:
    real, _ = real_fake
    same = evaluate(real[150:], real[:150], "mnist-fid", cache_dir=False,
                    extractors={"mnist-lenet": lenet})["mnist_fid"]
    other = evaluate(real_fake[1][:150], real[:150], "mnist-fid", cache_dir=False,
                     extractors={"mnist-lenet": lenet})["mnist_fid"]
    assert same < other / 5


# ------------------------------------------------------------------------------- errors


def test_parse_metrics_dedupes_and_lists_valid_names_on_error() -> None:
    assert [m.name for m in parse_metrics(" mnist-fid, mnist-is,mnist-fid ,")] == [
        "mnist-fid", "mnist-is"]
    with pytest.raises(MetricError, match=r"unknown metric 'mnist_fid'; choose one of: .*mnist"):
        parse_metrics("mnist_fid")
    with pytest.raises(MetricError, match="no metrics given"):
        parse_metrics(" , ")
    with pytest.raises(MetricError, match="options given for metrics not evaluated: kid"):
        Evaluator("fid", options={"kid": {"subset_size": 10}})
    assert not Evaluator("mnist-is,stacked-modes").needs_real
    assert Evaluator("mnist-is,kid").needs_real


def test_too_few_samples_says_how_many_are_needed(real_fake) -> None:
    real, fake = real_fake
    with pytest.raises(MetricError, match="mnist-is needs at least 10 generated images, got 5"):
        evaluate(fake[:5], None, "mnist-is", cache_dir=False)
    with pytest.raises(MetricError, match="kid needs at least 1000 generated images, got 300"):
        evaluate(fake, real, "kid", cache_dir=False)
    with pytest.raises(MetricError, match="kid needs at least 50 real images, got 40"):
        evaluate(fake, real[:40], "kid", cache_dir=False, options={"kid": {"subset_size": 50}})


def test_metrics_that_compare_need_a_real_set(real_fake) -> None:
    with pytest.raises(MetricError, match="mnist-fid compare with real images"):
        evaluate(real_fake[1], None, "mnist-fid,mnist-is", cache_dir=False)


def test_missing_inception_weights_say_where_to_put_them(
    real_fake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(inc.WEIGHTS_ENV_VAR, str(tmp_path / "weights"))
    monkeypatch.setattr(inc, "FID_WEIGHTS_MIRRORS", ((tmp_path / "nowhere.pth").as_uri(),))
    with pytest.raises(MetricError) as info:
        evaluate(real_fake[1][:20], real_fake[0][:20], "fid", cache_dir=False)
    message = str(info.value)
    assert "\n" not in message
    assert f"save it as {tmp_path / 'weights' / inc.FID_WEIGHTS_FILENAME}" in message


# -------------------------------------------------------------------------------- cache


def test_real_statistics_are_cached_by_data_and_extractor(real_fake, lenet, tmp_path) -> None:
    real, fake = real_fake
    counting = CountingExtractor(lenet)
    first = evaluate(fake, real, "mnist-fid", cache_dir=tmp_path, real_id="digits:train:16px",
                     extractors={"mnist-lenet": counting})
    assert counting.calls == [300, 300]  # real, then fake
    files = list(tmp_path.glob("*.safetensors"))
    assert len(files) == 1 and set(load_file(str(files[0]))) == {"mu", "sigma"}
    again = evaluate(fake, real, "mnist-fid", cache_dir=tmp_path, real_id="digits:train:16px",
                     extractors={"mnist-lenet": counting})
    assert counting.calls == [300, 300, 300]  # real statistics came from the cache
    assert again == first
    # Other images, another count or another extractor hash: another entry.
    evaluate(fake, real[:200], "mnist-fid", cache_dir=tmp_path, real_id="digits:train:16px",
             extractors={"mnist-lenet": counting})
    changed = real.clone()
    changed[0, 0, 0, 0] ^= 1
    evaluate(fake, changed, "mnist-fid", cache_dir=tmp_path, real_id="digits:train:16px",
             extractors={"mnist-lenet": counting})
    counting.hash = "another-net"
    evaluate(fake, real, "mnist-fid", cache_dir=tmp_path, real_id="digits:train:16px",
             extractors={"mnist-lenet": counting})
    assert len(list(tmp_path.glob("*.safetensors"))) == 4
    assert counting.calls == [300, 300, 300, 200, 300, 300, 300, 300, 300]


def test_inception_metrics_with_a_random_network(real_fake, tmp_path) -> None:
    real, fake = real_fake[0][:4], real_fake[1][:4]
    extractor = CountingExtractor(InceptionExtractor(model=randomised_model(3), batch_size=4))
    outputs = []
    extractor.features = lambda images: outputs.append(extractor.inner.features(images)) or \
        outputs[-1]
    options = {"kid": {"subset_size": 3, "num_subsets": 2}, "pr": {"k": 2}, "is": {"splits": 2}}
    values = evaluate(fake, real, "fid,kid,pr,is", cache_dir=tmp_path, real_id="digits",
                      extractors={"inception": extractor}, options=options)
    assert set(values) == {"fid", "kid_mean", "kid_std", "precision", "recall", "is_mean",
                           "is_std"}
    assert all(math.isfinite(v) for v in values.values())
    (entry,) = tmp_path.glob("*.safetensors")
    cached = load_file(str(entry))
    assert set(cached) == {"mu", "sigma", "pool"} and cached["pool"].shape == (4, 2048)
    real_pool, fake_pool = outputs[0]["pool"], outputs[1]["pool"]
    np.testing.assert_array_equal(cached["pool"], real_pool.numpy())
    expected = frechet_distance(*feature_statistics(real_pool), *feature_statistics(fake_pool))
    assert values["fid"] == pytest.approx(expected, rel=1e-9) and values["fid"] > 0


# ------------------------------------------------------------------------------ sources


def test_take_is_a_seeded_subset_without_repeats() -> None:
    images = torch.arange(50, dtype=torch.uint8).reshape(50, 1, 1, 1)
    a, b = take(images, 20, seed=1), take(images, 20, seed=1)
    assert torch.equal(a, b) and len(a.unique()) == 20
    assert not torch.equal(a, take(images, 20, seed=2))
    assert take(images, 80) is images


def test_npz_sources_accept_nhwc_nchw_uint8_and_float(tmp_path) -> None:
    rng = np.random.default_rng(0)
    nchw = rng.integers(0, 256, (7, 3, 5, 5), dtype=np.uint8)
    np.savez(tmp_path / "nhwc.npz", nchw.transpose(0, 2, 3, 1))
    np.savez(tmp_path / "named.npz", labels=np.zeros(7), images=nchw.astype(np.float32) / 255)
    np.savez(tmp_path / "grey.npz", arr_0=nchw[:, 0])
    for name, want in [("nhwc", nchw), ("named", nchw), ("grey", nchw[:, :1])]:
        source = load_images(tmp_path / f"{name}.npz")
        assert source.images.dtype == torch.uint8
        assert torch.equal(source.images, torch.from_numpy(want)), name
    assert len(load_images(tmp_path / "nhwc.npz", n=3).images) == 3
    with pytest.raises(MetricError, match=r"float images must lie in \[0, 1\]"):
        to_uint8_nchw(np.full((2, 1, 4, 4), -1.0), "x.npz")
    with pytest.raises(MetricError, match="1 or 3 channels"):
        to_uint8_nchw(np.zeros((2, 4, 5, 5), np.uint8), "x.npz")
    with pytest.raises(MetricError, match="not found"):
        load_images(tmp_path / "missing.npz")


def test_folder_and_dataset_sources(tmp_path) -> None:
    for i in range(4):
        Image.fromarray(np.full((12, 12), 60 * i, np.uint8)).save(tmp_path / f"{i}.png")
    folder = load_images(tmp_path)
    assert folder.images.shape == (4, 1, 12, 12) and folder.images[3].max() == 180
    assert load_images(tmp_path, image_size=8).images.shape == (4, 1, 8, 8)
    test = load_images("digits:test")
    assert test.images.shape == (297, 1, 16, 16) and test.id == "digits:test:16px"
    assert load_images("digits", n=10, image_size=8).images.shape == (10, 1, 8, 8)
    with pytest.raises(ValueError, match="not a run directory, an image folder, an .npz"):
        load_images("nope")
