"""Mode counting on Stacked MNIST, the standard test of mode collapse.

Stacked MNIST (Metz et al., "Unrolled Generative Adversarial Networks", ICLR 2017, Sec. 3.3.2;
Srivastava et al., "VEEGAN", NeurIPS 2017, Sec. 5.2; Lin et al., "PacGAN", NeurIPS 2018) puts
three MNIST digits into the R, G and B channels of one image, so the data has 10^3 = 1,000
equally likely modes. Each channel of a generated image is classified by a pretrained MNIST
classifier (here the packaged LeNet of :mod:`ganforge.metrics.domain`); the mode is
``100 * d_R + 10 * d_G + d_B``. The reported numbers are the modes covered (out of 1,000) and
KL(p_modes || uniform) of the generated mode histogram, on 26,000 samples in those papers.
"""

from __future__ import annotations

import numpy as np
import torch

from ganforge.metrics.domain import ImagesLike, MNISTClassifierExtractor, kl_to_uniform
from ganforge.metrics.errors import MetricError

NUM_MODES = 1000
# The sample count of VEEGAN and PacGAN's Stacked MNIST tables.
STANDARD_SAMPLES = 26_000


class ChannelClassifierExtractor:
    """Classifies each of the three channels of Stacked MNIST images with the MNIST LeNet.

    ``features(images)`` returns ``{"digits": int64 [N, 3], "modes": int64 [N]}``. ``hash`` is
    the LeNet's, so results name the exact classifier that produced them.
    """

    name = "mnist-lenet-channels"

    def __init__(
        self,
        classifier: MNISTClassifierExtractor | None = None,
        device: str | torch.device = "cpu",
    ) -> None:
        self.classifier = classifier or MNISTClassifierExtractor(device=device)
        self.hash = self.classifier.hash

    def features(self, images: ImagesLike, batch_size: int = 500) -> dict[str, torch.Tensor]:
        x = torch.as_tensor(images)
        if x.dim() != 4 or x.shape[1] != 3:
            raise MetricError(
                "stacked-modes needs 3-channel Stacked MNIST images [N, 3, H, W]; got shape "
                f"{tuple(x.shape)} (train with --dataset stacked-mnist)"
            )
        # One grey digit per channel: [N, 3, H, W] -> [3N, 1, H, W], classified in one pass.
        logits = self.classifier.features(x.reshape(-1, 1, *x.shape[-2:]), batch_size)["logits"]
        digits = logits.argmax(dim=1).reshape(-1, 3)
        return {"digits": digits, "modes": digits_to_modes(digits)}


def digits_to_modes(digits: torch.Tensor) -> torch.Tensor:
    """Mode index 100 * d_R + 10 * d_G + d_B of each row of ``digits`` [N, 3]."""
    return digits[:, 0] * 100 + digits[:, 1] * 10 + digits[:, 2]


def mode_histogram(modes: torch.Tensor | np.ndarray) -> np.ndarray:
    """How many samples fall in each of the 1,000 modes, int64 [1000]."""
    m = np.asarray(modes.cpu() if isinstance(modes, torch.Tensor) else modes, dtype=np.int64)
    if m.ndim != 1 or m.size == 0 or m.min() < 0 or m.max() >= NUM_MODES:
        raise MetricError(f"modes must be a non-empty vector of integers in [0, {NUM_MODES})")
    return np.bincount(m, minlength=NUM_MODES)


def mode_coverage(modes: torch.Tensor | np.ndarray) -> tuple[int, float]:
    """(modes covered out of 1,000, KL(p_modes || uniform) in nats) of a set of mode indices.

    A collapsed generator covering one mode scores (1, log 1000 = 6.91); N samples of the true
    data cover about 1000 (1 - exp(-N / 1000)) modes, e.g. 999.99... of 1,000 at N = 26,000.
    """
    counts = mode_histogram(modes)
    return int((counts > 0).sum()), kl_to_uniform(counts)


def expected_coverage(n: int, num_modes: int = NUM_MODES) -> float:
    """Expected number of modes hit by ``n`` draws from the uniform distribution over modes."""
    return num_modes * (1.0 - (1.0 - 1.0 / num_modes) ** n)
