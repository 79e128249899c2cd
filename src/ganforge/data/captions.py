"""Captioned images for text-to-image GANs: digits described in templated English, and the
caption data sets of Reed et al. 2016 in the layout their users have them.

Captioned digits (``captioned-mnist``, ``captioned-digits``) describe every image by its digit
and three attributes measured from its pixels (:func:`measure_attributes`):

- **thickness**, the mean stroke width: the ink's mass over half its boundary length. For a
  stroke of width w and length L the mass is wL and the boundary 2(L + w), so the ratio is
  about w when L >> w. Both are taken on grey levels, the boundary length being the isotropic
  total variation (for a binary image, the length of the ink's outline), so no threshold is
  needed and a generator's soft strokes measure like real ones.
- **slant**, the shear of the ink: cov(x, y) / var(y) of its mass, with x to the right and y
  *up*. A digit whose top leans right has a positive slant; upright is 0. It is the shear s
  for which x - s*y is uncorrelated with y, the one-line deslanting of MNIST preprocessing.
  Its bins are symmetric about 0: upright within +-the first tercile of |slant|, beyond it
  slanted left or (right) slanted by the sign.
- **size**, the ink's spread: (det cov)^(1/4) of its mass, the geometric mean of the standard
  deviations along its principal axes, in pixels. MNIST scales every digit's bounding box to
  20 px, so the box height hardly varies (52,091 of 60,000 training digits are 20 px high);
  the spread does, and a shear leaves its determinant unchanged, so slant does not leak into
  size.

Size and thickness are binned into low / middle / high by the terciles of the training split
*within each digit class* (a one is thin and small next to an eight; per-class terciles make
"a thick one" mean thick for a one, and keep every bin of every digit a third of the data).
Test captions use the training split's thresholds. The words: small / - / large, thin / - /
thick, "slanted left" / upright / slanted; a middle size or thickness has no word. Every image
has :data:`CAPTIONS_PER_IMAGE` captions, words in the order size, thickness, slant: the full
description ("a large thin upright three", "a thick seven slanted left") and random subsets of
its attribute words ("a thin three", "a three"), drawn from a seed.

``captions:PATH`` reads the CUB-200 / Oxford-102 release of Reed et al. 2016: images under
``PATH/images/<class>/<name>.jpg`` and their captions, one per line, in
``PATH/text_c10/<class>/<name>.txt``; ``trainvalclasses.txt`` and ``testclasses.txt`` in PATH,
when present, list the classes of each split (the zero-shot split of the paper), otherwise both
splits are the whole folder. Its vocabulary holds the words of all captions seen at least
:data:`MIN_WORD_COUNT` times; rarer words become ``<unk>``.

Captions are int64 token ids, 0-padded at the end; index 0 is ``<pad>`` and 1 ``<unk>`` in
every vocabulary.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F

from ganforge.data.dataset import ImageDataset
from ganforge.data.image_files import IMAGE_SUFFIXES, read_images
from ganforge.data.image_sets import DATASETS
from ganforge.errors import DataError, GanforgeError

CAPTIONS_PREFIX = "captions:"
PAD, UNK = "<pad>", "<unk>"
DIGIT_NAMES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
ATTRIBUTES = ("size", "thickness", "slant")
CAPTIONS_PER_IMAGE = 4
# Words of each attribute's low, middle and high tercile ("" is no word).
BIN_WORDS = {"size": ("small", "", "large"), "thickness": ("thin", "", "thick"),
             "slant": ("slanted left", "upright", "slanted")}
DIGIT_VOCABULARY = (PAD, UNK, "a", "an", "small", "large", "thin", "thick", "upright",
                    "slanted", "left", *DIGIT_NAMES)
# The longest digit caption: article, size, thickness, digit, "slanted", "left".
DIGIT_CAPTION_LENGTH = 6
# Captions of the digit sets that sample grids show, one per row.
DIGIT_DISPLAY_CAPTIONS = (
    *(f"a {name}" if name != "eight" else "an eight" for name in DIGIT_NAMES),
    "a thick four", "a thin four", "a large seven", "a small seven", "a slanted one",
    "a one slanted left",
)
# captions:PATH: words seen fewer times become <unk>; longer captions are cut.
MIN_WORD_COUNT = 2
MAX_CAPTION_WORDS = 40
_WORD = re.compile(r"<unk>|[a-z0-9]+")


@dataclass
class CaptionedImages(ImageDataset):
    """Images with ``captions`` int64 [N, K, L] (K captions of up to L tokens per image, ids
    into ``vocabulary``, 0-padded) and ``example_captions`` for sample grids."""

    captions: torch.Tensor | None = None
    vocabulary: tuple[str, ...] = ()
    example_captions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.captions is None or self.captions.dim() != 3 or len(self.captions) != len(self):
            raise ValueError("captions must be an int64 tensor [N, K, L], one row per image")

    @property
    def caption_length(self) -> int:
        return self.captions.shape[-1]

    def caption_text(self, index: int, k: int = 0) -> str:
        return detokenize(self.captions[index, k], self.vocabulary)


# ---- attributes measured from pixels ------------------------------------------------------------


def measure_attributes(images: torch.Tensor, chunk: int = 4096) -> dict[str, torch.Tensor]:
    """``{"thickness", "slant", "size"}``, float [N] each, of digits: uint8 [N, C, H, W] or float
    in [0, 1] (channels averaged). See the module's docstring for the definitions; empty images
    measure 0. Vectorised over ``chunk`` images at a time."""
    parts = [_measure(images[i : i + chunk]) for i in range(0, len(images), chunk)]
    return {a: torch.cat([p[a] for p in parts]) if parts else torch.zeros(0) for a in ATTRIBUTES}


def _measure(images: torch.Tensor) -> dict[str, torch.Tensor]:
    x = images.float() / 255 if images.dtype == torch.uint8 else images.float()
    x = x.mean(1)  # [n, H, W]
    height, width = x.shape[1:]
    mass = x.sum((1, 2))
    safe_mass = mass.clamp_min(1e-6)
    # Forward differences on the zero-padded picture: ink touching the border has a boundary.
    padded = F.pad(x, (1, 1, 1, 1))
    dx = padded[:, :-1, 1:] - padded[:, :-1, :-1]
    dy = padded[:, 1:, :-1] - padded[:, :-1, :-1]
    boundary = torch.hypot(dx, dy).sum((1, 2))
    thickness = 2 * mass / boundary.clamp_min(1e-6)
    # Moments of the mass, x to the right and y upwards, from the marginals and one matmul.
    cols = torch.arange(width, dtype=x.dtype)
    ups = -torch.arange(height, dtype=x.dtype)
    col_mass, row_mass = x.sum(1), x.sum(2)  # [n, W], [n, H]
    mean_x = col_mass @ cols / safe_mass
    mean_y = row_mass @ ups / safe_mass
    var_x = col_mass @ cols.square() / safe_mass - mean_x.square()
    var_y = row_mass @ ups.square() / safe_mass - mean_y.square()
    cov = ((x @ cols) * ups).sum(1) / safe_mass - mean_x * mean_y
    slant = cov / var_y.clamp_min(1e-6)
    size = (var_x * var_y - cov.square()).clamp_min(0).pow(0.25)
    empty = mass <= 1e-6
    zero = torch.zeros_like(mass)
    return {"thickness": torch.where(empty, zero, thickness),
            "slant": torch.where(empty, zero, slant), "size": torch.where(empty, zero, size)}


def tercile_thresholds(values: torch.Tensor, labels: torch.Tensor,
                       num_classes: int) -> torch.Tensor:
    """The 1/3 and 2/3 quantiles of ``values`` within each class: float [num_classes, 2]."""
    q = torch.tensor([1 / 3, 2 / 3], dtype=values.dtype)
    out = torch.zeros(num_classes, 2, dtype=values.dtype)
    for k in range(num_classes):  # ten classes, each one vectorised quantile
        of_class = values[labels == k]
        if len(of_class):
            out[k] = torch.quantile(of_class, q)
    return out


def attribute_bins(values: torch.Tensor, labels: torch.Tensor,
                   thresholds: torch.Tensor) -> torch.Tensor:
    """0 (low), 1 (middle) or 2 (high) per value, by its class's thresholds: int64 [N]."""
    low, high = thresholds[labels].unbind(1)
    return (values > low).long() + (values > high).long()


# ---- tokens -------------------------------------------------------------------------------------


def words_of(text: str) -> list[str]:
    """The words of a caption: lower-case runs of letters and digits (punctuation dropped)."""
    return _WORD.findall(text.lower())


def tokenize(texts: str | list[str], vocabulary: tuple[str, ...] | list[str],
             length: int) -> torch.Tensor:
    """Captions as int64 token ids [n, length], 0-padded; an unknown word or a caption longer
    than ``length`` words is a one-line GanforgeError."""
    texts = [texts] if isinstance(texts, str) else list(texts)
    index = {w: i for i, w in enumerate(vocabulary)}
    out = torch.zeros(len(texts), length, dtype=torch.long)
    for row, text in enumerate(texts):
        words = words_of(text)
        if not words:
            raise GanforgeError(f"caption {text!r} has no words")
        unknown = [w for w in words if w not in index]
        if unknown:
            known = [w for w in vocabulary if w not in (PAD, UNK)]
            shown = ", ".join(known[:60]) + (f", ... ({len(known)} words)" if len(known) > 60
                                              else "")
            raise GanforgeError(f"unknown word {unknown[0]!r} in caption {text!r}; this model "
                                f"knows: {shown}")
        if len(words) > length:
            raise GanforgeError(f"caption {text!r} has {len(words)} words; this model reads at "
                                f"most {length}")
        out[row, : len(words)] = torch.tensor([index[w] for w in words])
    return out


def detokenize(tokens: torch.Tensor, vocabulary: tuple[str, ...]) -> str:
    """The caption of one row of token ids."""
    return " ".join(vocabulary[int(t)] for t in tokens if int(t) != 0)


# ---- captioned digits ---------------------------------------------------------------------------


def digit_captions(labels: torch.Tensor, bins: dict[str, torch.Tensor], seed: int,
                   k: int = CAPTIONS_PER_IMAGE) -> torch.Tensor:
    """Token ids [N, k, DIGIT_CAPTION_LENGTH] into DIGIT_VOCABULARY: caption 0 names every
    attribute of the image that has a word, the others a random subset (each word kept with
    probability 1/2, drawn from ``seed``). Vectorised: every caption is built in fixed slots
    (article, size, thickness, pre-slant, digit, "slanted", "left"), then the empty slots are
    squeezed out."""
    word = {w: i for i, w in enumerate(DIGIT_VOCABULARY)}
    n = len(labels)
    keep = torch.rand(n, k, 3, generator=torch.Generator().manual_seed(seed)) < 0.5
    keep[:, 0] = True
    size, thick, slant = (bins[a][:, None].expand(n, k) for a in ATTRIBUTES)
    keep_size, keep_thick, keep_slant = keep.unbind(2)

    def pick(bin_, keep_, ids):  # ids: token of the low, middle, high bin (0: no word)
        return torch.where(keep_, torch.tensor(ids)[bin_], 0)

    slots = torch.stack([
        torch.full((n, k), word["a"]),
        pick(size, keep_size, (word["small"], 0, word["large"])),
        pick(thick, keep_thick, (word["thin"], 0, word["thick"])),
        pick(slant, keep_slant, (0, word["upright"], word["slanted"])),
        (labels[:, None] + word["zero"]).expand(n, k),
        pick(slant, keep_slant, (word["slanted"], 0, 0)),
        pick(slant, keep_slant, (word["left"], 0, 0)),
    ], dim=2)
    # Stable sort of "is empty" moves the words to the front in their order.
    order = (slots == 0).long().argsort(dim=2, stable=True)
    tokens = slots.gather(2, order)[..., :DIGIT_CAPTION_LENGTH]
    vowel = (tokens[..., 1] == word["eight"]) | (tokens[..., 1] == word["upright"])
    tokens[..., 0] = torch.where(vowel, word["an"], word["a"])
    return tokens


def caption_digits(dataset: ImageDataset, thresholds: dict[str, torch.Tensor], seed: int,
                   name: str) -> CaptionedImages:
    """``dataset``'s digits with captions binned by ``thresholds`` (per attribute, [10, 2])."""
    values = measure_attributes(dataset.images)
    bins = {a: attribute_bins(values[a], dataset.labels, thresholds[a]) for a in ATTRIBUTES}
    return CaptionedImages(
        name, dataset.images, dataset.labels, list(dataset.class_names),
        captions=digit_captions(dataset.labels, bins, seed), vocabulary=DIGIT_VOCABULARY,
        example_captions=DIGIT_DISPLAY_CAPTIONS)


def digit_thresholds(train: ImageDataset) -> dict[str, torch.Tensor]:
    """Per-class thresholds of every attribute on a training split: the terciles of size and
    thickness; for slant, +-the first tercile of |slant|, so that upright means upright (MNIST
    leans right on average: the lower tercile of the slant itself holds upright digits)."""
    values = measure_attributes(train.images)
    classes = len(DIGIT_NAMES)
    out = {a: tercile_thresholds(values[a], train.labels, classes) for a in ("size", "thickness")}
    upright = tercile_thresholds(values["slant"].abs(), train.labels, classes)[:, :1]
    out["slant"] = torch.cat([-upright, upright], dim=1)
    return out


def load_captioned_digits(base: str, root: Path, split: str, download: bool) -> CaptionedImages:
    """The digit set ``base`` (mnist or digits) of ``split`` with captions; thresholds from its
    training split, captions drawn with seed 0 (train) or 1 (test)."""
    load = DATASETS.get(base)
    data = load(root=root, split=split, download=download)
    train = data if split == "train" else load(root=root, split="train", download=download)
    return caption_digits(data, digit_thresholds(train), seed=0 if split == "train" else 1,
                          name=f"captioned-{base}")


# ---- the caption data sets of Reed et al. 2016 ------------------------------------------------


def _read_text(path: Path) -> str:
    """The text of ``path``, which must be UTF-8 (as the release's files are)."""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise DataError(f"{path} is not UTF-8 text (byte {e.object[e.start]:#04x} at offset "
                        f"{e.start}); save it as UTF-8") from None


def _split_classes(path: Path, split: str, classes: list[str]) -> list[str]:
    listing = path / ("trainvalclasses.txt" if split == "train" else "testclasses.txt")
    if not listing.is_file():
        return classes
    wanted = {line.strip() for line in _read_text(listing).splitlines() if line.strip()}
    missing = sorted(wanted - set(classes))
    if missing:
        raise DataError(f"{listing} names classes with no folder under {path / 'images'}: "
                        f"{', '.join(missing[:3])}")
    return [c for c in classes if c in wanted]


def load_caption_folder(path: Path, split: str = "train", size: int = 64) -> CaptionedImages:
    """Images and captions in the layout of Reed et al.'s CUB-200 and Oxford-102 release (see
    the module docstring), images centre-cropped square and resized to ``size``."""
    images_dir, text_dir = path / "images", path / "text_c10"
    for folder in (images_dir, text_dir):
        if not folder.is_dir():
            raise DataError(f"{folder} not found; captions:PATH needs PATH/images/<class>/ and "
                            "PATH/text_c10/<class>/ (the layout of Reed et al.'s release)")
    all_classes = sorted(p.name for p in images_dir.iterdir() if p.is_dir())
    # The vocabulary counts the captions of every split, so train and test runs share it.
    texts: dict[Path, list[list[str]]] = {}
    files_of: dict[str, list[Path]] = {}
    for cls in all_classes:
        files_of[cls] = sorted(p for p in (images_dir / cls).iterdir()
                               if p.suffix.lower() in IMAGE_SUFFIXES)
        for image in files_of[cls]:
            caption_file = text_dir / cls / f"{image.stem}.txt"
            if not caption_file.is_file():
                raise DataError(f"{image} has no captions: {caption_file} not found")
            lines = [words_of(line) for line in _read_text(caption_file).splitlines()]
            texts[image] = [w[:MAX_CAPTION_WORDS] for w in lines if w]
            if not texts[image]:
                raise DataError(f"{caption_file} holds no caption")
    classes = _split_classes(path, split, all_classes)
    files = [f for c in classes for f in files_of[c]]
    if not files:
        raise DataError(f"no images ({', '.join(sorted(IMAGE_SUFFIXES))}) under {images_dir}")
    counts = Counter(w for captions in texts.values() for words in captions for w in words)
    vocabulary = (PAD, UNK, *sorted(w for w, c in counts.items() if c >= MIN_WORD_COUNT))
    index = {w: i for i, w in enumerate(vocabulary)}
    k = max(len(texts[f]) for f in files)
    length = max(len(words) for captions in texts.values() for words in captions)  # all splits
    captions = torch.zeros(len(files), k, length, dtype=torch.long)
    for i, image in enumerate(files):
        for j in range(k):  # images with fewer captions repeat theirs
            words = texts[image][j % len(texts[image])]
            captions[i, j, : len(words)] = torch.tensor([index.get(w, 1) for w in words])
    images = read_images(files, size)
    labels = torch.tensor([classes.index(f.parent.name) for f in files])
    # Grid captions: the first caption, free of <unk>, of the first image of up to 8 classes.
    examples: list[str] = []
    for cls in [c for c in classes if files_of[c]][:8]:
        known = [w for w in texts[files_of[cls][0]] if all(x in index for x in w)]
        if known:
            examples.append(" ".join(known[0]))
    return CaptionedImages(f"{CAPTIONS_PREFIX}{path}", images, labels, classes,
                           captions=captions, vocabulary=vocabulary,
                           example_captions=tuple(examples) or (detokenize(captions[0, 0],
                                                                           vocabulary),))


@dataclass
class CaptionPicker:
    """Picks one of each image's K captions per batch, from its own seeded generator (so a run
    resumes exactly: its state goes into the batcher's)."""

    captions: torch.Tensor
    seed: int = 0
    generator: torch.Generator = field(init=False)

    def __post_init__(self) -> None:
        self.generator = torch.Generator().manual_seed(self.seed + 104_729)

    def __call__(self, idx: torch.Tensor, rows: slice, batch_size: int) -> torch.Tensor:
        """Captions [len(idx), L] of the images ``idx``: this rank's ``rows`` of a draw for the
        whole global batch, as for Augment."""
        choice = torch.randint(self.captions.shape[1], (batch_size,), generator=self.generator)
        choice = choice[rows].to(self.captions.device)
        return self.captions[idx.to(self.captions.device), choice]

    def state_dict(self) -> dict:
        return {"caption": self.generator.get_state()}

    def load_state_dict(self, state: dict) -> None:
        if "caption" in state:
            self.generator.set_state(state["caption"])
