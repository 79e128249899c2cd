"""Full-reference image quality for paired outputs (pix2pix-style translation, reconstructions).

Each function compares a batch ``x`` with its reference ``y`` image by image and returns one
score per image, shape [N], so callers can average, report a spread or find the worst case.
Inputs are float [N, C, H, W] on any device; ``data_range`` is max - min of the pixel scale,
2 for ganforge's [-1, 1] images and 255 for uint8-scaled ones.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ganforge.errors import GanforgeError


def _check_pair(x: torch.Tensor, y: torch.Tensor, metric: str, data_range: float) -> None:
    if x.dim() != 4 or x.shape != y.shape:
        raise GanforgeError(
            f"{metric} needs two image batches of one shape [N, C, H, W], got {tuple(x.shape)} "
            f"and {tuple(y.shape)}; pass outputs and their references in the same layout"
        )
    if not data_range > 0:
        raise GanforgeError(
            f"{metric} needs data_range > 0, got {data_range}; use 2 for [-1, 1] images or 255 "
            "for [0, 255]"
        )


def _float(t: torch.Tensor) -> torch.Tensor:
    # Half precision loses the small differences these metrics measure; work in float32 at least.
    return t if t.dtype == torch.float64 else t.float()


def l1_error(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean absolute error per image, mean_{c,h,w} |x - y|: the L1 term pix2pix trains with
    (Isola et al. 2017, eq. 3), reported in the units of the pixel scale."""
    _check_pair(x, y, "l1_error", 1.0)
    return (_float(x) - _float(y)).abs().flatten(1).mean(1)


def psnr(x: torch.Tensor, y: torch.Tensor, data_range: float = 2.0) -> torch.Tensor:
    """Peak signal-to-noise ratio per image in dB: 10 log10(data_range^2 / MSE), the MSE taken
    over the image's channels and pixels.

    Identical images have MSE 0 and PSNR ``inf`` (what the formula gives; torch returns it
    without a warning); average with care, e.g. clamp first or report the median."""
    _check_pair(x, y, "psnr", data_range)
    mse = (_float(x) - _float(y)).pow(2).flatten(1).mean(1)
    return 10 * torch.log10(data_range**2 / mse)


def _gaussian_window(size: int, sigma: float) -> torch.Tensor:
    """1-D Gaussian of ``size`` taps centred on the middle one, normalised to sum 1 over the taps
    (as scipy.ndimage truncates and renormalises its Gaussian filter)."""
    x = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    w = torch.exp(-0.5 * (x / sigma) ** 2)
    return w / w.sum()


def ssim(
    x: torch.Tensor,
    y: torch.Tensor,
    data_range: float = 2.0,
    window: int = 11,
    sigma: float = 1.5,
    k1: float = 0.01,
    k2: float = 0.03,
) -> torch.Tensor:
    """Mean structural similarity per image (Wang et al. 2004, eq. 13 averaged as in eq. 17):

        SSIM(x, y) = (2 mu_x mu_y + C1)(2 sigma_xy + C2) / ((mu_x^2 + mu_y^2 + C1)(sigma_x^2 +
        sigma_y^2 + C2)),  C1 = (k1 L)^2, C2 = (k2 L)^2, L = data_range,

    with local statistics weighted by a ``window`` x ``window`` Gaussian of std ``sigma`` (the
    paper's 11x11, sigma 1.5), applied per channel. Covariances are population (weights sum to 1,
    no N/(N-1) factor), as in the paper. The map is computed only where the window fits inside
    the image ('valid' convolution) and averaged over those positions and the channels.

    This equals ``skimage.metrics.structural_similarity(a, b, data_range=L,
    gaussian_weights=True, sigma=sigma, use_sample_covariance=False, channel_axis=...)``:
    skimage filters the whole image with reflected borders but then drops a (window - 1) // 2
    strip at every edge before averaging, which leaves exactly the positions where the window
    did not touch the border. skimage sizes its window from sigma (2 * int(3.5 sigma + 0.5) + 1,
    11 for sigma 1.5); pass that ``window`` to compare at other sigmas.
    """
    _check_pair(x, y, "ssim", data_range)
    if window < 1 or window % 2 == 0:
        raise GanforgeError(f"ssim needs an odd window >= 1, got {window}; the paper uses 11")
    if sigma <= 0:
        raise GanforgeError(f"ssim needs sigma > 0, got {sigma}; the paper uses 1.5")
    n, c, h, w = x.shape
    if h < window or w < window:
        raise GanforgeError(
            f"ssim needs images of at least {window}x{window} pixels, got {h}x{w}; pass a "
            "smaller odd window or compare larger images"
        )
    x, y = _float(x), _float(y)
    # Local statistics come from E[x^2] - E[x]^2, which cancels badly in float32 when pixels are
    # large (a 0..255 scale) and the variance small; shifting by a per-channel constant leaves
    # every variance and covariance unchanged, and the means get the constant back below.
    shift = 0.5 * (x.mean((2, 3), keepdim=True) + y.mean((2, 3), keepdim=True))
    xs, ys = x - shift, y - shift
    # One depthwise pass over all five maps; the 2-D Gaussian is separable, so two 1-D passes.
    maps = torch.cat([xs, ys, xs * xs, ys * ys, xs * ys], dim=1)
    g = _gaussian_window(window, sigma).to(dtype=x.dtype, device=x.device)
    groups = maps.shape[1]
    maps = F.conv2d(maps, g.view(1, 1, window, 1).expand(groups, 1, window, 1), groups=groups)
    maps = F.conv2d(maps, g.view(1, 1, 1, window).expand(groups, 1, 1, window), groups=groups)
    mu_xs, mu_ys, e_xx, e_yy, e_xy = maps.split(c, dim=1)
    var_x = e_xx - mu_xs**2
    var_y = e_yy - mu_ys**2
    cov_xy = e_xy - mu_xs * mu_ys
    mu_x, mu_y = mu_xs + shift, mu_ys + shift
    c1, c2 = (k1 * data_range) ** 2, (k2 * data_range) ** 2
    s = ((2 * mu_x * mu_y + c1) * (2 * cov_xy + c2)) / (
        (mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2)
    )
    return s.flatten(1).mean(1)
