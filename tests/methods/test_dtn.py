"""DTN: f is fixed and receives no gradient; each loss term against its formula."""

import torch
import torch.nn.functional as F

from ganforge.data import DataSpec
from ganforge.methods import METHODS
from ganforge.training import Trainer
from tests.methods.test_methods import tiny_config, tiny_data

SPEC = DataSpec(img_channels=1, img_size=16, kind="translation", b_channels=1)


def test_f_is_fixed_and_gets_no_gradient_while_g_does(tmp_path):
    data, extra = tiny_data("unpaired")
    trainer = Trainer(tiny_config("dtn", tmp_path, **extra), dataset=data)
    f_before = {k: v.clone() for k, v in trainer.method.f.state_dict().items()}
    g_before = {k: v.clone() for k, v in trainer.method.G.state_dict().items()}
    trainer.fit()
    method = trainer.method
    assert all(not p.requires_grad and p.grad is None for p in method.f.parameters())
    assert all(torch.equal(v, method.f.state_dict()[k]) for k, v in f_before.items())
    assert any(not torch.equal(v, method.G.state_dict()[k]) for k, v in g_before.items())
    assert not method.f.training  # its batch norm statistics stay fixed too
    f_params = {id(p) for p in method.f.parameters()}
    assert not f_params & {id(p) for mods in method.groups().values() for m in mods
                           for p in m.parameters()}


def test_losses_follow_the_papers_terms(tmp_path):
    method = METHODS.get("dtn")(tiny_config("dtn", tmp_path, const_weight=2.0, tid_weight=3.0,
                                            tv_weight=0.5), SPEC)
    g = torch.Generator().manual_seed(0)
    a = torch.rand(4, 1, 16, 16, generator=g) * 2 - 1
    b = torch.rand(4, 1, 16, 16, generator=g) * 2 - 1
    loss, logs = method.g_loss({"a": a, "b": b})
    fake_s, fake_t = method.translate(a), method.translate(b)
    const = F.mse_loss(method.encode(fake_s), method.encode(a))
    tid = F.mse_loss(fake_t, b)
    tv = ((fake_s[..., 1:, :] - fake_s[..., :-1, :]).abs().mean()
          + (fake_s[..., :, 1:] - fake_s[..., :, :-1]).abs().mean())
    # G wants every output of it read as a real target image (class 3 of 3).
    adversarial = F.cross_entropy(method.D(torch.cat([fake_s, fake_t])),
                                  torch.full((8,), 2))
    expected = adversarial + 2.0 * const + 3.0 * tid + 0.5 * tv
    assert torch.allclose(loss, expected, rtol=1e-5)
    assert torch.allclose(logs["const"], const) and torch.allclose(logs["tid"], tid)
    # D's three classes: G of source, G of target, real target.
    d_loss, _ = method.d_loss({"a": a, "b": b})
    labels = torch.tensor([0] * 4 + [1] * 4 + [2] * 4)
    d_expected = F.cross_entropy(method.D(torch.cat([fake_s, fake_t, b])), labels)
    assert torch.allclose(d_loss, d_expected, rtol=1e-5)
