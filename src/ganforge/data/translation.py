"""Data for image-to-image translation: two domains A and B, paired (A[i] and B[i] show the
same thing: pix2pix) or unpaired (CycleGAN, UNIT), held whole in memory as uint8, and the
built-in tasks made from real digits so that every translation method runs and can be scored
with no download:

- ``edges2mnist`` (paired): edge maps of MNIST digits -> the digits.
- ``digits2mnist`` (unpaired): scikit-learn's 8x8 digits, upscaled (blocky, filling the frame)
  <-> MNIST (thin pen strokes in a margin); two real handwriting styles.
- ``mnist-styles`` (multi-domain, for StarGAN): MNIST digits drawn plain, thick, thin, rotated
  or red; an :class:`ImageDataset` whose labels are the style and ``digits`` the digit.

Folders in the layouts of the pix2pix and CycleGAN releases load with ``paired:PATH`` (A|B side
by side in one image, or ``A/`` and ``B/`` folders with matching file names) and
``unpaired:PATH`` (``trainA/`` and ``trainB/``; ``testA/``, ``testB/`` for the test split).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ganforge.data.dataset import ImageDataset, resize_images
from ganforge.data.image_files import (
    IMAGE_SUFFIXES,
    image_size,
    load_square_image,
    open_image,
)
from ganforge.data.image_sets import DATASETS
from ganforge.errors import DataError

PAIRED_PREFIX = "paired:"
UNPAIRED_PREFIX = "unpaired:"
# MNIST's 28 px padded to 32, so that U-Nets and strided networks halve it cleanly; the margin
# is cropped off again before an MNIST classifier scores a picture.
TASK_SIZE = 32
STYLES = ("plain", "thick", "thin", "rotated", "red")


@dataclass
class TranslationData:
    """Images of domain A and domain B, uint8 [N, C, H, W] each (channel counts may differ).

    ``paired``: ``a[i]`` and ``b[i]`` belong together (same length). ``a_labels``/``b_labels``
    are the digits of the built-in tasks, for scoring only; ``domain_names`` name A and B.
    """

    name: str
    a: torch.Tensor
    b: torch.Tensor
    paired: bool
    domain_names: tuple[str, str] = ("A", "B")
    a_labels: torch.Tensor | None = None
    b_labels: torch.Tensor | None = None
    names: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        for side in (self.a, self.b):
            if side.dtype != torch.uint8 or side.dim() != 4:
                raise ValueError("domain images must be uint8 tensors of shape [N, C, H, W]")
        if self.a.shape[-2:] != self.b.shape[-2:]:
            raise DataError(f"{self.name}: domains A and B hold images of different sizes "
                            f"({tuple(self.a.shape[-2:])} and {tuple(self.b.shape[-2:])}); "
                            "give --image-size")
        if self.paired and len(self.a) != len(self.b):
            raise DataError(f"{self.name}: paired data needs as many A images as B images "
                            f"({len(self.a)} vs {len(self.b)})")

    def __len__(self) -> int:
        return max(len(self.a), len(self.b))

    @property
    def img_size(self) -> int:
        return self.a.shape[-1]

    @property
    def channels(self) -> tuple[int, int]:
        return self.a.shape[1], self.b.shape[1]

    def swapped(self) -> TranslationData:
        """The same data with domains A and B exchanged."""
        return TranslationData(self.name, self.b, self.a, self.paired, self.domain_names[::-1],
                               self.b_labels, self.a_labels, self.names)

    def resized(self, size: int) -> TranslationData:
        self.a, self.b = resize_images(self.a, size), resize_images(self.b, size)
        return self


@dataclass
class StyledDigits(ImageDataset):
    """A multi-domain data set: ``labels`` are the domains (styles), ``digits`` what is drawn."""

    digits: torch.Tensor | None = None


def pad_to(images: torch.Tensor, size: int) -> torch.Tensor:
    """Centre ``images`` on a black canvas of ``size`` (MNIST's 28 -> 32)."""
    pad = size - images.shape[-1]
    return F.pad(images, (pad // 2, pad - pad // 2, pad // 2, pad - pad // 2))


def crop_to(images: torch.Tensor, size: int) -> torch.Tensor:
    """The inverse of :func:`pad_to`."""
    start = (images.shape[-1] - size) // 2
    return images[..., start : start + size, start : start + size]


def dilate(x: torch.Tensor, k: int = 3) -> torch.Tensor:
    return F.max_pool2d(x, k, 1, k // 2)


def erode(x: torch.Tensor, k: int = 3) -> torch.Tensor:
    return -F.max_pool2d(-x, k, 1, k // 2)


def edge_maps(images: torch.Tensor) -> torch.Tensor:
    """Binary outlines of uint8 digits: the morphological gradient (dilation minus erosion) of
    the strokes, thresholded; the pix2pix edges2* sets use HED edges of photos the same way."""
    x = images.float() / 255
    outline = dilate(x) - erode(x)
    return (outline > 0.5).to(torch.uint8) * 255


def _at_double_size(images: torch.Tensor, op) -> torch.Tensor:
    # Morphology at twice the resolution changes strokes by half a pixel, not a whole one.
    x = F.interpolate(images.float() / 255, scale_factor=2, mode="bilinear", align_corners=False)
    x = F.avg_pool2d(op(x), 2)
    # Thinned strokes come out gray; full ink again, as a thinner pen would draw.
    x = x / x.amax(dim=(1, 2, 3), keepdim=True).clamp_min(1e-3)
    return (x * 255).round().clamp(0, 255).to(torch.uint8)


def rotate(images: torch.Tensor, degrees: float) -> torch.Tensor:
    angle = math.radians(degrees)
    cos, sin = math.cos(angle), math.sin(angle)
    theta = torch.tensor([[cos, -sin, 0.0], [sin, cos, 0.0]]).expand(len(images), 2, 3)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    x = F.grid_sample(images.float(), grid, mode="bilinear", align_corners=False)
    return x.round().clamp(0, 255).to(torch.uint8)


def stylise(images: torch.Tensor, style: str) -> torch.Tensor:
    """Gray uint8 digits [N, 1, H, W] drawn in ``style`` (one of STYLES), as RGB uint8."""
    if style == "thick":
        images = _at_double_size(images, lambda x: dilate(dilate(x)))
    elif style == "thin":
        images = _at_double_size(images, erode)
    elif style == "rotated":
        images = rotate(images, 45.0)
    rgb = images.expand(-1, 3, -1, -1)
    if style == "red":
        rgb = rgb * torch.tensor([1.0, 0.15, 0.15]).view(1, 3, 1, 1)
    return rgb.round().to(torch.uint8).contiguous()


def _load(name: str, root: Path, split: str, download: bool) -> ImageDataset:
    return DATASETS.get(name)(root=root, split=split, download=download)


def _mnist_padded(root: Path, split: str, download: bool) -> ImageDataset:
    mnist = _load("mnist", root, split, download)
    return ImageDataset("mnist", pad_to(mnist.images, TASK_SIZE), mnist.labels,
                        mnist.class_names)


def load_edges2mnist(root: Path, split: str, download: bool) -> TranslationData:
    """Paired: A = edge maps of MNIST digits, B = the digits (MNIST's own train/test split)."""
    mnist = _mnist_padded(root, split, download)
    return TranslationData("edges2mnist", edge_maps(mnist.images), mnist.images, paired=True,
                           domain_names=("edges", "digits"), a_labels=mnist.labels,
                           b_labels=mnist.labels)


def load_digits2mnist(root: Path, split: str, download: bool) -> TranslationData:
    """Unpaired: A = scikit-learn's digits upscaled to 32 px, B = MNIST padded to 32 px."""
    digits = _load("digits", root, split, download)
    mnist = _mnist_padded(root, split, download)
    return TranslationData("digits2mnist", resize_images(digits.images, TASK_SIZE),
                           mnist.images, paired=False, domain_names=("sklearn-digits", "mnist"),
                           a_labels=digits.labels, b_labels=mnist.labels)


def load_mnist_halves(root: Path, split: str, download: bool, other: str) -> TranslationData:
    """CoGAN's digit tasks (Liu & Tuzel 2016, sec. 5): A = the digits of one half of MNIST,
    B = the ``other`` view (``edges`` or ``negative``) of the digits of the other half, so no
    image of B is a view of an image of A: the two domains share their content, never a pair."""
    mnist = _mnist_padded(root, split, download)
    order = torch.randperm(len(mnist), generator=torch.Generator().manual_seed(0))
    half = len(order) // 2
    first, second = order[:half], order[half : 2 * half]
    b = mnist.images[second]
    b = edge_maps(b) if other == "edges" else 255 - b
    return TranslationData(f"mnist-{other}", mnist.images[first], b, paired=False,
                           domain_names=("digits", other), a_labels=mnist.labels[first],
                           b_labels=mnist.labels[second])


def load_mnist_styles(root: Path, split: str, download: bool) -> StyledDigits:
    """MNIST digits, each drawn in one style of STYLES chosen by a fixed permutation, RGB 32 px;
    labels are the styles (StarGAN's domains), ``digits`` the digits."""
    mnist = _mnist_padded(root, split, download)
    generator = torch.Generator().manual_seed(0 if split == "train" else 1)
    style = torch.randperm(len(mnist), generator=generator) % len(STYLES)
    images = torch.empty(len(mnist), 3, TASK_SIZE, TASK_SIZE, dtype=torch.uint8)
    for k, name in enumerate(STYLES):
        chosen = style == k
        images[chosen] = stylise(mnist.images[chosen], name)
    return StyledDigits("mnist-styles", images, style, list(STYLES), digits=mnist.labels)


# ---- folders in the layouts of the pix2pix and CycleGAN releases ---------------------------------


def _image_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def _read_images(files: list[Path], size: int | None, box=None) -> torch.Tensor:
    """uint8 [N, C, H, W] of the files (gray if all are gray, else RGB), resized to size."""
    pictures = []
    for path in files:
        img = open_image(path)
        pictures.append(img.crop(box(img)) if box is not None else img)
    gray = all(p.mode == "L" for p in pictures)
    side = size or min(min(p.size) for p in pictures)
    arrays = [np.asarray(p.convert("L" if gray else "RGB").resize(
        (side, side), resample=3)) for p in pictures]
    images = torch.from_numpy(np.stack(arrays))
    return images[:, None] if gray else images.permute(0, 3, 1, 2).contiguous()


def _split_folder(root: Path, split: str, names: tuple[str, ...]) -> Path | None:
    for name in names:
        if (root / name).is_dir():
            return root / name
    return None


def load_paired_folder(path: Path, split: str = "train", size: int | None = None,
                       direction: str = "AtoB") -> TranslationData:
    """pix2pix layouts: ``A/`` and ``B/`` folders with the same file names (optionally under
    ``train/``, ``val/``, ``test/``), or one folder of images holding A and B side by side
    (``facades/train/1.jpg`` = [A | B]). ``direction`` BtoA swaps the two."""
    if not path.is_dir():
        raise DataError(f"paired data folder {path} does not exist")
    base = _split_folder(path, split, (split, "val") if split == "test" else (split,)) or path
    if (base / "A").is_dir() and (base / "B").is_dir():
        files_a, files_b = _image_files(base / "A"), _image_files(base / "B")
        stems_a, stems_b = {p.stem for p in files_a}, {p.stem for p in files_b}
        if stems_a != stems_b:
            only = sorted(stems_a ^ stems_b)[:3]
            raise DataError(f"{base}: A/ and B/ must hold the same file names to pair them; "
                            f"unmatched: {', '.join(only)} ({len(stems_a ^ stems_b)} in all)")
        if not files_a:
            raise DataError(f"{base}/A holds no images")
        by_stem = {p.stem: p for p in files_b}
        a = _read_images(files_a, size)
        b = _read_images([by_stem[p.stem] for p in files_a], size)
        names = [p.stem for p in files_a]
    else:
        files = _image_files(base)
        if not files:
            raise DataError(f"{base} holds neither A/ and B/ folders nor side-by-side images; "
                            "see the pix2pix layout in the docs")
        width, height = image_size(files[0])
        if width != 2 * height:
            raise DataError(f"{files[0]} is {width}x{height}: side-by-side pairs must be twice "
                            "as wide as high ([A | B])")
        a = _read_images(files, size, box=lambda im: (0, 0, im.size[0] // 2, im.size[1]))
        b = _read_images(files, size, box=lambda im: (im.size[0] // 2, 0, im.size[0], im.size[1]))
        names = [p.stem for p in files]
    if direction == "BtoA":
        a, b = b, a
    return TranslationData(f"paired:{path}", a, b, paired=True, names=names)


def load_unpaired_folder(path: Path, split: str = "train",
                         size: int | None = None) -> TranslationData:
    """CycleGAN layout: ``trainA/`` and ``trainB/`` (``testA/`` and ``testB/`` for test)."""
    folders = [path / f"{split}A", path / f"{split}B"]
    missing = [f.name for f in folders if not f.is_dir()]
    if missing:
        raise DataError(f"{path} has no {' or '.join(missing)} folder; unpaired data needs "
                        f"{split}A/ and {split}B/")
    files = [_image_files(f) for f in folders]
    for folder, found in zip(folders, files, strict=True):
        if not found:
            raise DataError(f"{folder} holds no images")
    a, b = (_read_images(f, size) for f in files)
    return TranslationData(f"unpaired:{path}", a, b, paired=False)


def read_image_files(path: Path, size: int, channels: int) -> tuple[list[Path], torch.Tensor]:
    """An image file, or every image in a folder, centre-cropped square and resized to
    ``size``, with ``channels`` channels (gray or RGB): the files and uint8 [N, C, H, W]."""
    if path.is_dir():
        files = _image_files(path)
        if not files:
            raise DataError(f"no images ({', '.join(sorted(IMAGE_SUFFIXES))}) in {path}")
    elif path.is_file():
        files = [path]
    else:
        raise DataError(f"--input {path} is neither an image file nor a folder")
    mode = "L" if channels == 1 else "RGB"
    arrays = [np.asarray(load_square_image(p, size).convert(mode)) for p in files]
    images = torch.from_numpy(np.stack(arrays))
    images = images[:, None] if channels == 1 else images.permute(0, 3, 1, 2).contiguous()
    return files, images
