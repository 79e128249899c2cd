"""Speed and accuracy of the metrics layer: Fréchet distance and Inception feature extraction.

(a) ``frechet_distance`` on two random 2048-d statistics, with each trace-sqrt method, against
    pytorch-fid's formula (``scipy.linalg.sqrtm`` of the covariance product): times, FID values
    and the absolute and relative differences. A second case uses fewer samples than dimensions
    (singular covariances) and compares every method with an exact SVD-based reference.
(b) Inception feature extraction throughput (images/s) on the chosen device, for ``--n`` random
    32x32 RGB uint8 images (resized to 299x299 like any input). Uses the official weights if they
    are already on disk (never downloads them); otherwise random weights, which run at the same
    speed, and says so.

Usage::

    python benchmarks/metrics_speed.py                 # full run: 10,000 images (slow on CPU)
    python benchmarks/metrics_speed.py --n 200         # a few minutes on 2 CPU cores
    python benchmarks/metrics_speed.py --skip-sqrtm    # skip the ~10-30 s scipy reference
"""

from __future__ import annotations

import argparse
import os
import platform
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy
import scipy.linalg
import torch

from ganforge.metrics.extractor import InceptionExtractor
from ganforge.metrics.frechet import feature_statistics, frechet_distance
from ganforge.metrics.inception import FIDInceptionV3, find_fid_weights, load_fid_inception


def pytorch_fid_frechet(mu1: np.ndarray, s1: np.ndarray, mu2: np.ndarray, s2: np.ndarray) -> float:
    """pytorch-fid's ``calculate_frechet_distance``, including its singular-product fallback."""
    diff = mu1 - mu2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        covmean = scipy.linalg.sqrtm(s1.dot(s2))
        if not np.isfinite(covmean).all():
            offset = np.eye(s1.shape[0]) * 1e-6
            covmean = scipy.linalg.sqrtm((s1 + offset).dot(s2 + offset))
    return float(diff.dot(diff) + np.trace(s1) + np.trace(s2) - 2 * np.trace(np.real(covmean)))


def best_time(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    """Least wall time over ``repeats`` runs (the least disturbed by other load), and the result."""
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def random_features(
    rng: np.random.Generator, n: int, mixing: np.ndarray, shift: float
) -> np.ndarray:
    """Correlated, non-negative features, shaped like Inception's pool3."""
    return np.maximum(rng.standard_normal((n, mixing.shape[0])) @ mixing + shift, 0.0)


def exact_frechet_from_features(x1: np.ndarray, x2: np.ndarray) -> float:
    """FID computed without any covariance product: with centred X_i and S_i = X_i^T X_i/(n_i-1),
    Tr (S1 S2)^{1/2} is the sum of singular values of X2 X1^T / sqrt((n1-1)(n2-1)), an n2 x n1
    matrix; cheap and accurate when n < d, exactly where the covariances are singular."""
    c1, c2 = x1 - x1.mean(axis=0), x2 - x2.mean(axis=0)
    tr_sqrt = scipy.linalg.svdvals(c2 @ c1.T).sum() / np.sqrt((len(x1) - 1) * (len(x2) - 1))
    diff = x1.mean(axis=0) - x2.mean(axis=0)
    traces = (c1 * c1).sum() / (len(x1) - 1) + (c2 * c2).sum() / (len(x2) - 1)
    return float(diff @ diff + traces - 2 * tr_sqrt)


def bench_frechet_case(
    args: argparse.Namespace, n: int, exact: bool
) -> list[tuple[str, str, str, str]]:
    rng = np.random.default_rng(0)
    # One mixing matrix for both sets and a small shift: a small FID next to traces of ~1e3,
    # i.e. the heavy cancellation of a good generator, where relative errors show most.
    mixing = rng.standard_normal((args.dim, args.dim)) / np.sqrt(args.dim)
    x1 = random_features(rng, n, mixing, 0.0)
    x2 = random_features(rng, n, mixing, 0.05)
    (mu1, s1), (mu2, s2) = feature_statistics(x1), feature_statistics(x2)
    label = f"{args.dim}-d, n={n}" + (" (singular)" if n <= args.dim else "")
    print(f"[frechet {label}] Tr S1 + Tr S2 = {np.trace(s1) + np.trace(s2):.1f}")
    results: dict[str, tuple[float, float]] = {}
    for method in ("cholesky", "eigh", "eigvals"):
        results[method] = best_time(
            lambda m=method: frechet_distance(mu1, s1, mu2, s2, method=m), args.repeats
        )
    if not args.skip_sqrtm:
        results["sqrtm"] = best_time(lambda: pytorch_fid_frechet(mu1, s1, mu2, s2), 1)
    if exact:
        ref_name, ref_value = "exact", exact_frechet_from_features(x1, x2)
    else:
        ref_name = "sqrtm" if not args.skip_sqrtm else "cholesky"
        ref_value = results[ref_name][1]
    slowest = results["sqrtm"][0] if "sqrtm" in results else None
    rows = []
    for name, (seconds, value) in results.items():
        diff = abs(value - ref_value)
        speed = f" ({slowest / seconds:.1f}x vs sqrtm)" if slowest else ""
        rows.append(
            (
                f"frechet {name} [{label}]",
                f"{seconds:.3f} s{speed}",
                f"FID {value:.10f}",
                f"vs {ref_name}: abs {diff:.2e}, rel {diff / abs(ref_value):.2e}",
            )
        )
    return rows


def bench_frechet(args: argparse.Namespace) -> list[tuple[str, str, str, str]]:
    rows = bench_frechet_case(args, args.stat_samples, exact=False)
    if not args.skip_singular:
        rows += bench_frechet_case(args, args.singular_samples, exact=True)
    return rows


def bench_extraction(args: argparse.Namespace) -> list[tuple[str, str, str, str]]:
    device = torch.device(args.device)
    weights = find_fid_weights()
    if weights is not None:
        model, note = load_fid_inception(weights, download=False), f"official weights {weights}"
    else:
        torch.manual_seed(0)
        model = FIDInceptionV3()
        note = "RANDOM weights (official file absent; same speed, features meaningless)"
    print(f"[extraction] {note}")
    extractor = InceptionExtractor(model=model, device=device, batch_size=args.batch_size)
    gen = torch.Generator().manual_seed(0)

    def batch(n: int) -> torch.Tensor:
        return torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=gen)

    extractor.features(batch(min(args.batch_size, args.n)))  # warm-up: allocator, kernels
    if device.type == "cuda":
        torch.cuda.synchronize()
    start, done = time.perf_counter(), 0
    while done < args.n:
        n = min(args.batch_size, args.n - done)
        extractor.features(batch(n))
        done += n
    if device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    per_second = done / seconds
    eta_10k = 10_000 / per_second
    return [
        (
            f"inception {device.type} bs={args.batch_size}",
            f"{seconds:.2f} s for {done} images",
            f"{per_second:.2f} images/s",
            f"10k images: {eta_10k / 60:.1f} min ({'random' if weights is None else 'official'})",
        )
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="images to extract (default 10k)")
    parser.add_argument("--batch-size", type=int, default=50)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--dim", type=int, default=2048, help="feature dimension for (a)")
    parser.add_argument("--stat-samples", type=int, default=10_000, help="features per set")
    parser.add_argument("--repeats", type=int, default=3, help="timing repeats (min is kept)")
    parser.add_argument("--skip-sqrtm", action="store_true", help="skip the scipy reference")
    parser.add_argument("--skip-extraction", action="store_true")
    parser.add_argument(
        "--singular-samples",
        type=int,
        default=1000,
        help="features per set for the singular-covariance case (n < dim), checked against an "
        "exact SVD reference",
    )
    parser.add_argument("--skip-singular", action="store_true")
    args = parser.parse_args()

    print(
        f"python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}, "
        f"torch {torch.__version__}; {os.cpu_count()} CPUs, torch threads "
        f"{torch.get_num_threads()}, load average {os.getloadavg()[0]:.2f}"
    )
    rows = bench_frechet(args)
    if not args.skip_extraction:
        rows += bench_extraction(args)
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    print()
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))


if __name__ == "__main__":
    main()
