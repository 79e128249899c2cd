"""Reusable layers and initialisers shared by the models."""

from ganforge.nn.init import dcgan_init

__all__ = ["dcgan_init"]
