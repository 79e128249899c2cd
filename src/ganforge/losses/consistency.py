"""StackGAN++'s colour-consistency regulariser (Zhang et al. 2018, sec. 4.3, eq. 7)."""

from __future__ import annotations

import torch


def pixel_statistics(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Each image's mean colour [N, C] and colour covariance [N, C, C] over its pixels."""
    x = images.flatten(2)  # [N, C, pixels]
    mu = x.mean(2)
    centred = x - mu[..., None]
    return mu, centred @ centred.transpose(1, 2) / x.shape[2]


def color_consistency(images: list[torch.Tensor], mean_weight: float = 1.0,
                      cov_weight: float = 5.0) -> torch.Tensor:
    """Sum over consecutive scales of the batch mean of lambda1 ||mu_i - mu_{i-1}||^2 +
    lambda2 ||Sigma_i - Sigma_{i-1}||_F^2: an image and its coarser version keep the same
    colour mean and covariance. lambda1 = 1 and lambda2 = 5 as in the paper."""
    total = images[0].new_zeros(())
    for coarse, fine in zip(images, images[1:], strict=False):
        (mu_c, cov_c), (mu_f, cov_f) = pixel_statistics(coarse), pixel_statistics(fine)
        total = total + (mean_weight * (mu_f - mu_c).square().sum(1)
                         + cov_weight * (cov_f - cov_c).square().sum((1, 2))).mean()
    return total
