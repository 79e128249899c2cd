"""StackGAN++ (Zhang et al. 2018): text2img with a tree of generators at several scales trained
jointly, a discriminator per scale that judges the image alone as well as with its caption, and
the colour-consistency regulariser between scales."""

from __future__ import annotations

from dataclasses import dataclass, replace

from torch import nn

from ganforge.config import setting
from ganforge.losses.consistency import color_consistency
from ganforge.methods.backbone import build_backbone, stabilise_discriminator
from ganforge.methods.base import register_method
from ganforge.methods.capabilities import Staged
from ganforge.methods.text2img import CODE_DIM, Text2Image
from ganforge.models.stackgan import SmallScaleDiscriminator, TreeGenerator
from ganforge.models.text import (
    ConditioningAugmentation,
    SentenceEncoder,
    TextProjectionDiscriminator,
)
from ganforge.nn.pyramid import pyramid_sizes, upsample


@register_method("stackgan++")
class StackGANpp(Staged, Text2Image):
    """One generator tree draws the caption at every scale (28 px, 3 scales: 7, 14, 28 px);
    D_i judges scale i. Each D's loss is GAN-CLS's matching-aware loss on (image, caption)
    pairs plus ``uncond_weight`` times the plain GAN loss on the image alone (the paper's joint
    conditional and unconditional approximation, eq. 5-6); G's loss sums the same terms over
    the scales, with conditioning augmentation's KL and GAN-INT as in text2img.

    The colour-consistency term keeps each scale's per-image colour mean and covariance equal to
    the next coarser one's. The paper weights it 50 for unconditional generation and 0 for
    text-to-image (the text already ties the scales together), the default here."""

    @dataclass(frozen=True)
    class Settings(Text2Image.Settings):
        stages: int = setting(3, "scales of the generator tree, the coarsest the image size "
                              "halved stages - 1 times (28 px, 3: 7, 14, 28 px)",
                              at_least=2, at_most=4)
        uncond_weight: float = setting(1.0, "weight of each D's unconditional term (the image "
                                       "alone; StackGAN-v2's TRAIN.COEFF.UNCOND_LOSS)")
        color_weight: float = setting(0.0, "weight of the colour-consistency regulariser "
                                      "between scales (the paper: 50 unconditional, 0 for text)")

    defaults = {"arch": "dcgan", "width": 32}
    generator_class = TreeGenerator

    def build_networks(self):
        cfg, spec, vocab = self.cfg, self.spec, len(self.spec.vocabulary)
        sizes = pyramid_sizes(spec.img_size, self.settings.stages)[::-1]  # coarsest first
        encoder = SentenceEncoder(vocab)
        G = self.generator_class(self.settings.latent_dim, encoder,
                          ConditioningAugmentation(encoder.out_dim, CODE_DIM),
                          spec.img_channels, sizes, self.settings.width)
        discriminators = []
        for size in sizes:
            if size >= 8:  # the configured backbone's D where it takes the size
                D = build_backbone(cfg, replace(spec, img_size=size))[1]
            else:
                D = stabilise_discriminator(
                    SmallScaleDiscriminator(spec.img_channels, size, self.settings.width),
                    self.settings)
            discriminators.append(TextProjectionDiscriminator(D, SentenceEncoder(vocab)))
        return G, nn.ModuleList(discriminators)

    @property
    def uncond_weight(self) -> float:
        return self.settings.uncond_weight

    def across_scales(self, fakes, batch):
        if not self.settings.color_weight:
            return 0.0, {}
        loss = color_consistency(fakes)
        return self.settings.color_weight * loss, {"color": loss}

    def stage_pictures(self, n, generator=None, G=None):
        """Every scale of the same samples (random example captions), upscaled to full size."""
        G = G or self.G
        z, text = self.sample_latent(n, generator), self.sample_condition(n, generator)
        images, _ = G.stages(z, text)
        return [(f"{x.shape[-1]} px", upsample(x, self.spec.img_size)) for x in images]
