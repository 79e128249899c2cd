"""The Trainer shared by every method: the loop, and what it keeps around it."""

from ganforge.training.trainer import Trainer

__all__ = ["Trainer"]
