"""The FID Inception-v3 network, in plain torch, with the exact layout of pytorch-fid's weights.

FID (Heusel et al., 2017) and the Inception Score (Salimans et al., 2016) are defined on one
particular network: the TensorFlow graph ``inception-2015-12-05`` (``classify_image_graph_def.pb``)
that the original TF implementations load. pytorch-fid (Seitzer, ``src/pytorch_fid/inception.py``)
ported those weights to ``pt_inception-2015-12-05-6726825d.pth`` and runs them on torchvision's
``Inception3`` (Szegedy et al., "Rethinking the Inception Architecture for Computer Vision",
CVPR 2016) with four block types patched to match the TF graph:

* ``FIDInceptionA``, ``FIDInceptionC``, ``FIDInceptionE_1``: the 3x3 average pool of the pool
  branch excludes the zero padding from the average (``count_include_pad=False``), as TF does;
* ``FIDInceptionE_2`` (``Mixed_7c``): the pool branch uses a 3x3 *max* pool, a quirk of that TF
  graph.

Module names below are torchvision's, so the state-dict keys (``Conv2d_1a_3x3.conv.weight``,
``Mixed_5b.branch1x1.bn.running_mean``, ..., ``fc.weight``) and shapes are those of the official
file: 94 conv+BN units (6 entries each, ``num_batches_tracked`` included) plus ``fc.weight``
[1008, 2048] and ``fc.bias`` [1008] = 566 entries, 23,850,960 parameters. There is no
``AuxLogits`` head (pytorch-fid builds the net with ``aux_logits=False``).

Preprocessing is pytorch-fid's: images in [0, 1] (uint8 is divided by 255), grey images repeated
to 3 channels, bilinear resize to 299x299 with ``align_corners=False``, then ``2 x - 1``.

Outputs are the 2048-d pool3 features (FID, KID, precision/recall) and 1008 logits for the
Inception Score. The logits are ``pool3 @ fc.weight.T`` *without* ``fc.bias``: the original
TF Inception Score code (Salimans et al.) takes the ``softmax/logits/MatMul`` weight and applies
no bias, and torch-fidelity (``logits_unbiased``) and StyleGAN2-ADA (``no_output_bias=True``) do
the same to reproduce it. Column 0 is the TF graph's "background" class and columns 1001-1007
are unused padding classes; like all three references the softmax keeps all 1008 columns, so
reported Inception Scores stay comparable.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ganforge.data.download import fetch
from ganforge.errors import DataError
from ganforge.metrics.errors import MetricError

FID_WEIGHTS_FILENAME = "pt_inception-2015-12-05-6726825d.pth"
FID_WEIGHTS_URL = (
    "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/" + FID_WEIGHTS_FILENAME
)
# torch-fidelity hosts the same file under another name: the same bytes, the same sha256.
FID_WEIGHTS_MIRRORS: tuple[str, ...] = (
    FID_WEIGHTS_URL,
    "https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/"
    "weights-inception-2015-12-05-6726825d.pth",
)
# The file's full sha256 (95,628,359 bytes), as the projects that pin either copy record it; its
# first 8 hex digits are the 6726825d in the name, torch.hub's convention. The download is
# checked against all 64: 8 digits are 32 bits, which a forged file can be made to match.
FID_WEIGHTS_SHA256 = "6726825d0af5f729cebd5821db510b11b1cfad8faad88a03f1befd49fb9129b2"
WEIGHTS_ENV_VAR = "GANFORGE_WEIGHTS"

INPUT_SIZE = 299
POOL_DIM = 2048
NUM_LOGITS = 1008


class BasicConv2d(nn.Module):
    """Conv (no bias) -> BatchNorm(eps=1e-3) -> ReLU, torchvision's ``BasicConv2d``."""

    def __init__(self, in_channels: int, out_channels: int, **kwargs: Any) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, bias=False, **kwargs)
        # eps=1e-3 is TF's batch-norm epsilon in this graph, not torch's 1e-5 default.
        self.bn = nn.BatchNorm2d(out_channels, eps=0.001)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.conv(x)), inplace=True)


def _tf_avg_pool(x: torch.Tensor) -> torch.Tensor:
    # TF's SAME-padded average pool divides by the number of real pixels, not by 9 at borders.
    return F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=False)


class FIDInceptionA(nn.Module):
    """torchvision ``InceptionA`` (Mixed_5b/c/d) with TF's average pool."""

    def __init__(self, in_channels: int, pool_features: int) -> None:
        super().__init__()
        self.branch1x1 = BasicConv2d(in_channels, 64, kernel_size=1)
        self.branch5x5_1 = BasicConv2d(in_channels, 48, kernel_size=1)
        self.branch5x5_2 = BasicConv2d(48, 64, kernel_size=5, padding=2)
        self.branch3x3dbl_1 = BasicConv2d(in_channels, 64, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, kernel_size=3, padding=1)
        self.branch_pool = BasicConv2d(in_channels, pool_features, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b1 = self.branch1x1(x)
        b5 = self.branch5x5_2(self.branch5x5_1(x))
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        bp = self.branch_pool(_tf_avg_pool(x))
        return torch.cat([b1, b5, b3, bp], 1)


class InceptionB(nn.Module):
    """torchvision ``InceptionB`` (Mixed_6a), unchanged: a grid reduction 35x35 -> 17x17."""

    def __init__(self, in_channels: int) -> None:
        super().__init__()
        self.branch3x3 = BasicConv2d(in_channels, 384, kernel_size=3, stride=2)
        self.branch3x3dbl_1 = BasicConv2d(in_channels, 64, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, kernel_size=3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b3 = self.branch3x3(x)
        bd = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        bp = F.max_pool2d(x, kernel_size=3, stride=2)
        return torch.cat([b3, bd, bp], 1)


class FIDInceptionC(nn.Module):
    """torchvision ``InceptionC`` (Mixed_6b..6e, factorised 7x7) with TF's average pool."""

    def __init__(self, in_channels: int, channels_7x7: int) -> None:
        super().__init__()
        c7 = channels_7x7
        self.branch1x1 = BasicConv2d(in_channels, 192, kernel_size=1)
        self.branch7x7_1 = BasicConv2d(in_channels, c7, kernel_size=1)
        self.branch7x7_2 = BasicConv2d(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7_3 = BasicConv2d(c7, 192, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = BasicConv2d(in_channels, c7, kernel_size=1)
        self.branch7x7dbl_2 = BasicConv2d(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = BasicConv2d(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = BasicConv2d(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = BasicConv2d(c7, 192, kernel_size=(1, 7), padding=(0, 3))
        self.branch_pool = BasicConv2d(in_channels, 192, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b1 = self.branch1x1(x)
        b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        bd = self.branch7x7dbl_1(x)
        bd = self.branch7x7dbl_3(self.branch7x7dbl_2(bd))
        bd = self.branch7x7dbl_5(self.branch7x7dbl_4(bd))
        bp = self.branch_pool(_tf_avg_pool(x))
        return torch.cat([b1, b7, bd, bp], 1)


class InceptionD(nn.Module):
    """torchvision ``InceptionD`` (Mixed_7a), unchanged: a grid reduction 17x17 -> 8x8."""

    def __init__(self, in_channels: int) -> None:
        super().__init__()
        self.branch3x3_1 = BasicConv2d(in_channels, 192, kernel_size=1)
        self.branch3x3_2 = BasicConv2d(192, 320, kernel_size=3, stride=2)
        self.branch7x7x3_1 = BasicConv2d(in_channels, 192, kernel_size=1)
        self.branch7x7x3_2 = BasicConv2d(192, 192, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7x3_3 = BasicConv2d(192, 192, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7x3_4 = BasicConv2d(192, 192, kernel_size=3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b3 = self.branch3x3_2(self.branch3x3_1(x))
        b7 = self.branch7x7x3_1(x)
        b7 = self.branch7x7x3_4(self.branch7x7x3_3(self.branch7x7x3_2(b7)))
        bp = F.max_pool2d(x, kernel_size=3, stride=2)
        return torch.cat([b3, b7, bp], 1)


class _InceptionE(nn.Module):
    """torchvision ``InceptionE`` layout (Mixed_7b/7c); subclasses choose the pool branch."""

    def __init__(self, in_channels: int) -> None:
        super().__init__()
        self.branch1x1 = BasicConv2d(in_channels, 320, kernel_size=1)
        self.branch3x3_1 = BasicConv2d(in_channels, 384, kernel_size=1)
        self.branch3x3_2a = BasicConv2d(384, 384, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3_2b = BasicConv2d(384, 384, kernel_size=(3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = BasicConv2d(in_channels, 448, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(448, 384, kernel_size=3, padding=1)
        self.branch3x3dbl_3a = BasicConv2d(384, 384, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = BasicConv2d(384, 384, kernel_size=(3, 1), padding=(1, 0))
        self.branch_pool = BasicConv2d(in_channels, 192, kernel_size=1)

    def _pool(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b1 = self.branch1x1(x)
        b3 = self.branch3x3_1(x)
        b3 = torch.cat([self.branch3x3_2a(b3), self.branch3x3_2b(b3)], 1)
        bd = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        bd = torch.cat([self.branch3x3dbl_3a(bd), self.branch3x3dbl_3b(bd)], 1)
        bp = self.branch_pool(self._pool(x))
        return torch.cat([b1, b3, bd, bp], 1)


class FIDInceptionE_1(_InceptionE):  # pytorch-fid's class name, kept for grep-ability
    """``Mixed_7b``: InceptionE with TF's average pool."""

    def _pool(self, x: torch.Tensor) -> torch.Tensor:
        return _tf_avg_pool(x)


class FIDInceptionE_2(_InceptionE):  # pytorch-fid's class name, kept for grep-ability
    """``Mixed_7c``: InceptionE whose pool branch is a 3x3 *max* pool, as in the TF graph."""

    def _pool(self, x: torch.Tensor) -> torch.Tensor:
        return F.max_pool2d(x, kernel_size=3, stride=1, padding=1)


class FIDInceptionV3(nn.Module):
    """Inception-v3 as used for FID/IS; attribute names match the official state dict."""

    def __init__(self) -> None:
        super().__init__()
        self.Conv2d_1a_3x3 = BasicConv2d(3, 32, kernel_size=3, stride=2)
        self.Conv2d_2a_3x3 = BasicConv2d(32, 32, kernel_size=3)
        self.Conv2d_2b_3x3 = BasicConv2d(32, 64, kernel_size=3, padding=1)
        self.Conv2d_3b_1x1 = BasicConv2d(64, 80, kernel_size=1)
        self.Conv2d_4a_3x3 = BasicConv2d(80, 192, kernel_size=3)
        self.Mixed_5b = FIDInceptionA(192, pool_features=32)
        self.Mixed_5c = FIDInceptionA(256, pool_features=64)
        self.Mixed_5d = FIDInceptionA(288, pool_features=64)
        self.Mixed_6a = InceptionB(288)
        self.Mixed_6b = FIDInceptionC(768, channels_7x7=128)
        self.Mixed_6c = FIDInceptionC(768, channels_7x7=160)
        self.Mixed_6d = FIDInceptionC(768, channels_7x7=160)
        self.Mixed_6e = FIDInceptionC(768, channels_7x7=192)
        self.Mixed_7a = InceptionD(768)
        self.Mixed_7b = FIDInceptionE_1(1280)
        self.Mixed_7c = FIDInceptionE_2(2048)
        self.fc = nn.Linear(POOL_DIM, NUM_LOGITS)
        self.eval()

    def pool_features(self, x: torch.Tensor) -> torch.Tensor:
        """pool3 features (N, 2048) of already preprocessed input (N, 3, 299, 299) in [-1, 1]."""
        x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))  # N x 64 x 147 x 147
        x = F.max_pool2d(x, kernel_size=3, stride=2)  # N x 64 x 73 x 73
        x = self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x))  # N x 192 x 71 x 71
        x = F.max_pool2d(x, kernel_size=3, stride=2)  # N x 192 x 35 x 35
        x = self.Mixed_5d(self.Mixed_5c(self.Mixed_5b(x)))  # N x 288 x 35 x 35
        x = self.Mixed_6a(x)  # N x 768 x 17 x 17
        x = self.Mixed_6e(self.Mixed_6d(self.Mixed_6c(self.Mixed_6b(x))))  # N x 768 x 17 x 17
        x = self.Mixed_7c(self.Mixed_7b(self.Mixed_7a(x)))  # N x 2048 x 8 x 8
        return torch.flatten(F.adaptive_avg_pool2d(x, (1, 1)), 1)

    def logits(self, pool: torch.Tensor) -> torch.Tensor:
        """The 1008 IS logits from pool3 features: ``pool @ fc.weight.T``, no bias (see module)."""
        return pool @ self.fc.weight.T

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(pool3 features (N, 2048), IS logits (N, 1008)) of images in [0, 1] or uint8."""
        pool = self.pool_features(preprocess(images, dtype=self.fc.weight.dtype))
        return pool, self.logits(pool)


def preprocess(images: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """pytorch-fid's input pipeline: [0, 1] (or uint8) N x {1,3} x H x W -> N x 3 x 299 x 299.

    uint8 is divided by 255 (what ``ToTensor`` does to the PNGs pytorch-fid reads); grey images
    are repeated to RGB; bilinear resize to 299x299 with ``align_corners=False`` and no
    antialiasing (``F.interpolate``'s default, as in pytorch-fid); finally ``2 x - 1``.
    """
    if images.dim() != 4 or images.shape[1] not in (1, 3):
        raise MetricError(f"images must have shape [N, 1 or 3, H, W]; got {tuple(images.shape)}")
    if images.dtype == torch.uint8:
        x = images.to(dtype) / 255.0
    elif images.is_floating_point():
        x = images.to(dtype)
    else:
        raise MetricError(f"images must be uint8 or floating point in [0, 1]; got {images.dtype}")
    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    if x.shape[-2:] != (INPUT_SIZE, INPUT_SIZE):
        x = F.interpolate(x, size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear", align_corners=False)
    return 2.0 * x - 1.0


# ------------------------------------------------------------------------------------ weights


def weights_dirs() -> list[Path]:
    """Folders searched for weight files, in order: ``$GANFORGE_WEIGHTS`` if set, then the cache
    folder ``$XDG_CACHE_HOME/ganforge/weights`` (``~/.cache/ganforge/weights`` by default)."""
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    folders = [Path(cache).expanduser() / "ganforge" / "weights"]
    env = os.environ.get(WEIGHTS_ENV_VAR)
    if env:
        folders.insert(0, Path(env).expanduser())
    return folders


def weights_dir() -> Path:
    """Where missing weights are downloaded to: the first of :func:`weights_dirs`."""
    return weights_dirs()[0]


def find_fid_weights() -> Path | None:
    """The local FID Inception weights file, or None; never downloads."""
    for folder in weights_dirs():
        candidate = folder / FID_WEIGHTS_FILENAME
        if candidate.is_file():
            return candidate
    return None


def resolve_fid_weights(path: str | os.PathLike[str] | None = None, download: bool = True) -> Path:
    """Path of the FID Inception weights: ``path``, else the weights dir, else a fresh download.

    Raises MetricError, one line naming where to put the file, when it is missing and cannot be
    downloaded (no network, or ``download=False``).
    """
    if path is not None:
        file = Path(path).expanduser()
        if not file.is_file():
            raise MetricError(
                f"FID Inception weights {file} not found; download {FID_WEIGHTS_URL} to that "
                "path, or pass no path to use the weights folder"
            )
        return file
    found = find_fid_weights()
    if found is not None:
        return found
    target = weights_dir() / FID_WEIGHTS_FILENAME
    where = (
        f"download {FID_WEIGHTS_URL} and save it as {target} "
        f"(or set {WEIGHTS_ENV_VAR} to the folder holding it)"
    )
    if not download:
        raise MetricError(f"FID Inception weights not found; {where}")
    try:
        return fetch(list(FID_WEIGHTS_MIRRORS), target, sha256=FID_WEIGHTS_SHA256)
    except DataError as exc:
        raise MetricError(
            f"FID Inception weights not found and could not be downloaded ({exc}); {where}"
        ) from None


def load_fid_inception(
    path: str | os.PathLike[str] | None = None, download: bool = True
) -> FIDInceptionV3:
    """The FID Inception-v3 with the official TF-ported weights, in eval mode on the CPU.

    Looks for the weights at ``path``, else in :func:`weights_dir`, else downloads them from
    :data:`FID_WEIGHTS_URL` (sha256 checked). The ``.pth`` is a torch pickle of plain
    tensors and is read with ``torch.load(..., weights_only=True)``, which unpickles no code.
    """
    file = resolve_fid_weights(path, download=download)
    try:
        state = torch.load(file, map_location="cpu", weights_only=True)
    except Exception as exc:  # a truncated zip and a foreign pickle mean the same: a bad file
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise MetricError(f"FID Inception weights {file} cannot be read ({reason})") from exc
    model = FIDInceptionV3()
    load_checked_state_dict(model, state, str(file))
    return model


def load_checked_state_dict(model: nn.Module, state: object, source: str) -> None:
    """Load ``state`` into ``model`` after checking every key and shape; MetricError if not.

    Files written before torch 0.4.1 lack BatchNorm's ``num_batches_tracked`` counters; those
    are unused in eval mode and are filled with 0, as torch itself does for old checkpoints.
    """
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise MetricError(f"{source} is not a state dict of tensors")
    expected = model.state_dict()
    state = dict(state)
    for key, value in expected.items():
        if key.endswith("num_batches_tracked") and key not in state:
            state[key] = torch.zeros_like(value)
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong = sorted(k for k in expected if k in state and state[k].shape != expected[k].shape)
    if missing or unexpected or wrong:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing keys (e.g. {missing[0]})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected keys (e.g. {unexpected[0]})")
        if wrong:
            k = wrong[0]
            parts.append(
                f"{len(wrong)} shape mismatches (e.g. {k}: {tuple(state[k].shape)} "
                f"vs {tuple(expected[k].shape)})"
            )
        raise MetricError(f"{source} does not match the FID Inception layout: {'; '.join(parts)}")
    model.load_state_dict(state, strict=True)


def state_dict_fingerprint(model: nn.Module) -> str:
    """sha256 (hex) over the names, shapes, dtypes and bytes of every tensor in the state dict.

    Keys feature caches: statistics computed with other weights (say, random ones in a test)
    must never be mistaken for those of the official network.
    """
    h = hashlib.sha256()
    for key, value in sorted(model.state_dict().items()):
        t = value.detach().to("cpu").contiguous()
        h.update(f"{key}|{tuple(t.shape)}|{t.dtype}|".encode())
        # reshape(-1) first: a 0-d tensor (num_batches_tracked) cannot be viewed as bytes.
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()
