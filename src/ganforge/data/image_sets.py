"""The image data sets every other set is built from: scikit-learn's digits, MNIST,
Fashion-MNIST, Stacked MNIST, CIFAR-10, random blobs and image folders; and ``DATASETS``, the
registry of every named set (the derived ones are registered by :mod:`ganforge.data.datasets`).
Each loader returns an ImageDataset of uint8 images in memory."""

from __future__ import annotations

import functools
import importlib.util
import os
import tarfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from ganforge.data.dataset import ImageDataset
from ganforge.data.download import check_digest, fetch
from ganforge.data.idx import parse_idx, read_bytes
from ganforge.data.image_files import IMAGE_SUFFIXES, read_images
from ganforge.data.stacked_mnist import stack_digits
from ganforge.errors import DataError
from ganforge.registry import Registry

Loader = Callable[..., ImageDataset]
DATASETS: Registry[Loader] = Registry("dataset")
# The size a data set is trained at when the user does not choose one.
DEFAULT_IMAGE_SIZE = {"digits": 16, "mnist": 28, "fashion-mnist": 28, "cifar10": 32, "fake": 28,
                      "stacked-mnist": 28, "edges2mnist": 32, "digits2mnist": 32, "mnist-edges": 32,
                      "mnist-negative": 32,
                      "mnist-styles": 32, "captioned-mnist": 28, "captioned-digits": 16}
FOLDER_PREFIX = "folder:"


def default_data_dir() -> Path:
    env = os.environ.get("GANFORGE_DATA")
    return Path(env) if env else Path.home() / ".cache" / "ganforge" / "data"


@DATASETS.register("digits")
def load_digits(root: Path, split: str, download: bool) -> ImageDataset:
    """scikit-learn's 1,797 real 8x8 handwritten digits (UCI), embedded in the package.

    The first 1,500 are the train split and the rest the test split, in the file's order.
    """
    pixels, labels = sklearn_digits()
    images = np.rint(pixels.reshape(-1, 1, 8, 8) * (255.0 / 16.0)).astype(np.uint8)
    part = slice(0, 1500) if split == "train" else slice(1500, None)
    return ImageDataset(
        "digits", torch.from_numpy(images[part].copy()), torch.from_numpy(labels[part].copy()),
        [str(i) for i in range(10)],
    )


@functools.cache
def sklearn_digits() -> tuple[np.ndarray, np.ndarray]:
    """The digits' 0-16 pixels (1,797 x 64) and labels, as ``sklearn.datasets.load_digits``
    gives them, read from the CSV scikit-learn ships: importing scikit-learn takes 2 of the
    quick start's ~10 s of start-up on a slow CPU, and the set is read up to three times a run."""
    spec = importlib.util.find_spec("sklearn")
    csv = Path(spec.origin).parent / "datasets" / "data" / "digits.csv.gz" if spec else None
    if csv is None or not csv.is_file():  # a scikit-learn that keeps it elsewhere
        from sklearn.datasets import load_digits as sk_load_digits

        return sk_load_digits(return_X_y=True)
    table = np.loadtxt(csv, delimiter=",")
    return table[:, :-1], table[:, -1].astype(np.int64)


# (file, uncompressed-content md5 or None, gz-file md5 or None): MNIST is checked on its content
# so a recompressed copy passes; Fashion-MNIST's published sums are of the gz files.
_MNIST_FILES = {
    "train": (
        ("train-images-idx3-ubyte", "6bbc9ace898e44ae57da46a324031adb", None),
        ("train-labels-idx1-ubyte", "a25bea736e30d166cdddb491f175f624", None),
    ),
    "test": (
        ("t10k-images-idx3-ubyte", "2646ac647ad5339dbf082846283269ea", None),
        ("t10k-labels-idx1-ubyte", "27ae3e4e09519cfbb04c329615203637", None),
    ),
}
_FASHION_FILES = {
    "train": (
        ("train-images-idx3-ubyte", None, "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
        ("train-labels-idx1-ubyte", None, "25c81989df183df01b3e8a0aad5dffbe"),
    ),
    "test": (
        ("t10k-images-idx3-ubyte", None, "bef4ecab320f06d8554ea6380940ec79"),
        ("t10k-labels-idx1-ubyte", None, "bb300cfdad3c16e7a12a480ee83cd310"),
    ),
}
_MIRRORS = {
    "mnist": [
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ],
    "fashion-mnist": ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"],
}
_FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                    "Sneaker", "Bag", "Ankle boot"]


def _read_idx_verified(folder: Path, stem: str, raw_md5, gz_md5, mirrors, download_ok: bool):
    gz, raw = folder / f"{stem}.gz", folder / stem
    if not gz.exists() and raw.exists():
        path = raw
    else:
        path = gz
        if not gz.exists():
            if not download_ok:
                raise DataError(
                    f"{gz} not found; put the IDX files there or allow the download"
                )
            fetch([m + gz.name for m in mirrors], gz, md5=gz_md5)
    if gz_md5 is not None and path == gz:
        check_digest(path, gz_md5)
    data = read_bytes(path)
    if raw_md5 is not None:
        check_digest(path, raw_md5, data=data)
    return parse_idx(data, str(path))


def _find_folder(root: Path, name: str) -> Path:
    # Users point --data-dir at the parent of mnist/ or at mnist/ itself; accept both.
    nested = root / name
    if nested.is_dir() or not any(root.glob("*-idx?-ubyte*")):
        return nested
    return root


def _load_idx_dataset(name, files, classes, root, split, download_ok) -> ImageDataset:
    folder = _find_folder(root, name)
    (img_stem, img_raw, img_gz), (lbl_stem, lbl_raw, lbl_gz) = files[split]
    images = _read_idx_verified(folder, img_stem, img_raw, img_gz, _MIRRORS[name], download_ok)
    labels = _read_idx_verified(folder, lbl_stem, lbl_raw, lbl_gz, _MIRRORS[name], download_ok)
    return ImageDataset(
        name, torch.from_numpy(images.copy())[:, None],
        torch.from_numpy(labels.astype(np.int64)), classes,
    )


@DATASETS.register("mnist")
def load_mnist(root: Path, split: str, download: bool) -> ImageDataset:
    """MNIST (LeCun et al. 1998): 60,000 train and 10,000 test 28x28 digits."""
    return _load_idx_dataset("mnist", _MNIST_FILES, [str(i) for i in range(10)], root, split,
                             download)


@DATASETS.register("fashion-mnist")
def load_fashion_mnist(root: Path, split: str, download: bool) -> ImageDataset:
    """Fashion-MNIST (Xiao et al. 2017): Zalando's 28x28 clothing images in MNIST's format."""
    return _load_idx_dataset("fashion-mnist", _FASHION_FILES, _FASHION_CLASSES, root, split,
                             download)


# Stacked MNIST images per split, and the seed that fixes which digits are stacked.
STACKED_MNIST_SIZE = {"train": 60_000, "test": 10_000}
_STACKED_MNIST_SEED = {"train": 0, "test": 1}


@DATASETS.register("stacked-mnist")
def load_stacked_mnist(root: Path, split: str, download: bool) -> ImageDataset:
    """Stacked MNIST (Metz et al. 2017): 3 independent MNIST digits of the split as RGB channels.

    60,000 train / 10,000 test images, the same ones on every call (seed 0 / 1); label
    ``100 * d_R + 10 * d_G + d_B``, class names ``000`` to ``999``.
    """
    mnist = load_mnist(root, split, download)
    return stack_digits(mnist.images, mnist.labels, STACKED_MNIST_SIZE[split],
                        _STACKED_MNIST_SEED[split])


_CIFAR_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
_CIFAR_MD5 = "c32a1d4ab5d03f1284b67883e8d87530"
_CIFAR_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                  "ship", "truck"]


@DATASETS.register("cifar10")
def load_cifar10(root: Path, split: str, download: bool) -> ImageDataset:
    """CIFAR-10 (Krizhevsky 2009), read from the binary tarball (no pickle)."""
    tar_path = root / "cifar10" / "cifar-10-binary.tar.gz"
    if not tar_path.exists():
        if not download:
            raise DataError(f"{tar_path} not found; put the tarball there or allow the download")
        fetch([_CIFAR_URL], tar_path, md5=_CIFAR_MD5)
    check_digest(tar_path, _CIFAR_MD5)
    names = [f"data_batch_{i}.bin" for i in range(1, 6)] if split == "train" else ["test_batch.bin"]
    records = []
    try:
        with tarfile.open(tar_path, "r:gz") as tar:
            for name in names:
                member = tar.extractfile(f"cifar-10-batches-bin/{name}")
                records.append(np.frombuffer(member.read(), np.uint8).reshape(-1, 3073))
    except (tarfile.TarError, KeyError, EOFError, OSError, ValueError) as e:
        raise DataError(
            f"{tar_path} is truncated or corrupt ({e}); delete it and download it again"
        ) from None
    data = np.concatenate(records)
    images = torch.from_numpy(data[:, 1:].reshape(-1, 3, 32, 32).copy())
    return ImageDataset("cifar10", images, torch.from_numpy(data[:, 0].astype(np.int64)),
                        _CIFAR_CLASSES)


@DATASETS.register("fake")
def load_fake(root: Path, split: str, download: bool) -> ImageDataset:
    """Random smooth blobs with 10 labels: a smoke test of the whole path, not a benchmark."""
    g = torch.Generator().manual_seed(0 if split == "train" else 1)
    n = 512
    coarse = torch.rand(n, 1, 7, 7, generator=g)
    images = (torch.nn.functional.interpolate(coarse, size=(28, 28), mode="bilinear") * 255)
    labels = torch.randint(0, 10, (n,), generator=g)
    return ImageDataset("fake", images.to(torch.uint8), labels, [str(i) for i in range(10)])


def load_folder(path: Path, image_size: int) -> ImageDataset:
    """Every PNG/JPEG below ``path``, centre-cropped square and resized; subfolders are classes."""
    if not path.is_dir():
        raise DataError(f"image folder {path} does not exist; pass --dataset folder:PATH")
    files = sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise DataError(
            f"no images ({', '.join(sorted(IMAGE_SUFFIXES))}) found under {path}"
        )
    parents = [p.parent.relative_to(path).as_posix() for p in files]
    if "." in parents and len(set(parents)) > 1:
        loose = next(p for p in files if p.parent == path)
        sub = next(p for p in parents if p != ".")
        raise DataError(f"{path} holds images at its top level ({loose.name}) and in subfolders "
                        f"({sub}/), which would make classes of both; put every image in a "
                        "class subfolder, or all of them at the top")
    images = read_images(files, image_size)
    class_names = sorted(set(parents)) if len(set(parents)) > 1 else []
    labels = (
        torch.tensor([class_names.index(p) for p in parents]) if class_names else None
    )
    return ImageDataset(f"folder:{path}", images, labels, class_names)


