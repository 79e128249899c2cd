"""Image-to-image translation networks: images in, images (or patch logits) out.

- ``UNetGenerator``: the pix2pix U-Net (Isola et al. 2017, "Image-to-Image Translation with
  Conditional Adversarial Networks", appendix 6.1.1); ``skips=False`` is its encoder-decoder
  ablation, also DiscoGAN's generator (Kim et al. 2017).
- ``ResnetGenerator``: the CycleGAN generator (Zhu et al. 2017, "Unpaired Image-to-Image
  Translation using Cycle-Consistent Adversarial Networks", appendix 7.2), after Johnson et
  al. 2016, built from ``ResidualBlock``.
- ``translation_generator``: one of these by name, as the translation methods choose it.

The PatchGAN discriminator is in :mod:`ganforge.models.patch`, StarGAN's networks in
:mod:`ganforge.models.stargan`, UNIT's in :mod:`ganforge.models.unit`.

Weights start from N(0, 0.02) (``dcgan_init``), the pix2pix/CycleGAN code's ``init_type
normal``; the StarGAN and UNIT code use PyTorch's default and Kaiming init. Convolutions
followed by a normalisation layer carry no bias: the norm's mean subtraction cancels it.
"""

from __future__ import annotations

from functools import partial

import torch
from torch import nn

from ganforge.errors import GanforgeError
from ganforge.nn import dcgan_init

_NORM_LAYERS = {
    "batch": nn.BatchNorm2d,
    # Without affine parameters, as in the pix2pix/CycleGAN and UNIT code.
    "instance": nn.InstanceNorm2d,
    # StarGAN's instance norm learns a scale and shift per channel.
    "instance-affine": partial(nn.InstanceNorm2d, affine=True),
    "none": lambda channels: nn.Identity(),
}
NORMS = tuple(_NORM_LAYERS)


def check_norm(kind: str, allowed: tuple[str, ...] = NORMS) -> None:
    if kind not in allowed:
        raise GanforgeError(f"unknown norm {kind!r}; choose one of {', '.join(allowed)}")


def norm_layer(kind: str, channels: int) -> nn.Module:
    """The normalisation layer named ``kind`` (one of ``NORMS``) for ``channels`` channels."""
    check_norm(kind)
    return _NORM_LAYERS[kind](channels)


def conv_norm(
    in_ch: int, out_ch: int, kernel: int, stride: int = 1, padding: int = 0, norm: str = "none",
    *, transpose: bool = False, reflect: bool = False, output_padding: int = 0,
) -> list[nn.Module]:
    """[conv, norm] (just [conv] for norm "none"); callers add the activation on either side.
    ``reflect`` pads by reflection, which avoids dark borders in generated images (Johnson et
    al. 2016); ``transpose`` makes it a transposed (upsampling) convolution."""
    bias = norm == "none"
    if transpose:
        conv: nn.Module = nn.ConvTranspose2d(
            in_ch, out_ch, kernel, stride, padding, output_padding, bias=bias)
    else:
        conv = nn.Conv2d(in_ch, out_ch, kernel, stride, padding, bias=bias,
                         padding_mode="reflect" if reflect else "zeros")
    return [conv] if norm == "none" else [conv, norm_layer(norm, out_ch)]


class ResidualBlock(nn.Module):
    """x + f(x) with f = pad-conv3x3-norm-ReLU-pad-conv3x3-norm, reflection padding (Johnson et
    al. 2016; the R256 block of CycleGAN, also StarGAN's and UNIT's)."""

    def __init__(self, channels: int, norm: str = "instance") -> None:
        super().__init__()
        self.f = nn.Sequential(
            *conv_norm(channels, channels, 3, 1, 1, norm, reflect=True),
            nn.ReLU(True),
            *conv_norm(channels, channels, 3, 1, 1, norm, reflect=True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.f(x)


def encoder_layers(in_ch: int, width: int, n_down: int, norm: str,
                    reflect: bool = True) -> tuple[list[nn.Module], int]:
    """c7s1-width, then n_down d-k layers (3x3 stride-2 conv doubling channels), each norm-ReLU;
    returns the layers and their output channels."""
    layers = [*conv_norm(in_ch, width, 7, 1, 3, norm, reflect=reflect), nn.ReLU(True)]
    ch = width
    for _ in range(n_down):
        layers += [*conv_norm(ch, 2 * ch, 3, 2, 1, norm), nn.ReLU(True)]
        ch *= 2
    return layers, ch


def decoder_layers(ch: int, out_ch: int, n_up: int, norm: str) -> list[nn.Module]:
    """n_up u-k layers (3x3 stride-2 transposed conv halving channels, norm-ReLU), then
    c7s1-out_ch with tanh: the mirror of ``encoder_layers``."""
    layers: list[nn.Module] = []
    for _ in range(n_up):
        layers += [*conv_norm(ch, ch // 2, 3, 2, 1, norm, transpose=True, output_padding=1),
                   nn.ReLU(True)]
        ch //= 2
    return layers + [*conv_norm(ch, out_ch, 7, 1, 3, reflect=True), nn.Tanh()]


def _unet_depth(img_size: int, depth: int | None) -> int:
    if depth is None:
        depth = img_size.bit_length() - 1
        if img_size != 2**depth:
            raise GanforgeError(
                f"UNetGenerator needs a power-of-two image size (32, 64, 128, 256, ...) for its "
                f"1x1 bottleneck, got {img_size}; or pass depth=d with a multiple of 2**d")
    if depth < 1:
        raise GanforgeError(f"UNetGenerator needs depth >= 1, got {depth}")
    if img_size % 2**depth:
        step = 2**depth
        raise GanforgeError(
            f"UNetGenerator with depth {depth} needs an image size that is a multiple of {step} "
            f"({step}, {2 * step}, {3 * step}, ...), got {img_size}")
    return depth


class UNetGenerator(nn.Module):
    """pix2pix's U-Net. Encoder C64-C128-C256-C512-C512-... (4x4 stride-2 convs, LeakyReLU 0.2,
    no norm on the first and the innermost layer), decoder CD512-CD512-CD512-C512-C256-C128-C64
    (4x4 stride-2 transposed convs, ReLU; D = dropout), then a transposed conv to
    ``out_channels`` and tanh. Channels are ``width * 2**i`` capped at ``max_width``; ``depth``
    layers each way, by default log2(img_size) so the bottleneck is 1x1 (8 at 256 px).

    With ``skips`` each decoder layer's output is concatenated with the mirror encoder layer's
    (layer i with layer n - i), so low-level detail such as edges can bypass the bottleneck.
    Activations come first in each layer, as in the reference code, so the skip carries the
    normalised, not yet activated, encoder features.

    Dropout is pix2pix's only noise (G takes no z). It follows the module's mode like any
    ``nn.Dropout``: on in train mode, off in eval. The paper keeps it on at test time as well;
    to sample that way, run G in train mode (which, like the pix2pix test script without
    ``--eval``, also normalises with batch statistics).
    """

    def __init__(
        self, in_channels: int, out_channels: int, img_size: int, width: int = 64,
        max_width: int = 512, depth: int | None = None, dropout: float = 0.5,
        norm: str = "batch", skips: bool = True,
    ) -> None:
        super().__init__()
        check_norm(norm)
        depth = _unet_depth(img_size, depth)
        self.skips = skips
        chs = [min(width * 2**i, max_width) for i in range(depth)]
        down = [nn.Sequential(nn.Conv2d(in_channels, chs[0], 4, 2, 1))]
        for i in range(1, depth):
            # At 1x1, instance norm (and batch norm on pix2pix's batches of one) would zero
            # the bottleneck.
            layer_norm = "none" if i == depth - 1 else norm
            # Not in place: each layer's input is also kept for its skip.
            down.append(nn.Sequential(nn.LeakyReLU(0.2), *conv_norm(chs[i - 1], chs[i], 4, 2, 1,
                                                                     layer_norm)))
        up = []
        ch = chs[-1]
        for j, out in enumerate(reversed(chs[:-1])):
            layer = [nn.ReLU(), *conv_norm(ch, out, 4, 2, 1, norm, transpose=True)]
            # The paper's first three decoder layers, as in the original Torch code; the
            # PyTorch pix2pix/CycleGAN code drops out the second to fourth instead.
            if j < 3 and dropout > 0:
                layer.append(nn.Dropout(dropout))
            up.append(nn.Sequential(*layer))
            ch = 2 * out if skips else out
        up.append(nn.Sequential(nn.ReLU(), nn.ConvTranspose2d(ch, out_channels, 4, 2, 1),
                                nn.Tanh()))
        self.down, self.up = nn.ModuleList(down), nn.ModuleList(up)
        dcgan_init(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = []
        for layer in self.down:
            x = layer(x)
            features.append(x)
        features.pop()  # the bottleneck feeds the decoder directly
        for layer in self.up:
            x = layer(x)
            if self.skips and features:
                x = torch.cat([features.pop(), x], 1)
        return x


class ResnetGenerator(nn.Module):
    """CycleGAN's generator: c7s1-64, d128, d256, ``n_blocks`` x R256, u128, u64, c7s1-out with
    tanh (reflection padding in the 7x7 and residual convs; 3x3 stride-2 convs down and
    transposed convs up). The paper uses 6 blocks at 128 px and 9 at 256 px. Image sides must
    be multiples of 2**n_down (32 px gives 8x8 inside)."""

    def __init__(self, in_channels: int, out_channels: int, width: int = 64, n_blocks: int = 6,
                 n_down: int = 2, norm: str = "instance", reflect_input: bool = True) -> None:
        super().__init__()
        check_norm(norm)
        down, ch = encoder_layers(in_channels, width, n_down, norm, reflect_input)
        blocks = [ResidualBlock(ch, norm) for _ in range(n_blocks)]
        self.net = nn.Sequential(*down, *blocks, *decoder_layers(ch, out_channels, n_down, norm))
        dcgan_init(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


GENERATORS = ("unet", "resnet", "encoder-decoder")


def translation_generator(kind: str, channels_in: int, channels_out: int, img_size: int,
                          width: int, norm: str = "batch") -> nn.Module:
    """The generator ``kind`` of ``GENERATORS``: pix2pix's U-Net (dropout as its noise),
    CycleGAN's ResNet (instance norm, 9 blocks from 256 px, else 6) or DiscoGAN's
    encoder-decoder (the U-Net without skips or dropout); ``norm`` for the U-Nets."""
    if kind == "resnet" and img_size % 4:
        raise GanforgeError(f"the ResNet generator halves the image twice; --image-size "
                            f"{img_size} is not a multiple of 4")
    if kind == "resnet":
        blocks = 9 if img_size >= 256 else 6
        return ResnetGenerator(channels_in, channels_out, width=width, n_blocks=blocks,
                               norm="instance")
    return UNetGenerator(channels_in, channels_out, img_size, width=width, norm=norm,
                         skips=kind == "unet", dropout=0.5 if kind == "unet" else 0.0)
