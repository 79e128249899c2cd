"""Pictures of what a model learned."""

from ganforge.viz.grid import image_grid, montage, save_image

__all__ = ["image_grid", "montage", "save_image"]
