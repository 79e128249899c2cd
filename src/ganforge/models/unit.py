"""The shared-latent networks of UNIT (Liu et al. 2017, "Unsupervised Image-to-Image Translation
Networks", sec. 3): two encoders whose last residual blocks, and two decoders whose first, are
one set of weights."""

from __future__ import annotations

import torch
from torch import nn

from ganforge.errors import GanforgeError
from ganforge.models.translation import ResidualBlock, decoder_layers, encoder_layers
from ganforge.nn import dcgan_init


def _own_blocks(n_blocks: int, shared_blocks: int) -> int:
    if not 0 <= shared_blocks <= n_blocks:
        raise GanforgeError(f"UNIT shares 0..n_blocks={n_blocks} residual blocks, got "
                            f"shared_blocks={shared_blocks}")
    return n_blocks - shared_blocks


class UNITEncoders(nn.Module):
    """UNIT's E_1, E_2: per domain c7s1-width and ``n_down`` stride-2 convs, then ``n_blocks``
    residual blocks, instance norm throughout. The last ``shared_blocks`` blocks are one module,
    ``shared``, run by both encoders: UNIT's weight-sharing constraint, which maps both domains
    into one latent space. Held once (not placed in two Sequentials) so that each weight
    appears once in the state dict, as safetensors requires.

    ``encode_a(x)`` / ``encode_b(x)`` return the mean mu [N, width * 2**n_down, h, w] of UNIT's
    q(z|x) = N(mu, I); the method samples z = mu + noise."""

    def __init__(self, in_channels_a: int, in_channels_b: int, width: int = 64, n_down: int = 2,
                 n_blocks: int = 3, shared_blocks: int = 1) -> None:
        super().__init__()
        own = _own_blocks(n_blocks, shared_blocks)

        def private(in_ch: int) -> nn.Sequential:
            layers, ch = encoder_layers(in_ch, width, n_down, "instance")
            return nn.Sequential(*layers, *(ResidualBlock(ch) for _ in range(own)))

        self.latent_channels = width * 2**n_down
        self.a, self.b = private(in_channels_a), private(in_channels_b)
        self.shared = nn.Sequential(
            *(ResidualBlock(self.latent_channels) for _ in range(shared_blocks)))
        dcgan_init(self)

    def encode_a(self, x: torch.Tensor) -> torch.Tensor:
        return self.shared(self.a(x))

    def encode_b(self, x: torch.Tensor) -> torch.Tensor:
        return self.shared(self.b(x))


class UNITDecoders(nn.Module):
    """UNIT's G_1, G_2, the mirror of ``UNITEncoders``: ``n_blocks`` residual blocks, of which
    the first ``shared_blocks`` are one module (``shared``) used by both decoders, then per
    domain ``n_up`` stride-2 transposed convs and c7s1-out with tanh. ``decode_a(z)`` /
    ``decode_b(z)`` map a latent [N, width * 2**n_up, h, w] to an image of each domain."""

    def __init__(self, out_channels_a: int, out_channels_b: int, width: int = 64, n_up: int = 2,
                 n_blocks: int = 3, shared_blocks: int = 1) -> None:
        super().__init__()
        own = _own_blocks(n_blocks, shared_blocks)
        ch = width * 2**n_up

        def private(out_ch: int) -> nn.Sequential:
            return nn.Sequential(*(ResidualBlock(ch) for _ in range(own)),
                                 *decoder_layers(ch, out_ch, n_up, "instance"))

        self.latent_channels = ch
        self.shared = nn.Sequential(*(ResidualBlock(ch) for _ in range(shared_blocks)))
        self.a, self.b = private(out_channels_a), private(out_channels_b)
        dcgan_init(self)

    def decode_a(self, z: torch.Tensor) -> torch.Tensor:
        return self.a(self.shared(z))

    def decode_b(self, z: torch.Tensor) -> torch.Tensor:
        return self.b(self.shared(z))
