"""Evaluation metrics: FID, IS, KID, precision/recall, density/coverage and their networks.

Importing the package registers the standard metrics (``fid``, ``is``, ``kid``, ``pr``, ``dc``;
see :mod:`ganforge.metrics.builtin`) and the MNIST domain metrics (``mnist-fid``, ``mnist-is``,
``mnist-classes``, ``stacked-modes``; see :mod:`ganforge.metrics.domain_metrics`) in
:data:`METRICS`. :func:`ganforge.metrics.evaluate.evaluate` runs any of them on image sets.
"""

from ganforge.metrics import builtin as _builtin  # noqa: F401  (registers the metrics)
from ganforge.metrics import domain_metrics as _domain_metrics  # noqa: F401  (registers more)
from ganforge.metrics.cache import cache_path, cached_statistics, statistics_key
from ganforge.metrics.errors import MetricError
from ganforge.metrics.extractor import (
    BatchedExtractor,
    FeatureExtractor,
    InceptionExtractor,
    extract_features,
)
from ganforge.metrics.frechet import (
    StatisticsAccumulator,
    feature_statistics,
    frechet_distance,
    trace_sqrt_product,
)
from ganforge.metrics.inception import FIDInceptionV3, load_fid_inception
from ganforge.metrics.inception_score import inception_score
from ganforge.metrics.kid import kernel_inception_distance
from ganforge.metrics.prdc import density_coverage, precision_recall
from ganforge.metrics.registry import METRICS, Metric, get_metric, register_metric

__all__ = [
    "METRICS",
    "BatchedExtractor",
    "FIDInceptionV3",
    "FeatureExtractor",
    "InceptionExtractor",
    "Metric",
    "MetricError",
    "StatisticsAccumulator",
    "cache_path",
    "cached_statistics",
    "density_coverage",
    "extract_features",
    "feature_statistics",
    "frechet_distance",
    "get_metric",
    "inception_score",
    "kernel_inception_distance",
    "load_fid_inception",
    "precision_recall",
    "register_metric",
    "statistics_key",
    "trace_sqrt_product",
]
