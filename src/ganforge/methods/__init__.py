"""One small class per GAN method, registered by name in ``METHODS``.

Every module of this package is imported here, so a method registers itself by being a file
in it: adding a method touches its own file alone (see CONTRIBUTING.md).
"""

import importlib
import pkgutil

from ganforge.methods.base import METHODS, DataNeeds, Method, register_method

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["METHODS", "DataNeeds", "Method", "register_method"]
