"""The Trainer shared by every method, and its checkpoints."""

from ganforge.training.trainer import Trainer, resolve

__all__ = ["Trainer", "resolve"]
