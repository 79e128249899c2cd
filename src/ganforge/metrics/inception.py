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

import torch
from torch import nn

from ganforge.data.download import fetch
from ganforge.errors import DataError
from ganforge.metrics.errors import MetricError
from ganforge.metrics.inception_net import FIDInceptionV3

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
