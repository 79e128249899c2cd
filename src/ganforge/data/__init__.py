"""Data sets held whole in memory as uint8, the toy 2-D mixtures, and the batchers that feed
the Trainer."""

from ganforge.data.batcher import (
    Augment,
    Batcher,
    PairBatcher,
    batcher_for,
    from_uint8,
    to_uint8,
)
from ganforge.data.captions import CaptionedImages
from ganforge.data.dataset import ImageDataset, balanced_subset, resize_images
from ganforge.data.datasets import (
    DATASETS,
    DEFAULT_IMAGE_SIZE,
    dataset_names,
    is_point_dataset,
    load_dataset,
    load_training_data,
)
from ganforge.data.idx import parse_idx, read_idx
from ganforge.data.spec import DataSpec, TrainingData, data_spec
from ganforge.data.toy import TOY_DATASETS, PointBatcher, ToyMixture, mode_metrics
from ganforge.data.translation import StyledDigits, TranslationData

__all__ = [
    "Augment",
    "DataSpec",
    "TrainingData",
    "batcher_for",
    "data_spec",
    "PairBatcher",
    "StyledDigits",
    "TranslationData",
    "DATASETS",
    "DEFAULT_IMAGE_SIZE",
    "Batcher",
    "CaptionedImages",
    "ImageDataset",
    "PointBatcher",
    "TOY_DATASETS",
    "ToyMixture",
    "balanced_subset",
    "dataset_names",
    "from_uint8",
    "is_point_dataset",
    "load_dataset",
    "load_training_data",
    "mode_metrics",
    "parse_idx",
    "read_idx",
    "resize_images",
    "to_uint8",
]
