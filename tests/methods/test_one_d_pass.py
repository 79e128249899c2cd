"""D's update sends the reals and the fakes through D as one batch when D treats each row alone
(the MLP D), with the same loss and gradients as two passes; any layer that mixes rows (batch
norm, minibatch discrimination) or a hook (spectral norm's power iteration) keeps two passes."""

import pytest
import torch
from torch import nn

from ganforge.models.mlp import MLPDiscriminator
from ganforge.nn.rows import rows_independent
from ganforge.training import Trainer
from tests.methods.test_methods import tiny_config


class RowMixing(nn.Module):
    def forward(self, x):
        return x - x.mean(0)


def test_which_networks_treat_rows_alone():
    assert rows_independent(MLPDiscriminator(1, 8))
    assert rows_independent(nn.Sequential(nn.Linear(4, 4), nn.LeakyReLU(0.2), nn.Dropout()))
    assert not rows_independent(nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4)))
    assert not rows_independent(nn.Sequential(nn.Linear(4, 4), RowMixing()))  # undeclared

    class MixingSequential(nn.Sequential):  # a container's subclass has code of its own
        def forward(self, x):
            return super().forward(x) - x.mean(0)

    assert not rows_independent(MixingSequential(nn.Linear(4, 4)))
    assert not rows_independent(nn.utils.parametrizations.spectral_norm(nn.Linear(4, 4)))
    hooked = nn.Linear(4, 4)
    hooked.register_forward_pre_hook(lambda *_: None)
    assert not rows_independent(hooked)


@pytest.mark.parametrize("extra,one_pass", [({}, True), ({"minibatch_kernels": 4}, False),
                                            ({"d_norm": "spectral"}, False)])
def test_the_mlp_d_sees_reals_and_fakes_in_one_pass(extra, one_pass, tmp_path, digits):
    trainer = Trainer(tiny_config("gan", tmp_path, **extra), dataset=digits)
    method = trainer.method
    passes, features = [], method.D.features  # counted without a hook, which would say no
    method.D.features = lambda x: passes.append(len(x)) or features(x)
    trainer.train_step()
    batch = trainer.cfg.batch_size
    # D's update, then G's (which sees the fakes only).
    assert passes == ([2 * batch, batch] if one_pass else [batch, batch, batch])


@pytest.mark.parametrize("method,extra", [("gan", {}), ("cgan", {"arch": "mlp"}),
                                          ("cgan", {"arch": "mlp", "d_cond": "concat"})])
def test_one_pass_gives_the_loss_and_gradients_of_two(method, extra, tmp_path, digits):
    trainer = Trainer(tiny_config(method, tmp_path, shared_fakes=False, **extra), dataset=digits)
    method = trainer.method
    assert method.d_rows_independent
    method.train()
    batch = next(trainer.batcher)
    trainer._set_trainable("D")
    results = []
    for one_pass in (True, False):
        method.d_rows_independent = one_pass
        torch.manual_seed(0)
        method.zero_grad(set_to_none=True)
        loss, logs = method.d_loss(batch)
        loss.backward()
        grads = [p.grad.clone() for p in method.D.parameters()]
        results.append((loss.detach(), logs["D(x)"], grads))
    (loss1, dx1, grads1), (loss2, dx2, grads2) = results
    assert torch.allclose(loss1, loss2, atol=1e-6) and torch.allclose(dx1, dx2, atol=1e-6)
    for a, b in zip(grads1, grads2, strict=True):
        assert torch.allclose(a, b, atol=1e-6)
    assert any(g.abs().sum() > 0 for g in grads1)
