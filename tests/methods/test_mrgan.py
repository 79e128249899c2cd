"""MRGAN: the encoder trains with G, and G's loss carries both regularisers."""

import pytest
import torch

from ganforge.data import DataSpec
from ganforge.errors import GanforgeError
from ganforge.methods import METHODS
from ganforge.training import Trainer
from tests.methods.test_methods import tiny_config

SPEC = DataSpec(img_channels=1, img_size=16, num_classes=10)


def test_g_loss_adds_the_geometric_and_mode_regularisers(tmp_path):
    torch.manual_seed(0)
    method = METHODS.get("mrgan")(tiny_config("mrgan", tmp_path, geometric_weight=0.5,
                                              mode_weight=2.0), SPEC).eval()
    x = torch.rand(6, 1, 16, 16) * 2 - 1
    torch.manual_seed(1)
    loss, logs = method.g_loss({"x": x})
    torch.manual_seed(1)
    plain = METHODS.get("dcgan").g_loss(method, {"x": x})[0]
    rec = method.G(method.E(x))
    geometric = (rec - x).pow(2).mean()
    mode = torch.nn.functional.softplus(-method.discriminate(rec)).mean()
    assert torch.allclose(loss, plain + 0.5 * geometric + 2.0 * mode, rtol=1e-5)
    assert torch.allclose(logs["geometric"], geometric)


def test_encoder_learns_with_g(tmp_path, digits):
    trainer = Trainer(tiny_config("mrgan", tmp_path), dataset=digits)
    e_before = [p.clone() for p in trainer.method.E.parameters()]
    assert trainer.method.E in trainer.method.groups()["G"]
    trainer.fit()
    assert any(not torch.equal(a, b) for a, b in zip(e_before, trainer.method.E.parameters(),
                                                     strict=True))


def test_relativistic_loss_is_refused(tmp_path):
    with pytest.raises(GanforgeError, match="mrgan scores G.E.x.. with G's loss alone"):
        tiny_config("mrgan", tmp_path, loss="relativistic")
