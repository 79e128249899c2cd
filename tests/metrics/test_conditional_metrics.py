import numpy as np
import pytest

from ganforge.metrics import MetricError
from ganforge.metrics.conditional import (
    conditional_accuracy,
    confusion_matrix,
    matched_accuracy,
)


def test_conditional_accuracy_counts_requested_class_hits():
    result = conditional_accuracy([0, 0, 1, 1, 2, 2], [0, 1, 1, 1, 0, 2], num_classes=3)
    assert result["accuracy"] == pytest.approx(4 / 6)
    assert result["per_class"] == [0.5, 1.0, 0.5]


def test_matched_accuracy_finds_the_best_one_to_one_matching():
    rng = np.random.default_rng(0)
    digits = rng.integers(0, 10, 5000)
    permutation = rng.permutation(10)
    codes = permutation[digits]
    noisy = digits.copy()
    noisy[:500] = (noisy[:500] + 1) % 10  # 10% disagree
    result = matched_accuracy(codes, noisy, 10)
    assert result["accuracy"] == pytest.approx(0.9)
    assert [result["mapping"][permutation[d]] for d in range(10)] == list(range(10))
    # A greedy argmax per code value would map two values to one class; the matching cannot.
    greedy = matched_accuracy([0, 0, 1, 1, 1], [0, 0, 0, 0, 1], 2)
    assert greedy["mapping"] == [0, 1] and greedy["accuracy"] == pytest.approx(3 / 5)


def test_bad_label_arrays_are_rejected():
    with pytest.raises(MetricError, match="integer class indices"):
        confusion_matrix([0.5], [0])
    with pytest.raises(MetricError, match="2 requested classes but 1 predictions"):
        confusion_matrix([0, 1], [0])
    with pytest.raises(MetricError, match="beyond 2 classes"):
        confusion_matrix([0, 2], [0, 1], num_classes=2)
