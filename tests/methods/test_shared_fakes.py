"""--shared-fakes: one G forward a step, its output given to D's update (detached) and then to
G's, with G's gradient the same as from a fresh forward of the same noise."""

import pytest
import torch

from ganforge.configure import setting_owners
from ganforge.data import data_spec
from ganforge.errors import GanforgeError
from ganforge.methods.gan import GAN
from ganforge.training import Trainer
from tests.methods.test_methods import tiny_config


def count_g_forwards(trainer) -> list[int]:
    calls = [0]
    trainer.method.G.register_forward_hook(lambda *_: calls.__setitem__(0, calls[0] + 1))
    return calls


@pytest.mark.parametrize("method", ["dcgan", "infogan", "acgan"])
@pytest.mark.parametrize("shared,forwards", [(True, 1), (False, 2)])
def test_one_g_forward_a_step_when_shared(method, shared, forwards, tmp_path, digits):
    trainer = Trainer(tiny_config(method, tmp_path, shared_fakes=shared), dataset=digits)
    trainer.method.train()
    calls = count_g_forwards(trainer)
    for _ in range(3):
        trainer.train_step()
    assert calls[0] == 3 * forwards
    assert trainer.method._fakes_for_g is None  # nothing outlives its step
    assert all(torch.isfinite(p).all() for p in trainer.method.G.parameters())


def test_g_update_sees_the_d_update_fakes_and_gets_their_gradient(tmp_path, digits):
    trainer = Trainer(tiny_config("dcgan", tmp_path, shared_fakes=True, d_steps=2),
                      dataset=digits)
    method = trainer.method
    method.G.eval()  # batch norm on running statistics: a forward repeats exactly
    seen = []
    original = method.fakes_for_d
    method.fakes_for_d = lambda n: seen.append(torch.get_rng_state()) or original(n)
    batch = next(trainer.batcher)
    trainer._set_trainable("D")
    for _ in range(2):  # the last of the D updates' fakes reach G
        d_fake, _ = method.fakes_for_d(len(batch["x"]))
        assert not d_fake.requires_grad
    assert all(p.grad is None for p in method.G.parameters())
    trainer._set_trainable("G")
    g_fake, _ = method.fakes_for_g(len(batch["x"]))
    assert torch.equal(g_fake.detach(), d_fake)
    g_fake.square().mean().backward()
    shared_grads = [p.grad.clone() for p in method.G.parameters()]
    # The same noise through G again, fresh: the same gradient.
    torch.set_rng_state(seen[-1])
    method.zero_grad(set_to_none=True)
    method.settings = type(method.settings)(**{**vars(method.settings), "shared_fakes": False})
    fresh, _ = method.fakes_for_g(len(batch["x"]))
    assert torch.equal(fresh.detach(), d_fake)
    fresh.square().mean().backward()
    for shared, p in zip(shared_grads, method.G.parameters(), strict=True):
        assert torch.allclose(shared, p.grad)
    assert any(g.abs().sum() > 0 for g in shared_grads)


def test_gan_shares_by_default_and_it_can_be_turned_off(tmp_path, digits):
    on = Trainer(tiny_config("gan", tmp_path), dataset=digits)
    assert on.method.shared_fakes
    off = Trainer(tiny_config("gan", tmp_path, shared_fakes=False), dataset=digits)
    assert not off.method.shared_fakes
    assert not Trainer(tiny_config("dcgan", tmp_path), dataset=digits).method.shared_fakes


def test_a_method_with_its_own_g_step_has_no_such_setting(tmp_path):
    # MRGAN's G step adds terms on G(E(x)): the switch is not among its settings, so the
    # config (and --dry-run, and --help's list of owners) refuses it before anything trains.
    with pytest.raises(GanforgeError, match="--shared-fakes does not apply to mrgan"):
        tiny_config("mrgan", tmp_path, shared_fakes=True)
    assert "mrgan" not in setting_owners()["shared_fakes"]
    assert "gan" in setting_owners()["shared_fakes"]


def test_refused_at_run_time_by_a_subclass_whose_step_is_its_own(tmp_path, digits):
    class OwnGStep(GAN):  # a user's method that kept GAN's settings but wrote its own G step
        def g_loss(self, batch):
            return super().g_loss(batch)

    cfg = tiny_config("gan", tmp_path, shared_fakes=True)
    with pytest.raises(GanforgeError, match="--shared-fakes is not available for gan"):
        OwnGStep(cfg, data_spec(digits))
