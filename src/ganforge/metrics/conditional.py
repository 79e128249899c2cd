"""Does a conditional generator draw what it is asked for?

cGAN and ACGAN are asked for a class: the share of samples a domain classifier assigns to the
requested class measures it. InfoGAN's categorical code has no given meaning: its values are
matched one-to-one to the classes that best explain them (the Hungarian algorithm on the
confusion matrix) before the agreement is counted, as in Chen et al. 2016, sec. 7.1.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment

from ganforge.metrics.errors import MetricError


def _labels(x, name: str) -> np.ndarray:
    array = np.asarray(torch.as_tensor(x).cpu()).reshape(-1)
    if array.dtype.kind not in "iu":
        raise MetricError(f"{name} must be integer class indices, got dtype {array.dtype}")
    if array.size and array.min() < 0:
        raise MetricError(f"{name} must be non-negative class indices, got {array.min()}")
    return array.astype(np.int64)


def confusion_matrix(requested, predicted, num_classes: int | None = None) -> np.ndarray:
    """Counts [K, K]: row = requested class (or code value), column = predicted class."""
    a, b = _labels(requested, "requested"), _labels(predicted, "predicted")
    if len(a) != len(b):
        raise MetricError(f"{len(a)} requested classes but {len(b)} predictions")
    k = num_classes or int(max(a.max(initial=0), b.max(initial=0))) + 1
    if a.size and max(a.max(), b.max()) >= k:
        raise MetricError(f"a class index is {max(a.max(), b.max())}, beyond {k} classes")
    return np.bincount(a * k + b, minlength=k * k).reshape(k, k)


def conditional_accuracy(requested, predicted, num_classes: int | None = None) -> dict:
    """Share of samples classified as the class they were generated for, overall and per
    class (``per_class[k]`` is the accuracy of samples requested as class k)."""
    confusion = confusion_matrix(requested, predicted, num_classes)
    per_class = np.diag(confusion) / np.maximum(confusion.sum(1), 1)
    return {"accuracy": float(np.trace(confusion) / max(confusion.sum(), 1)),
            "per_class": per_class.round(4).tolist()}


def matched_accuracy(codes, predicted, num_classes: int | None = None) -> dict:
    """Agreement of code values with predicted classes under the best one-to-one matching of
    values to classes; ``mapping[v]`` is the class code value v was matched to."""
    confusion = confusion_matrix(codes, predicted, num_classes)
    rows, cols = linear_sum_assignment(-confusion)
    mapping = cols[np.argsort(rows)]
    matched = confusion[rows, cols].sum()
    per_value = confusion[np.arange(len(mapping)), mapping] / np.maximum(confusion.sum(1), 1)
    return {"accuracy": float(matched / max(confusion.sum(), 1)),
            "mapping": mapping.tolist(), "per_value": per_value.round(4).tolist()}
