"""Generation with D alone: Langevin proposals on D's score, D trained against them."""

import torch

from ganforge.data import DataSpec
from ganforge.methods import METHODS
from ganforge.training import Trainer
from ganforge.training.log import read_log
from tests.methods.test_methods import tiny_config

SPEC = DataSpec(img_channels=1, img_size=16, num_classes=10)


def build(tmp_path, **kw):
    return METHODS.get("d-only")(tiny_config("d-only", tmp_path, **kw), SPEC)


def test_there_is_no_generator_to_train(tmp_path):
    method = build(tmp_path)
    assert METHODS.get("d-only").players == ("D",)
    assert set(method.groups()) == {"D"}
    assert not list(method.G.parameters())


def test_langevin_steps_climb_ds_score(tmp_path):
    method = build(tmp_path, step_size=0.5, langevin_noise=0.0)
    g = torch.Generator().manual_seed(0)
    start = method._start(32, g)
    moved = method.langevin(start, 10)
    assert moved.shape == start.shape and moved.min() >= -1 and moved.max() <= 1
    assert method.score(moved).mean() > method.score(start).mean()
    # The chain leaves no graph to D's weights behind.
    assert not moved.requires_grad


def test_one_langevin_step_is_the_update_written_out(tmp_path):
    method = build(tmp_path, step_size=0.3, langevin_noise=0.05)
    x = torch.rand(4, 1, 16, 16) * 0.2
    g = torch.Generator().manual_seed(5)
    stepped = method.langevin(x, 1, g)
    xr = x.clone().requires_grad_(True)
    grad, = torch.autograd.grad(method.score(xr).sum(), xr)
    noise = torch.randn(x.shape, generator=torch.Generator().manual_seed(5))
    assert torch.allclose(stepped, (x + 0.3 * grad + 0.05 * noise).clamp(-1, 1), atol=1e-6)


def test_d_loss_contrasts_real_and_proposals_and_reaches_ds_weights(tmp_path):
    method = build(tmp_path, score_weight=0.5, langevin_steps=3)
    real = torch.rand(8, 1, 16, 16) * 2 - 1
    loss, logs = method.d_loss({"x": real})
    s_real = method.score(real)
    expected_gap = s_real.mean() - logs["D(proposal)"]
    assert torch.allclose(logs["score_gap"], expected_gap, atol=1e-5)
    magnitude = (loss + logs["score_gap"]) / 0.5
    assert magnitude > 0
    loss.backward()
    assert all(p.grad is not None for p in method.D.parameters())


def test_persistent_chains_go_on_from_the_buffer(tmp_path):
    method = build(tmp_path, buffer=64, langevin_steps=2)
    before = method.replay.clone()
    method.d_loss({"x": torch.rand(16, 1, 16, 16) * 2 - 1})
    changed = (method.replay != before).flatten(1).any(1)
    assert 0 < int(changed.sum()) <= 16


def test_d_only_trains_and_its_samples_score_higher_than_noise(tmp_path, digits):
    cfg = tiny_config("d-only", tmp_path, steps=20, langevin_steps=10, checkpoint_every=20,
                      sample_every=20, width=16)
    run_dir = Trainer(cfg, dataset=digits).fit()
    rows = read_log(run_dir / "log.jsonl")
    assert "g_loss" not in rows[-1] and rows[-1]["score_gap"] > 0
