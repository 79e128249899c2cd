"""The stabilisers of issue 6 combine with any method built on the GAN game."""

import math
import warnings

import pytest
import torch

from ganforge.errors import GanforgeError
from ganforge.losses import ADVERSARIAL_LOSSES
from ganforge.nn.layers import MinibatchDiscrimination, SelfAttention2d, VirtualBatchNorm
from ganforge.training import Trainer
from ganforge.training.log import read_log
from tests.methods.test_methods import tiny_config


def fit(method, tmp_path, digits, **kw):
    trainer = Trainer(tiny_config(method, tmp_path, **kw), dataset=digits)
    trainer.fit()
    return trainer, read_log(trainer.run_dir / "log.jsonl")


@pytest.mark.parametrize("loss", ADVERSARIAL_LOSSES.names())
def test_every_objective_trains(loss, tmp_path, digits):
    extra = {"clip": 0.05} if loss == "wasserstein" else {}
    _, rows = fit("dcgan", tmp_path, digits, loss=loss, **extra)
    assert all(math.isfinite(r["d_loss"]) and math.isfinite(r["g_loss"]) for r in rows)
    assert len({r["d_loss"] for r in rows}) > 1


def test_weight_clipping_keeps_d_in_the_box(tmp_path, digits):
    trainer, _ = fit("dcgan", tmp_path, digits, loss="wasserstein", clip=0.01,
                     optimizer="rmsprop", lr=5e-3)
    assert max(p.abs().max().item() for p in trainer.method.D.parameters()) <= 0.01 + 1e-7
    assert max(p.abs().max().item() for p in trainer.method.G.parameters()) > 0.01


def test_gradient_penalty_needs_a_d_without_batch_norm(tmp_path, digits):
    with pytest.raises(GanforgeError, match="batch norm in D mixes.*--d-norm layer"):
        Trainer(tiny_config("dcgan", tmp_path, loss="wasserstein", gp_weight=10.0),
                dataset=digits)
    trainer, rows = fit("dcgan", tmp_path, digits, loss="wasserstein", gp_weight=10.0,
                        d_norm="layer", d_steps=2)
    assert all(r["gp"] >= 0 for r in rows) and "gp" in rows[0]
    assert any(isinstance(m, torch.nn.GroupNorm) for m in trainer.method.D.modules())


def test_r1_and_cgan_combine(tmp_path, digits):
    _, rows = fit("cgan", tmp_path, digits, r1_weight=1.0, d_norm="none")
    assert rows[0]["r1"] > 0


@pytest.mark.parametrize("fields,message", [
    ({"clip": 0.01, "gp_weight": 10.0}, "--clip and --gp-weight"),
    ({"clip": 0.01, "d_norm": "spectral"}, "--clip and --d-norm spectral"),
    ({"label_smoothing": 0.1, "loss": "hinge"}, "not --loss hinge"),
    ({"label_smoothing": 0.7}, "in \\[0, 0.5\\)"),
    ({"d_norm": "group"}, "unknown --d-norm 'group'"),
    ({"gp_weight": -1.0}, "--gp-weight must be positive"),
    ({"attention": 8, "arch": "mlp"}, "--attention is not offered by the mlp backbone"),
    ({"attention": 5}, "no 5x5 feature map"),
    ({"augment": "translation,flip"}, "unknown augmentation 'flip'"),
    ({"augment": "translation", "method": "lapgan"}, "--augment"),
    ({"augment": "cutout", "method": "bigan"}, "--augment does not apply to bigan"),
    ({"g_norm": "virtual", "method": "gan", "arch": "resnet", "attention": None}, None),
])
def test_combinations_that_make_no_sense_are_refused(fields, message, tmp_path, digits):
    method = fields.pop("method", "dcgan")
    if message is None:  # a sensible combination: builds
        Trainer(tiny_config(method, tmp_path, **fields), dataset=digits)
        return
    with pytest.raises(GanforgeError, match=message):
        Trainer(tiny_config(method, tmp_path, **fields), dataset=digits)


def test_an_unconstrained_critic_is_warned_about(tmp_path, digits):
    with pytest.warns(UserWarning, match="leaves the critic unconstrained"):
        Trainer(tiny_config("dcgan", tmp_path, loss="wasserstein"), dataset=digits)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Trainer(tiny_config("dcgan", tmp_path, loss="wasserstein", d_norm="spectral"),
                dataset=digits)


def test_spectral_norm_replaces_batch_norm_in_d(tmp_path, digits):
    trainer, _ = fit("dcgan", tmp_path, digits, d_norm="spectral", loss="hinge")
    D = trainer.method.D
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in D.modules())
    convs = [m for m in D.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs and all(torch.nn.utils.parametrize.is_parametrized(m, "weight") for m in convs)
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in trainer.method.G.modules())


def test_minibatch_discrimination_vbn_and_attention_are_built_in(tmp_path, digits):
    trainer, rows = fit("dcgan", tmp_path, digits, minibatch_kernels=10, g_norm="virtual",
                        attention=8)
    G, D = trainer.method.G, trainer.method.D
    assert isinstance(D.head[0], MinibatchDiscrimination)
    assert not D.head[0].twice_differentiable  # no penalty: torch.cdist's faster path
    assert any(isinstance(m, VirtualBatchNorm) for m in G.modules())
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in G.modules())
    assert any(isinstance(m, SelfAttention2d) for m in G.modules())
    assert any(isinstance(m, SelfAttention2d) for m in D.modules())
    assert all(math.isfinite(r["g_loss"]) for r in rows)


def test_feature_matching_uses_ds_features(tmp_path, digits):
    trainer = Trainer(tiny_config("dcgan", tmp_path, feature_matching=True), dataset=digits)
    method = trainer.method
    calls = []
    features = method.D.features
    method.D.features = lambda x: calls.append(len(x)) or features(x)
    batch = next(trainer.batcher)
    torch.manual_seed(0)
    loss, _ = method.g_loss(batch)
    assert len(calls) == 2  # fakes and the real batch
    torch.manual_seed(0)
    fake = method.generate(len(batch["x"]))
    expected = (features(batch["x"]).mean(0) - features(fake).mean(0)).pow(2).sum()
    torch.testing.assert_close(loss, expected)


def test_historical_averaging_is_checkpointed_and_penalised(tmp_path, digits):
    trainer, rows = fit("gan", tmp_path, digits, history_weight=0.1)
    assert rows[-1]["history_D"] > 0 and rows[-1]["history_G"] > 0
    keys = trainer.method.state_dict()
    assert "history.D.steps" in keys and int(keys["history.D.steps"]) == 5


def test_minibatch_discrimination_under_a_gradient_penalty(tmp_path, digits, monkeypatch):
    # Before torch 2.13 cdist had no double backward; the penalty's must not need it.
    def no_cdist(*args, **kwargs):
        raise RuntimeError("the derivative for '_cdist_backward' is not implemented")

    monkeypatch.setattr(torch, "cdist", no_cdist)
    trainer, rows = fit("wgan-gp", tmp_path, digits, minibatch_kernels=10)
    assert trainer.method.D.head[0].twice_differentiable
    assert all(math.isfinite(r["d_loss"]) for r in rows)


def test_augmentation_transforms_every_image_d_sees_and_g_learns_through_it(tmp_path, digits):
    trainer = Trainer(tiny_config("dcgan", tmp_path, augment="translation,cutout", steps=2),
                      dataset=digits)
    method = trainer.method
    seen = []
    body = method.d_body
    method.d_body = lambda x, c=None: seen.append(x) or body(x, c)
    batch = next(trainer.batcher)
    method.d_loss(batch)
    real_seen, fake_seen = seen
    assert not torch.equal(real_seen, batch["x"])  # reals are shifted and cut too
    assert ((real_seen == 0).flatten(1).sum(1) > 0).all()  # every image has its cutout
    seen.clear()
    loss, _ = method.g_loss(batch)
    loss.backward()
    assert seen[0].requires_grad
    assert all(p.grad is not None for p in method.G.parameters() if p.requires_grad)
