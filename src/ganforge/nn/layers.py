"""Layers that stabilise GAN training: spectral norm, minibatch discrimination, virtual batch
norm and self-attention."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import spectral_norm

from ganforge.errors import GanforgeError

_WEIGHTED = (
    nn.Linear,
    nn.Embedding,
    nn.Conv1d,
    nn.Conv2d,
    nn.Conv3d,
    nn.ConvTranspose1d,
    nn.ConvTranspose2d,
    nn.ConvTranspose3d,
)


class LabelPlane(nn.Embedding):
    """Class labels as one image plane: each class embedded to ``size * size`` values (a
    linear layer on the one-hot label), to be stacked beside an image as an extra channel.

    :func:`spectral_norm_all` leaves it alone: the plane is an input to D, not part of D's map
    of x, and dividing a [classes, size^2] table by its top singular value (~sqrt(size^2)) would
    shrink the class signal ~30x at 28 px while bounding nothing."""

    treats_rows_alone = True  # see ganforge.nn.rows

    def __init__(self, num_classes: int, size: int) -> None:
        super().__init__(num_classes, size * size)
        self.size = size

    def plane(self, y: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        """[N, 1, size, size] planes of the labels ``y``, in the dtype of ``like``."""
        return self(y).view(len(y), 1, self.size, self.size).to(like.dtype)


def spectral_norm_all(module: nn.Module, n_power_iterations: int = 1) -> nn.Module:
    """Spectral normalisation (Miyato et al. 2018) of every linear, embedding and (transposed)
    convolution weight in ``module``, in place; returns ``module`` for chaining.

    Each weight is divided by its largest singular value, estimated by power iteration (one
    step per training-mode forward, as in the paper), which bounds each layer's Lipschitz
    constant by 1 without constraining the weights' other directions. Weights that are already
    parametrised are left alone, so calling it twice is harmless, and so are label planes.
    """
    for m in list(module.modules()):
        weight = getattr(m, "weight", None)
        if (
            isinstance(m, _WEIGHTED)
            and not isinstance(m, LabelPlane)
            and isinstance(weight, nn.Parameter)
            and not parametrize.is_parametrized(m, "weight")
        ):
            spectral_norm(m, n_power_iterations=n_power_iterations)
    return module


class MinibatchDiscrimination(nn.Module):
    """Minibatch discrimination (Salimans et al. 2016, sec. 3.2): lets D look at a sample's
    similarity to the rest of its batch, so a collapsed generator, whose samples are all alike,
    is easy to spot.

    x [N, A] is projected through a tensor T [A, B, C] to M_i [B, C]; for each of the B kernels
    c_b(x_i, x_j) = exp(-||M_i,b - M_j,b||_1) and o(x_i)_b = sum_{j != i} c_b(x_i, x_j) / (N - 1).
    The output is [x, o(x)] of width ``out_features`` = A + B. Place it on D's flat features,
    before the final linear layer; pass ``twice_differentiable=True`` under a gradient penalty.

    The paper sums over the batch; we average, so o lies in [0, 1] whatever the batch size. With
    the sum, a freshly initialised generator's batch of 256 near-identical points scores 255 on
    every kernel against ~32 for real data on 8 modes, and D saturates before G can learn.
    """

    def __init__(self, in_features: int, num_kernels: int = 50, kernel_dim: int = 5,
                 twice_differentiable: bool = False) -> None:
        super().__init__()
        # Gradient penalties differentiate D's input gradient again. torch.cdist, 2.5-6x faster
        # on the CPU, has no double backward before torch 2.13; the written-out distances do.
        self.twice_differentiable = twice_differentiable
        self.in_features, self.num_kernels, self.kernel_dim = in_features, num_kernels, kernel_dim
        self.out_features = in_features + num_kernels
        # Small, so that early distances are small and exp(-distance) still carries signal.
        self.T = nn.Parameter(torch.randn(in_features, num_kernels * kernel_dim) * 0.05)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 2 or x.shape[1] != self.in_features:
            raise GanforgeError(
                f"MinibatchDiscrimination expects [N, {self.in_features}] features, got "
                f"{tuple(x.shape)}; flatten D's features first"
            )
        m = (x @ self.T).view(len(x), self.num_kernels, self.kernel_dim)
        # distances [N, N, B]: L1 between rows of M, per kernel
        if self.twice_differentiable:
            # Summed over N^2 * B * C values: in fp32 at least, as cdist under autocast.
            m = m.to(torch.promote_types(m.dtype, torch.float32))
            distances = (m.unsqueeze(1) - m.unsqueeze(0)).abs().sum(3)
        else:
            mt = m.transpose(0, 1)
            distances = torch.cdist(mt, mt, p=1).permute(1, 2, 0)
        # exp(-0) = 1 is each example against itself.
        o = (torch.exp(-distances).sum(1) - 1) / max(len(x) - 1, 1)
        return torch.cat([x, o], dim=1)


class VirtualBatchNorm(nn.Module):
    """Virtual batch normalisation (Salimans et al. 2016, sec. 3.5): each example is normalised
    with the statistics of a fixed reference batch combined with the example itself, so a
    generated sample no longer depends on the other samples in its batch.

    Works on [N, C] and [N, C, *] inputs (dense and convolutional layers alike) and needs no
    extra forward arguments, so it drops into a plain ``nn.Sequential`` where BatchNorm was:

    - Reference pass: the first forward in training mode, or any forward inside
      ``with virtual_batch_reference(G):``, normalises its batch with that batch's own
      statistics (as the paper does for the reference batch) and stores the per-channel mean
      and mean square, and the batch size N, as buffers.
    - Every other forward normalises example i with
      mean_i = (N * mean_ref + mean(x_i)) / (N + 1), likewise for the mean square, where
      mean(x_i) averages over x_i's spatial positions: x_i counts as one more member of the
      reference batch, never mixing with its batch mates; training and eval mode agree.

    The reference statistics are stored detached. The paper recomputes them from the reference
    batch at every step (its activations change as G trains); do the same by running the fixed
    reference z through G inside ``virtual_batch_reference`` before each G step, at the price
    of a second forward pass. Gradients do not flow through the reference statistics.
    """

    def __init__(self, num_features: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.num_features, self.eps = num_features, eps
        self.weight = nn.Parameter(torch.ones(num_features))
        self.bias = nn.Parameter(torch.zeros(num_features))
        self.register_buffer("reference_mean", torch.zeros(num_features))
        self.register_buffer("reference_mean_sq", torch.zeros(num_features))
        self.register_buffer("reference_size", torch.tensor(0, dtype=torch.long))
        self.capturing = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() < 2 or x.shape[1] != self.num_features:
            raise GanforgeError(
                f"VirtualBatchNorm({self.num_features}) expects [N, {self.num_features}, ...] "
                f"inputs, got {tuple(x.shape)}; match num_features to the layer before it"
            )
        spatial = tuple(range(2, x.dim()))
        has_reference = bool(self.reference_size > 0)
        if self.capturing or (self.training and not has_reference):
            mean, mean_sq = x.mean((0, *spatial)), x.pow(2).mean((0, *spatial))
            self.reference_mean.copy_(mean.detach())
            self.reference_mean_sq.copy_(mean_sq.detach())
            self.reference_size.fill_(len(x))
            mean, mean_sq = mean[None], mean_sq[None]  # [1, C]
        elif has_reference:
            new = 1.0 / (self.reference_size + 1)
            x_mean = x.mean(spatial) if spatial else x
            x_mean_sq = x.pow(2).mean(spatial) if spatial else x.pow(2)
            mean = new * x_mean + (1 - new) * self.reference_mean  # [N, C]
            mean_sq = new * x_mean_sq + (1 - new) * self.reference_mean_sq
        else:
            raise GanforgeError(
                "VirtualBatchNorm has no reference batch yet; run the network once in training "
                "mode, or inside virtual_batch_reference(model), on a fixed reference batch"
            )
        var = (mean_sq - mean.pow(2)).clamp_min(0)
        expand = (-1, self.num_features) + (1,) * len(spatial)
        scale = torch.rsqrt(var + self.eps) * self.weight
        return (x - mean.view(expand)) * scale.view(expand) + self.bias.view(expand)

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}"


@contextlib.contextmanager
def virtual_batch_reference(module: nn.Module) -> Iterator[None]:
    """Inside this block every VirtualBatchNorm in ``module`` treats its input as the reference
    batch: ``with virtual_batch_reference(G): G(z_ref)`` refreshes all their statistics."""
    layers = [m for m in module.modules() if isinstance(m, VirtualBatchNorm)]
    if not layers:
        raise GanforgeError(
            f"{type(module).__name__} has no VirtualBatchNorm layers; nothing to take a "
            "reference batch for"
        )
    for m in layers:
        m.capturing = True
    try:
        yield
    finally:
        for m in layers:
            m.capturing = False


class SelfAttention2d(nn.Module):
    """Self-attention over feature-map positions (SAGAN, Zhang et al. 2019, sec. 3), so distant
    parts of an image can be made consistent without a deep stack of local convolutions.

    With 1x1 convolutions f, g, h: C -> C/8 and v: C/8 -> C,
    beta_{j,i} = softmax_i(f(x_i)^T g(x_j)), o_j = v(sum_i beta_{j,i} h(x_i)) and
    y = x + gamma * o. gamma starts at 0, so the layer is the identity at initialisation and
    the network first relies on local cues, learning to use attention gradually.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        inner = max(channels // 8, 1)
        self.f = nn.Conv2d(channels, inner, 1, bias=False)
        self.g = nn.Conv2d(channels, inner, 1, bias=False)
        self.h = nn.Conv2d(channels, inner, 1, bias=False)
        self.v = nn.Conv2d(inner, channels, 1, bias=False)
        self.gamma = nn.Parameter(torch.zeros(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, _, height, width = x.shape
        keys = self.f(x).flatten(2).transpose(1, 2)  # [N, HW, C/8]
        queries = self.g(x).flatten(2).transpose(1, 2)
        values = self.h(x).flatten(2).transpose(1, 2)
        o = F.scaled_dot_product_attention(queries, keys, values, scale=1.0)  # unscaled, as SAGAN
        o = self.v(o.transpose(1, 2).reshape(n, -1, height, width))
        return x + self.gamma * o
