"""One small class per GAN method, registered by name in ``METHODS``."""

from ganforge.methods import (  # noqa: F401  (registers them)
    autoencoding,
    conditional,
    gan,
    infogan,
    lapgan,
    presets,
    progan,
    ssgan,
    text2img,
    translation,
)
from ganforge.methods.base import (
    METHODS,
    DataSpec,
    Method,
    Option,
    build_backbone,
    register_method,
)

__all__ = ["METHODS", "DataSpec", "Method", "Option", "build_backbone", "register_method"]
