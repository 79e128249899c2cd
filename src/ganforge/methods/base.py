"""A GAN method: its networks and how their losses are computed; the Trainer does the rest."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import nn

from ganforge.config import TrainConfig
from ganforge.models import ARCHITECTURES
from ganforge.registry import Registry

Logs = dict[str, torch.Tensor]


@dataclass(frozen=True)
class DataSpec:
    """What the networks need to know of the data; saved with a run so loading needs no data."""

    img_channels: int
    img_size: int
    num_classes: int = 0


class Method(nn.Module):
    """Base of every GAN method.

    A method builds its networks in ``__init__``, names which of them each optimiser updates in
    ``groups``, and says how the discriminator and generator losses are computed. It never calls
    ``backward`` or ``step``, and never moves anything between devices.
    """

    # Config fields this method changes from TrainConfig's defaults (a preset is such a diff).
    defaults: ClassVar[dict[str, Any]] = {}

    def __init__(self, cfg: TrainConfig, spec: DataSpec) -> None:
        super().__init__()
        self.cfg = cfg
        self.spec = spec

    def groups(self) -> dict[str, list[nn.Module]]:
        """Optimiser groups: the D group steps ``d_steps`` times, then the G group once."""
        return {"D": [self.D], "G": [self.G]}

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def sample_latent(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        z = torch.randn(n, self.cfg.latent_dim, generator=generator,
                        device="cpu" if generator is not None else self.device)
        return z.to(self.device)

    def generate(self, n: int, G: nn.Module | None = None) -> torch.Tensor:
        return (G or self.G)(self.sample_latent(n))

    def sample(
        self, n: int, generator: torch.Generator | None = None, G: nn.Module | None = None
    ) -> torch.Tensor:
        """``n`` images in [-1, 1] for grids and inference; ``G`` may be the EMA copy."""
        return (G or self.G)(self.sample_latent(n, generator))

    def d_loss(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, Logs]:
        raise NotImplementedError

    def g_loss(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, Logs]:
        raise NotImplementedError


METHODS: Registry[type[Method]] = Registry("method")
register_method = METHODS.register


def build_backbone(cfg: TrainConfig, spec: DataSpec) -> tuple[nn.Module, nn.Module]:
    """The (G, D) pair of the configured architecture for this data."""
    arch = ARCHITECTURES.get(cfg.arch)
    G = arch.generator(z_dim=cfg.latent_dim, img_channels=spec.img_channels,
                       img_size=spec.img_size, width=cfg.width)
    D = arch.discriminator(img_channels=spec.img_channels, img_size=spec.img_size,
                           width=cfg.width)
    return G, D
