"""Data sets held whole in memory as uint8, and the Batcher that feeds the Trainer."""

from ganforge.data.batcher import Batcher, to_uint8
from ganforge.data.dataset import ImageDataset, resize_images
from ganforge.data.datasets import DATASETS, DEFAULT_IMAGE_SIZE, dataset_names, load_dataset
from ganforge.data.idx import parse_idx, read_idx

__all__ = [
    "DATASETS",
    "DEFAULT_IMAGE_SIZE",
    "Batcher",
    "ImageDataset",
    "dataset_names",
    "load_dataset",
    "parse_idx",
    "read_idx",
    "resize_images",
    "to_uint8",
]
