import inspect
import math

import pytest
import torch

from ganforge.errors import GanforgeError
from ganforge.losses.adversarial import (
    bce_d,
    hinge_d,
    hinge_g,
    least_squares_d,
    least_squares_g,
    minimax_g,
    nonsaturating_g,
    relativistic_average_d,
    relativistic_average_g,
    wasserstein_d,
    wasserstein_g,
)
from ganforge.losses.objectives import ADVERSARIAL_LOSSES, AdversarialLoss

REAL = [2.0, -1.0, 0.5, 3.0, 1.2]
FAKE = [-3.0, 0.0, 1.5, -0.7]  # a different batch size on purpose
R, F = torch.tensor(REAL), torch.tensor(FAKE)


def mean(xs):
    xs = list(xs)
    return sum(xs) / len(xs)


def sigmoid(x):
    return 1 / (1 + math.exp(-x))


def close(tensor, value):
    return math.isclose(tensor.item(), value, rel_tol=1e-5, abs_tol=1e-6)


def test_wasserstein_is_the_difference_of_mean_scores():
    assert close(wasserstein_d(R, F), mean(FAKE) - mean(REAL))
    assert close(wasserstein_g(F), -mean(FAKE))


def test_least_squares_follows_mao_et_al_with_a0_b1_c1():
    d = 0.5 * mean((r - 1) ** 2 for r in REAL) + 0.5 * mean(f**2 for f in FAKE)
    assert close(least_squares_d(R, F), d)
    assert close(least_squares_g(F), 0.5 * mean((f - 1) ** 2 for f in FAKE))


def test_hinge_losses_and_their_margin():
    d = mean(max(0.0, 1 - r) for r in REAL) + mean(max(0.0, 1 + f) for f in FAKE)
    assert close(hinge_d(R, F), d)
    assert close(hinge_g(F), -mean(FAKE))
    # Beyond the margin an example stops contributing gradient.
    real = torch.tensor([2.0, 0.5], requires_grad=True)
    fake = torch.tensor([-2.0, 0.0], requires_grad=True)
    gr, gf = torch.autograd.grad(hinge_d(real, fake), (real, fake))
    assert gr.tolist() == [0.0, -0.5] and gf.tolist() == [0.0, 0.5]


def test_relativistic_average_losses_follow_their_formulas():
    mr, mf = mean(REAL), mean(FAKE)
    d = -mean(math.log(sigmoid(r - mf)) for r in REAL) - mean(
        math.log(1 - sigmoid(f - mr)) for f in FAKE
    )
    g = -mean(math.log(sigmoid(f - mr)) for f in FAKE) - mean(
        math.log(1 - sigmoid(r - mf)) for r in REAL
    )
    assert close(relativistic_average_d(R, F), d)
    assert close(relativistic_average_g(F, R), g)


def test_relativistic_losses_depend_only_on_logit_differences():
    # Shifting every logit by a constant changes nothing: only "more real than" matters.
    assert close(relativistic_average_d(R + 5, F + 5), relativistic_average_d(R, F).item())
    assert close(relativistic_average_g(F - 3, R - 3), relativistic_average_g(F, R).item())


def test_one_sided_label_smoothing():
    t = 0.9
    smoothed = mean(
        -(t * math.log(sigmoid(r)) + (1 - t) * math.log(1 - sigmoid(r))) for r in REAL
    ) + mean(-math.log(1 - sigmoid(f)) for f in FAKE)
    assert close(bce_d(R, F, real_target=t), smoothed)
    assert close(bce_d(R, F, real_target=1.0), bce_d(R, F).item())
    # D's optimal real logit is now finite, log(0.9 / 0.1); the fake term is unchanged.
    real = torch.tensor([math.log(9.0)], requires_grad=True)
    fake = torch.tensor([0.3], requires_grad=True)
    gr, gf = torch.autograd.grad(bce_d(real, fake, real_target=t), (real, fake))
    _, gf_plain = torch.autograd.grad(bce_d(real, fake), (real, fake))
    assert abs(gr.item()) < 1e-6 and torch.equal(gf, gf_plain)
    for bad in (0.0, 1.1):
        with pytest.raises(GanforgeError, match="real_target"):
            bce_d(R, F, real_target=bad)


def test_registry_pairs_each_d_loss_with_its_g_loss():
    # Beside these, the f-GAN divergences (tests/losses/test_fdivergence.py).
    assert [n for n in ADVERSARIAL_LOSSES.names() if not n.startswith("f:")] == sorted(
        ["gan", "minimax", "wasserstein", "least-squares", "hinge", "relativistic"]
    )
    expected = {
        "gan": (bce_d(R, F), nonsaturating_g(F)),
        "minimax": (bce_d(R, F), minimax_g(F)),
        "wasserstein": (wasserstein_d(R, F), wasserstein_g(F)),
        "least-squares": (least_squares_d(R, F), least_squares_g(F)),
        "hinge": (hinge_d(R, F), hinge_g(F)),
        "relativistic": (relativistic_average_d(R, F), relativistic_average_g(F, R)),
    }
    for name, (d, g) in expected.items():
        loss = ADVERSARIAL_LOSSES.get(name)
        assert isinstance(loss, AdversarialLoss) and loss.name == name
        assert torch.equal(loss.d(R, F), d) and torch.equal(loss.d(R, F, real_target=1.0), d)
        assert torch.equal(loss.g(F, R), g)
        assert loss.g_needs_real == (name == "relativistic")
        if not loss.g_needs_real:
            assert torch.equal(loss.g(F), g)


def test_registry_signatures_are_uniform():
    for name in ADVERSARIAL_LOSSES:
        loss = ADVERSARIAL_LOSSES.get(name)
        assert list(inspect.signature(loss.d).parameters) == [
            "real_logits",
            "fake_logits",
            "real_target",
        ]
        assert list(inspect.signature(loss.g).parameters) == ["fake_logits", "real_logits"]


def test_label_smoothing_is_refused_where_it_means_nothing():
    for name in ADVERSARIAL_LOSSES:
        loss = ADVERSARIAL_LOSSES.get(name)
        assert loss.label_smoothing == (name in ("gan", "minimax"))
        if loss.label_smoothing:
            assert close(loss.d(R, F, real_target=0.9), bce_d(R, F, 0.9).item())
        else:
            with pytest.raises(GanforgeError, match=name):
                loss.d(R, F, real_target=0.9)


def test_relativistic_g_asks_for_real_logits():
    with pytest.raises(GanforgeError, match="real_logits"):
        ADVERSARIAL_LOSSES.get("relativistic").g(F)
    with pytest.raises(GanforgeError, match="hinge"):
        ADVERSARIAL_LOSSES.get("nope")
