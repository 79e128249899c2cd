import math

import pytest
import torch

from ganforge.errors import GanforgeError
from ganforge.metrics.image_quality import l1_error, psnr, ssim

structural_similarity = pytest.importorskip("skimage.metrics").structural_similarity


def _skimage_ssim(x: torch.Tensor, y: torch.Tensor, data_range: float) -> torch.Tensor:
    """The reference: skimage in Wang et al.'s setting, image by image, channels last."""
    scores = []
    for a, b in zip(x.double().numpy(), y.double().numpy(), strict=True):
        if a.shape[0] == 1:
            kwargs = {}
            a, b = a[0], b[0]
        else:
            kwargs = {"channel_axis": -1}
            a, b = a.transpose(1, 2, 0), b.transpose(1, 2, 0)
        scores.append(
            structural_similarity(
                a,
                b,
                data_range=data_range,
                gaussian_weights=True,
                sigma=1.5,
                use_sample_covariance=False,
                **kwargs,
            )
        )
    return torch.tensor(scores, dtype=torch.float64)


def _smooth_and_noisy(channels: int, data_range: float, g: torch.Generator):
    h, w = 24, 19
    yy, xx = torch.meshgrid(torch.linspace(0, 1, h), torch.linspace(0, 1, w), indexing="ij")
    base = torch.stack([torch.sin(3 * xx + c) * torch.cos(2 * yy - c) for c in range(channels)])
    smooth = torch.stack([base, base.flip(-1), 0.5 * base]) * 0.45 + 0.5  # [3, C, H, W] in [0, 1]
    noisy = (smooth + 0.1 * torch.randn(smooth.shape, generator=g)).clamp(0, 1)
    return smooth * data_range, noisy * data_range


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("data_range", [2.0, 255.0])
def test_ssim_matches_skimage_on_random_images(channels, data_range):
    g = torch.Generator().manual_seed(channels)
    x = torch.rand(2, channels, 16, 21, generator=g) * data_range
    y = torch.rand(2, channels, 16, 21, generator=g) * data_range
    torch.testing.assert_close(
        ssim(x, y, data_range=data_range).double(),
        _skimage_ssim(x, y, data_range),
        atol=1e-4,
        rtol=0,
    )


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("data_range", [2.0, 255.0])
def test_ssim_matches_skimage_on_structured_images(channels, data_range):
    g = torch.Generator().manual_seed(7)
    smooth, noisy = _smooth_and_noisy(channels, data_range, g)
    if data_range == 2.0:  # ganforge's own scale, [-1, 1]
        smooth, noisy = smooth - 1, noisy - 1
    ours = ssim(smooth, noisy, data_range=data_range)
    torch.testing.assert_close(
        ours.double(), _skimage_ssim(smooth, noisy, data_range), atol=1e-4, rtol=0
    )
    assert ours.shape == (3,) and (ours > 0.1).all() and (ours < 0.99).all()


def test_ssim_of_an_image_with_itself_is_one():
    x = torch.rand(3, 3, 12, 12, generator=torch.Generator().manual_seed(0)) * 2 - 1
    torch.testing.assert_close(ssim(x, x), torch.ones(3))


def test_ssim_rejects_images_smaller_than_the_window():
    x = torch.zeros(1, 3, 10, 32)
    with pytest.raises(GanforgeError, match="at least 11x11"):
        ssim(x, x)
    assert ssim(x, x, window=5).shape == (1,)  # a smaller window fits


def test_ssim_rejects_mismatched_shapes_and_even_windows():
    with pytest.raises(GanforgeError, match="one shape"):
        ssim(torch.zeros(1, 3, 16, 16), torch.zeros(1, 1, 16, 16))
    with pytest.raises(GanforgeError, match="odd window"):
        ssim(torch.zeros(1, 1, 16, 16), torch.zeros(1, 1, 16, 16), window=4)


def test_psnr_matches_its_formula():
    g = torch.Generator().manual_seed(1)
    x = torch.rand(4, 3, 8, 8, generator=g) * 2 - 1
    y = torch.rand(4, 3, 8, 8, generator=g) * 2 - 1
    expected = [
        10 * math.log10(2.0**2 / ((a - b) ** 2).mean().item()) for a, b in zip(x, y, strict=True)
    ]
    torch.testing.assert_close(psnr(x, y), torch.tensor(expected))
    expected255 = [
        10 * math.log10(255.0**2 / ((a - b) ** 2).mean().item()) for a, b in zip(x, y, strict=True)
    ]
    torch.testing.assert_close(psnr(x, y, data_range=255.0), torch.tensor(expected255))


def test_psnr_of_identical_images_is_infinite():
    x = torch.rand(2, 1, 8, 8)
    assert torch.isinf(psnr(x, x)).all()
    assert (psnr(x, x + 1e-3) > 60).all()


def test_l1_error_per_image():
    x = torch.zeros(2, 1, 2, 2)
    y = torch.tensor([[[[1.0, -1.0], [0.0, 2.0]]], [[[0.5, 0.5], [0.5, 0.5]]]])
    torch.testing.assert_close(l1_error(x, y), torch.tensor([1.0, 0.5]))
