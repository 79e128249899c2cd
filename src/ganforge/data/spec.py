"""What the networks need to know of the data, saved with a run so loading needs no data."""

from __future__ import annotations

from dataclasses import dataclass

from ganforge.config import check_field_types
from ganforge.data.captions import CaptionedImages
from ganforge.data.dataset import ImageDataset
from ganforge.data.toy import ToyMixture
from ganforge.data.translation import TranslationData
from ganforge.errors import GanforgeError

TrainingData = ImageDataset | ToyMixture | TranslationData


@dataclass(frozen=True)
class DataSpec:
    """``kind`` is ``"image"`` ([C, H, W] samples), ``"points"`` (the toy mixtures' [D] vectors,
    with ``img_channels`` = D and ``img_size`` = 1) or ``"translation"`` (two domains: A has
    ``img_channels`` channels, B ``b_channels``; ``class_names`` name the domains; ``paired``
    says whether A[i] and B[i] belong together). Captioned data (text-to-image) adds the
    ``vocabulary`` of its token ids, the ``caption_length`` in tokens, and the
    ``example_captions`` sample grids show.
    """

    img_channels: int
    img_size: int
    num_classes: int = 0
    class_names: tuple[str, ...] = ()
    kind: str = "image"
    b_channels: int = 0
    paired: bool = False
    vocabulary: tuple[str, ...] = ()
    caption_length: int = 0
    example_captions: tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, data: dict) -> DataSpec:
        """The spec saved in a run's config.json, its fields' types and sizes checked: the
        networks are built from it before any weight is read."""
        # JSON turns the tuples into lists.
        spec = cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})
        check_field_types(spec)
        for name, low, high in SPEC_BOUNDS:
            value = getattr(spec, name)
            if not low <= value <= high:
                raise GanforgeError(f"data_spec {name} must lie in [{low}, {high}], got {value}")
        if len(spec.vocabulary) > MAX_VOCABULARY:
            raise GanforgeError(f"data_spec vocabulary holds {len(spec.vocabulary)} words, more "
                                f"than {MAX_VOCABULARY}")
        return spec


# What a saved DataSpec may hold; far beyond any data set ganforge reads.
SPEC_BOUNDS = (("img_channels", 1, 64), ("img_size", 1, 4096), ("num_classes", 0, 100_000),
               ("b_channels", 0, 64), ("caption_length", 0, 10_000))
MAX_VOCABULARY = 1_000_000


def data_spec(data: TrainingData) -> DataSpec:
    if isinstance(data, ToyMixture):
        return DataSpec(data.point_dim, 1, kind="points")
    if isinstance(data, TranslationData):
        a, b = data.channels
        return DataSpec(a, data.img_size, class_names=tuple(data.domain_names),
                        kind="translation", b_channels=b, paired=data.paired)
    if isinstance(data, CaptionedImages):
        return DataSpec(data.img_channels, data.img_size, data.num_classes,
                        tuple(data.class_names), vocabulary=tuple(data.vocabulary),
                        caption_length=data.caption_length,
                        example_captions=tuple(data.example_captions))
    return DataSpec(data.img_channels, data.img_size, data.num_classes, tuple(data.class_names))
