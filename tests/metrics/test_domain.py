"""The MNIST domain classifier and the metrics built on it (ganforge.metrics.domain)."""

import math
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from ganforge.errors import GanforgeError
from ganforge.metrics.domain import (
    DEFAULT_WEIGHTS_PATH,
    WEIGHTS_SHA256,
    ClassifierWeightsError,
    LeNet,
    MNISTClassifierExtractor,
    class_histogram,
    classifier_score,
    confident_share,
    domain_report,
    kl_to_uniform,
    load_mnist_classifier,
    mnist_fid,
    prepare_images,
    sha256_of,
)

# /work/shared/data beside the checkout /work/main: real MNIST for development and CI only.
SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
needs_mnist = pytest.mark.skipif(
    not (SHARED_DATA / "mnist" / "t10k-images-idx3-ubyte.gz").exists(),
    reason="real MNIST (../shared/data/mnist) is not present",
)


@pytest.fixture(scope="module")
def extractor():
    return MNISTClassifierExtractor()


@pytest.fixture(scope="module")
def mnist_test():
    from ganforge.data import load_dataset

    ds = load_dataset("mnist", data_dir=SHARED_DATA, split="test")
    return ds.images[:2000], ds.labels[:2000]


def test_shared_data_path_is_beside_the_checkout():
    repo = Path(__file__).resolve().parents[2]
    assert (repo / "src" / "ganforge" / "metrics" / "domain.py").is_file()
    assert SHARED_DATA == repo.parent / "shared" / "data"


def test_lenet_shapes_and_input_conventions():
    torch.manual_seed(0)
    model = LeNet().eval()
    x = torch.rand(4, 1, 28, 28)
    with torch.no_grad():
        assert model.features(x).shape == (4, model.feature_dim) == (4, 128)
        logits = model(x)
        assert logits.shape == (4, 10)
        # uint8, [N, H, W], RGB and other sizes are mapped onto the same [0, 1] 28x28 input.
        as_uint8 = (x * 255).round().to(torch.uint8)
        torch.testing.assert_close(model(as_uint8), model(as_uint8.float() / 255))
        torch.testing.assert_close(model(x[:, 0]), logits)
        torch.testing.assert_close(model(x.expand(-1, 3, -1, -1)), logits)
        assert model(torch.rand(2, 3, 32, 32)).shape == (2, 10)
    assert prepare_images(torch.rand(2, 1, 64, 64)).shape == (2, 1, 28, 28)


def test_tanh_range_images_are_refused():
    with pytest.raises(GanforgeError, match=r"\[0, 1\]"):
        prepare_images(torch.rand(2, 1, 28, 28) * 2 - 1)


def test_packaged_weights_match_their_checksum():
    assert DEFAULT_WEIGHTS_PATH.is_file()
    assert DEFAULT_WEIGHTS_PATH.stat().st_size < 2 * 1024 * 1024
    assert sha256_of(DEFAULT_WEIGHTS_PATH.read_bytes()) == WEIGHTS_SHA256
    model = load_mnist_classifier()
    assert isinstance(model, LeNet) and not model.training


def test_corrupted_weights_raise_a_one_line_error_naming_the_file(tmp_path):
    bad = tmp_path / "mnist_lenet.safetensors"
    shutil.copy(DEFAULT_WEIGHTS_PATH, bad)
    data = bytearray(bad.read_bytes())
    data[-100] ^= 0xFF
    bad.write_bytes(bytes(data))
    with pytest.raises(ClassifierWeightsError, match="sha256") as info:
        load_mnist_classifier(bad)
    message = str(info.value)
    assert str(bad) in message and "\n" not in message
    assert isinstance(info.value, ValueError)


def test_missing_and_unreadable_weights_name_the_file(tmp_path):
    missing = tmp_path / "nope.safetensors"
    with pytest.raises(ClassifierWeightsError, match="not found") as info:
        load_mnist_classifier(missing)
    assert str(missing) in str(info.value)
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00not json at all!")
    with pytest.raises(ClassifierWeightsError, match="cannot be read"):
        load_mnist_classifier(garbage, sha256=None)


@needs_mnist
def test_packaged_classifier_is_accurate_on_mnist_test(extractor, mnist_test):
    images, labels = mnist_test
    out = extractor.features(images)
    assert out["pool"].shape == (2000, 128) and out["logits"].shape == (2000, 10)
    accuracy = float((out["logits"].argmax(1) == labels).double().mean())
    assert accuracy >= 0.99
    assert extractor.name == "mnist-lenet" and WEIGHTS_SHA256.startswith(extractor.hash)


@needs_mnist
def test_mnist_fid_is_zero_on_itself_and_grows_with_a_shift(extractor, mnist_test):
    images = mnist_test[0][:1000]
    assert mnist_fid(images, images, extractor=extractor) == pytest.approx(0.0, abs=1e-6)
    # Digits moved 4 px right: still digits, but with visibly different features.
    shifted = torch.zeros_like(images)
    shifted[..., 4:] = images[..., :-4]
    other_half = mnist_test[0][1000:2000]
    same_domain = mnist_fid(images, other_half, extractor=extractor)
    moved = mnist_fid(images, shifted, extractor=extractor)
    assert moved > 5 * same_domain > 0


@needs_mnist
def test_domain_report_keys(extractor, mnist_test):
    images = mnist_test[0][:500]
    report = domain_report(images, real_images=images, extractor=extractor)
    assert report["mnist_fid"] == pytest.approx(0.0, abs=1e-6)
    assert sum(report["class_histogram"]) == report["num_fake"] == report["num_real"] == 500
    assert report["classifier_score"] > 9 and report["confident_share"] > 0.95
    assert "mnist_fid" not in domain_report(images, extractor=extractor)


# ----------------------------------------------------------- metrics against plain numpy


def _random_logits(n=200, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(scale=3.0, size=(n, 10))


def test_classifier_score_matches_the_is_formula_written_out():
    logits = _random_logits(203)
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    scores = []
    for part in np.array_split(probs, 5):
        p_y = part.mean(axis=0)
        kl = [sum(p[k] * math.log(p[k] / p_y[k]) for k in range(10)) for p in part]
        scores.append(math.exp(np.mean(kl)))
    mean, std = classifier_score(torch.from_numpy(logits), splits=5)
    assert mean == pytest.approx(np.mean(scores), rel=1e-10)
    assert std == pytest.approx(np.std(scores), rel=1e-8)


def test_classifier_score_extremes():
    # Every sample certain and the classes balanced: the maximum, 10.
    certain = np.full((100, 10), -50.0)
    certain[np.arange(100), np.arange(100) % 10] = 50.0
    assert classifier_score(certain, splits=1)[0] == pytest.approx(10.0, rel=1e-9)
    # All one class, or all uniform: the minimum, 1.
    assert classifier_score(np.tile(certain[:1], (50, 1)), splits=2)[0] == pytest.approx(1.0)
    assert classifier_score(np.zeros((50, 10)), splits=2) == pytest.approx((1.0, 0.0))
    with pytest.raises(GanforgeError):
        classifier_score(np.zeros((5, 10)), splits=10)


def test_class_histogram_and_kl_to_uniform():
    logits = _random_logits(300, seed=1)
    counts = class_histogram(logits)
    expected = np.array([(logits.argmax(axis=1) == k).sum() for k in range(10)])
    np.testing.assert_array_equal(counts, expected)
    p = expected / expected.sum()
    assert kl_to_uniform(counts) == pytest.approx(sum(pk * math.log(pk / 0.1) for pk in p))
    assert kl_to_uniform(np.full(10, 7)) == pytest.approx(0.0, abs=1e-12)
    one_mode = np.zeros(10)
    one_mode[3] = 40
    assert kl_to_uniform(one_mode) == pytest.approx(math.log(10))
    with pytest.raises(GanforgeError):
        kl_to_uniform(np.zeros(10))


def test_confident_share():
    logits = _random_logits(400, seed=2)
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    for threshold in (0.5, 0.9, 0.99):
        expected = np.mean([max(row) >= threshold for row in probs])
        assert confident_share(torch.from_numpy(logits), threshold) == pytest.approx(expected)


def test_packaged_digits_classifier_reads_the_held_out_digits():
    from ganforge.data import load_dataset
    from ganforge.metrics.domain import (
        DIGITS_WEIGHTS_PATH,
        DIGITS_WEIGHTS_SHA256,
        DigitsClassifierExtractor,
    )

    assert sha256_of(DIGITS_WEIGHTS_PATH.read_bytes()) == DIGITS_WEIGHTS_SHA256
    extractor = DigitsClassifierExtractor()
    assert extractor.name == "digits-lenet" and DIGITS_WEIGHTS_SHA256.startswith(extractor.hash)
    test = load_dataset("digits", split="test", image_size=16)  # never seen in training
    logits = extractor.features(test.images)["logits"]
    assert (logits.argmax(1) == test.labels).double().mean() >= 0.97
    assert confident_share(logits) >= 0.95
