import math

import torch

from ganforge.losses import bce_d, minimax_g, nonsaturating_g

LOGITS_REAL = torch.tensor([2.0, -1.0, 0.5, 30.0])
LOGITS_FAKE = torch.tensor([-3.0, 0.0, 1.5, -40.0])


def sigmoid(x):
    return 1 / (1 + math.exp(-x))


def test_bce_d_is_negated_value_function():
    # V(D, G) = E log D(x) + E log(1 - D(G(z))), eq. 1 of Goodfellow et al. 2014; clipped
    # at the extremes only to keep the written-out reference finite.
    v = sum(math.log(max(sigmoid(l), 1e-300)) for l in LOGITS_REAL.tolist()) / 4 + sum(
        math.log(max(1 - sigmoid(l), 1e-300)) for l in LOGITS_FAKE.tolist()
    ) / 4
    assert math.isclose(bce_d(LOGITS_REAL, LOGITS_FAKE).item(), -v, rel_tol=1e-5)


def test_generator_losses_follow_their_formulas():
    minimax = sum(math.log(1 - sigmoid(l)) for l in LOGITS_FAKE.tolist()) / 4
    ns = -sum(math.log(sigmoid(l)) for l in LOGITS_FAKE.tolist()) / 4
    assert math.isclose(minimax_g(LOGITS_FAKE).item(), minimax, rel_tol=1e-5)
    assert math.isclose(nonsaturating_g(LOGITS_FAKE).item(), ns, rel_tol=1e-5)


def test_nonsaturating_gradient_is_strong_where_minimax_saturates():
    # D confidently rejects a fake: d/dl log(1 - sigmoid(l)) vanishes, -log sigmoid(l) does not.
    logit = torch.tensor([-8.0], requires_grad=True)
    (g_mm,) = torch.autograd.grad(minimax_g(logit), logit)
    (g_ns,) = torch.autograd.grad(nonsaturating_g(logit), logit)
    assert g_mm.abs() < 1e-3 < 0.99 < g_ns.abs()
