"""PPGN's sampler: the update against the paper's three-term equation, chains that climb
toward their class, and refusals in one line."""

import pytest
import torch

import ganforge
from ganforge.errors import GanforgeError
from ganforge.inference.ppgn import PPGNSettings, gaussian_dae, ppgn_chains, ppgn_step
from ganforge.training import Trainer
from tests.methods.test_methods import tiny_config


def test_one_step_is_prior_plus_condition_plus_noise():
    g = torch.Generator().manual_seed(0)
    W = torch.randn(3, 5, generator=g)
    h, noise = torch.randn(4, 5, generator=g), torch.randn(4, 5, generator=g)
    y = torch.tensor([0, 2, 1, 2])
    settings = PPGNSettings(eps1=0.3, eps2=0.7, eps3=0.2, sigma=0.5)
    new, log_p = ppgn_step(h, y, lambda h: h, lambda x: x @ W.T, settings, noise)
    # d log softmax(W h)_y / dh = W_y - softmax(W h) W, by hand.
    p = torch.softmax(h @ W.T, 1)
    grad = W[y] - p @ W
    prior = h / (1 + 0.5 ** 2) - h
    assert torch.allclose(new, h + 0.3 * prior + 0.7 * grad + 0.2 * noise, atol=1e-6)
    assert torch.allclose(log_p, torch.log(p[torch.arange(4), y]), atol=1e-6)
    # The DAE of N(0, I) codes shrinks them toward 0 by 1 / (1 + sigma^2).
    assert torch.allclose(gaussian_dae(torch.ones(2), 1.0), torch.full((2,), 0.5))


def test_noiseless_chains_climb_toward_their_class():
    W = torch.randn(10, 6, generator=torch.Generator().manual_seed(1))
    y = torch.arange(10)
    settings = PPGNSettings(steps=30, eps1=0.0, eps2=0.05, eps3=0.0)
    _, kept, trace = ppgn_chains(torch.zeros(10, 6), y, lambda h: h, lambda x: x @ W.T,
                                 settings, keep_at={0, 10, 20, 30})
    assert trace.shape == (30, 10) and len(kept) == 4  # the start and every 10 steps
    assert (trace[-1] > trace[0]).all()


def test_settings_and_models_that_cannot_be_sampled_are_refused(tmp_path):
    with pytest.raises(GanforgeError, match="at least 1 step"):
        PPGNSettings(steps=0)
    with pytest.raises(GanforgeError, match="eps2 must be at least 0"):
        PPGNSettings(eps2=-1)
    run = Trainer(tiny_config("cgan", tmp_path, steps=1)).fit()
    with pytest.raises(GanforgeError, match="unconditional image generator"):
        ganforge.load(run, device="cpu").sample_ppgn(2, 3)


def test_a_trained_gan_samples_by_ppgn_with_its_chain_kept(tmp_path):
    run = Trainer(tiny_config("dcgan", tmp_path, steps=2)).fit()
    model = ganforge.load(run, device="cpu")
    settings = PPGNSettings(steps=4)
    images, report = model.sample_ppgn(3, 7, settings, seed=0, keep_at=(0, 2, 4))
    assert images.shape == (3, 1, 16, 16) and 0 <= images.min() and images.max() <= 1
    assert report["log_p"].shape == (4, 3) and report["kept"].shape == (3, 3, 1, 16, 16)
    again, _ = model.sample_ppgn(3, 7, settings, seed=0)
    assert torch.equal(images, again)
