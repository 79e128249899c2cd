"""Feature extractors: the networks whose features the metrics compare.

Anything with a ``name``, a ``hash`` and ``features(images) -> {"pool": (N, D), ...}`` is a
:class:`FeatureExtractor`; ``name`` says which network it is, and ``hash`` identifies its exact
weights so that cached real-data statistics are never reused with other weights.
:class:`BatchedExtractor` supplies batching, device placement, ``torch.inference_mode`` and
exact float32 arithmetic; :class:`InceptionExtractor` is the FID/IS network on top of it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from typing import Protocol, runtime_checkable

import numpy as np
import torch

from ganforge.metrics.errors import MetricError
from ganforge.metrics.inception import load_fid_inception, state_dict_fingerprint
from ganforge.metrics.inception_net import NUM_LOGITS, POOL_DIM, FIDInceptionV3
from ganforge.progress import Meter

# Float images this far outside [0, 1] are not rounding noise but, most likely, a generator's
# [-1, 1] tanh output, which would silently shift every feature.
_RANGE_TOLERANCE = 1e-3


@runtime_checkable
class FeatureExtractor(Protocol):
    """What the metrics need from a feature network.

    ``features`` takes images [N, C, H, W], uint8 or float in [0, 1], and returns CPU tensors:
    ``"pool"`` (N, D) always, ``"logits"`` (N, K) when the network has a classifier head.
    """

    name: str
    hash: str

    def features(self, images: torch.Tensor) -> dict[str, torch.Tensor]: ...


@contextlib.contextmanager
def exact_float32(device: torch.device) -> Iterator[None]:
    """Run without autocast and without TF32, restoring the global flags afterwards.

    Trainers commonly enable TF32 or AMP for speed; either changes Inception features by ~1e-3
    relative, enough to move FID in the first decimal, so extraction turns both off.
    """
    saved = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    try:
        with torch.autocast(device_type=device.type, enabled=False):
            yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


def check_images(images: torch.Tensor | np.ndarray) -> torch.Tensor:
    """``images`` as a tensor [N, C, H, W], after checking dtype and the [0, 1] value range."""
    x = torch.as_tensor(images)
    if x.dim() != 4:
        raise MetricError(f"images must have shape [N, C, H, W]; got {tuple(x.shape)}")
    if x.is_floating_point():
        if x.numel() and (x.min() < -_RANGE_TOLERANCE or x.max() > 1 + _RANGE_TOLERANCE):
            raise MetricError(
                f"float images must lie in [0, 1]; got values in [{float(x.min()):.3g}, "
                f"{float(x.max()):.3g}] (map a tanh generator's output with (x + 1) / 2)"
            )
    elif x.dtype != torch.uint8:
        raise MetricError(f"images must be uint8 or float in [0, 1]; got {x.dtype}")
    return x


class BatchedExtractor:
    """Base for extractors: splits images into batches and runs :meth:`forward_batch` on each.

    Subclasses set ``name``, ``hash``, ``device`` and implement :meth:`forward_batch`. With
    ``amp=False`` (the default) batches run in exact float32 (:func:`exact_float32`); ``amp=True``
    autocasts for speed, at the cost of features that no longer match the reference ones.
    """

    name: str = "batched"
    hash: str = ""

    def __init__(
        self, device: str | torch.device = "cpu", batch_size: int = 50, amp: bool = False
    ) -> None:
        if batch_size < 1:
            raise MetricError(f"batch_size must be at least 1; got {batch_size}")
        self.device = torch.device(device)
        self.batch_size = batch_size
        self.amp = amp

    def forward_batch(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """Features of one batch already on ``self.device``; returns (N, ...) tensors."""
        raise NotImplementedError

    def empty_features(self) -> dict[str, torch.Tensor]:
        """What :meth:`features` returns for zero images."""
        raise NotImplementedError

    def features(
        self, images: torch.Tensor | np.ndarray, batch_size: int | None = None
    ) -> dict[str, torch.Tensor]:
        """Features of ``images`` [N, C, H, W] (uint8 or float in [0, 1]), float32 CPU tensors."""
        x = check_images(images)
        if len(x) == 0:
            return self.empty_features()
        outputs: dict[str, list[torch.Tensor]] = {}
        context = (
            torch.autocast(device_type=self.device.type) if self.amp else exact_float32(self.device)
        )
        with (torch.inference_mode(), context,
              Meter(f"features ({self.name})", len(x), "images") as meter):
            for batch in x.split(batch_size or self.batch_size):
                result = self.forward_batch(batch.to(self.device, non_blocking=True))
                for key, value in result.items():
                    outputs.setdefault(key, []).append(value.float().cpu())
                meter.update(len(batch))
        return {key: torch.cat(parts) for key, parts in outputs.items()}


class InceptionExtractor(BatchedExtractor):
    """pool3 features (N, 2048) and IS logits (N, 1008) of the FID Inception-v3.

    ``model`` defaults to :func:`~ganforge.metrics.inception.load_fid_inception` (official
    weights, downloaded if needed). ``hash`` is a prefix of the sha256 of the model's state
    dict, so randomly initialised test networks never share cache entries with the real one.
    """

    name = "inception-v3-fid"

    def __init__(
        self,
        model: FIDInceptionV3 | None = None,
        device: str | torch.device = "cpu",
        batch_size: int = 50,
        amp: bool = False,
        weights_path: str | None = None,
        download: bool = True,
    ) -> None:
        super().__init__(device=device, batch_size=batch_size, amp=amp)
        model = model if model is not None else load_fid_inception(weights_path, download)
        self.hash = state_dict_fingerprint(model)[:16]
        self.model = model.to(self.device).eval()
        for p in self.model.parameters():
            p.requires_grad_(False)

    def forward_batch(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        pool, logits = self.model(images)
        return {"pool": pool, "logits": logits}

    def empty_features(self) -> dict[str, torch.Tensor]:
        return {"pool": torch.empty(0, POOL_DIM), "logits": torch.empty(0, NUM_LOGITS)}


def extract_features(
    extractor: FeatureExtractor, batches: Iterable[torch.Tensor]
) -> dict[str, torch.Tensor]:
    """Run ``extractor`` over an iterable of image batches (e.g. from a generator) and concat."""
    outputs: dict[str, list[torch.Tensor]] = {}
    for batch in batches:
        for key, value in extractor.features(batch).items():
            outputs.setdefault(key, []).append(value)
    if not outputs:
        raise MetricError("no images to extract features from")
    return {key: torch.cat(parts) for key, parts in outputs.items()}
