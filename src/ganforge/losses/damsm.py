"""AttnGAN's Deep Attentional Multimodal Similarity Model loss (Xu et al. 2018, sec. 3.2):
how well a batch of images and captions match, word by region and sentence by image."""

from __future__ import annotations

import torch
import torch.nn.functional as F

# The paper's smoothing factors: gamma1 (attention over regions), gamma2 (pooling over words),
# gamma3 (the posterior over the batch).
GAMMA1, GAMMA2, GAMMA3 = 5.0, 5.0, 10.0


def word_region_scores(regions: torch.Tensor, words: torch.Tensor,
                       mask: torch.Tensor) -> torch.Tensor:
    """R(Q_i, D_j) for every image i and caption j [N_img, N_cap] (eq. 9-11): each word e of
    caption j attends over image i's regions v (s = e^T v normalised over the words, then
    softmax over the regions with gamma1) to a region-context c; R(c, e) is their cosine, and
    log (sum over the caption's words of exp(gamma2 R(c, e)))^(1 / gamma2) the pair's score.

    regions [N, D, R], words [M, L, D], mask [M, L] (True for real words)."""
    s = torch.einsum("mld,ndr->nmlr", words, regions)  # [N, M, L, R]
    s = s.masked_fill(~mask[None, :, :, None], float("-inf")).softmax(2)  # over the words
    s = s.masked_fill(~mask[None, :, :, None], 0.0)
    alpha = (GAMMA1 * s).softmax(3)  # over the regions
    context = torch.einsum("nmlr,ndr->nmld", alpha, regions)
    relevance = F.cosine_similarity(context, words[None].expand_as(context), dim=3)
    relevance = (GAMMA2 * relevance).masked_fill(~mask[None], float("-inf"))
    return torch.logsumexp(relevance, dim=2) / GAMMA2


def matching_loss(scores: torch.Tensor) -> torch.Tensor:
    """-log P(D_i | Q_i) - log P(Q_i | D_i) over a batch of matching pairs (eq. 12-14), the
    posteriors the softmax of gamma3 times the scores [N, N] over the batch."""
    target = torch.arange(len(scores), device=scores.device)
    return (F.cross_entropy(GAMMA3 * scores, target)
            + F.cross_entropy(GAMMA3 * scores.T, target))


def word_level_loss(regions: torch.Tensor, words: torch.Tensor,
                    mask: torch.Tensor) -> torch.Tensor:
    """L1^w + L2^w: images and captions matched by their word-region scores."""
    return matching_loss(word_region_scores(regions, words, mask))


def sentence_level_loss(image: torch.Tensor, sentence: torch.Tensor) -> torch.Tensor:
    """L1^s + L2^s: matched by the cosine of the global image and sentence vectors."""
    return matching_loss(F.cosine_similarity(image[:, None], sentence[None], dim=2))
