"""Domain metrics for MNIST-scale GANs: a small digit classifier and the scores built on it.

Inception-based FID and IS (Heusel et al., 2017; Salimans et al., 2016) feed 28x28 grey digits
to a network trained on 299x299 colour photographs, so most of what they measure is how
ImageNet features react to upsampled strokes. The standard remedy for MNIST is to compute the
same formulas on a classifier trained on the domain itself: a LeNet-style CNN (LeCun et al.,
"Gradient-Based Learning Applied to Document Recognition", Proc. IEEE 1998), whose penultimate
layer replaces Inception's pool3 and whose softmax replaces Inception's class posterior.

The numbers are only comparable when the same classifier produces them, so the packaged weights
are pinned by sha256 (:data:`WEIGHTS_SHA256`) and the extractor reports that hash; see
``weights/README.md`` for how the file was trained and its test accuracy.
"""

from __future__ import annotations

import hashlib
import json
import struct
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load as load_safetensors_bytes
from torch import nn

from ganforge.errors import GanforgeError
from ganforge.metrics.class_scores import (
    ImagesLike,
    class_histogram,
    classifier_score,
    confident_share,
    kl_to_uniform,
)
from ganforge.metrics.frechet import frechet_distance

WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "weights"
WEIGHTS_FILE = "mnist_lenet.safetensors"
# sha256 of the packaged weights: FID/IS values are only comparable between runs that used the
# very same classifier, so a silently different file must be refused, not loaded.
WEIGHTS_SHA256 = "a0480e161ea821a545b5ea97375068fe404d4e978d5ca8c9a632c2130fd55f6c"
DEFAULT_WEIGHTS_PATH = WEIGHTS_DIR / WEIGHTS_FILE
# The same network trained on scikit-learn's 8x8 digits at the 16 px `ganforge train` uses (the
# MNIST classifier misreads upscaled 8x8 digits); see weights/README.md.
DIGITS_WEIGHTS_PATH = WEIGHTS_DIR / "digits_lenet.safetensors"
DIGITS_WEIGHTS_SHA256 = "acd4ea8fde6d50800a6d314045ee3b98625862597e80c75125044362037aa7d1"

NUM_CLASSES = 10
IMAGE_SIZE = 28
# MNIST train pixel mean and std in [0, 1]; normalising inside the model keeps the public input
# convention a plain [0, 1] image, the same as the rest of ganforge's metrics.
_MNIST_MEAN = 0.1307
_MNIST_STD = 0.3081
# Float inputs this far outside [0, 1] are not rounding noise: most likely a generator's
# [-1, 1] tanh output, which would silently wreck every score below.
_RANGE_TOLERANCE = 1e-3


class ClassifierWeightsError(GanforgeError):
    """The MNIST classifier weights are missing, corrupt or fail their sha256 check."""


class LeNet(nn.Module):
    """LeNet-style CNN for 1x28x28 digits (LeCun et al., 1998), with batch norm and dropout.

    Three 3x3 conv blocks (``channels``, each conv -> BN -> ReLU -> 2x2 max-pool: 28 -> 14 ->
    7 -> 3), a ``hidden``-unit fully connected layer whose ReLU output is the feature vector
    (:meth:`features`, shape [N, hidden]), dropout, and a linear layer to 10 logits.

    Input convention (both :meth:`features` and :meth:`forward`): images in [0, 1] of shape
    [N, 1, 28, 28]. For convenience uint8 images (0..255) are divided by 255, [N, H, W] gets a
    channel axis, RGB [N, 3, H, W] is averaged over channels, and other sizes are resized to
    28x28 with antialiased bilinear interpolation. Float images must already lie in [0, 1]: a
    generator's [-1, 1] output must be mapped with ``(x + 1) / 2`` first, else a
    :class:`~ganforge.errors.GanforgeError` is raised.
    """

    def __init__(
        self,
        channels: tuple[int, int, int] | list[int] = (32, 64, 128),
        hidden: int = 128,
        dropout: float = 0.3,
    ) -> None:
        super().__init__()
        c1, c2, c3 = (int(c) for c in channels)
        self.kwargs: dict[str, Any] = {
            "channels": [c1, c2, c3],
            "hidden": int(hidden),
            "dropout": float(dropout),
        }
        layers: list[nn.Module] = []
        for c_in, c_out in ((1, c1), (c1, c2), (c2, c3)):
            # bias=False: BN's shift makes a conv bias redundant.
            layers += [
                nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
                nn.BatchNorm2d(c_out),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(2),
            ]
        self.conv = nn.Sequential(*layers)
        self.fc = nn.Linear(c3 * 3 * 3, hidden)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden, NUM_CLASSES)

    @property
    def feature_dim(self) -> int:
        """Width F of :meth:`features`."""
        return self.fc.out_features

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate-layer activations [N, F]: the role Inception's pool3 plays in FID."""
        x = prepare_images(x).to(self.fc.weight.device)
        x = (x - _MNIST_MEAN) / _MNIST_STD
        return F.relu(self.fc(self.conv(x).flatten(1)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits [N, 10] for digits 0-9."""
        return self.head(self.dropout(self.features(x)))


def prepare_images(images: ImagesLike) -> torch.Tensor:
    """Convert images to the classifier's input: float32 [N, 1, 28, 28] in [0, 1].

    Accepts uint8 (divided by 255) or float in [0, 1]; [N, H, W], [N, 1, H, W] or [N, 3, H, W]
    (RGB is averaged over channels); any H, W (antialiased bilinear resize to 28x28).
    """
    x = torch.as_tensor(images)
    if x.dim() == 3:
        x = x.unsqueeze(1)
    if x.dim() != 4 or x.shape[1] not in (1, 3):
        raise GanforgeError(
            f"images must have shape [N, 1 or 3, H, W] (or [N, H, W]); got {tuple(x.shape)}"
        )
    if x.dtype == torch.uint8:
        x = x.float().div_(255.0)
    elif x.is_floating_point():
        x = x.float()
        if x.numel() and (x.min() < -_RANGE_TOLERANCE or x.max() > 1 + _RANGE_TOLERANCE):
            raise GanforgeError(
                f"float images must lie in [0, 1]; got values in [{float(x.min()):.3g}, "
                f"{float(x.max()):.3g}] (map a tanh generator's output with (x + 1) / 2)"
            )
    else:
        raise GanforgeError(f"images must be uint8 or floating point; got {x.dtype}")
    if x.shape[1] == 3:
        x = x.mean(dim=1, keepdim=True)
    if x.shape[-2:] != (IMAGE_SIZE, IMAGE_SIZE):
        # antialias only matters when shrinking, where plain bilinear would alias thin strokes.
        x = F.interpolate(
            x, size=(IMAGE_SIZE, IMAGE_SIZE), mode="bilinear", align_corners=False,
            antialias=True,
        )
    return x.clamp(0.0, 1.0)


def sha256_of(data: bytes) -> str:
    """Hex sha256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def load_mnist_classifier(
    path: str | Path | None = None,
    device: str | torch.device = "cpu",
    sha256: str | None = WEIGHTS_SHA256,
) -> LeNet:
    """Load the packaged MNIST LeNet (or the file at ``path``), checked against ``sha256``.

    The architecture is rebuilt from the file's safetensors metadata (``arch``, ``kwargs`` as
    JSON), so nothing is unpickled. Pass ``sha256=None`` to load weights you trained yourself
    with ``scripts/train_classifier.py``; scores made with them are not comparable to scores
    made with the packaged file. Raises :class:`ClassifierWeightsError` (a one-line
    ``ValueError``) naming the file when it is missing, corrupt or fails the check.
    """
    file = Path(path) if path is not None else DEFAULT_WEIGHTS_PATH
    fix = "reinstall ganforge or retrain with scripts/train_classifier.py"
    if not file.is_file():
        raise ClassifierWeightsError(f"digit classifier weights {file} not found; {fix}")
    # Hash and parse the same bytes, so the file cannot change between the check and the load.
    data = file.read_bytes()
    digest = sha256_of(data)
    if sha256 is not None and digest != sha256.lower():
        raise ClassifierWeightsError(
            f"digit classifier weights {file} fail their sha256 check (got {digest[:16]}..., "
            f"expected {sha256[:16]}...): the file is corrupt or another version; {fix}"
        )
    try:
        metadata = _safetensors_metadata(data)
        if metadata.get("arch") != "LeNet":
            raise ValueError(f"arch is {metadata.get('arch')!r}, not 'LeNet'")
        model = LeNet(**json.loads(metadata["kwargs"]))
        state = {
            k: v.float() if v.is_floating_point() else v
            for k, v in load_safetensors_bytes(data).items()
        }
        model.load_state_dict(state, strict=True)
    except Exception as exc:  # any parse failure means the same thing to the user: a bad file
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ClassifierWeightsError(
            f"digit classifier weights {file} cannot be read ({reason}); {fix}"
        ) from exc
    model.weights_sha256 = digest  # type: ignore[assignment]
    # channels_last lets oneDNN keep its native NHWC layout between layers: ~1.5x faster
    # inference on CPU than reordering NCHW tensors at every conv.
    return model.to(device=device, memory_format=torch.channels_last).eval()


def _safetensors_metadata(data: bytes) -> dict[str, str]:
    """The ``__metadata__`` dict of a safetensors file held in memory (format: u64 LE length,
    then a JSON header)."""
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    return dict(header.get("__metadata__") or {})


class MNISTClassifierExtractor:
    """Batched features and logits from the packaged MNIST classifier, for the metrics below.

    ``name`` and ``hash`` (a prefix of the weights' sha256) identify the classifier, so that a
    reported score can say exactly which network produced it.
    """

    name = "mnist-lenet"
    default_path = DEFAULT_WEIGHTS_PATH
    default_sha256 = WEIGHTS_SHA256

    def __init__(
        self,
        path: str | Path | None = None,
        device: str | torch.device = "cpu",
        sha256: str | None = "packaged",
    ) -> None:
        self.device = torch.device(device)
        if sha256 == "packaged":  # the packaged file's digest, this class's own
            sha256 = self.default_sha256
        self.model = load_mnist_classifier(path or self.default_path, device=self.device,
                                           sha256=sha256)
        self.sha256: str = self.model.weights_sha256  # type: ignore[assignment]
        self.hash = self.sha256[:12]

    def features(self, images: ImagesLike, batch_size: int = 500) -> dict[str, torch.Tensor]:
        """``{"pool": [N, F], "logits": [N, 10]}`` as float64 CPU tensors.

        Images follow :class:`LeNet`'s input convention; they are converted one batch at a time,
        so a large uint8 set is never held as float in full.
        """
        x = torch.as_tensor(images)
        pools: list[torch.Tensor] = []
        logits: list[torch.Tensor] = []
        with torch.inference_mode():
            for start in range(0, len(x), batch_size):
                batch = x[start : start + batch_size]
                feats = self.model.features(batch)
                pools.append(feats.double().cpu())
                logits.append(self.model.head(feats).double().cpu())
        width = self.model.feature_dim
        pool = torch.cat(pools) if pools else torch.empty(0, width, dtype=torch.float64)
        logit = torch.cat(logits) if logits else torch.empty(0, NUM_CLASSES, dtype=torch.float64)
        return {"pool": pool, "logits": logit}


class DigitsClassifierExtractor(MNISTClassifierExtractor):
    """The same, from the classifier of scikit-learn's digits (16 px, as `ganforge train`)."""

    name = "digits-lenet"
    default_path = DIGITS_WEIGHTS_PATH
    default_sha256 = DIGITS_WEIGHTS_SHA256


# --------------------------------------------------------------------------------- metrics


def _gaussian(features: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    x = features.double().numpy()
    if x.shape[0] < 2:
        raise GanforgeError(f"MNIST-FID needs at least 2 images per set; got {x.shape[0]}")
    return x.mean(axis=0), np.atleast_2d(np.cov(x, rowvar=False))


def mnist_fid(
    real_images: ImagesLike,
    fake_images: ImagesLike,
    extractor: MNISTClassifierExtractor | None = None,
    batch_size: int = 500,
) -> float:
    """Fréchet distance between Gaussians fitted to the MNIST classifier's penultimate features.

    Heusel et al., "GANs Trained by a Two Time-Scale Update Rule Converge to a Local Nash
    Equilibrium", NeurIPS 2017, eq. 6: d^2 = |mu_r - mu_f|^2 + Tr(S_r + S_f - 2 (S_r S_f)^{1/2}),
    with the LeNet features of :class:`LeNet` in place of Inception pool3. Like FID it is biased
    upwards for small sample counts, so only compare values computed from equally many images.
    """
    ext = extractor or MNISTClassifierExtractor()
    mu_r, s_r = _gaussian(ext.features(real_images, batch_size)["pool"])
    mu_f, s_f = _gaussian(ext.features(fake_images, batch_size)["pool"])
    return frechet_distance(mu_r, s_r, mu_f, s_f)


def domain_report(
    fake_images: ImagesLike,
    real_images: ImagesLike | None = None,
    extractor: MNISTClassifierExtractor | None = None,
    splits: int = 10,
    threshold: float = 0.9,
    batch_size: int = 500,
) -> dict[str, Any]:
    """All MNIST domain metrics of ``fake_images`` in one pass of the classifier.

    Keys: ``classifier_score`` and ``classifier_score_std`` (:func:`classifier_score`),
    ``class_histogram`` (list of 10 counts), ``kl_to_uniform``, ``confident_share``,
    ``num_fake``, ``classifier`` (name) and ``weights_sha256``; plus ``mnist_fid`` and
    ``num_real`` when ``real_images`` is given.
    """
    ext = extractor or MNISTClassifierExtractor()
    fake = ext.features(fake_images, batch_size)
    counts = class_histogram(fake["logits"])
    score, score_std = classifier_score(fake["logits"], splits=min(splits, len(fake["logits"])))
    report: dict[str, Any] = {
        "classifier": ext.name,
        "weights_sha256": ext.sha256,
        "num_fake": int(len(fake["logits"])),
        "classifier_score": score,
        "classifier_score_std": score_std,
        "class_histogram": counts.tolist(),
        "kl_to_uniform": kl_to_uniform(counts),
        "confident_share": confident_share(fake["logits"], threshold),
    }
    if real_images is not None:
        mu_f, s_f = _gaussian(fake["pool"])
        mu_r, s_r = _gaussian(ext.features(real_images, batch_size)["pool"])
        report["num_real"] = len(real_images)
        report["mnist_fid"] = frechet_distance(mu_r, s_r, mu_f, s_f)
    return report
