"""Differentiable augmentation of D's inputs (DiffAugment, Zhao et al. 2020).

With little data D memorises the training set and G's gradients stop meaning anything. DiffAugment
transforms every image D sees, real and fake alike, with transforms that are differentiable in
the image, so G is still trained through them and never learns to produce the transforms
themselves (sec. 3 of the paper: augmenting the reals alone leaks into G's samples). The three
families of the paper's policy, each drawn afresh for every image:

* ``color``: brightness ``x + (u - 0.5)``, saturation ``(x - gray) * 2u + gray`` (a no-op on grey
  images) and contrast ``(x - mean) * (u + 0.5) + mean``, with ``u ~ U(0, 1)`` each;
* ``translation``: a shift by up to 1/8 of the image side in each direction, the vacated border
  filled with zeros;
* ``cutout``: a square of half the image side set to zero at a random position.

Two more, not in DiffAugment, change how a digit is drawn without changing which digit it is:

* ``affine``: a rotation by up to 15 degrees, a shear by up to 0.2 and a scaling by 0.85-1.15
  about the centre, sampled bilinearly, the edge pixels extended into what moves in;
* ``stroke``: strokes thickened or thinned (halfway to a 3x3 grey-scale dilation or erosion: a
  full one erases the thinnest 28-px strokes) or left alone, one of the three for each image.

InfoGAN's ``--code-augment`` reads its codes back through these, so a code that stands for a
slant or a stroke width rather than a digit cannot be read (``methods/infogan.py``).

Images are in [-1, 1], so zero is mid-grey, as in the paper's code. The random draws use the
device's generator, so a step captured in a CUDA graph draws new ones on every replay.

Adaptive (ADA, Karras et al. 2020, sec. 3): each transform is applied to an image with
probability ``p`` instead of always, and ``p`` follows D's overfitting: the overfitting
heuristic r_t = E[sign(D(x_real))] (eq. 1) above its target raises ``p``, below lowers it, by
the batch size over ``speed`` images each D step (ADA adjusts every 4 batches with 500k images
from 0 to 1; these data sets see a few hundred thousand images in a whole run, so the speed is a
setting). ``p`` stays on the device (no host sync) and is saved with the checkpoint.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ganforge.errors import GanforgeError

# In the paper's order: colour, then geometry.
AUGMENTATIONS = ("color", "translation", "cutout", "affine", "stroke")
TRANSLATION_RATIO = 1 / 8
CUTOUT_RATIO = 1 / 2


def parse_policy(policy: str | None, flag: str = "--augment") -> tuple[str, ...]:
    """``"translation,cutout"`` -> the named augmentations in the paper's order; refuses others,
    naming the ``flag`` they came from."""
    if (policy or "").strip().lower() in ("none", "off"):  # turns off a data set's default
        return ()
    names = [p.strip() for p in (policy or "").split(",") if p.strip()]
    unknown = [n for n in names if n not in AUGMENTATIONS]
    if unknown:
        raise GanforgeError(f"unknown augmentation {unknown[0]!r} in {flag}; choose from: "
                            f"{', '.join(AUGMENTATIONS)} (comma-separated)")
    return tuple(a for a in AUGMENTATIONS if a in names)


def _uniform(x: torch.Tensor) -> torch.Tensor:
    return torch.rand(x.shape[0], 1, 1, 1, device=x.device, dtype=x.dtype)


def color(x: torch.Tensor) -> torch.Tensor:
    x = x + (_uniform(x) - 0.5)
    gray = x.mean(1, keepdim=True)
    x = (x - gray) * (_uniform(x) * 2) + gray
    mean = x.mean((1, 2, 3), keepdim=True)
    return (x - mean) * (_uniform(x) + 0.5) + mean


def _shifted(x: torch.Tensor, dy: torch.Tensor, dx: torch.Tensor) -> torch.Tensor:
    """``x`` with image i moved by (dy[i], dx[i]) pixels, zeros where nothing moved in."""
    n, _, h, w = x.shape
    padded = F.pad(x, (1, 1, 1, 1))
    # Source rows and columns in the padded image; out-of-range ones land on its zero border.
    rows = (torch.arange(h, device=x.device)[None] - dy[:, None] + 1).clamp(0, h + 1)
    cols = (torch.arange(w, device=x.device)[None] - dx[:, None] + 1).clamp(0, w + 1)
    batch = torch.arange(n, device=x.device)[:, None, None]
    picked = padded.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]]
    return picked.permute(0, 3, 1, 2)


def translation(x: torch.Tensor, ratio: float = TRANSLATION_RATIO) -> torch.Tensor:
    n, _, h, w = x.shape
    sy, sx = int(h * ratio + 0.5), int(w * ratio + 0.5)
    dy = torch.randint(-sy, sy + 1, (n,), device=x.device)
    dx = torch.randint(-sx, sx + 1, (n,), device=x.device)
    return _shifted(x, dy, dx)


def cutout(x: torch.Tensor, ratio: float = CUTOUT_RATIO) -> torch.Tensor:
    n, _, h, w = x.shape
    size_y, size_x = int(h * ratio + 0.5), int(w * ratio + 0.5)
    # The square's top-left corner; it may hang over the edge, as in the paper's code.
    top = torch.randint(0, h + 1 - size_y % 2, (n, 1), device=x.device) - size_y // 2
    left = torch.randint(0, w + 1 - size_x % 2, (n, 1), device=x.device) - size_x // 2
    ys = torch.arange(h, device=x.device)[None]
    xs = torch.arange(w, device=x.device)[None]
    inside_y = (ys >= top) & (ys < top + size_y)
    inside_x = (xs >= left) & (xs < left + size_x)
    keep = ~(inside_y[:, :, None] & inside_x[:, None, :])
    return x * keep[:, None].to(x.dtype)


def affine(x: torch.Tensor, degrees: float = 15.0, shear: float = 0.2,
           scale: tuple[float, float] = (0.85, 1.15)) -> torch.Tensor:
    n = x.shape[0]
    u = torch.rand(n, 3, device=x.device, dtype=torch.float32) * 2 - 1
    angle = u[:, 0] * (degrees * torch.pi / 180)
    k = u[:, 1] * shear
    s = scale[0] + (u[:, 2] + 1) / 2 * (scale[1] - scale[0])
    cos, sin = torch.cos(angle) / s, torch.sin(angle) / s
    # The map from output to input coordinates: rotation, then a horizontal shear (a slant).
    theta = torch.stack([torch.stack([cos, -sin + k * cos, torch.zeros_like(k)], 1),
                         torch.stack([sin, cos + k * sin, torch.zeros_like(k)], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid.to(x.dtype), padding_mode="border", align_corners=False)


def stroke(x: torch.Tensor) -> torch.Tensor:
    thick = (x + F.max_pool2d(x, 3, 1, 1)) / 2
    thin = (x - F.max_pool2d(-x, 3, 1, 1)) / 2
    pick = torch.randint(0, 3, (x.shape[0], 1, 1, 1), device=x.device)
    return torch.where(pick == 0, thin, torch.where(pick == 1, x, thick))


_TRANSFORMS = {"color": color, "translation": translation, "cutout": cutout, "affine": affine,
               "stroke": stroke}


class DiffAugment(nn.Module):
    """Applies the policy's augmentations to a batch of images; the identity without any. With
    ``target`` (ADA), each transform applies to an image with the adaptive probability ``p``."""

    def __init__(self, policy: str | None, target: float | None = None,
                 speed: float = 100_000) -> None:
        super().__init__()
        self.policy = parse_policy(policy)
        if target is not None and not self.policy:
            raise GanforgeError("--ada-target adapts how often --augment's transforms apply: "
                                "give --augment too, e.g. --augment translation,cutout")
        self.target, self.speed = target, speed
        if target is not None:  # only then, so checkpoints of fixed policies keep their keys
            self.register_buffer("p", torch.zeros(()))

    @property
    def adaptive(self) -> bool:
        return self.target is not None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for name in self.policy:
            if self.adaptive:
                applied = torch.rand(x.shape[0], 1, 1, 1, device=x.device) < self.p
                x = torch.where(applied, _TRANSFORMS[name](x), x)
            else:
                x = _TRANSFORMS[name](x)
        return x

    @torch.no_grad()
    def observe(self, real_logits: torch.Tensor) -> torch.Tensor:
        """Adjust ``p`` from D's outputs on a batch of reals (eq. 1's r_t); returns r_t."""
        overfit = real_logits.detach().float().sign().mean()
        step = len(real_logits) / self.speed
        self.p.add_(torch.sign(overfit - self.target) * step).clamp_(0.0, 1.0)
        return overfit

    def extra_repr(self) -> str:
        text = ",".join(self.policy) or "off"
        return text + (f", adaptive to r_t = {self.target}" if self.adaptive else "")
