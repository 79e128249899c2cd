"""Where images to evaluate come from: an image folder, an ``.npz`` file or a data set, each turned
into uint8 images [N, C, H, W] (:func:`load_images`), or a method's samples
(:func:`sample_uint8`). A trained run is a source too, loaded by
:func:`ganforge.inference.sources.load_source`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ganforge.errors import GanforgeError
from ganforge.metrics.errors import MetricError


def take(images: torch.Tensor, n: int | None, seed: int = 0) -> torch.Tensor:
    """``n`` images drawn without replacement by a seeded permutation (all when ``n`` >= N)."""
    if n is None or n >= len(images):
        return images
    index = torch.randperm(len(images), generator=torch.Generator().manual_seed(seed))[:n]
    return images[index]


@dataclass
class ImageSource:
    """uint8 images [N, C, H, W] with a stable ``id`` for the cache and a dict ``info``."""

    images: torch.Tensor
    id: str
    info: dict[str, Any] = field(default_factory=dict)


@torch.no_grad()
def sample_uint8(
    method: Any, n: int, seed: int, G: torch.nn.Module | None = None, batch_size: int = 500
) -> torch.Tensor:
    """``n`` uint8 CPU images from ``method.sample`` with one seeded CPU noise generator, in
    batches (the global RNG is not touched). ``G`` (e.g. the EMA copy) is used as it is: put it
    in eval mode first."""
    from ganforge.data import to_uint8
    from ganforge.progress import Meter

    generator = torch.Generator().manual_seed(seed)
    parts = []
    with Meter("sampling", n, "images") as meter:
        for start in range(0, n, batch_size):
            fakes = method.sample(min(batch_size, n - start), generator, G=G)
            # to_uint8 would turn NaN into black pixels, and the metrics would score them.
            if not torch.isfinite(fakes).all():
                raise MetricError("the generator's samples hold NaN or inf: its weights "
                                  "diverged or overflow; evaluate an earlier checkpoint")
            parts.append(to_uint8(fakes).cpu())
            meter.update(len(fakes))
    return torch.cat(parts)


def to_uint8_nchw(array: np.ndarray, source: str) -> torch.Tensor:
    """NHWC or NCHW (or NHW) images, uint8 or float in [0, 1], as uint8 [N, C, H, W]."""
    x = np.asarray(array)
    if x.ndim == 3:
        x = x[:, None]
    if x.ndim != 4:
        raise MetricError(f"{source}: images must be [N, C, H, W] or [N, H, W, C]; got shape "
                          f"{x.shape}")
    if x.shape[1] not in (1, 3):
        if x.shape[3] not in (1, 3):
            raise MetricError(f"{source}: images must have 1 or 3 channels; got shape {x.shape}")
        x = x.transpose(0, 3, 1, 2)
    if x.dtype == np.uint8:
        pass
    elif np.issubdtype(x.dtype, np.floating):
        if x.size and not (np.isfinite(x).all() and x.min() >= -1e-3 and x.max() <= 1 + 1e-3):
            raise MetricError(f"{source}: float images must lie in [0, 1]; got values in "
                              f"[{x.min():.3g}, {x.max():.3g}] (map [-1, 1] with (x + 1) / 2)")
        x = np.rint(np.clip(x, 0.0, 1.0) * 255.0).astype(np.uint8)
    elif np.issubdtype(x.dtype, np.integer) and (x.size == 0 or (x.min() >= 0 and x.max() <= 255)):
        x = x.astype(np.uint8)
    else:
        raise MetricError(f"{source}: images must be uint8 or float in [0, 1]; got {x.dtype}")
    return torch.from_numpy(np.ascontiguousarray(x))


def load_npz(path: Path) -> torch.Tensor:
    """The images of an ``.npz`` file: key ``images``, else ``arr_0``, else its first array."""
    try:
        with np.load(path, allow_pickle=False) as data:
            if not data.files:
                raise MetricError(f"{path} holds no arrays")
            key = next((k for k in ("images", "arr_0") if k in data.files), data.files[0])
            array = data[key]
    except (OSError, ValueError) as e:
        raise MetricError(f"{path} is not a readable .npz file ({e})") from None
    return to_uint8_nchw(array, f"{path}[{key}]")


def _native_size(folder: Path) -> int:
    from ganforge.data.image_files import IMAGE_SUFFIXES, image_size

    first = next((p for p in sorted(folder.rglob("*")) if p.suffix.lower() in IMAGE_SUFFIXES),
                 None)
    if first is None:
        raise MetricError(f"no images ({', '.join(sorted(IMAGE_SUFFIXES))}) found under {folder}")
    return min(image_size(first))


def source_kind(spec: str | Path) -> str:
    """What ``spec`` names: ``"run"``, ``"folder"``, ``"npz"`` or ``"dataset"``; GanforgeError
    naming the accepted forms otherwise. Cheap: reads no images."""
    from ganforge.data import DATASETS, dataset_names
    from ganforge.data.datasets import FOLDER_PREFIX

    path = Path(spec)
    if path.is_dir():
        return "run" if (path / "config.json").is_file() else "folder"
    if path.suffix == ".npz":
        if not path.is_file():
            raise MetricError(f"{path} not found")
        return "npz"
    name = str(spec)
    if not name.startswith(FOLDER_PREFIX) and ":" in name:
        name = name.rsplit(":", 1)[0]
    if name.startswith(FOLDER_PREFIX) or name in DATASETS:
        return "dataset"
    raise GanforgeError(
        f"{str(spec)!r} is not a run directory, an image folder, an .npz file or a data set "
        f"(one of: {', '.join(dataset_names())}, optionally :train or :test)"
    )


def load_images(
    spec: str | Path,
    n: int | None = None,
    *,
    seed: int = 0,
    data_dir: str | Path | None = None,
    image_size: int | None = None,
) -> ImageSource:
    """Images from ``spec``: an image folder, an ``.npz`` file, or a data set ``NAME[:SPLIT]``
    (``mnist``, ``mnist:test``, ``digits``, ``folder:PATH``). Folders and data sets are resized
    to ``image_size`` when given (else their own size); a seeded subset of ``n`` is taken."""
    from ganforge.data import load_dataset
    from ganforge.data.datasets import FOLDER_PREFIX, load_folder

    kind = source_kind(spec)
    text, path = str(spec), Path(spec)
    if kind == "run":
        raise MetricError(f"{spec} is a run directory; load its samples with "
                          "ganforge.inference.sources.load_source")
    if kind == "folder":
        size = image_size or _native_size(path)
        images = load_folder(path, size).images
        source_id = f"folder:{path.resolve()}:{size}px"
    elif kind == "npz":
        images = load_npz(path)
        source_id = f"npz:{path.resolve()}"
    else:
        name, split = text, "train"
        if not text.startswith(FOLDER_PREFIX) and ":" in text:
            name, split = text.rsplit(":", 1)
        dataset = load_dataset(name, data_dir=data_dir, split=split, image_size=image_size)
        images = dataset.images
        source_id = f"{name}:{split}:{dataset.img_size}px"
    total = len(images)
    return ImageSource(take(images, n, seed), source_id,
                       {"source": text, "images_available": total})
