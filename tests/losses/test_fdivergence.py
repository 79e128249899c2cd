"""f-GAN's divergences against Nowozin et al. 2016, tables 1 and 2, and against their meaning."""

import math

import pytest
import torch

from ganforge.losses.adversarial import bce_d, nonsaturating_g
from ganforge.losses.fdivergence import DIVERGENCES
from ganforge.losses.objectives import ADVERSARIAL_LOSSES
from ganforge.training import Trainer
from ganforge.training.log import read_log
from tests.methods.test_methods import tiny_config

# Logits where each sup in the Fenchel conjugate is reached at a u inside the grid below.
V = torch.linspace(-1.5, 1.5, 13, dtype=torch.float64)
U = torch.logspace(-5, 3, 400_001, dtype=torch.float64)

# The paper's table 2, written out independently of the module: (g_f(v), f*(t)).
TABLE = {
    "kl": (lambda v: v, lambda t: math.exp(t - 1)),
    "reverse-kl": (lambda v: -math.exp(-v), lambda t: -1 - math.log(-t)),
    "pearson": (lambda v: v, lambda t: t * t / 4 + t),
    "hellinger": (lambda v: 1 - math.exp(-v), lambda t: t / (1 - t)),
    "js": (lambda v: math.log(2) - math.log(1 + math.exp(-v)),
           lambda t: -math.log(2 - math.exp(t))),
    "gan": (lambda v: -math.log(1 + math.exp(-v)), lambda t: -math.log(1 - math.exp(t))),
    "tv": (lambda v: 0.5 * math.tanh(v), lambda t: t),
}


def test_the_seven_divergences_of_the_issue_are_losses():
    assert set(DIVERGENCES) == set(TABLE)
    assert {f"f:{name}" for name in TABLE} <= set(ADVERSARIAL_LOSSES.names())


@pytest.mark.parametrize("name", sorted(TABLE))
def test_activation_and_conjugate_follow_table_2(name):
    div = DIVERGENCES[name]
    g, conj = TABLE[name]
    for v in V.tolist():
        t = g(v)
        assert div.activation(torch.tensor(v, dtype=torch.float64)).item() == pytest.approx(t)
        assert div.conjugate(torch.tensor(t, dtype=torch.float64)).item() == pytest.approx(
            conj(t), rel=1e-9, abs=1e-12)
        # The stable composition is the literal one.
        assert div.conjugate_of_activation(torch.tensor(v, dtype=torch.float64)).item() == (
            pytest.approx(conj(t), rel=1e-9, abs=1e-12))


@pytest.mark.parametrize("name", sorted(TABLE))
def test_conjugate_is_the_fenchel_conjugate_of_f(name):
    """f*(t) = sup_u (t u - f(u)) over u > 0, found on a fine grid."""
    div = DIVERGENCES[name]
    f_u = div.f(U)
    for t in div.activation(V).tolist():
        numeric = (t * U - f_u).max().item()
        assert numeric == pytest.approx(div.conjugate(torch.tensor(t, dtype=torch.float64)).item(),
                                        abs=1e-5), t


@pytest.mark.parametrize("name", sorted(TABLE))
def test_maximising_the_bound_recovers_the_divergence(name):
    """For two distributions on five points, max_v of eq. 6 is D_f(P || Q) = sum q f(p / q)."""
    p = torch.tensor([0.1, 0.3, 0.2, 0.25, 0.15], dtype=torch.float64)
    q = torch.tensor([0.3, 0.1, 0.2, 0.15, 0.25], dtype=torch.float64)
    div = DIVERGENCES[name]
    v = torch.zeros(5, dtype=torch.float64, requires_grad=True)
    zero = v.detach()
    start = ((p * div.activation(zero)).sum() - (q * div.conjugate_of_activation(zero)).sum())
    opt = torch.optim.Adam([v], lr=0.05)
    for _ in range(4000):
        bound = (p * div.activation(v)).sum() - (q * div.conjugate_of_activation(v)).sum()
        opt.zero_grad()
        (-bound).backward()
        opt.step()
    exact = (q * div.f(p / q)).sum().item()
    assert bound.item() == pytest.approx(exact, abs=2e-3)
    assert abs(exact - start.item()) > 0.01  # the maximisation had work to do


def test_the_gan_divergence_is_the_gan_loss():
    real, fake = torch.randn(7), torch.randn(9)
    gan = ADVERSARIAL_LOSSES.get("f:gan")
    assert torch.allclose(gan.d(real, fake), bce_d(real, fake))
    assert torch.allclose(gan.g(fake), nonsaturating_g(fake))


def test_f_losses_refuse_label_smoothing():
    with pytest.raises(Exception, match="label smoothing"):
        ADVERSARIAL_LOSSES.get("f:kl").d(torch.zeros(2), torch.zeros(2), real_target=0.9)


@pytest.mark.parametrize("name", sorted(TABLE))
def test_every_divergence_trains_a_gan_on_the_ring(name, tmp_path):
    from ganforge.data import ToyMixture

    cfg = tiny_config("gan", tmp_path, dataset="ring8", image_size=None, n_samples=100,
                      loss=f"f:{name}", steps=6, checkpoint_every=6, sample_every=6)
    run_dir = Trainer(cfg, dataset=ToyMixture("ring8")).fit()
    rows = read_log(run_dir / "log.jsonl")
    assert all(math.isfinite(r["d_loss"]) and math.isfinite(r["g_loss"]) for r in rows)
    assert rows[0]["d_loss"] != rows[-1]["d_loss"]
