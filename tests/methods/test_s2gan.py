"""S²-GAN: each loss term against its formula, the phases (apart, then joint: only then do the
Style-GAN's losses reach the Structure-GAN), and the stages' shapes."""

import pytest
import torch
import torch.nn.functional as F

from ganforge.data.spec import data_spec
from ganforge.methods import METHODS
from tests.methods.test_methods import tiny_config, tiny_data


@pytest.fixture
def s2gan(tmp_path):
    data, fields = tiny_data("pairs")
    cfg = tiny_config("s2gan", tmp_path, **{**fields, "consistency_weight": 2.0})
    method = METHODS.get("s2gan")(cfg, data_spec(data))
    z = torch.randn(4, method.latent_width, generator=torch.Generator().manual_seed(0))
    method.sample_latent = lambda n, generator=None: z[:n]
    a, b = data.a[:4].float() / 127.5 - 1, data.b[:4].float() / 127.5 - 1
    return method, {"a": a, "b": b}, z


def test_losses_are_the_two_games_the_fcn_and_the_consistency_term(s2gan):
    method, batch, z = s2gan
    bce = F.binary_cross_entropy_with_logits
    d = lambda real, fake: bce(real, torch.ones_like(real)) + bce(fake, torch.zeros_like(fake))  # noqa: E731
    z_hat, z_tilde = z.split(method.settings.latent_dim, 1)
    method.train()
    with torch.no_grad():
        structure = method.G.structure(z_hat)
        image = method.G.style(batch["a"], z_tilde)  # apart: real structure maps
        expected = (d(method.D["structure"](batch["a"]), method.D["structure"](structure))
                    + d(method.D["style"](torch.cat([batch["a"], batch["b"]], 1)),
                        method.D["style"](torch.cat([batch["a"], image], 1)))
                    + F.l1_loss(method.fcn(batch["b"]), batch["a"]))
    torch.manual_seed(1)
    loss, logs = method.d_loss(batch)
    assert loss.item() == pytest.approx(expected.item(), rel=1e-4)
    g = lambda fake: bce(fake, torch.ones_like(fake))  # noqa: E731
    with torch.no_grad():
        expected_g = (g(method.D["structure"](method.G.structure(z_hat)))
                      + g(method.D["style"](torch.cat([batch["a"], image], 1)))
                      + 2.0 * F.l1_loss(method.fcn(image), batch["a"]))
    loss, logs = method.g_loss(batch)
    assert loss.item() == pytest.approx(expected_g.item(), rel=1e-4)
    assert set(logs) == {"g_structure", "g_style", "consistency"}


def structure_grads(method, loss):
    params = list(method.G.structure.parameters())
    return torch.cat([g.flatten() for g in torch.autograd.grad(loss, params)])


def test_only_joint_training_lets_the_style_losses_reach_the_structure_gan(s2gan):
    method, batch, z = s2gan
    method.eval()  # the same normalisation in every call
    assert method.phase(49, 100) == "apart" and method.phase(50, 100) == "joint"
    z_hat = z.split(method.settings.latent_dim, 1)[0]
    alone = structure_grads(method, method.objective.g(
        method.D["structure"](method.G.structure(z_hat))))
    method.set_progress(10, 100)
    assert torch.allclose(structure_grads(method, method.g_loss(batch)[0]), alone, atol=1e-6)
    method.set_progress(60, 100)
    assert not torch.allclose(structure_grads(method, method.g_loss(batch)[0]), alone,
                              atol=1e-4)


def test_stages_show_the_structure_and_its_rendering(s2gan):
    method, _, _ = s2gan
    (name_s, structure), (name_i, image) = method.stage_pictures(3)
    assert (name_s, name_i) == ("structure", "image")
    assert structure.shape == image.shape == (3, 1, 16, 16)
    assert method.sample(3).shape == (3, 1, 16, 16)
