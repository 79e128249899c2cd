"""Pictures of what a model learned."""

from ganforge.viz.grid import grid_scale, image_grid, montage, save_image, side_by_side

__all__ = ["grid_scale", "image_grid", "montage", "save_image", "side_by_side"]
