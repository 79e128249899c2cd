"""Adversarial losses of the original GAN (Goodfellow et al. 2014), over raw logits.

With D(x) = sigmoid(l): log D(x) = -softplus(-l) and log(1 - D(x)) = -softplus(l), which stay
finite where the sigmoid saturates.
"""

import torch
import torch.nn.functional as F


def bce_d(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Discriminator loss, the negated value function of eq. 1:
    -E[log D(x)] - E[log(1 - D(G(z)))]."""
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def minimax_g(fake_logits: torch.Tensor) -> torch.Tensor:
    """Generator loss of eq. 1 (saturating): E[log(1 - D(G(z)))], minimised."""
    return -F.softplus(fake_logits).mean()


def nonsaturating_g(fake_logits: torch.Tensor) -> torch.Tensor:
    """The paper's practical generator loss (sec. 3): maximise log D(G(z)), i.e. minimise
    -E[log D(G(z))]; strong gradients early on, when D rejects G's samples confidently."""
    return F.softplus(-fake_logits).mean()
