"""An image data set held whole in memory as uint8."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F


@dataclass
class ImageDataset:
    """``images`` is uint8 [N, C, H, W] (0..255); ``labels`` is int64 [N] or None."""

    name: str
    images: torch.Tensor
    labels: torch.Tensor | None = None
    class_names: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.images.dtype != torch.uint8 or self.images.dim() != 4:
            raise ValueError("images must be a uint8 tensor of shape [N, C, H, W]")
        if self.labels is not None and len(self.labels) != len(self.images):
            raise ValueError("labels and images differ in length")

    def __len__(self) -> int:
        return len(self.images)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def img_channels(self) -> int:
        return self.images.shape[1]

    @property
    def img_size(self) -> int:
        return self.images.shape[-1]


def resize_images(images: torch.Tensor, size: int) -> torch.Tensor:
    """Resize uint8 [N, C, H, W] to size x size with antialiased bilinear filtering, in chunks."""
    if images.shape[-2:] == (size, size):
        return images
    out = torch.empty(*images.shape[:2], size, size, dtype=torch.uint8)
    for start in range(0, len(images), 4096):
        chunk = images[start : start + 4096].float()
        resized = F.interpolate(chunk, size=(size, size), mode="bilinear", antialias=True,
                                align_corners=False)
        out[start : start + 4096] = resized.round_().clamp_(0, 255).to(torch.uint8)
    return out


def balanced_subset(labels: torch.Tensor, per_class: int, seed: int = 0) -> torch.Tensor:
    """Indices of ``per_class`` examples of every class, the same for the same labels and seed:
    the first examples of each class in one seeded permutation, in class order."""
    from ganforge.errors import GanforgeError

    if per_class < 1:
        raise GanforgeError(f"--labels-per-class must be at least 1, got {per_class}")
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed))
    shuffled = labels[order]
    chosen = []
    for k in range(int(labels.max()) + 1):
        of_class = order[shuffled == k]
        if len(of_class) < per_class:
            raise GanforgeError(f"class {k} has only {len(of_class)} examples; choose "
                                f"--labels-per-class {len(of_class)} or fewer")
        chosen.append(of_class[:per_class])
    return torch.cat(chosen)
