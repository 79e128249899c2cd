"""One small class per GAN method, registered by name in ``METHODS``."""

from ganforge.methods import conditional, gan, infogan, presets, ssgan  # noqa: F401  (registers them)
from ganforge.methods.base import (
    METHODS,
    DataSpec,
    Method,
    Option,
    build_backbone,
    register_method,
)

__all__ = ["METHODS", "DataSpec", "Method", "Option", "build_backbone", "register_method"]
