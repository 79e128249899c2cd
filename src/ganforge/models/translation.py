"""Image-to-image translation networks: images in, images (or patch logits) out.

- ``UNetGenerator``: the pix2pix U-Net (Isola et al. 2017, "Image-to-Image Translation with
  Conditional Adversarial Networks", appendix 6.1.1); ``skips=False`` is its encoder-decoder
  ablation, also DiscoGAN's generator (Kim et al. 2017).
- ``PatchDiscriminator``: the PatchGAN of pix2pix (appendix 6.1.2) and CycleGAN, one logit per
  overlapping patch; ``receptive_field`` and ``patch_layers_for`` relate patch size to depth.
- ``ResnetGenerator``: the CycleGAN generator (Zhu et al. 2017, "Unpaired Image-to-Image
  Translation using Cycle-Consistent Adversarial Networks", appendix 7.2), after Johnson et
  al. 2016, built from ``ResidualBlock``.
- ``StarGenerator`` / ``StarDiscriminator``: StarGAN (Choi et al. 2018, appendix), one G for
  many domains conditioned on a target-domain vector; D with a real/fake and a domain head.
- ``UNITEncoders`` / ``UNITDecoders``: the shared-latent networks of UNIT (Liu et al. 2017,
  "Unsupervised Image-to-Image Translation Networks", sec. 3): two encoders whose last
  residual blocks, and two decoders whose first, are one set of weights.

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
from ganforge.nn.layers import spectral_norm_all

_NORM_LAYERS = {
    "batch": nn.BatchNorm2d,
    # Without affine parameters, as in the pix2pix/CycleGAN and UNIT code.
    "instance": nn.InstanceNorm2d,
    # StarGAN's instance norm learns a scale and shift per channel.
    "instance-affine": partial(nn.InstanceNorm2d, affine=True),
    "none": lambda channels: nn.Identity(),
}
NORMS = tuple(_NORM_LAYERS)


def _check_norm(kind: str, allowed: tuple[str, ...] = NORMS) -> None:
    if kind not in allowed:
        raise GanforgeError(f"unknown norm {kind!r}; choose one of {', '.join(allowed)}")


def norm_layer(kind: str, channels: int) -> nn.Module:
    """The normalisation layer named ``kind`` (one of ``NORMS``) for ``channels`` channels."""
    _check_norm(kind)
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


def _encoder_layers(in_ch: int, width: int, n_down: int, norm: str,
                    reflect: bool = True) -> tuple[list[nn.Module], int]:
    """c7s1-width, then n_down d-k layers (3x3 stride-2 conv doubling channels), each norm-ReLU;
    returns the layers and their output channels."""
    layers = [*conv_norm(in_ch, width, 7, 1, 3, norm, reflect=reflect), nn.ReLU(True)]
    ch = width
    for _ in range(n_down):
        layers += [*conv_norm(ch, 2 * ch, 3, 2, 1, norm), nn.ReLU(True)]
        ch *= 2
    return layers, ch


def _decoder_layers(ch: int, out_ch: int, n_up: int, norm: str) -> list[nn.Module]:
    """n_up u-k layers (3x3 stride-2 transposed conv halving channels, norm-ReLU), then
    c7s1-out_ch with tanh: the mirror of ``_encoder_layers``."""
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
        _check_norm(norm)
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


def receptive_field(module: nn.Module) -> int:
    """Side, in input pixels, of the square that one output unit of a plain stack of
    convolutions sees: walking its Conv2d layers in order, r += (k - 1) * dilation * jump and
    jump *= stride, from r = jump = 1 (Araujo et al. 2019, "Computing Receptive Fields of
    Convolutional Neural Networks"). Other layers are ignored, so the answer holds only for a
    single chain of convolutions and pointwise layers."""
    r = jump = 1
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            r += (m.kernel_size[0] - 1) * m.dilation[0] * jump
            jump *= m.stride[0]
    return r


# n stride-2 and two stride-1 4x4 convs see 1 + 3 * (2**n - 1 + 2 * 2**n) = 9 * 2**n - 2 pixels.
PATCH_SIZES = {9 * 2**n - 2: n for n in range(1, 6)}


def patch_layers_for(receptive: int) -> int:
    """``PatchDiscriminator``'s ``n_layers`` for a patch (receptive field) of ``receptive``
    pixels: 16 -> 1, 34 -> 2, 70 -> 3 (pix2pix's default), 142 -> 4, 286 -> 5."""
    if receptive not in PATCH_SIZES:
        raise GanforgeError(f"no PatchGAN sees {receptive}x{receptive} patches; choose one of "
                            f"{', '.join(map(str, PATCH_SIZES))}")
    return PATCH_SIZES[receptive]


class PatchDiscriminator(nn.Module):
    """PatchGAN (pix2pix, appendix 6.1.2; CycleGAN): C64-C128-C256-... with 4x4 stride-2 convs
    for the first ``n_layers``, one 4x4 stride-1 conv, then a 4x4 stride-1 conv to one channel;
    padding 1, LeakyReLU 0.2, no norm on the first layer. Channels are ``width * 2**i`` capped
    at ``max_width``, as in the reference code (so the stride-1 conv has 8 * width channels for
    n_layers >= 3, fewer below).

    forward(x) gives raw logits [N, 1, H', W'], one per overlapping patch of side
    ``receptive_field(D)`` (70 for n_layers=3); the loss averages them. pix2pix's conditional D
    reads the input and output images concatenated: in_channels = the sum of both.
    ``norm="spectral"`` drops the norm layers and spectrally normalises every conv instead.
    """

    def __init__(self, in_channels: int, width: int = 64, n_layers: int = 3,
                 norm: str = "batch", max_width: int = 512) -> None:
        super().__init__()
        _check_norm(norm, (*NORMS, "spectral"))
        if n_layers < 1:
            raise GanforgeError(f"PatchDiscriminator needs n_layers >= 1, got {n_layers}")
        layer_norm = "none" if norm == "spectral" else norm
        layers: list[nn.Module] = [nn.Conv2d(in_channels, width, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        ch = width
        for i in range(1, n_layers + 1):
            out = min(width * 2**i, max_width)
            stride = 2 if i < n_layers else 1
            layers += [*conv_norm(ch, out, 4, stride, 1, layer_norm), nn.LeakyReLU(0.2, True)]
            ch = out
        layers.append(nn.Conv2d(ch, 1, 4, 1, 1))
        self.net = nn.Sequential(*layers)
        dcgan_init(self)
        if norm == "spectral":
            spectral_norm_all(self)  # after init: it reparametrises the weights it finds

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class ResnetGenerator(nn.Module):
    """CycleGAN's generator: c7s1-64, d128, d256, ``n_blocks`` x R256, u128, u64, c7s1-out with
    tanh (reflection padding in the 7x7 and residual convs; 3x3 stride-2 convs down and
    transposed convs up). The paper uses 6 blocks at 128 px and 9 at 256 px. Image sides must
    be multiples of 2**n_down (32 px gives 8x8 inside)."""

    def __init__(self, in_channels: int, out_channels: int, width: int = 64, n_blocks: int = 6,
                 n_down: int = 2, norm: str = "instance", reflect_input: bool = True) -> None:
        super().__init__()
        _check_norm(norm)
        down, ch = _encoder_layers(in_channels, width, n_down, norm, reflect_input)
        blocks = [ResidualBlock(ch, norm) for _ in range(n_blocks)]
        self.net = nn.Sequential(*down, *blocks, *_decoder_layers(ch, out_channels, n_down, norm))
        dcgan_init(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class StarGenerator(nn.Module):
    """StarGAN's G(x, c): the target-domain vector c [N, num_domains] is tiled over the image
    and concatenated to it as extra channels, then a ``ResnetGenerator`` with affine instance
    norm translates it. Its first conv pads with zeros, as StarGAN's: the tiled c is constant
    over the image, so with reflection padding its share of that conv's output would be
    constant too, and the instance norm after it would subtract it away, leaving G blind to
    the target; zero padding makes it differ near the borders, where it survives the norm.
    StarGAN's down/up convs are 4x4; this reuses CycleGAN's 3x3, with the same shapes."""

    def __init__(self, img_channels: int, num_domains: int, width: int = 64,
                 n_blocks: int = 6) -> None:
        super().__init__()
        self.num_domains = num_domains
        self.net = ResnetGenerator(img_channels + num_domains, img_channels, width, n_blocks,
                                   norm="instance-affine", reflect_input=False)

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        if c.shape != (len(x), self.num_domains):
            raise GanforgeError(f"StarGenerator expects target domains [N, {self.num_domains}] "
                                f"for {len(x)} images, got {tuple(c.shape)}")
        c = c.to(x.dtype)[:, :, None, None].expand(-1, -1, *x.shape[2:])
        return self.net(torch.cat([x, c], 1))


def _star_layers(img_size: int) -> int:
    """log2(img_size) - 1 halvings, at most 6, for a final map of at least 2x2."""
    n = 0
    while n < 6 and img_size % 2 ** (n + 1) == 0 and img_size // 2 ** (n + 1) >= 2:
        n += 1
    return n


class StarDiscriminator(nn.Module):
    """StarGAN's D: ``n_layers`` 4x4 stride-2 convs doubling channels from ``width``, LeakyReLU
    0.01, no normalisation (its gradient penalty forbids batch norm). Two heads read the final
    map: ``src``, a 3x3 conv giving PatchGAN real/fake logits [N, 1, h, w], and ``cls``, a conv
    as large as the map giving domain logits [N, num_domains]. forward(x) returns both."""

    def __init__(self, img_channels: int, img_size: int, num_domains: int, width: int = 64,
                 n_layers: int | None = None) -> None:
        super().__init__()
        n_layers = _star_layers(img_size) if n_layers is None else n_layers
        if n_layers < 1 or img_size % 2**n_layers:
            raise GanforgeError(f"StarDiscriminator needs an image size that halves evenly "
                                f"n_layers >= 1 times, got {img_size} with n_layers={n_layers}")
        layers: list[nn.Module] = []
        ch = img_channels
        for i in range(n_layers):
            layers += [nn.Conv2d(ch, width * 2**i, 4, 2, 1), nn.LeakyReLU(0.01, True)]
            ch = width * 2**i
        self.body = nn.Sequential(*layers)
        self.src = nn.Conv2d(ch, 1, 3, 1, 1, bias=False)
        self.cls = nn.Conv2d(ch, num_domains, img_size // 2**n_layers, bias=False)
        dcgan_init(self)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.body(x)
        return self.src(h), self.cls(h).flatten(1)


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
            layers, ch = _encoder_layers(in_ch, width, n_down, "instance")
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
                                 *_decoder_layers(ch, out_ch, n_up, "instance"))

        self.latent_channels = ch
        self.shared = nn.Sequential(*(ResidualBlock(ch) for _ in range(shared_blocks)))
        self.a, self.b = private(out_channels_a), private(out_channels_b)
        dcgan_init(self)

    def decode_a(self, z: torch.Tensor) -> torch.Tensor:
        return self.a(self.shared(z))

    def decode_b(self, z: torch.Tensor) -> torch.Tensor:
        return self.b(self.shared(z))
