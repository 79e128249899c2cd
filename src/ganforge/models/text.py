"""Networks of text-to-image GANs: a sentence encoder, StackGAN's conditioning augmentation,
and wrappers that make any backbone G or D read a caption.

Reed et al. 2016 ("Generative Adversarial Text to Image Synthesis") embed captions with a
char-CNN-RNN pretrained on image-text retrieval and frozen. Here each network learns its own
encoder jointly from its own loss: a word embedding and a one-layer bidirectional GRU whose two
final states make the sentence vector. It reads word order ("a thick seven slanted left" is
not "a thin seven"), costs little next to the convolutions, and needs no pretraining. G and D
each own one: a shared encoder would be pulled one way by D's loss and the other by G's.

Conditioning augmentation (Zhang et al. 2017, StackGAN, sec. 3.1) draws the code G sees from
N(mu(e), diag(sigma(e)^2)) around the sentence vector e, smoothing the conditioning manifold
where the captions are few; its KL divergence to N(0, I) is a term of G's loss. Its standard
normal draw is part of G's noise input, beside z.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ganforge.nn import dcgan_init


class SentenceEncoder(nn.Module):
    """Token ids int64 [N, L] (0-padded at the end) -> sentence vectors [N, 2 * hidden]: the
    final states of a bidirectional GRU over the word embeddings.

    The two directions are two GRUs over the padded batch, the backward one reading each caption
    reversed within its length, both read at the caption's last word: what a packed
    bidirectional GRU computes, without packing, whose step-by-step batches of a few rows are
    slow on CPU threads that share a busy machine."""

    def __init__(self, vocab_size: int, embed_dim: int = 64, hidden: int = 64) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed_dim, padding_idx=0)
        self.forward_gru = nn.GRU(embed_dim, hidden, batch_first=True)
        self.backward_gru = nn.GRU(embed_dim, hidden, batch_first=True)
        self.out_dim = 2 * hidden

    def encode(self, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(word features [N, L, 2 * hidden], sentence vectors [N, 2 * hidden]): each word's
        forward and backward states (AttnGAN's word features), and the final states."""
        lengths = (tokens != 0).sum(1, keepdim=True).clamp_min(1)  # [N, 1]
        steps = torch.arange(tokens.shape[1], device=tokens.device)[None]
        reverse = torch.where(steps < lengths, lengths - 1 - steps, steps)
        x = self.embed(tokens)
        forward, _ = self.forward_gru(x)
        backward, _ = self.backward_gru(x.gather(1, reverse[..., None].expand_as(x)))
        last = (lengths - 1)[..., None].expand(-1, 1, forward.shape[-1])
        sentence = torch.cat([forward.gather(1, last), backward.gather(1, last)], dim=2)[:, 0]
        # The backward state of word t was computed at reversed position (the map is its own
        # inverse within the caption).
        backward = backward.gather(1, reverse[..., None].expand_as(backward))
        return torch.cat([forward, backward], dim=2), sentence

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.encode(tokens)[1]


def sentence(encoder: SentenceEncoder, text: torch.Tensor) -> torch.Tensor:
    """The sentence vector of ``text``: token ids are encoded, a float tensor already is one
    (an interpolation between sentence vectors, GAN-INT)."""
    return text if text.is_floating_point() else encoder(text)


class ConditioningAugmentation(nn.Module):
    """(e, eps) -> (c, mu, log_sigma): mu and log sigma from one linear layer, c = mu + sigma *
    eps. The standard normal ``eps`` is drawn with z, as part of G's noise, so a seeded sample
    reproduces; StackGAN samples it at test time too, and it carries much of G's variety (on
    captioned MNIST, sampling c = mu instead cut the mean LeNet-feature distance between a
    caption's samples by about a fifth)."""

    def __init__(self, in_dim: int, out_dim: int) -> None:
        super().__init__()
        self.fc = nn.Linear(in_dim, 2 * out_dim)
        self.out_dim = out_dim

    def forward(self, e: torch.Tensor,
                eps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mu, log_sigma = self.fc(e).chunk(2, dim=1)
        return mu + log_sigma.exp() * eps, mu, log_sigma


def ca_kl(mu: torch.Tensor, log_sigma: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, sigma^2) || N(0, 1)) = -log sigma + (sigma^2 + mu^2 - 1) / 2 per dimension,
    averaged over the batch and the dimensions as StackGAN's code does (``KL_loss`` in
    hanzhanggit/StackGAN, stageI/trainer.py)."""
    return (-log_sigma + 0.5 * (torch.exp(2 * log_sigma) + mu.square() - 1)).mean()


class Refiner(nn.Module):
    """StackGAN's stage-II generator, small: the stage-I image (half size) and the text code,
    spatially replicated, are joined, go through two residual blocks and are upsampled 2x to
    the full-size image (Zhang et al. 2017, sec. 3.3)."""

    def __init__(self, img_channels: int, code_dim: int, width: int = 64) -> None:
        super().__init__()

        def block(c_in: int, c_out: int) -> list[nn.Module]:
            return [nn.Conv2d(c_in, c_out, 3, 1, 1, bias=False), nn.BatchNorm2d(c_out),
                    nn.ReLU(True)]

        self.encode = nn.Sequential(*block(img_channels, width))
        self.join = nn.Sequential(*block(width + code_dim, width))
        self.residual = nn.ModuleList(
            nn.Sequential(*block(width, width), nn.Conv2d(width, width, 3, 1, 1, bias=False),
                          nn.BatchNorm2d(width)) for _ in range(2))
        self.up = nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"),
                                *block(width, width // 2),
                                nn.Conv2d(width // 2, img_channels, 3, 1, 1), nn.Tanh())
        dcgan_init(self)

    def forward(self, image: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        h = self.encode(image)
        plane = code[:, :, None, None].expand(-1, -1, *h.shape[-2:])
        h = self.join(torch.cat([h, plane], dim=1))
        for res in self.residual:
            h = F.relu(h + res(h))
        return self.up(h)


class TextConditionedGenerator(nn.Module):
    """G(z, t) = backbone([z, c]) with c the conditioning-augmented code of t's sentence
    vector; with a ``refiner`` (two stages) the backbone draws at half size and the refiner
    makes the full-size image from it. Holds everything it needs to draw from a caption, so a
    copy (the EMA generator) samples alone."""

    def __init__(self, backbone: nn.Module, encoder: SentenceEncoder,
                 augmentation: ConditioningAugmentation, refiner: Refiner | None = None) -> None:
        super().__init__()
        self.backbone = backbone
        self.encoder = encoder
        self.augmentation = augmentation
        self.refiner = refiner

    def embed(self, text: torch.Tensor) -> torch.Tensor:
        return sentence(self.encoder, text)

    def stages(self, z: torch.Tensor, text: torch.Tensor) -> tuple[list[torch.Tensor],
                                                                    torch.Tensor]:
        """The images of every stage (smallest first) and the KL term of the augmentation;
        the last ``augmentation.out_dim`` columns of z are the augmentation's eps."""
        z, eps = z.split([z.shape[1] - self.augmentation.out_dim, self.augmentation.out_dim], 1)
        c, mu, log_sigma = self.augmentation(self.embed(text), eps)
        images = [self.backbone(torch.cat([z, c], dim=1))]
        if self.refiner is not None:
            images.append(self.refiner(images[0], c))
        return images, ca_kl(mu, log_sigma)

    def forward(self, z: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        """The final image for noise z (with eps) and ``text``: token ids [N, L] or sentence
        vectors."""
        return self.stages(z, text)[0][-1]


class TextProjectionDiscriminator(nn.Module):
    """D(x, t) = head(phi(x)) + <W psi(t), phi(x)>: the projection discriminator (Miyato &
    Koyama 2018, eq. 3) with the class embedding replaced by a compressed sentence vector
    psi(t) = LeakyReLU(A e(t)), Reed et al.'s 128-d text compression. phi is the backbone's flat
    features, so every backbone and its stabilisers (spectral norm, minibatch discrimination on
    ``head``) serve unchanged."""

    def __init__(self, backbone: nn.Module, encoder: SentenceEncoder, text_dim: int = 128) -> None:
        super().__init__()
        self.backbone = backbone
        self.encoder = encoder
        self.feature_dim = backbone.feature_dim
        self.compress = nn.Sequential(nn.Linear(encoder.out_dim, text_dim), nn.LeakyReLU(0.2))
        self.project = nn.Linear(text_dim, self.feature_dim, bias=False)
        nn.init.normal_(self.project.weight, 0.0, 0.02)

    def embed(self, text: torch.Tensor) -> torch.Tensor:
        return sentence(self.encoder, text)

    def features(self, x: torch.Tensor, text: torch.Tensor | None = None) -> torch.Tensor:
        return self.backbone.features(x)

    def unconditional(self, h: torch.Tensor) -> torch.Tensor:
        """The score of the image alone, head(phi(x)): the projection logit less its text term
        (StackGAN++'s unconditional logit)."""
        return self.backbone.head(h).squeeze(1)

    def logits(self, h: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        t = self.project(self.compress(self.embed(text)))
        return self.backbone.head(h).squeeze(1) + (t * h).sum(dim=1)

    def forward(self, x: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        return self.logits(self.features(x), text)
