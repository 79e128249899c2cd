import math

import pytest
import torch

from ganforge.errors import GanforgeError
from ganforge.viz import image_grid
from ganforge.viz.annotate import labelled_grid
from ganforge.viz.latent import even_grid, interpolate, lerp, loop_through, slerp


def test_interpolations_start_and_end_at_the_endpoints():
    a, b = torch.randn(3, 8), torch.randn(3, 8)
    for mode in ("linear", "slerp"):
        path = interpolate(a, b, 5, mode)
        assert path.shape == (5, 3, 8)
        torch.testing.assert_close(path[0], a)
        torch.testing.assert_close(path[-1], b)
    torch.testing.assert_close(lerp(a, b, torch.tensor([0.5]))[0], (a + b) / 2)


def test_slerp_stays_on_the_sphere_and_follows_the_great_circle():
    a = torch.tensor([[1.0, 0.0]])
    b = torch.tensor([[0.0, 1.0]])
    mid = slerp(a, b, torch.tensor([0.5]))[0, 0]
    torch.testing.assert_close(mid, torch.tensor([math.sqrt(0.5), math.sqrt(0.5)]))
    x, y = torch.randn(4, 16), torch.randn(4, 16)
    y = y / y.norm(dim=1, keepdim=True) * x.norm(dim=1, keepdim=True)
    path = slerp(x, y, torch.linspace(0, 1, 7))
    torch.testing.assert_close(path.norm(dim=-1), x.norm(dim=1).expand(7, 4))
    # Parallel endpoints fall back to the straight line instead of dividing by zero.
    torch.testing.assert_close(slerp(a, 2 * a, torch.tensor([0.5]))[0], 1.5 * a)


def test_interpolate_rejects_bad_arguments():
    a = torch.randn(1, 2)
    with pytest.raises(GanforgeError, match="choose one of: linear, slerp"):
        interpolate(a, a, 4, "cubic")
    with pytest.raises(GanforgeError, match="at least 2 steps"):
        interpolate(a, a, 1)


def test_loop_through_visits_every_keyframe_and_closes():
    keys = torch.randn(3, 2, 4)
    path = loop_through(keys, 4, "linear")
    assert path.shape == (12, 2, 4)
    for i in range(3):
        torch.testing.assert_close(path[4 * i], keys[i])
    # One more step would land back on the first keyframe.
    torch.testing.assert_close(path[-1] + (path[-1] - path[-2]), keys[0])


def test_even_grid_is_row_major_with_y_falling():
    points = even_grid(3, 2.0)
    assert points.shape == (9, 2)
    torch.testing.assert_close(points[0], torch.tensor([-2.0, 2.0]))
    torch.testing.assert_close(points[2], torch.tensor([2.0, 2.0]))
    torch.testing.assert_close(points[8], torch.tensor([2.0, -2.0]))
    with pytest.raises(GanforgeError, match="at least 2 points"):
        even_grid(1, 1.0)
    with pytest.raises(GanforgeError, match="--range must be positive"):
        even_grid(4, 0.0)


def test_labelled_grid_keeps_the_images_and_adds_margins():
    images = torch.randint(0, 256, (6, 1, 8, 8), dtype=torch.uint8)
    plain = image_grid(images, nrow=3)
    labelled = labelled_grid(images, nrow=3, row_labels=["zero", "one"], col_labels=["a"] * 3,
                             title="t")
    assert labelled.shape[0] == 1
    top = labelled.shape[1] - plain.shape[1]
    left = labelled.shape[2] - plain.shape[2]
    assert top > 0 and left > 0
    assert torch.equal(labelled[:, top:, left:], plain)
    assert labelled[:, :top].any() and labelled[:, top:, :left].any()  # text was drawn
    rgb = labelled_grid(torch.zeros(4, 3, 8, 8, dtype=torch.uint8), nrow=2, scale=2)
    assert rgb.shape == (3, 2 * (2 * 10 + 2), 2 * (2 * 10 + 2))
