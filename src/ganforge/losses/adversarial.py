"""Adversarial losses over raw discriminator logits: the original GAN (Goodfellow et al. 2014)
and the objectives that replaced it for stable training.

With D(x) = sigmoid(l): log D(x) = -softplus(-l) and log(1 - D(x)) = -softplus(l), which stay
finite where the sigmoid saturates. Every function takes logits of shape [N] (any shape works)
and returns a scalar to minimise; ``real`` and ``fake`` are D's logits on real and generated
batches. ``ganforge.losses.objectives`` pairs them into named D/G objectives.
"""

import torch
import torch.nn.functional as F

from ganforge.errors import GanforgeError


def bce_d(
    real_logits: torch.Tensor, fake_logits: torch.Tensor, real_target: float = 1.0
) -> torch.Tensor:
    """Discriminator loss, the negated value function of eq. 1:
    -E[log D(x)] - E[log(1 - D(G(z)))].

    ``real_target`` < 1 is one-sided label smoothing (Salimans et al. 2016, sec. 3.4): the real
    term becomes binary cross-entropy against the soft target, e.g. 0.9, so D is not rewarded
    for ever more confident logits on real data. Fake targets stay 0: smoothing them too would
    leave fakes far from the data with no incentive to move towards it (same section)."""
    if not 0.0 < real_target <= 1.0:
        raise GanforgeError(
            f"real_target must lie in (0, 1], got {real_target}; use e.g. 0.9 for one-sided "
            "label smoothing or 1.0 for none"
        )
    if real_target == 1.0:
        real_term = F.softplus(-real_logits).mean()
    else:
        target = torch.full_like(real_logits, real_target)
        real_term = F.binary_cross_entropy_with_logits(real_logits, target)
    return real_term + F.softplus(fake_logits).mean()


def minimax_g(fake_logits: torch.Tensor) -> torch.Tensor:
    """Generator loss of eq. 1 (saturating): E[log(1 - D(G(z)))], minimised."""
    return -F.softplus(fake_logits).mean()


def nonsaturating_g(fake_logits: torch.Tensor) -> torch.Tensor:
    """The paper's practical generator loss (sec. 3): maximise log D(G(z)), i.e. minimise
    -E[log D(G(z))]; strong gradients early on, when D rejects G's samples confidently."""
    return F.softplus(-fake_logits).mean()


def wasserstein_d(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Critic loss of WGAN (Arjovsky et al. 2017, Algorithm 1): maximise E[f(x)] - E[f(G(z))],
    i.e. minimise E[f(G(z))] - E[f(x)]. Only meaningful with a Lipschitz constraint on f
    (weight clipping, a gradient penalty or spectral norm); the logits are unbounded scores."""
    return fake_logits.mean() - real_logits.mean()


def wasserstein_g(fake_logits: torch.Tensor) -> torch.Tensor:
    """Generator loss of WGAN: minimise -E[f(G(z))]."""
    return -fake_logits.mean()


def least_squares_d(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """LSGAN discriminator loss (Mao et al. 2017, eq. 2 with a = 0, b = 1):
    1/2 E[(D(x) - 1)^2] + 1/2 E[D(G(z))^2]; D's output is linear (no sigmoid)."""
    return 0.5 * (real_logits - 1).pow(2).mean() + 0.5 * fake_logits.pow(2).mean()


def least_squares_g(fake_logits: torch.Tensor) -> torch.Tensor:
    """LSGAN generator loss (Mao et al. 2017, eq. 2 with c = 1): 1/2 E[(D(G(z)) - 1)^2]; it still
    pulls fakes that D already accepts towards the decision boundary, unlike the sigmoid loss."""
    return 0.5 * (fake_logits - 1).pow(2).mean()


def hinge_d(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Hinge discriminator loss (Lim & Ye 2017, "Geometric GAN"; Miyato et al. 2018):
    E[max(0, 1 - D(x))] + E[max(0, 1 + D(G(z)))]; examples beyond the margin stop contributing."""
    return F.relu(1 - real_logits).mean() + F.relu(1 + fake_logits).mean()


def hinge_g(fake_logits: torch.Tensor) -> torch.Tensor:
    """Generator loss paired with the hinge D (Lim & Ye 2017; Miyato et al. 2018): -E[D(G(z))]."""
    return -fake_logits.mean()


def relativistic_average_d(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """RaSGAN discriminator loss (Jolicoeur-Martineau 2018, sec. 4.3, in BCE form): D estimates
    how much more real x is than the average fake, and vice versa:
    -E_x[log sigmoid(C(x) - E C(G(z)))] - E_z[log(1 - sigmoid(C(G(z)) - E C(x)))]."""
    return (
        F.softplus(-(real_logits - fake_logits.mean())).mean()
        + F.softplus(fake_logits - real_logits.mean()).mean()
    )


def relativistic_average_g(fake_logits: torch.Tensor, real_logits: torch.Tensor) -> torch.Tensor:
    """RaSGAN generator loss (Jolicoeur-Martineau 2018, sec. 4.3): the D loss with real and fake
    swapped. Unlike the other G losses it needs D's logits on real data too, because G also
    gains by making real data look *less* real relative to its samples."""
    return (
        F.softplus(-(fake_logits - real_logits.mean())).mean()
        + F.softplus(real_logits - fake_logits.mean()).mean()
    )
