"""Every named data set, and how a run's training data is loaded by name: the base image sets
(:mod:`ganforge.data.image_sets`), the sets derived from them for translation and text to image,
the classic downloadable translation sets, image folders and the 2-D toy mixtures."""

from __future__ import annotations

from pathlib import Path

from ganforge.data import captions, translation
from ganforge.data.captions import load_captioned_digits
from ganforge.data.dataset import ImageDataset, resize_images
from ganforge.data.image_sets import (
    DATASETS,
    DEFAULT_IMAGE_SIZE,
    FOLDER_PREFIX,
    default_data_dir,
    load_folder,
)
from ganforge.data.toy import TOY_DATASETS, ToyMixture
from ganforge.data.translation import (
    TranslationData,
    load_digits2mnist,
    load_edges2mnist,
    load_mnist_halves,
    load_mnist_styles,
    load_paired_folder,
    load_unpaired_folder,
)
from ganforge.data.translation_sets import TRANSLATION_DOWNLOADS, download_translation_set
from ganforge.errors import DataError, GanforgeError

__all__ = ["DATASETS", "DEFAULT_IMAGE_SIZE", "FOLDER_PREFIX", "dataset_names",
           "is_point_dataset", "load_dataset", "load_folder", "load_training_data"]


def load_dataset(
    name: str,
    *,
    data_dir: str | Path | None = None,
    split: str = "train",
    image_size: int | None = None,
    download: bool = True,
) -> ImageDataset:
    """Load a data set by name at ``image_size``: a built-in one, ``folder:PATH`` (a folder of
    images), for translation ``paired:PATH`` / ``unpaired:PATH`` (the pix2pix and CycleGAN
    layouts, see :mod:`ganforge.data.translation`), or ``captions:PATH`` (images with captions
    in the layout of Reed et al. 2016, see :mod:`ganforge.data.captions`)."""
    if split not in ("train", "test"):
        raise GanforgeError(f"unknown split {split!r}; choose train or test")
    if name.startswith(FOLDER_PREFIX):
        return load_folder(Path(name[len(FOLDER_PREFIX) :]), image_size or 64)
    if name.startswith(translation.PAIRED_PREFIX):
        path = Path(name[len(translation.PAIRED_PREFIX) :])
        return translation.load_paired_folder(path, split, image_size or 256)
    if name.startswith(translation.UNPAIRED_PREFIX):
        path = Path(name[len(translation.UNPAIRED_PREFIX) :])
        return translation.load_unpaired_folder(path, split, image_size or 256)
    if name.startswith(captions.CAPTIONS_PREFIX):
        path = Path(name[len(captions.CAPTIONS_PREFIX) :])
        return captions.load_caption_folder(path, split, image_size or 64)
    loader = DATASETS.get(name)
    if data_dir is not None and not Path(data_dir).is_dir():
        raise DataError(
            f"data directory {data_dir} does not exist; create it or point --data-dir "
            "(or GANFORGE_DATA) at the folder that holds the data sets"
        )
    root = Path(data_dir) if data_dir is not None else default_data_dir()
    dataset = loader(root=root, split=split, download=download)
    size = image_size or DEFAULT_IMAGE_SIZE[name]
    if isinstance(dataset, TranslationData):
        return dataset.resized(size)
    dataset.images = resize_images(dataset.images, size)
    return dataset


def dataset_names() -> list[str]:
    return DATASETS.names() + TOY_DATASETS.names() + [
        FOLDER_PREFIX + "PATH", "paired:PATH", "unpaired:PATH", "captions:PATH"]


def is_point_dataset(name: str) -> bool:
    """Whether ``name`` is one of the 2-D toy mixtures rather than an image data set."""
    return name in TOY_DATASETS


def load_training_data(
    name: str, *, data_dir: str | Path | None = None, image_size: int | None = None
) -> ImageDataset | ToyMixture:
    """What a run trains on: an image data set (see :func:`load_dataset`) or a toy mixture."""
    if is_point_dataset(name):
        if image_size is not None:
            raise GanforgeError(f"--image-size does not apply to {name}, a data set of 2-D "
                                "points")
        return ToyMixture(name)
    return load_dataset(name, data_dir=data_dir, image_size=image_size)
@DATASETS.register("edges2mnist")
def _edges2mnist(root: Path, split: str, download: bool):
    """Paired translation: edge maps of MNIST digits -> the digits, 32 px."""
    return load_edges2mnist(root, split, download)


@DATASETS.register("digits2mnist")
def _digits2mnist(root: Path, split: str, download: bool):
    """Unpaired translation: scikit-learn's digits <-> MNIST, 32 px."""
    return load_digits2mnist(root, split, download)


@DATASETS.register("mnist-edges")
def _mnist_edges(root: Path, split: str, download: bool):
    """Two unpaired domains (CoGAN): MNIST digits, and edge maps of other MNIST digits, 32 px."""
    return load_mnist_halves(root, split, download, "edges")


@DATASETS.register("mnist-negative")
def _mnist_negative(root: Path, split: str, download: bool):
    """Two unpaired domains (CoGAN): MNIST digits, and negatives of other MNIST digits, 32 px."""
    return load_mnist_halves(root, split, download, "negative")


@DATASETS.register("mnist-styles")
def _mnist_styles(root: Path, split: str, download: bool):
    """Multi-domain translation: MNIST drawn plain, thick, thin, rotated or red (RGB, 32 px)."""
    return load_mnist_styles(root, split, download)


def _register_translation_downloads() -> None:
    """The classic pix2pix and CycleGAN sets, downloaded from their authors' server on first use
    (see :mod:`ganforge.data.translation_sets`)."""

    def loader(name: str, layout: str):
        def load(root: Path, split: str, download: bool):
            folder = root / name
            if not folder.is_dir():
                if not download:
                    raise DataError(f"{name} is not in {root}; allow the download or point "
                                    "--data-dir at a folder holding it")
                folder = download_translation_set(name, root)
            # The classic sets are 256 px; load both domains at that size before any resize.
            if layout == "side-by-side":
                return load_paired_folder(folder, split, 256)
            return load_unpaired_folder(folder, split, 256)

        load.__doc__ = f"{name} ({layout} translation set, downloaded on first use)"
        return load

    for name, entry in TRANSLATION_DOWNLOADS.items():
        DATASETS.register(name)(loader(name, entry.layout))
        DEFAULT_IMAGE_SIZE.setdefault(name, 256)


_register_translation_downloads()


@DATASETS.register("captioned-mnist")
def load_captioned_mnist(root: Path, split: str, download: bool):
    """MNIST with templated captions of digit, size, thickness and slant, for text-to-image."""
    return load_captioned_digits("mnist", root, split, download)


@DATASETS.register("captioned-digits")
def load_captioned_sklearn_digits(root: Path, split: str, download: bool):
    """scikit-learn's digits with captions as captioned-mnist's: offline, for tests."""
    return load_captioned_digits("digits", root, split, download)


