import pytest
import torch
from PIL import Image

from ganforge.errors import GanforgeError
from ganforge.viz.scatter import save_gif, scatter_plot


def test_scatter_plot_shape_dtype_and_background():
    picture = scatter_plot(torch.randn(500, 2), size=64)
    assert picture.shape == (3, 64, 64) and picture.dtype == torch.uint8
    empty = scatter_plot(torch.zeros(0, 2), extent=1.0, size=65)
    assert empty[:, 5, 5].tolist() == [255, 255, 255]  # white
    assert empty[:, 32, 5].tolist() == [215, 215, 215]  # the x axis, through the middle row
    assert empty[:, 5, 32].tolist() == [215, 215, 215]  # the y axis


def test_points_land_where_their_coordinates_say():
    # extent [-1, 1] over 65 pixels: x = 0.5 is column 48, y = 0.5 is row 16 (+y is up).
    picture = scatter_plot(torch.tensor([[0.5, 0.5]] * 10), extent=1.0, size=65).int()
    axes = scatter_plot(torch.zeros(0, 2), extent=1.0, size=65).int()
    painted = (picture != axes).any(0).nonzero().tolist()
    assert sorted(painted) == [[15, 48], [16, 47], [16, 48], [16, 49], [17, 48]]  # a small dot
    assert picture[2, 16, 48] > picture[0, 16, 48]  # in blue


def test_density_darkens_and_outside_points_vanish():
    one = scatter_plot(torch.tensor([[0.5, 0.5]]), extent=1.0, size=65).int()
    many = scatter_plot(torch.tensor([[0.5, 0.5]] * 5), extent=1.0, size=65).int()
    assert many[:, 16, 48].sum() < one[:, 16, 48].sum()
    outside = torch.tensor([[5.0, 0.0], [float("nan"), 0.0], [0.0, -1.5]])
    assert torch.equal(
        scatter_plot(outside, extent=1.0, size=65),
        scatter_plot(torch.zeros(0, 2), extent=1.0, size=65),
    )


def test_centers_are_marked():
    centers = torch.tensor([[0.5, -0.5]])
    picture = scatter_plot(torch.zeros(0, 2), centers=centers, extent=1.0, size=97).int()
    # A red ring of radius 3 around row 72, column 72.
    ring = picture[:, 69:76, 69:76]
    assert ((ring[0] > 150) & (ring[1] < 100)).any()
    assert picture[:, 72, 72].tolist() == [255, 255, 255]  # hollow
    with pytest.raises(GanforgeError, match="xmin < xmax"):
        scatter_plot(torch.zeros(1, 2), extent=(1.0, 0.0, 0.0, 1.0))


def test_gif_round_trip(tmp_path):
    frames = [scatter_plot(torch.randn(200, 2) + i, extent=4.0, size=48) for i in range(3)]
    path = save_gif(frames, tmp_path / "sub" / "train.gif", duration_ms=80)
    with Image.open(path) as gif:
        assert gif.format == "GIF" and gif.size == (48, 48) and gif.n_frames == 3
        assert gif.info["duration"] == 80
    assert not list(tmp_path.rglob("*.tmp"))
    gray = [torch.full((1, 8, 8), v, dtype=torch.uint8) for v in (0, 128)]
    with Image.open(save_gif(gray, tmp_path / "gray.gif")) as gif:
        assert gif.n_frames == 2


def test_save_gif_rejects_bad_frames(tmp_path):
    with pytest.raises(GanforgeError, match="no frames"):
        save_gif([], tmp_path / "a.gif")
    with pytest.raises(GanforgeError, match="one size"):
        save_gif(
            [torch.zeros(3, 4, 4, dtype=torch.uint8), torch.zeros(3, 5, 4, dtype=torch.uint8)],
            tmp_path / "a.gif",
        )
    with pytest.raises(GanforgeError, match="uint8"):
        save_gif([torch.zeros(3, 4, 4)], tmp_path / "a.gif")
    assert not (tmp_path / "a.gif").exists()
