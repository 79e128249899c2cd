"""LAPGAN (Denton et al. 2015): a Laplacian pyramid of conditional GANs.

Every level but the coarsest is a conditional GAN trained on real data (sec. 3.2, fig. 2): from
a real image I_k at that level's size, l_k = u(d(I_k)) = u(I_{k+1}) is its blurred version,
G_k(z_k, l_k) draws the residual h ~ I_k - l_k, and D_k tells (l_k + h_k, l_k) from
(l_k + G_k(z_k, l_k), l_k). The coarsest level is an ordinary GAN on the small image. As every
level conditions on real coarse images, no level's training depends on another's generator:
summing their losses and stepping all D_k as the D group and all G_k as the G group is training
them separately and at once, which lets the shared Trainer run LAPGAN unchanged. Sampling runs
the pyramid coarse to fine (eq. 3, ``LaplacianPyramidGenerator``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch
from torch import nn

from ganforge.config import setting
from ganforge.data.spec import DataSpec
from ganforge.errors import GanforgeError
from ganforge.methods.backbone import (
    build_backbone,
    stabilise_discriminator,
    stabilise_generator,
)
from ganforge.methods.base import DataNeeds, register_method
from ganforge.methods.capabilities import Staged
from ganforge.methods.conditional import LabelConditioned
from ganforge.methods.game import (
    Backbone,
    DiscriminatorGame,
)
from ganforge.methods.gan import GAN
from ganforge.models.conditional import ConcatDiscriminator, ConditionedGenerator
from ganforge.models.lapgan import (
    LaplacianPyramidGenerator,
    ResidualDiscriminator,
    ResidualGenerator,
)
from ganforge.nn import eval_mode
from ganforge.nn.pyramid import enlarge, gaussian_pyramid, pyramid_sizes, upsample

# A level's game: its index (finest first), D's condition (the level, l_k and the classes; l_k
# None at the coarsest level, the classes None unless class-conditional), the real image and the
# fake at that level.
Game = tuple[int, tuple[int, torch.Tensor | None, torch.Tensor | None], torch.Tensor,
             torch.Tensor]


@register_method("lapgan")
class LAPGAN(Staged, GAN):
    """Denton et al. 2015: G_k and D_k at each level of a Laplacian pyramid (finest first,
    ``sizes``), the coarsest an unconditional GAN on the configured backbone (MLP by default,
    as the paper's coarsest CIFAR level), the others ``ResidualGenerator`` /
    ``ResidualDiscriminator``. The adversarial objective, label smoothing, D's normalisation,
    minibatch discrimination, the gradient and R1 penalties, clipping, virtual batch norm and
    EMA apply to every level. Logs each level's losses as ``d_loss_SIZE`` / ``g_loss_SIZE``."""

    # The game's knobs but those not offered per level: historical averaging would be counted
    # once per level, feature matching and self-attention are not built into the residual
    # networks, and augmenting D_k's image but not the coarser l_k it is conditioned on would
    # misalign them.
    @dataclass(frozen=True)
    class Settings(DiscriminatorGame, Backbone):
        levels: int = setting(0, "levels of the Laplacian pyramid, the coarsest included; 0: "
                              "halve the image while its side is even and the half at least "
                              "4 px (28 -> 14 -> 7, 32 -> 16 -> 8 -> 4, 8 -> 4)", at_least=0)

    defaults = {"arch": "mlp"}
    trains_on = DataNeeds()

    def build_networks(self) -> tuple[nn.Module, nn.Module]:
        cfg, spec, s = self.cfg, self.spec, self.settings
        self.sizes = pyramid_sizes(spec.img_size, self.settings.levels or None)
        coarsest = self.sizes[-1]
        try:
            G_coarse, D_coarse = self.coarse_networks(dataclasses.replace(spec, img_size=coarsest))
        except GanforgeError as e:
            raise GanforgeError(f"{cfg.method}'s coarsest level is {coarsest}px: {e}") from None
        channels, widths, classes = spec.img_channels, self.level_widths(), self.num_classes
        residual_G = [stabilise_generator(
            ResidualGenerator(s.latent_dim, channels, size, w, classes), s)
            for size, w in zip(self.sizes[:-1], widths, strict=True)]
        residual_D = [stabilise_discriminator(
            ResidualDiscriminator(channels, size, w, classes), s)
            for size, w in zip(self.sizes[:-1], widths, strict=True)]
        G = LaplacianPyramidGenerator(G_coarse, residual_G, self.sizes, s.latent_dim)
        return G, nn.ModuleList([*residual_D, D_coarse])

    # Classes every level's G_k and D_k see; 0, as for any unconditional generator, but the
    # class-conditional LAPGAN's count (set from the data by LabelConditioned).
    num_classes = 0

    def coarse_networks(self, spec: DataSpec) -> tuple[nn.Module, nn.Module]:
        """G_K and D_K of the coarsest level: an ordinary GAN on the configured backbone."""
        return build_backbone(self.cfg, spec)

    def level_widths(self) -> list[int]:
        """Channels of the residual levels' G_k and D_k, finest first: ``--width`` at the
        coarsest of them, halved at each finer level (as DCGAN halves its channels where the
        resolution doubles), but not below width / 4, so that each level costs about the same:
        28 px, width 64 -> [32, 64]."""
        width, finer = self.settings.width, len(self.sizes) - 2
        return [max(width >> (finer - k), width // 4, 1) for k in range(finer + 1)]

    def groups(self) -> dict[str, list[nn.Module]]:
        return {"D": list(self.D), "G": [*self.G.residual, self.G.coarse]}

    def sample_latent(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """One ``latent_dim`` noise vector per level, coarsest first: [z_K, ..., z_0]."""
        draw = super().sample_latent
        return torch.cat([draw(n, generator) for _ in self.sizes], dim=1)

    # ---- D_k: the condition is (level, l_k, classes), l_k None at the coarsest level ----------

    def _level(self, c) -> tuple[nn.Module, list[torch.Tensor]]:
        """D_k and the inputs it is conditioned on besides the image: those of l_k and the
        classes that are present (none for the unconditional coarsest level)."""
        k, low, y = c
        return self.D[k], [t for t in (low, y) if t is not None]

    def d_body(self, x: torch.Tensor, c) -> torch.Tensor:
        D, condition = self._level(c)
        return D.features(x, *condition)

    def d_logits(self, h: torch.Tensor, c) -> torch.Tensor:
        D, condition = self._level(c)
        # the plain backbone of the unconditional coarsest level has a head, not logits()
        return D.logits(h, *condition) if condition else D.head(h).squeeze(1)

    # ---- the levels' games ------------------------------------------------------------------

    def games(self, real: torch.Tensor, y: torch.Tensor | None = None) -> list[Game]:
        """Each level's game on this real batch (of classes ``y`` for the class-conditional
        LAPGAN), finest first: the real I_k and the fake l_k + G_k(z_k, l_k) (G_K(z_K) at the
        coarsest level). The fakes are drawn for the real images' classes, as each level's
        l_k comes from a real image."""
        images = gaussian_pyramid(real, len(self.sizes))
        noise = self.sample_latent(len(real)).split(self.settings.latent_dim, dim=1)[::-1]
        games = []
        for k, (real_k, z_k) in enumerate(zip(images, noise, strict=True)):
            if k == len(self.sizes) - 1:
                low, fake = None, self.G.coarse_image(z_k, y)
            else:
                low = upsample(images[k + 1], self.sizes[k])
                fake = low + self.G.residual[k](z_k, low, y)
            games.append((k, (k, low, y), real_k, fake))
        return games

    def d_loss(self, batch):
        with torch.no_grad():
            games = self.games(batch["x"], self.real_condition(batch))
        total, logs = 0.0, {}
        for k, c, real, fake in games:
            loss = self.adv_d(self.discriminate(real, c), self.discriminate(fake, c))
            penalty, penalty_logs = self.penalties("D", real, c, fake)
            total = total + loss + penalty
            size = self.sizes[k]
            logs[f"d_loss_{size}"] = loss
            logs.update({f"{name}_{size}": value for name, value in penalty_logs.items()})
        return total, logs

    def g_loss(self, batch):
        total, logs = 0.0, {}
        for k, c, real, fake in self.games(batch["x"], self.real_condition(batch)):
            real_logits = None
            if self.objective.g_needs_real:
                with torch.no_grad():
                    real_logits = self.discriminate(real, c)
            loss = self.objective.g(self.discriminate(fake, c), real_logits)
            total = total + loss
            logs[f"g_loss_{self.sizes[k]}"] = loss
        return total, logs

    # ---- pictures ---------------------------------------------------------------------------

    @torch.no_grad()
    def stage_pictures(self, n: int, generator: torch.Generator | None = None,
                       G: nn.Module | None = None) -> list[tuple[str, torch.Tensor]]:
        """A picture of each pyramid level for the ``n`` samples that ``sample(n, generator)``
        draws: (label, images) rows, coarsest first; the coarse
        sample, then at each finer level the upsampled coarser image l, the generated residual
        h (0 is mid-grey) and their sum. Images are in [-1, 1] at the full size (coarse levels
        enlarged by repeating pixels), ready for ``ganforge.viz.annotate.labelled_grid``."""
        G = G or self.G
        z = self.sample_latent(n, generator)  # then the classes: the order sample() draws in
        with eval_mode(G):
            levels = G.levels(z, self.sample_condition(n, generator))
        full = self.spec.img_size

        def shown(x: torch.Tensor) -> torch.Tensor:
            return enlarge(x, full).clamp(-1.0, 1.0)

        rows = [(f"{self.sizes[-1]}px sample", shown(levels[0]["image"]))]
        for level in levels[1:]:
            size = level["image"].shape[-1]
            rows += [(f"{size}px u(coarser)", shown(level["low"])),
                     (f"{size}px residual", shown(level["residual"])),
                     (f"{size}px result", shown(level["image"]))]
        return rows


@register_method("cc-lapgan")
class ClassConditionalLAPGAN(LabelConditioned, LAPGAN):
    """Denton et al. 2015's class-conditional LAPGAN (their CIFAR-10 models, sec. 4): every G_k
    and D_k also sees the class, as one more input plane made from the label by an embedding
    (the paper's linear layer on the one-hot vector); the coarsest level is a cGAN on the
    backbone (the label embedded beside z for G, as a plane beside the image for D). Training
    draws each level's fake for the class of the real image its l_k comes from; sample grids
    show the classes in order, one per column, and ``ganforge sample --classes`` /
    ``--class-grid`` choose them."""

    defaults = LAPGAN.defaults

    def coarse_networks(self, spec: DataSpec) -> tuple[nn.Module, nn.Module]:
        G, D = build_backbone(self.cfg, spec, g_extra_inputs=self.num_classes,
                              d_extra_channels=1)
        return (ConditionedGenerator(G, self.label_encoder()),
                ConcatDiscriminator(D, self.num_classes, spec.img_size))
