"""Reusable layers and initialisers shared by the models."""

from ganforge.nn.init import dcgan_init, is_weight_normed, weight_norm_data_init_
from ganforge.nn.modes import eval_mode

__all__ = ["dcgan_init", "eval_mode", "is_weight_normed", "weight_norm_data_init_"]
