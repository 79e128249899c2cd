"""DiffAugment's transforms against their definitions written out per image."""

import pytest
import torch

from ganforge.errors import GanforgeError
from ganforge.nn.augment import (
    DiffAugment,
    affine,
    color,
    cutout,
    parse_policy,
    stroke,
    translation,
)


def images(n=6, c=3, h=16, w=16):
    return torch.rand(n, c, h, w, generator=torch.Generator().manual_seed(0)) * 2 - 1


def test_policy_is_put_in_the_papers_order_and_unknown_names_are_refused():
    assert parse_policy("cutout, translation,color") == ("color", "translation", "cutout")
    assert parse_policy(None) == ()
    with pytest.raises(GanforgeError, match="unknown augmentation 'flip' .* color, translation"):
        parse_policy("translation,flip")


def test_translation_moves_each_image_whole_and_fills_with_zeros():
    x = images()
    torch.manual_seed(3)
    out = translation(x)
    for img, moved in zip(x, out, strict=True):
        found = []
        for dy in range(-2, 3):
            for dx in range(-2, 3):
                expected = torch.zeros_like(img)
                ys = slice(max(dy, 0), 16 + min(dy, 0))
                xs = slice(max(dx, 0), 16 + min(dx, 0))
                src_y = slice(max(-dy, 0), 16 + min(-dy, 0))
                src_x = slice(max(-dx, 0), 16 + min(-dx, 0))
                expected[:, ys, xs] = img[:, src_y, src_x]
                if torch.equal(moved, expected):
                    found.append((dy, dx))
        assert len(found) == 1, found  # one shift of at most 16/8 = 2 pixels explains it


def test_cutout_zeroes_one_square_of_half_the_side_clipped_at_the_edges():
    x = images(n=32) + 3  # no pixel is zero before
    torch.manual_seed(1)
    out = cutout(x)
    for img, cut in zip(x, out, strict=True):
        zero = (cut == 0).all(0)
        ys, xs = zero.any(1).nonzero().flatten(), zero.any(0).nonzero().flatten()
        assert 1 <= len(ys) <= 8 and 1 <= len(xs) <= 8
        assert zero[ys.min():ys.max() + 1, xs.min():xs.max() + 1].all()
        assert int(zero.sum()) == len(ys) * len(xs)
        assert torch.equal(cut[:, ~zero], img[:, ~zero])
        # a square of side 8 unless it hangs over an edge
        if 0 < ys.min() and ys.max() < 15:
            assert len(ys) == 8
        if 0 < xs.min() and xs.max() < 15:
            assert len(xs) == 8


def test_color_is_brightness_saturation_contrast_per_image():
    x = images()
    torch.manual_seed(4)
    out = color(x)
    torch.manual_seed(4)
    u1, u2, u3 = (torch.rand(6, 1, 1, 1) for _ in range(3))
    y = x + (u1 - 0.5)
    gray = y.mean(1, keepdim=True)
    y = (y - gray) * (u2 * 2) + gray
    mean = y.mean((1, 2, 3), keepdim=True)
    y = (y - mean) * (u3 + 0.5) + mean
    assert torch.allclose(out, y, atol=1e-6)
    grey = images(c=1)
    torch.manual_seed(4)
    shifted = color(grey)  # saturation leaves one channel alone
    mean = (grey + (u1 - 0.5)).mean((1, 2, 3), keepdim=True)
    assert torch.allclose(shifted, (grey + (u1 - 0.5) - mean) * (u3 + 0.5) + mean, atol=1e-6)


def test_augmentation_is_differentiable_in_the_image_and_off_by_default():
    x = images().requires_grad_(True)
    DiffAugment("color,translation,cutout")(x).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    y = images()
    assert DiffAugment(None)(y) is y


def test_affine_is_the_identity_at_zero_ranges_and_keeps_a_centred_digit_centred():
    x = images(c=1, h=28, w=28)
    assert torch.allclose(affine(x, degrees=0, shear=0, scale=(1, 1)), x, atol=1e-5)
    # Sheared by a known amount: a bar along the vertical axis leans, its ink stays on the centre.
    bar = torch.full((1, 1, 28, 28), -1.0)
    bar[..., 4:24, 13:15] = 1.0
    turned = affine(bar, degrees=0, shear=0.5, scale=(1, 1))
    top, bottom = turned[0, 0, 6], turned[0, 0, 21]
    cols = torch.arange(28.0)
    centre = lambda row: ((row + 1) * cols).sum() / (row + 1).sum()  # noqa: E731
    assert abs(centre(top) - centre(bottom)) > 3  # a shear slants it
    assert abs((centre(top) + centre(bottom)) / 2 - 13.5) < 0.5  # about the centre
    torch.manual_seed(0)
    assert not torch.allclose(affine(x), x, atol=1e-3)


def test_stroke_thickens_thins_or_keeps_each_image_whole():
    x = images(n=48, c=1)
    torch.manual_seed(2)
    out = stroke(x)
    thick = (x + torch.nn.functional.max_pool2d(x, 3, 1, 1)) / 2
    thin = (x - torch.nn.functional.max_pool2d(-x, 3, 1, 1)) / 2
    assert (thin <= x).all() and (x <= thick).all()
    kinds = [next(i for i, y in enumerate((thin[k], x[k], thick[k])) if torch.equal(out[k], y))
             for k in range(len(x))]
    assert sorted(set(kinds)) == [0, 1, 2]


def test_digit_preserving_transforms_are_differentiable_and_named_by_their_flag():
    x = images(c=1).requires_grad_(True)
    DiffAugment("affine,stroke")(x).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    with pytest.raises(GanforgeError, match="'spin' in --code-augment; choose from: .*affine"):
        parse_policy("spin", "--code-augment")
