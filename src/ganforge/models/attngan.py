"""AttnGAN's networks (Xu et al. 2018, "AttnGAN: Fine-Grained Text to Image Generation with
Attentional Generative Adversarial Networks"): the word-attention that lets each refinement
stage draw each region from the words that concern it, the generator tree built with it, and
the DAMSM image encoder.

The tree is StackGAN++'s (:mod:`.stackgan`); where a StackGAN++ branch joins the sentence code
to the hidden features, an AttnGAN branch joins a word-context map: for each region, the words'
features (projected to the features' width) weighted by their softmax relevance to it (sec. 3.1,
eq. 2).
"""

from __future__ import annotations

import torch
from torch import nn

from ganforge.errors import GanforgeError
from ganforge.models.stackgan import Branch, TreeGenerator
from ganforge.models.text import ca_kl
from ganforge.nn import dcgan_init


class WordAttention(nn.Module):
    """(features h [N, C, H, W], words e [N, L, D], mask [N, L]) -> (context [N, C, H, W],
    attention [N, L, H, W]): e' = U e, beta_{j,i} = softmax_i(h_j^T e'_i) over the caption's
    words, context_j = sum_i beta_{j,i} e'_i."""

    def __init__(self, channels: int, word_dim: int) -> None:
        super().__init__()
        self.project = nn.Linear(word_dim, channels, bias=False)

    def forward(self, h: torch.Tensor, words: torch.Tensor,
                mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        n, c, height, width = h.shape
        e = self.project(words)  # [N, L, C]
        scores = torch.einsum("nlc,nch->nhl", e, h.flatten(2))  # [N, HW, L]
        beta = scores.masked_fill(~mask[:, None], float("-inf")).softmax(2)
        context = torch.einsum("nhl,nlc->nch", beta, e).view(n, c, height, width)
        return context, beta.transpose(1, 2).reshape(n, -1, height, width)


class AttnBranch(Branch):
    """A StackGAN++ branch whose join takes the word-context map in place of the code."""

    def __init__(self, channels: int, word_dim: int) -> None:
        super().__init__(channels, channels)  # the context is as wide as the features
        self.attention = WordAttention(channels, word_dim)

    def forward(self, h: torch.Tensor, words: torch.Tensor, mask: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor]:
        context, beta = self.attention(h, words, mask)
        return self.up(self.residual(self.join(torch.cat([h, context], 1)))), beta


class AttnTreeGenerator(TreeGenerator):
    """StackGAN++'s tree with attention branches. ``stages`` needs token ids (the words);
    ``attention`` gives every branch's maps for pictures."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        word_dim = self.encoder.out_dim
        channels = [branch.join[0].in_channels - self.augmentation.out_dim
                    for branch in self.branches]
        self.branches = nn.ModuleList(AttnBranch(c, word_dim) for c in channels)
        dcgan_init(self.branches)

    def run(self, z: torch.Tensor, text: torch.Tensor):
        """(images per scale, KL, attention maps per branch)."""
        z, eps = z.split([z.shape[1] - self.augmentation.out_dim, self.augmentation.out_dim], 1)
        if text.is_floating_point():
            raise GanforgeError("attngan attends over a caption's words; it cannot draw from a "
                                "sentence vector alone (such as an interpolated one)")
        words, sentence = self.encoder.encode(text)
        mask = text != 0
        mask[:, 0] |= ~mask.any(1)  # an empty caption attends to its padding
        c, mu, log_sigma = self.augmentation(sentence, eps)
        h = self.first_conv(self.first(torch.cat([z, c], 1)).view(
            -1, self.channels, self.base, self.base))
        images, maps = [self.to_image[0](h)], []
        for branch, to_image in zip(self.branches, self.to_image[1:], strict=True):
            h, beta = branch(h, words, mask)
            images.append(to_image(h))
            maps.append(beta)
        return images, ca_kl(mu, log_sigma), maps

    def stages(self, z, text):
        images, kl, _ = self.run(z, text)
        return images, kl


class DAMSMImageEncoder(nn.Module):
    """Images -> (region features [N, D, R], global feature [N, D]): three 3x3 conv blocks
    halving the size (28 -> 14 -> 7 px), a 1x1 projection of the last map's regions to D (the
    paper's mixed_6e regions of Inception v3) and of their mean to the global vector (its last
    pooling layer), so both live in the text encoder's space."""

    def __init__(self, img_channels: int, dim: int, width: int = 32) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(img_channels, width, 3, 1, 1), nn.LeakyReLU(0.2),
            nn.Conv2d(width, 2 * width, 4, 2, 1), nn.BatchNorm2d(2 * width), nn.LeakyReLU(0.2),
            nn.Conv2d(2 * width, 4 * width, 4, 2, 1), nn.BatchNorm2d(4 * width),
            nn.LeakyReLU(0.2))
        self.regions = nn.Conv2d(4 * width, dim, 1)
        self.global_ = nn.Linear(4 * width, dim)
        dcgan_init(self)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.body(x)
        return self.regions(h).flatten(2), self.global_(h.mean((2, 3)))
