"""One small class per GAN method, registered by name in ``METHODS``."""

from ganforge.methods import gan  # noqa: F401  (registers gan, dcgan)
from ganforge.methods.base import METHODS, DataSpec, Method, build_backbone, register_method

__all__ = ["METHODS", "DataSpec", "Method", "build_backbone", "register_method"]
