"""IS, KID, precision/recall and density/coverage against direct loop-based references.

The references below follow the papers' definitions one sample at a time with plain Python
loops and numpy; they share no code with ganforge.metrics.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from ganforge.metrics import kid, prdc
from ganforge.metrics.errors import MetricError
from ganforge.metrics.inception_score import inception_score
from ganforge.metrics.kid import kernel_inception_distance
from ganforge.metrics.prdc import density_coverage, precision_recall

# ---------------------------------------------------------------------------- references


def ref_inception_score(logits: np.ndarray, splits: int) -> tuple[float, float]:
    n = len(logits)
    scores = []
    for s in range(splits):
        rows = logits[s * n // splits : (s + 1) * n // splits]
        probs = []
        for row in rows:
            e = [math.exp(v - max(row)) for v in row]
            probs.append([v / sum(e) for v in e])
        marginal = [sum(p[c] for p in probs) / len(probs) for c in range(len(probs[0]))]
        kls = [
            sum(pc * math.log(pc / mc) for pc, mc in zip(p, marginal, strict=True)) for p in probs
        ]
        scores.append(math.exp(sum(kls) / len(kls)))
    mean = sum(scores) / splits
    return mean, math.sqrt(sum((s - mean) ** 2 for s in scores) / splits)


def ref_mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    d = x.shape[1]

    def k(a: np.ndarray, b: np.ndarray) -> float:
        return (float(np.dot(a, b)) / d + 1.0) ** 3

    m, n = len(x), len(y)
    kxx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    kyy = sum(k(y[i], y[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    kxy = sum(k(x[i], y[j]) for i in range(m) for j in range(n)) / (m * n)
    return kxx + kyy - 2 * kxy


def ref_radii(x: np.ndarray, k: int) -> list[float]:
    radii = []
    for i in range(len(x)):
        dists = sorted(np.linalg.norm(x[i] - x[j]) for j in range(len(x)) if j != i)
        radii.append(dists[k - 1])
    return radii


def ref_precision_recall(real: np.ndarray, fake: np.ndarray, k: int) -> tuple[float, float]:
    r_real, r_fake = ref_radii(real, k), ref_radii(fake, k)

    def inside(p: np.ndarray, centres: np.ndarray, radii: list[float]) -> bool:
        return any(np.linalg.norm(p - c) <= r for c, r in zip(centres, radii, strict=True))

    precision = sum(inside(f, real, r_real) for f in fake) / len(fake)
    recall = sum(inside(r, fake, r_fake) for r in real) / len(real)
    return precision, recall


def ref_density_coverage(real: np.ndarray, fake: np.ndarray, k: int) -> tuple[float, float]:
    radii = ref_radii(real, k)
    count = 0
    for f in fake:
        for r, rad in zip(real, radii, strict=True):
            count += np.linalg.norm(f - r) < rad
    density = count / (k * len(fake))
    covered = 0
    for r, rad in zip(real, radii, strict=True):
        covered += min(np.linalg.norm(r - f) for f in fake) < rad
    return density, covered / len(real)


# --------------------------------------------------------------------------------- tests


def test_inception_score_matches_reference() -> None:
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((53, 7)) * 3
    got = inception_score(torch.from_numpy(logits).float(), splits=5)
    want = ref_inception_score(logits.astype(np.float32).astype(np.float64), splits=5)
    assert got == pytest.approx(want, rel=1e-9)


def test_inception_score_extremes_and_errors() -> None:
    # one-hot confident predictions spread evenly over C classes score exactly C
    logits = np.full((40, 8), -1e4)
    logits[np.arange(40), np.arange(40) % 8] = 1e4
    mean, std = inception_score(logits, splits=5)
    assert mean == pytest.approx(8.0, rel=1e-12) and std == pytest.approx(0.0, abs=1e-9)
    # identical predictions score exactly 1
    assert inception_score(np.zeros((10, 5)), splits=2)[0] == pytest.approx(1.0)
    with pytest.raises(MetricError, match="at least 10 samples"):
        inception_score(np.zeros((9, 5)), splits=10)


def test_kid_full_subsets_equal_full_set_mmd() -> None:
    # With subset_size == N every subset is a permutation of the whole set, and the unbiased
    # MMD^2 does not depend on order: each subset must give the full-set value.
    rng = np.random.default_rng(1)
    real = rng.standard_normal((24, 5))
    fake = rng.standard_normal((24, 5)) * 1.3 + 0.4
    mean, std = kernel_inception_distance(real, fake, num_subsets=7, subset_size=24, seed=3)
    assert mean == pytest.approx(ref_mmd2_unbiased(real, fake), rel=1e-10)
    assert std == pytest.approx(0.0, abs=1e-10)


def test_kid_subsets_match_reference_on_the_same_draws(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(2)
    real = rng.standard_normal((40, 6))
    fake = rng.standard_normal((35, 6)) + 0.3
    monkeypatch.setattr(kid, "_MAX_CHUNK_BYTES", 1)  # one subset per chunk: the batched path
    mean, std = kernel_inception_distance(real, fake, num_subsets=4, subset_size=10, seed=0)
    # the same subsets, each recomputed by the loop formula
    idx_real, idx_fake = kid.draw_subsets(40, 35, num_subsets=4, subset_size=10, seed=0)
    assert all(len(set(rows)) == 10 for rows in [*idx_real, *idx_fake])  # no replacement
    values = [ref_mmd2_unbiased(real[r], fake[f]) for r, f in zip(idx_real, idx_fake, strict=True)]
    assert mean == pytest.approx(np.mean(values), rel=1e-10)
    assert std == pytest.approx(np.std(values), rel=1e-8)
    monkeypatch.undo()
    again = kernel_inception_distance(real, fake, num_subsets=4, subset_size=10, seed=0)
    assert again == pytest.approx((mean, std), rel=1e-12)
    assert kernel_inception_distance(real, fake, num_subsets=4, subset_size=10, seed=1) != again


def test_kid_errors_name_the_sample_count() -> None:
    x = np.zeros((20, 4))
    with pytest.raises(MetricError, match="at least 50 fake samples, got 20"):
        kernel_inception_distance(np.zeros((60, 4)), x, subset_size=50)
    with pytest.raises(MetricError, match="at least 50 real samples, got 20"):
        kernel_inception_distance(x, np.zeros((60, 4)), subset_size=50)
    with pytest.raises(MetricError, match="widths differ"):
        kernel_inception_distance(x, np.zeros((20, 5)), subset_size=10)


@pytest.mark.parametrize("tiny_chunks", [False, True])
def test_precision_recall_matches_reference(
    tiny_chunks: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if tiny_chunks:  # exercise the chunked code path: a few rows at a time
        monkeypatch.setattr(prdc, "_MAX_CHUNK_ELEMENTS", 100)
    rng = np.random.default_rng(3)
    real = rng.standard_normal((45, 4))
    fake = rng.standard_normal((38, 4)) * 1.5 + 1.0
    for k in (1, 3, 5):
        got = precision_recall(real, fake, k=k)
        assert got == pytest.approx(ref_precision_recall(real, fake, k), abs=1e-12)
    p, r = precision_recall(real, fake)
    assert 0.0 < p < 1.0 and 0.0 < r < 1.0  # the data are chosen so neither is trivial


@pytest.mark.parametrize("tiny_chunks", [False, True])
def test_density_coverage_matches_reference(
    tiny_chunks: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if tiny_chunks:
        monkeypatch.setattr(prdc, "_MAX_CHUNK_ELEMENTS", 100)
    rng = np.random.default_rng(4)
    real = rng.standard_normal((41, 4))
    fake = rng.standard_normal((33, 4)) * 0.7 + 0.4
    for k in (2, 5):
        got = density_coverage(torch.from_numpy(real), torch.from_numpy(fake), k=k)
        assert got == pytest.approx(ref_density_coverage(real, fake, k), abs=1e-12)


def test_identical_sets_are_fully_precise_and_covered() -> None:
    x = np.random.default_rng(5).standard_normal((30, 3))
    assert precision_recall(x, x) == (1.0, 1.0)
    _, coverage = density_coverage(x, x)
    assert coverage == 1.0


def test_knn_metrics_name_the_needed_sample_count() -> None:
    with pytest.raises(MetricError, match="at least 4 real samples, got 3"):
        precision_recall(np.zeros((3, 2)), np.zeros((10, 2)), k=3)
    with pytest.raises(MetricError, match="at least 4 fake samples, got 3"):
        precision_recall(np.zeros((10, 2)), np.zeros((3, 2)), k=3)
    with pytest.raises(MetricError, match="at least 6 real samples, got 5"):
        density_coverage(np.zeros((5, 2)), np.zeros((10, 2)), k=5)
    with pytest.raises(MetricError, match="at least 1 fake"):
        density_coverage(np.zeros((10, 2)), np.zeros((0, 2)))
    with pytest.raises(MetricError, match="NaN"):
        precision_recall(np.full((10, 2), np.nan), np.zeros((10, 2)))
