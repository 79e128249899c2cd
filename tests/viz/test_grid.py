import torch
from PIL import Image

from ganforge.viz import image_grid, save_image


def test_grid_layout_places_images_in_rows():
    images = torch.stack([torch.full((1, 4, 4), i * 10, dtype=torch.uint8) for i in range(6)])
    grid = image_grid(images, nrow=3, padding=1)
    assert grid.shape == (1, 2 * 5 + 1, 3 * 5 + 1)
    assert grid[0, 1, 1] == 0 and grid[0, 1, 6] == 10 and grid[0, 6, 11] == 50
    assert grid[0, 0, 0] == 0  # padding


def test_save_image_png_scaled(tmp_path):
    picture = torch.randint(0, 255, (3, 5, 7), dtype=torch.uint8)
    path = save_image(picture, tmp_path / "g.png", scale=2)
    with Image.open(path) as img:
        assert img.size == (14, 10) and img.mode == "RGB"
    assert not list(tmp_path.glob("*.tmp"))
