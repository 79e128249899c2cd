"""The figures `ganforge train` prints at the end of a run on digit data: how its samples read
to the packaged digit classifier, beside what the same classifier makes of real held-out digits.

A number alone says little (is a confident share of 0.9 good?); the real digits' own figures
measured the same way say what "like the real data" means. For each data set with a packaged
classifier: the confident share (samples the classifier reads with probability >= 0.9), the KL
of the predicted class histogram to uniform (missing or over-drawn digits), and the Fréchet
distance on the classifier's features against the training images, for the samples and for the
held-out test digits alike.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

# Data sets whose samples a packaged classifier reads: (metric prefix, real test split).
DIGIT_DATA = {
    "digits": ("digits", "digits:test"),
    "captioned-digits": ("digits", "digits:test"),
    "mnist": ("mnist", "mnist:test"),
    "captioned-mnist": ("mnist", "mnist:test"),
}
# Samples whose class histogram and confident share are counted (at least).
CLASS_SAMPLES = 2000


@dataclass(frozen=True)
class SampleQuality:
    """A run's samples and the real test digits, scored alike."""

    prefix: str
    n: int  # samples drawn
    n_test: int  # real test digits (and samples in the Fréchet distance)
    fake: dict[str, float]
    real: dict[str, float]

    def lines(self) -> list[str]:
        names = (("confident_share", "confident share (higher is better)"),
                 ("kl_uniform", "class KL to uniform (lower is better)"),
                 ("fid", f"{self.prefix}-FID to the train digits, {self.n_test:,} images "
                         "(lower is better)"))
        width = max(len(label) for _, label in names)
        rows = [f"sample quality, read by the packaged {self.prefix} classifier ({self.n:,} "
                f"samples, {self.n_test:,} real test digits):",
                f"  {'':{width}}    samples  real test digits"]
        for key, label in names:
            digits = 1 if key == "fid" else 3
            rows.append(f"  {label:{width}}  {self.fake[key]:9.{digits}f}  "
                        f"{self.real[key]:9.{digits}f}")
        return rows


def sample_quality(draw: Callable[[int], torch.Tensor], dataset: str,
                   data_dir: str | None = None, image_size: int | None = None,
                   device: str = "auto") -> SampleQuality | None:
    """Score a run's samples (``draw(n)``: n of them as uint8 images) and the real test digits
    of ``dataset`` with its classifier; None for data sets without one."""
    from ganforge.metrics.evaluate import Evaluator
    from ganforge.metrics.sources import load_images

    if dataset not in DIGIT_DATA:
        return None
    prefix, test_split = DIGIT_DATA[dataset]
    classes = Evaluator(f"{prefix}-classes", device=_device(device))
    network = classes.extractor(classes.metrics[0].extractor)
    fid = Evaluator(f"{prefix}-fid", device=_device(device),
                    extractors={classes.metrics[0].extractor: network})
    train = load_images(dataset.removeprefix("captioned-"), None, data_dir=data_dir,
                        image_size=image_size)
    test = load_images(test_split, None, data_dir=data_dir, image_size=image_size)
    n_test = len(test.images)
    fake = draw(max(CLASS_SAMPLES, n_test))
    features = fid.real_features(train.images, train.id)
    # The Fréchet distances of samples and test digits from equally many images, so the bias of
    # a small sample count is the same on both sides.
    scored = {side: {**classes.compute(all_), **fid.compute(all_[:n_test], features)}
              for side, all_ in (("fake", fake), ("real", test.images))}
    return SampleQuality(prefix, len(fake), n_test, *(
        {key: float(scored[side][f"{prefix}_{key}"])
         for key in ("confident_share", "kl_uniform", "fid")} for side in ("fake", "real")))


def _device(name: str) -> torch.device:
    from ganforge.devices import resolve_device

    return resolve_device(name)
