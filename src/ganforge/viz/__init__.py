"""Pictures of what a model learned.

The grid helpers load torch on first use, not on import, so ``ganforge.viz.curves`` (the
training curves of ``ganforge plot``) stays as light as the JSON it reads.
"""

from __future__ import annotations

__all__ = ["grid_scale", "image_grid", "montage", "save_image", "side_by_side"]


def __getattr__(name: str):
    if name in __all__:
        from ganforge.viz import grid

        return getattr(grid, name)
    raise AttributeError(f"module 'ganforge.viz' has no attribute {name!r}")
