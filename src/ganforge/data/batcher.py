"""Batches drawn by shuffled index from a data set that lives on the training device."""

from __future__ import annotations

import torch

from ganforge.data.captions import CaptionedImages, CaptionPicker
from ganforge.data.dataset import ImageDataset
from ganforge.data.shard import Shard, shard_slice
from ganforge.data.toy import PointBatcher, ToyMixture
from ganforge.data.translation import TranslationData
from ganforge.errors import GanforgeError

# Keep the data set on the GPU only while it takes a modest share of free memory.
_DEVICE_MEMORY_SHARE = 0.25


def storage_device(nbytes: int, device: torch.device) -> torch.device:
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        if nbytes > _DEVICE_MEMORY_SHARE * free:
            return torch.device("cpu")
    return device


class IndexStream:
    """Batches of indices into ``n`` items: one seeded permutation per epoch, incomplete final
    batches dropped so every step has the same shape; its state resumes exactly.

    With a ``shard`` every rank draws the same permutation and takes its slice of each global
    batch of ``batch_size``: an epoch is still one pass over the data, and the state is the same
    on every rank and at every world size."""

    def __init__(self, n: int, batch_size: int, device: torch.device, seed: int,
                 shard: Shard = (0, 1)) -> None:
        self.n, self.batch_size, self.device = n, batch_size, device
        self.rows = shard_slice(batch_size, shard)
        self.generator = torch.Generator().manual_seed(seed)
        self.perm = torch.empty(0, dtype=torch.long)
        self.cursor = 0
        self.epoch = 0

    def __len__(self) -> int:
        return self.n // self.batch_size

    def next(self) -> torch.Tensor:
        if self.cursor + self.batch_size > len(self.perm):
            self.perm = torch.randperm(self.n, generator=self.generator).to(self.device)
            self.cursor = 0
            self.epoch += 1
        idx = self.perm[self.cursor : self.cursor + self.batch_size]
        self.cursor += self.batch_size
        return idx[self.rows]

    def state_dict(self) -> dict:
        return {"epoch": self.epoch, "cursor": self.cursor,
                "generator": self.generator.get_state(), "perm": self.perm.cpu()}

    def load_state_dict(self, state: dict) -> None:
        self.epoch = int(state["epoch"])
        self.cursor = int(state["cursor"])
        self.generator.set_state(state["generator"])
        self.perm = state["perm"].to(self.device)


def _home(images: torch.Tensor, device: torch.device) -> torch.Tensor:
    """``images`` on ``device`` when they fit, else in (pinned, for CUDA) host memory."""
    home = storage_device(images.numel(), device)
    images = images.to(home)
    return images.pin_memory() if home.type == "cpu" and device.type == "cuda" else images


class Augment:
    """Random horizontal flips and random crops, the same for every tensor of one call so paired
    images stay aligned. pix2pix's jitter resizes 256 px images to 286 and crops 256 back; here
    the window moves up to ``jitter`` pixels over the edge-replicated picture, the same jitter
    without storing larger images. Vectorised: one gather per batch, no per-image Python.

    Called with a batcher's ``shard``, it draws for the whole global batch and keeps the rank's
    rows, so the images get the flips and crops they would get in one process."""

    def __init__(self, flip: bool = False, jitter: int = 0, seed: int = 0) -> None:
        self.flip, self.jitter = flip, jitter
        self.generator = torch.Generator().manual_seed(seed + 7919)

    def __bool__(self) -> bool:
        return self.flip or self.jitter > 0

    def __call__(self, *images: torch.Tensor, shard: Shard = (0, 1)) -> tuple[torch.Tensor, ...]:
        n, size, device = len(images[0]), images[0].shape[-1], images[0].device
        rank, world = shard
        mine = slice(rank * n, (rank + 1) * n)  # this rank's rows of the global draws
        cols = torch.arange(size).expand(n, size)
        rows = cols
        if self.jitter:
            offsets = torch.randint(0, 2 * self.jitter + 1, (n * world, 2),
                                    generator=self.generator)[mine]
            # Replicate-padded crop: indices shifted by the offset, clamped to the picture.
            rows = (cols + offsets[:, :1] - self.jitter).clamp(0, size - 1)
            cols = (cols + offsets[:, 1:] - self.jitter).clamp(0, size - 1)
        if self.flip:
            flipped = torch.rand(n * world, generator=self.generator)[mine] < 0.5
            cols = torch.where(flipped[:, None], cols.flip(1), cols)
        rows, cols = rows.to(device), cols.to(device)
        out = []
        for x in images:
            c = x.shape[1]
            x = x.gather(2, rows.view(n, 1, size, 1).expand(n, c, size, size))
            out.append(x.gather(3, cols.view(n, 1, 1, size).expand(n, c, size, size)))
        return tuple(out)

    def state_dict(self) -> dict:
        return {"augment": self.generator.get_state()}

    def load_state_dict(self, state: dict) -> None:
        if "augment" in state:
            self.generator.set_state(state["augment"])


class Batcher:
    """Yields {"x": images, float [-1, 1], "label": int64} batches on ``device``, epoch after epoch
    (with "caption", int64 token ids [B, L], one of each image's captions, for captioned data).

    The whole data set stays uint8 (on the device when it fits), each epoch is one random
    permutation and a batch is one ``index_select``: no per-sample Python and no workers.
    Incomplete final batches are dropped so every step has the same shape. ``batch_size`` is the
    global batch; with a ``shard`` (rank, world size) a batch holds the rank's slice of it.
    """

    def __init__(
        self, dataset: ImageDataset, batch_size: int, device: torch.device | str, seed: int = 0,
        augment: Augment | None = None, shard: Shard = (0, 1),
    ) -> None:
        if batch_size > len(dataset):
            raise GanforgeError(
                f"--batch-size {batch_size} is larger than the data set ({len(dataset)} images); "
                "choose a smaller batch"
            )
        self.device = torch.device(device)
        self.batch_size = batch_size
        self.images = _home(dataset.images, self.device)
        self.labels = (dataset.labels.to(self.images.device) if dataset.labels is not None
                       else None)
        self.stream = IndexStream(len(self.images), batch_size, self.images.device, seed, shard)
        self.shard = shard
        self.augment = augment or Augment()
        self.captions = (CaptionPicker(dataset.captions.to(self.images.device), seed)
                         if isinstance(dataset, CaptionedImages) else None)

    def __len__(self) -> int:
        """Batches per epoch."""
        return len(self.stream)

    def __iter__(self):
        return self

    @property
    def epoch(self) -> int:
        return self.stream.epoch

    @property
    def cursor(self) -> int:
        return self.stream.cursor

    def __next__(self) -> dict[str, torch.Tensor]:
        idx = self.stream.next()
        image = self.images.index_select(0, idx).to(self.device, non_blocking=True)
        if self.augment:
            (image,) = self.augment(image, shard=self.shard)
        batch = {"x": from_uint8(image)}
        if self.labels is not None:
            batch["label"] = self.labels.index_select(0, idx).to(self.device, non_blocking=True)
        if self.captions is not None:
            batch["caption"] = self.captions(idx, self.stream.rows, self.batch_size).to(
                self.device, non_blocking=True)
        return batch

    def state_dict(self) -> dict:
        captions = self.captions.state_dict() if self.captions is not None else {}
        return {**self.stream.state_dict(), **self.augment.state_dict(), **captions}

    def load_state_dict(self, state: dict) -> None:
        self.stream.load_state_dict(state)
        self.augment.load_state_dict(state)
        if self.captions is not None:
            self.captions.load_state_dict(state)


class PairBatcher:
    """Yields {"a": images of domain A, "b": images of domain B} (float [-1, 1]) for translation.

    Paired data draws the same indices from both domains (and the same flips and crops);
    unpaired data shuffles each domain on its own, an epoch being a pass over the larger one.
    ``batch_size`` and ``shard`` as for :class:`Batcher`.
    """

    def __init__(self, data: TranslationData, batch_size: int, device: torch.device | str,
                 seed: int = 0, augment: Augment | None = None, shard: Shard = (0, 1)) -> None:
        smaller = min(len(data.a), len(data.b))
        if batch_size > smaller:
            raise GanforgeError(f"--batch-size {batch_size} is larger than the smaller domain "
                                f"({smaller} images); choose a smaller batch")
        self.device = torch.device(device)
        self.batch_size = batch_size
        self.paired = data.paired
        self.a, self.b = _home(data.a, self.device), _home(data.b, self.device)
        self.shard = shard
        self.stream_a = IndexStream(len(self.a), batch_size, self.a.device, seed, shard)
        self.stream_b = None if self.paired else IndexStream(len(self.b), batch_size,
                                                             self.b.device, seed + 1, shard)
        self.augment = augment or Augment()

    def __len__(self) -> int:
        return max(len(self.stream_a), len(self.stream_b or self.stream_a))

    def __iter__(self):
        return self

    @property
    def epoch(self) -> int:
        return max(self.stream_a.epoch, self.stream_b.epoch if self.stream_b else 0)

    def __next__(self) -> dict[str, torch.Tensor]:
        idx_a = self.stream_a.next()
        # Paired domains may live on different devices when only one fits on the GPU.
        idx_b = idx_a.to(self.b.device) if self.stream_b is None else self.stream_b.next()
        a = self.a.index_select(0, idx_a).to(self.device, non_blocking=True)
        b = self.b.index_select(0, idx_b).to(self.device, non_blocking=True)
        if self.augment:
            if self.paired:
                a, b = self.augment(a, b, shard=self.shard)
            else:
                (a,), (b,) = self.augment(a, shard=self.shard), self.augment(b, shard=self.shard)
        return {"a": from_uint8(a), "b": from_uint8(b)}

    def state_dict(self) -> dict:
        # Flat, so the Trainer can file tensors and plain values apart.
        streams = {"a": self.stream_a, "b": self.stream_b}
        state = {f"{side}.{k}": v for side, stream in streams.items() if stream is not None
                 for k, v in stream.state_dict().items()}
        return {**state, **self.augment.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        for side, stream in (("a", self.stream_a), ("b", self.stream_b)):
            if stream is not None:
                stream.load_state_dict({k[2:]: v for k, v in state.items()
                                        if k.startswith(side + ".")})
        self.augment.load_state_dict(state)


def from_uint8(images: torch.Tensor) -> torch.Tensor:
    """uint8 pixels as the float [-1, 1] images generators and discriminators work in."""
    return images.float().div_(127.5).sub_(1.0)


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """Map generator output in [-1, 1] back to uint8 pixels."""
    return images.detach().add(1.0).mul_(127.5).round_().clamp_(0, 255).to(torch.uint8)


def batcher_for(data, batch_size: int, device: torch.device, *, seed: int = 0,
                flip: bool = False, jitter: int = 0, shard: Shard = (0, 1)):
    """The batcher of ``data`` (an ImageDataset, TranslationData or ToyMixture); ``shard``
    (rank, world size) picks this process's slice of every global batch of ``batch_size``."""
    if isinstance(data, ToyMixture):
        if flip or jitter:
            raise GanforgeError(f"--flip and --jitter augment images; {data.name} holds 2-D "
                                "points")
        return PointBatcher(data, batch_size, device, seed=seed, shard=shard)
    augment = Augment(flip, jitter, seed)
    if isinstance(data, TranslationData):
        return PairBatcher(data, batch_size, device, seed=seed, augment=augment, shard=shard)
    return Batcher(data, batch_size, device, seed=seed, augment=augment, shard=shard)
