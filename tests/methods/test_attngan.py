"""AttnGAN: word attention and the DAMSM loss against their equations, word features of the
text encoder, and the DAMSM term entering G's loss only after the encoders' phase."""

import math

import pytest
import torch
import torch.nn.functional as F

from ganforge.data import data_spec, load_dataset
from ganforge.losses.damsm import (
    GAMMA1,
    GAMMA2,
    GAMMA3,
    matching_loss,
    sentence_level_loss,
    word_region_scores,
)
from ganforge.methods import METHODS
from ganforge.models.attngan import WordAttention
from ganforge.models.text import SentenceEncoder
from tests.methods.test_methods import tiny_config


def test_word_attention_is_a_softmax_over_the_captions_words():
    g = torch.Generator().manual_seed(0)
    attention = WordAttention(3, 5)
    h, words = torch.randn(2, 3, 2, 2, generator=g), torch.randn(2, 4, 5, generator=g)
    mask = torch.tensor([[True, True, True, False], [True, True, False, False]])
    with torch.no_grad():
        context, beta = attention(h, words, mask)
    e = (words @ attention.project.weight.T).detach()  # [2, 4, 3]
    for n in range(2):
        for j in range(4):  # regions
            hj = h[n].flatten(1)[:, j]
            scores = torch.tensor([hj @ e[n, i] if mask[n, i] else -math.inf for i in range(4)])
            b = scores.softmax(0)
            assert torch.allclose(beta[n].flatten(1)[:, j], b, atol=1e-5)
            assert torch.allclose(context[n].flatten(1)[:, j], (b[:, None] * e[n]).sum(0),
                                  atol=1e-5)
    # A padding word's features change nothing.
    words2 = words.clone()
    words2[0, 3] += 10
    assert torch.allclose(attention(h, words2, mask)[0], context)


def test_word_region_scores_follow_equations_9_to_11():
    g = torch.Generator().manual_seed(1)
    regions, words = torch.randn(2, 4, 3, generator=g), torch.randn(2, 3, 4, generator=g)
    mask = torch.tensor([[True, True, True], [True, True, False]])
    scores = word_region_scores(regions, words, mask)
    for i in range(2):
        for j in range(2):
            e, v = words[j][mask[j]], regions[i]  # [L, D], [D, R]
            s = (e @ v).softmax(0)  # normalised over the words
            alpha = (GAMMA1 * s).softmax(1)  # over the regions
            c = alpha @ v.T  # [L, D]
            r = F.cosine_similarity(c, e, dim=1)
            expected = torch.log(torch.exp(GAMMA2 * r).sum()) / GAMMA2
            assert scores[i, j].item() == pytest.approx(expected.item(), rel=1e-5)
    # Matching: -log P(D_i|Q_i) - log P(Q_i|D_i) with gamma3.
    m = torch.tensor([[2.0, 0.5], [0.1, 1.0]])
    p_d = torch.softmax(GAMMA3 * m, 1).diagonal()
    p_q = torch.softmax(GAMMA3 * m, 0).diagonal()
    assert matching_loss(m).item() == pytest.approx(
        -(p_d.log().mean() + p_q.log().mean()).item(), rel=1e-5)
    a = torch.randn(3, 4, generator=g)
    assert sentence_level_loss(a, a).item() < sentence_level_loss(a, a.roll(1, 0)).item()


def test_word_features_end_where_the_sentence_vector_is_read():
    encoder = SentenceEncoder(12, embed_dim=5, hidden=4)
    tokens = torch.tensor([[3, 4, 5, 0], [6, 7, 0, 0]])
    words, sentence = encoder.encode(tokens)
    assert words.shape == (2, 4, 8) and torch.equal(encoder(tokens), sentence)
    # Forward half: the last real word's state; backward half: the first word's (it read the
    # caption from its end).
    assert torch.allclose(words[0, 2, :4], sentence[0, :4])
    assert torch.allclose(words[1, 1, :4], sentence[1, :4])
    assert torch.allclose(words[:, 0, 4:], sentence[:, 4:])


def test_damsm_term_joins_g_loss_after_the_encoders_phase(tmp_path):
    data = load_dataset("captioned-digits", image_size=16)
    cfg = tiny_config("attngan", tmp_path, dataset="captioned-digits", image_size=16,
                      batch_size=8, damsm_weight=2.0)
    method = METHODS.get("attngan")(cfg, data_spec(data)).eval()
    batch = {"x": data.images[:8].float()[:, None] / 127.5 - 1 if data.images.dim() == 3
             else data.images[:8].float() / 127.5 - 1,
             "caption": data.captions[:8, 0], "label": data.labels[:8]}
    fakes = [torch.rand(8, 1, s, s) * 2 - 1 for s in (4, 8, 16)]
    assert method.phase(2, 10) == "encoders" and method.phase(3, 10) == "damsm"
    method.set_progress(0, 10)
    assert method.across_scales(fakes, batch) == (0.0, {})
    method.set_progress(5, 10)
    loss, logs = method.across_scales(fakes, batch)
    words, sentence = method.damsm(fakes[-1], batch["caption"])
    assert loss.item() == pytest.approx(2.0 * (words + sentence).item(), rel=1e-5)
    d_loss, d_logs = method.d_loss(batch)
    assert {"damsm_words", "damsm_sentence"} <= set(d_logs)
    assert any(p is next(method.damsm_image.parameters()) for m in method.groups()["D"]
               for p in m.parameters())
