"""Inception Score (Salimans et al., 2016)."""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp

from ganforge.metrics._arrays import ArrayLike, as_float64_matrix, require_samples
from ganforge.metrics.errors import MetricError


def inception_score(logits: ArrayLike, splits: int = 10) -> tuple[float, float]:
    """(mean, std) of the Inception Score over ``splits`` consecutive parts of the samples.

    Salimans et al., "Improved Techniques for Training GANs", NeurIPS 2016, Sec. 4:
    IS = exp(E_x KL(p(y|x) || p(y))), p(y) = E_x p(y|x), estimated separately on each split.
    ``logits`` are the (N, K) pre-softmax scores; for the FID Inception network pass its 1008
    bias-free logits (:meth:`~ganforge.metrics.inception.FIDInceptionV3.logits`). Splits are cut
    at ``i * N // splits`` and the std is the population std (ddof=0), as in the original TF code
    and StyleGAN2-ADA. Computed in float64 from log-probabilities, so classes whose probability
    underflows to 0 contribute 0 rather than NaN.
    """
    x = as_float64_matrix(logits, "logits")
    if splits < 1:
        raise MetricError(f"splits must be at least 1; got {splits}")
    n = x.shape[0]
    require_samples(n, splits, "samples", f"the Inception Score with {splits} splits")
    log_p = x - logsumexp(x, axis=1, keepdims=True)
    scores = []
    for i in range(splits):
        part = log_p[i * n // splits : (i + 1) * n // splits]
        # log p(y) = log mean_x p(y|x), kept in log space for the same underflow reason.
        log_py = logsumexp(part, axis=0) - np.log(part.shape[0])
        kl = (np.exp(part) * (part - log_py)).sum(axis=1).mean()
        scores.append(np.exp(kl))
    return float(np.mean(scores)), float(np.std(scores))
