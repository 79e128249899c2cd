"""Scores of a classifier's reading of generated images: its Inception-Score-like confidence
and spread, the histogram of the classes it reads and its distance from uniform, and the share
of images it reads with confidence."""

from __future__ import annotations

import math

import numpy as np
import torch

from ganforge.errors import GanforgeError

ImagesLike = torch.Tensor | np.ndarray


def _as_logits(logits: ImagesLike) -> np.ndarray:
    x = logits.detach().cpu().double().numpy() if isinstance(logits, torch.Tensor) else logits
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] == 0:
        raise GanforgeError(f"logits must have shape [N > 0, classes]; got {x.shape}")
    if not np.isfinite(x).all():
        raise GanforgeError("logits contain NaN or inf values")
    return x


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def classifier_score(logits: ImagesLike, splits: int = 10) -> tuple[float, float]:
    """Inception Score formula on the MNIST classifier: (mean, std) over ``splits``.

    Salimans et al., "Improved Techniques for Training GANs", NeurIPS 2016, Sec. 4:
    IS = exp(E_x KL(p(y|x) || p(y))), with p(y) the mean of p(y|x) over the split. As in their
    reference code the samples are cut into ``splits`` consecutive parts (here with
    ``np.array_split``, so none are dropped) and the std is the population std (ddof=0). The
    range is [1, 10]: 10 means every sample is confidently one digit and all digits are equally
    frequent.
    """
    lp = _log_softmax(_as_logits(logits))
    if not 1 <= splits <= lp.shape[0]:
        raise GanforgeError(f"splits must be between 1 and the {lp.shape[0]} samples; got {splits}")
    scores = []
    for part in np.array_split(lp, splits):
        p = np.exp(part)
        log_py = np.log(p.mean(axis=0))
        # KL(p(y|x) || p(y)) per sample, computed from log-probabilities so that tiny
        # probabilities contribute exactly 0 * (log 0 - ...) = 0 instead of NaN.
        kl = (p * (part - log_py)).sum(axis=1)
        scores.append(math.exp(kl.mean()))
    return float(np.mean(scores)), float(np.std(scores))


def class_histogram(logits: ImagesLike) -> np.ndarray:
    """How many samples the classifier assigns to each class (argmax), int64 [num_classes].

    The mode-coverage count used for MNIST GANs by Metz et al., "Unrolled Generative
    Adversarial Networks", ICLR 2017 (Sec. 3.3) and Srivastava et al., "VEEGAN", NeurIPS 2017.
    """
    x = _as_logits(logits)
    return np.bincount(x.argmax(axis=1), minlength=x.shape[1]).astype(np.int64)


def kl_to_uniform(counts: ImagesLike) -> float:
    """KL(p || uniform) in nats, p = counts / sum(counts): log K - H(p); 0 for balanced classes.

    The "KL" column of Metz et al., 2017 (Unrolled GANs, Table 2) and Srivastava et al., 2017
    (VEEGAN), with the data's (uniform) class distribution as the reference. A generator that
    produces a single digit scores log 10 = 2.303. Empty classes contribute 0 (0 log 0 = 0).
    """
    c = counts.detach().cpu().numpy() if isinstance(counts, torch.Tensor) else counts
    c = np.asarray(c, dtype=np.float64).ravel()
    if c.size == 0 or (c < 0).any() or c.sum() <= 0:
        raise GanforgeError("counts must be non-negative with a positive total")
    p = c / c.sum()
    nz = p > 0
    return float((p[nz] * np.log(p[nz] * c.size)).sum())


def confident_share(logits: ImagesLike, threshold: float = 0.9) -> float:
    """Share of samples whose largest softmax probability is >= ``threshold``.

    A direct read of the sharpness half of the Inception Score (Salimans et al., 2016): blurry
    or ambiguous digits leave the classifier unsure. Real MNIST test digits are near 1.0.
    """
    p_max = np.exp(_log_softmax(_as_logits(logits)).max(axis=1))
    return float((p_max >= threshold).mean())
