"""Losses for image-to-image translation, and the history pool of generated images.

pix2pix (Isola et al. 2017) adds an L1 term to the adversarial loss; CycleGAN (Zhu et al. 2017)
adds cycle-consistency and identity terms and feeds its discriminators from a pool of past
generated images. The losses are pure functions over image batches, returned unweighted: the
caller multiplies by lambda (100 for pix2pix's L1, 10 for the cycle loss, 0.5 * 10 for identity
in CycleGAN's code).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ganforge.errors import GanforgeError


def _check_shapes(a: torch.Tensor, b: torch.Tensor, loss: str) -> None:
    # Broadcasting two batches of different shapes yields a number but compares the wrong pixels.
    if a.shape != b.shape:
        raise GanforgeError(
            f"{loss} needs two batches of one shape, got {tuple(a.shape)} and {tuple(b.shape)}; "
            "compare each image with its own target"
        )


def l1_reconstruction(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean absolute error E[|x - y|] over all elements: pix2pix's L1 term (Isola et al. 2017,
    eq. 3), chosen over L2 because it blurs less."""
    _check_shapes(x, y, "l1_reconstruction")
    return (x - y).abs().mean()


def cycle_loss(real: torch.Tensor, reconstructed: torch.Tensor) -> torch.Tensor:
    """One direction of the cycle-consistency loss (Zhu et al. 2017, eq. 2):
    E_x[||F(G(x)) - x||_1], with ``reconstructed`` = F(G(real)). The paper's L_cyc sums both
    directions, ``cycle_loss(a, F(G(a))) + cycle_loss(b, G(F(b)))``. Averaged over elements, as
    in the authors' code, so the weight does not depend on the image size."""
    _check_shapes(real, reconstructed, "cycle_loss")
    return (reconstructed - real).abs().mean()


def identity_loss(real: torch.Tensor, mapped: torch.Tensor) -> torch.Tensor:
    """Identity mapping loss (Zhu et al. 2017, sec. 5.2, after Taigman et al. 2017):
    E_y[||G(y) - y||_1] with ``mapped`` = G(real), real drawn from G's *target* domain. It keeps
    G from changing images that already look like its output, e.g. the colours of paintings."""
    _check_shapes(real, mapped, "identity_loss")
    return (mapped - real).abs().mean()


class ImagePool(nn.Module):
    """History of generated images (Shrivastava et al. 2017, sec. 2.3) as used by CycleGAN
    (Zhu et al. 2017, sec. 4): the discriminator sees a mix of new fakes and older ones, which
    damps the oscillation of G and D chasing each other.

    ``query(fakes)`` returns a batch of the same size, built per image:

    * while the pool is not full, an incoming image is stored in the next free slot and returned
      as it is. Images of that batch beyond the free space are returned as they are and not
      stored (the swapping rule starts with the next query, once the pool is full);
    * once full, each image independently with probability 1/2 is swapped with a uniformly
      random stored image: the stored one is returned, the new one takes its slot; otherwise it
      is returned as it is.

    The swapping images of one batch get *distinct* slots (slots drawn as a random permutation,
    the k-th swapper takes the k-th slot): each slot is still uniform for each image, and no two
    images fight over one slot, so every output is its input or an image stored before the
    query, and the pool only ever holds images it was given. If more images want to swap than
    there are slots (a batch larger than the pool), the extra ones are returned as they are.

    The pool is two buffers, ``images`` [capacity, *shape] and ``count``, so it moves with
    ``.to(device)`` and saves and resumes exactly through ``state_dict``. Images are detached and
    stored in the pool's dtype (``dtype``, float32 by default); outputs have the input's dtype.
    Everything runs as batched tensor ops with no host sync: each query draws the same random
    numbers (``torch.rand(N)`` and ``torch.randperm(capacity)`` from ``generator``) whether the
    pool is filling or full, so a query's outcome depends only on the state and the generator.
    Each query rewrites the whole ``images`` buffer through a ``torch.where`` (capacity images,
    small next to a translation network's step); that keeps the update a single ordered write.
    ``capacity=0`` disables the pool: ``query`` returns its input, detached.
    """

    images: torch.Tensor
    count: torch.Tensor

    def __init__(
        self, shape: Sequence[int], capacity: int = 50, dtype: torch.dtype = torch.float32
    ) -> None:
        super().__init__()
        shape = tuple(int(s) for s in shape)
        if len(shape) != 3 or min(shape) < 1:
            raise GanforgeError(
                f"ImagePool needs the image shape (C, H, W), got {shape}; e.g. (3, 256, 256)"
            )
        if capacity < 0:
            raise GanforgeError(
                f"ImagePool capacity must be >= 0, got {capacity}; CycleGAN uses 50, 0 disables"
            )
        self.shape = shape
        self.capacity = capacity
        self.register_buffer("images", torch.zeros((capacity, *shape), dtype=dtype))
        self.register_buffer("count", torch.zeros((), dtype=torch.long))

    def extra_repr(self) -> str:
        return f"shape={self.shape}, capacity={self.capacity}"

    def forward(
        self, images: torch.Tensor, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        return self.query(images, generator)

    @torch.no_grad()
    def query(self, images: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Return a batch for the discriminator, the same size as ``images``, and update the pool
        (see the class docstring). ``generator`` must live on the images' device."""
        images = images.detach()
        if self.capacity == 0:
            return images
        if images.dim() != 4 or tuple(images.shape[1:]) != self.shape:
            raise GanforgeError(
                f"ImagePool holds images of shape {self.shape}, got a batch of "
                f"{tuple(images.shape)}; build the pool with the generator's output shape"
            )
        if images.device != self.images.device:
            raise GanforgeError(
                f"ImagePool is on {self.images.device} but the images are on {images.device}; "
                "move the pool with .to(device) along with the models"
            )
        n, capacity, device = len(images), self.capacity, images.device
        if n == 0:
            return images
        index = torch.arange(n, device=device)
        coin = torch.rand(n, generator=generator, device=device) < 0.5
        perm = torch.randperm(capacity, generator=generator, device=device)

        count = self.count
        fill_slot = count + index
        fills = fill_slot < capacity
        # The swap rule applies only to a pool that was full before this query; a filling batch's
        # overflow is returned untouched (documented above).
        wants = coin & (count >= capacity)
        rank = torch.cumsum(wants, 0) - 1
        swaps = wants & (rank < capacity)
        swap_slot = perm[rank.clamp(0, capacity - 1)]

        out = torch.where(swaps.view(-1, 1, 1, 1), self.images[swap_slot].to(images.dtype), images)

        # fills and swaps never overlap and their slots are distinct, so each slot has at most
        # one writer; the spare index ``capacity`` collects the images that write nothing.
        target = torch.where(fills, fill_slot, torch.where(swaps, swap_slot, capacity))
        writer = torch.full((capacity + 1,), -1, dtype=torch.long, device=device)
        writer = writer.scatter_reduce(0, target, index, reduce="amax")[:capacity]
        new = images[writer.clamp(min=0)].to(self.images.dtype)
        self.images.copy_(torch.where((writer >= 0).view(-1, 1, 1, 1), new, self.images))
        self.count.copy_((count + n).clamp(max=capacity))
        return out


# ---- DistanceGAN (Benaim & Wolf 2017) ----------------------------------------------------------

def pairwise_l1(x: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference of every pair i < j of a batch, [n (n - 1) / 2]."""
    flat = x.flatten(1)
    i, j = torch.triu_indices(len(x), len(x), offset=1, device=x.device)
    return (flat[i] - flat[j]).abs().mean(1)


def halves_l1(x: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference of each image's left and right halves, [n]."""
    half = x.shape[-1] // 2
    return (x[..., :half] - x[..., half : 2 * half]).abs().flatten(1).mean(1)


def distance_loss(d_source: torch.Tensor, d_target: torch.Tensor,
                  source_stats: torch.Tensor, target_stats: torch.Tensor) -> torch.Tensor:
    """DistanceGAN's loss (Benaim & Wolf 2017, eq. 5/6): E |(d_A - μ_A) / σ_A - (d_B - μ_B) /
    σ_B| over matching distances, d_A between source images (pairs, or an image's halves) and
    d_B between their translations; ``*_stats`` = (μ, σ) of that distance over each domain's
    training images, so the two domains' distances are compared in standard units."""
    _check_shapes(d_source, d_target, "distance_loss")
    source = (d_source - source_stats[0]) / source_stats[1]
    target = (d_target - target_stats[0]) / target_stats[1]
    return (source - target).abs().mean()


def distance_stats(images: torch.Tensor, measure, n: int = 200,
                   generator: torch.Generator | None = None) -> torch.Tensor:
    """(μ, σ) of ``measure`` (``pairwise_l1`` or ``halves_l1``) over ``n`` images drawn from
    ``images`` (float, in [-1, 1])."""
    index = torch.randperm(len(images), generator=generator)[:n]
    values = measure(images[index])
    return torch.stack([values.mean(), values.std().clamp_min(1e-8)])
