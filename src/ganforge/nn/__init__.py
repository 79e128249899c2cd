"""Reusable layers and initialisers shared by the models."""

from ganforge.nn.init import dcgan_init, is_weight_normed, weight_norm_data_init_

__all__ = ["dcgan_init", "is_weight_normed", "weight_norm_data_init_"]
