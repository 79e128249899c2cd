"""Fréchet distance: every trace-sqrt method against independent references."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.linalg
import torch

from ganforge.metrics.errors import MetricError
from ganforge.metrics.frechet import (
    TRACE_SQRT_METHODS,
    StatisticsAccumulator,
    feature_statistics,
    frechet_distance,
    trace_sqrt_product,
)


def random_features(rng: np.random.Generator, n: int, d: int, shift: float = 0.0) -> np.ndarray:
    """Correlated, non-negative features, like Inception's post-ReLU pool3."""
    mixing = rng.standard_normal((d, d)) / np.sqrt(d)
    return np.maximum(rng.standard_normal((n, d)) @ mixing + shift, 0.0)


def pytorch_fid_distance(mu1, sigma1, mu2, sigma2, eps=1e-6):  # noqa: ANN001, ANN201
    """pytorch-fid's calculate_frechet_distance, written out (scipy sqrtm of the product)."""
    diff = mu1 - mu2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        covmean = scipy.linalg.sqrtm(sigma1.dot(sigma2))
        if not np.isfinite(covmean).all():
            offset = np.eye(sigma1.shape[0]) * eps
            covmean = scipy.linalg.sqrtm((sigma1 + offset).dot(sigma2 + offset))
    covmean = np.real(covmean)
    return diff.dot(diff) + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean)


def exact_trace_sqrt_from_features(x1: np.ndarray, x2: np.ndarray) -> float:
    """Tr (S1 S2)^{1/2} without forming S1 S2: S_i = X_i^T X_i / (n_i - 1) for centred X_i, so
    the eigenvalues of S1 S2 are the squared singular values of X2 X1^T / sqrt((n1-1)(n2-1))."""
    c1 = x1 - x1.mean(axis=0)
    c2 = x2 - x2.mean(axis=0)
    scale = np.sqrt((len(x1) - 1) * (len(x2) - 1))
    return float(scipy.linalg.svdvals(c2 @ c1.T).sum() / scale)


@pytest.mark.parametrize("method", TRACE_SQRT_METHODS)
def test_trace_sqrt_full_rank_matches_exact(method: str) -> None:
    rng = np.random.default_rng(0)
    x1, x2 = random_features(rng, 400, 96), random_features(rng, 300, 96, shift=0.2)
    _, s1 = feature_statistics(x1)
    _, s2 = feature_statistics(x2)
    want = exact_trace_sqrt_from_features(x1, x2)
    assert trace_sqrt_product(s1, s2, method=method) == pytest.approx(want, rel=1e-10)


@pytest.mark.parametrize("method", ["cholesky", "eigh"])
def test_trace_sqrt_rank_deficient_matches_exact(method: str) -> None:
    # Fewer samples than dimensions: both covariances are singular (rank 39 and 49 of 128).
    rng = np.random.default_rng(1)
    x1, x2 = random_features(rng, 40, 128), random_features(rng, 50, 128, shift=0.1)
    _, s1 = feature_statistics(x1)
    _, s2 = feature_statistics(x2)
    want = exact_trace_sqrt_from_features(x1, x2)
    assert trace_sqrt_product(s1, s2, method=method) == pytest.approx(want, rel=1e-11)


@pytest.mark.filterwarnings("ignore::scipy.linalg.LinAlgWarning")  # sqrtm of a singular product
def test_trace_sqrt_commuting_diagonal_closed_form() -> None:
    a = np.array([4.0, 9.0, 0.0, 2.0, 1e-3])
    b = np.array([1.0, 4.0, 5.0, 8.0, 1e3])
    want = np.sqrt(a * b).sum()  # diag matrices commute: (AB)^{1/2} = diag(sqrt(a b))
    for method in TRACE_SQRT_METHODS:
        got = trace_sqrt_product(np.diag(a), np.diag(b), method=method)
        assert got == pytest.approx(want, rel=1e-9), method
        assert trace_sqrt_product(np.zeros((3, 3)), np.eye(3), method=method) == 0.0, method


def test_frechet_distance_matches_pytorch_fid_formula() -> None:
    rng = np.random.default_rng(2)
    mu1, s1 = feature_statistics(random_features(rng, 1000, 128))
    mu2, s2 = feature_statistics(random_features(rng, 1000, 128, shift=0.05))
    want = pytorch_fid_distance(mu1, s1, mu2, s2)
    for method in TRACE_SQRT_METHODS:
        got = frechet_distance(mu1, s1, mu2, s2, method=method)
        assert got == pytest.approx(want, rel=1e-6), method
    # the trace cancels heavily (FID << Tr S1 + Tr S2), so this is a demanding comparison
    assert want < 0.2 * (np.trace(s1) + np.trace(s2))


def test_frechet_distance_known_values() -> None:
    # N(0, I) vs N(m, 4 I) in 3-d: |m|^2 + Tr(I + 4I - 2 * 2I) = |m|^2 + 3.
    m = np.array([1.0, 2.0, -2.0])
    got = frechet_distance(np.zeros(3), np.eye(3), m, 4 * np.eye(3))
    assert got == pytest.approx(9.0 + 3.0, rel=1e-12)
    rng = np.random.default_rng(3)
    mu, s = feature_statistics(random_features(rng, 200, 32))
    assert 0.0 <= frechet_distance(mu, s, mu, s) < 1e-9  # never negative from rounding


def test_frechet_distance_accepts_torch_and_checks_shapes() -> None:
    mu, s = torch.zeros(4, dtype=torch.float32), torch.eye(4)
    assert frechet_distance(mu, s, mu + 1, s) == pytest.approx(4.0)
    with pytest.raises(MetricError, match="dimension"):
        frechet_distance(np.zeros(4), np.eye(4), np.zeros(3), np.eye(3))
    with pytest.raises(MetricError, match="square"):
        frechet_distance(np.zeros(4), np.ones((4, 3)), np.zeros(4), np.eye(4))
    with pytest.raises(MetricError, match="NaN"):
        frechet_distance(
            np.zeros(2), np.array([[1.0, np.nan], [np.nan, 1.0]]), np.zeros(2), np.eye(2)
        )
    with pytest.raises(MetricError, match="unknown method"):
        trace_sqrt_product(np.eye(2), np.eye(2), method="magic")  # type: ignore[arg-type]


def test_feature_statistics_matches_numpy_and_needs_two_samples() -> None:
    rng = np.random.default_rng(4)
    x = rng.standard_normal((50, 6)).astype(np.float32)
    mu, sigma = feature_statistics(torch.from_numpy(x))
    assert mu.dtype == sigma.dtype == np.float64
    np.testing.assert_allclose(mu, x.astype(np.float64).mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(sigma, np.cov(x.astype(np.float64), rowvar=False), rtol=1e-12)
    with pytest.raises(MetricError, match="at least 2"):
        feature_statistics(x[:1])
    _, one_dim = feature_statistics(x[:, :1])
    assert one_dim.shape == (1, 1)


def test_statistics_accumulator_matches_batch_statistics() -> None:
    rng = np.random.default_rng(5)
    # a large common offset is where naive sum-of-squares accumulation loses digits
    x = rng.standard_normal((257, 8)) + 1e4
    acc = StatisticsAccumulator()
    for chunk in np.array_split(x, [1, 50, 51, 200]):
        acc.update(chunk)
    acc.update(x[:0])
    mu, sigma = acc.statistics()
    assert acc.count == 257
    np.testing.assert_allclose(mu, x.mean(axis=0), rtol=1e-14)
    np.testing.assert_allclose(sigma, np.cov(x, rowvar=False), rtol=1e-9, atol=1e-12)
    with pytest.raises(MetricError, match="at least 2"):
        StatisticsAccumulator().statistics()
    with pytest.raises(MetricError, match="width"):
        acc.update(np.zeros((2, 3)))
