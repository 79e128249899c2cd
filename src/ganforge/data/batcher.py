"""Batches drawn by shuffled index from a data set that lives on the training device."""

from __future__ import annotations

import torch

from ganforge.data.dataset import ImageDataset
from ganforge.errors import GanforgeError

# Keep the data set on the GPU only while it takes a modest share of free memory.
_DEVICE_MEMORY_SHARE = 0.25


def storage_device(nbytes: int, device: torch.device) -> torch.device:
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        if nbytes > _DEVICE_MEMORY_SHARE * free:
            return torch.device("cpu")
    return device


class Batcher:
    """Yields {"x": images, float [-1, 1], "label": int64} batches on ``device``, epoch after epoch.

    The whole data set stays uint8 (on the device when it fits), each epoch is one random
    permutation and a batch is one ``index_select``: no per-sample Python and no workers.
    Incomplete final batches are dropped so every step has the same shape.
    """

    def __init__(
        self, dataset: ImageDataset, batch_size: int, device: torch.device | str, seed: int = 0
    ) -> None:
        if batch_size > len(dataset):
            raise GanforgeError(
                f"--batch-size {batch_size} is larger than the data set ({len(dataset)} images); "
                "choose a smaller batch"
            )
        self.device = torch.device(device)
        self.batch_size = batch_size
        home = storage_device(dataset.images.numel(), self.device)
        pin = home.type == "cpu" and self.device.type == "cuda"
        self.images = dataset.images.to(home)
        self.labels = dataset.labels.to(home) if dataset.labels is not None else None
        if pin:
            self.images = self.images.pin_memory()
        self.generator = torch.Generator().manual_seed(seed)
        self.perm = torch.empty(0, dtype=torch.long)
        self.cursor = 0
        self.epoch = 0

    def __len__(self) -> int:
        """Batches per epoch."""
        return len(self.images) // self.batch_size

    def __iter__(self):
        return self

    def __next__(self) -> dict[str, torch.Tensor]:
        if self.cursor + self.batch_size > len(self.perm):
            self.perm = torch.randperm(len(self.images), generator=self.generator)
            self.perm = self.perm.to(self.images.device)
            self.cursor = 0
            self.epoch += 1
        idx = self.perm[self.cursor : self.cursor + self.batch_size]
        self.cursor += self.batch_size
        image = self.images.index_select(0, idx).to(self.device, non_blocking=True)
        batch = {"x": from_uint8(image)}
        if self.labels is not None:
            batch["label"] = self.labels.index_select(0, idx).to(self.device, non_blocking=True)
        return batch

    def state_dict(self) -> dict:
        return {
            "epoch": self.epoch,
            "cursor": self.cursor,
            "generator": self.generator.get_state(),
            "perm": self.perm.cpu(),
        }

    def load_state_dict(self, state: dict) -> None:
        self.epoch = int(state["epoch"])
        self.cursor = int(state["cursor"])
        self.generator.set_state(state["generator"])
        self.perm = state["perm"].to(self.images.device)


def from_uint8(images: torch.Tensor) -> torch.Tensor:
    """uint8 pixels as the float [-1, 1] images generators and discriminators work in."""
    return images.float().div_(127.5).sub_(1.0)


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """Map generator output in [-1, 1] back to uint8 pixels."""
    return images.detach().add(1.0).mul_(127.5).round_().clamp_(0, 255).to(torch.uint8)
