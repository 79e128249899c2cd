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


def test_montage_puts_pictures_of_different_sizes_in_equal_cells():
    from ganforge.viz import montage

    grey = torch.full((1, 4, 6), 50, dtype=torch.uint8)
    rgb = torch.full((3, 5, 3), 200, dtype=torch.uint8)
    picture = montage([grey, rgb, grey], ncol=2, padding=1)
    assert picture.shape == (3, 1 + 2 * (5 + 1), 1 + 2 * (6 + 1))  # cells of 5 x 6, RGB
    assert (picture[:, 1:5, 1:7] == 50).all()  # grey copied into every channel
    assert (picture[:, 5, 1:7] == 0).all()  # the rest of its cell is blank
    assert (picture[:, 1:6, 8:11] == 200).all() and (picture[:, 1:6, 11:14] == 0).all()
    assert (picture[:, 7:11, 1:7] == 50).all()  # the third starts the second row
