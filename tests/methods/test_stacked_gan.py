"""SGAN (stacked-gan): each level's adversarial, conditional and entropy terms against their
formulas, the phases (only joint training lets G0's losses reach G1), the levels' pictures."""

import pytest
import torch
import torch.nn.functional as F

from ganforge.data import data_spec, load_dataset
from ganforge.methods import METHODS
from tests.methods.test_methods import tiny_config


@pytest.fixture
def sgan(tmp_path):
    data = load_dataset("digits", image_size=16)
    cfg = tiny_config("stacked-gan", tmp_path, cond_weight=2.0, ent_weight=3.0, joint_from=0.5)
    method = METHODS.get("stacked-gan")(cfg, data_spec(data))
    z = torch.randn(6, method.latent_width, generator=torch.Generator().manual_seed(0))
    method.sample_latent = lambda n, generator=None: z[:n]
    x = data.images[:6].float() / 127.5 - 1
    return method.eval(), {"x": x, "label": data.labels[:6]}, z


def test_g_loss_is_three_terms_per_level(sgan):
    method, batch, z = sgan
    x, y = batch["x"], batch["label"]
    z1, z0 = z.split([50, 16], 1)
    bce = lambda s: F.binary_cross_entropy_with_logits(s, torch.ones_like(s))  # noqa: E731
    D = method.D
    with torch.no_grad():
        h1_real = method.encoder.features((x + 1) / 2)
        h1 = method.G.top(y, z1)
        f1 = D["features"].features(h1[:, :, None, None])
        level1 = (bce(D["features"].head(f1).squeeze(1))
                  + 2.0 * F.cross_entropy(method.encoder.head(h1), y)
                  + 3.0 * F.mse_loss(D["q_features"](f1), z1))
        image = method.G.bottom(torch.cat([h1_real, z0], 1))  # apart: real features
        f0 = D["image"].features(image)
        level0 = (bce(D["image"].head(f0).squeeze(1))
                  + 2.0 * F.mse_loss(method.encoder.features((image + 1) / 2), h1_real)
                  + 3.0 * F.mse_loss(D["q_image"](f0), z0))
    loss, logs = method.g_loss(batch)
    assert loss.item() == pytest.approx((level1 + level0).item(), rel=1e-4)
    assert {"cond_class", "cond_features", "entropy"} <= set(logs)
    # D: the two games and the Q heads' squared errors.
    d = lambda r, f: (F.binary_cross_entropy_with_logits(r, torch.ones_like(r))  # noqa: E731
                      + F.binary_cross_entropy_with_logits(f, torch.zeros_like(f)))
    with torch.no_grad():
        expected_d = (d(D["features"](h1_real[:, :, None, None]), D["features"].head(f1)[:, 0])
                      + d(D["image"](x), D["image"].head(f0)[:, 0])
                      + 3.0 * (F.mse_loss(D["q_features"](f1), z1)
                               + F.mse_loss(D["q_image"](f0), z0)))
    assert method.d_loss(batch)[0].item() == pytest.approx(expected_d.item(), rel=1e-4)


def test_only_joint_training_lets_the_image_losses_reach_g1(sgan):
    method, batch, _ = sgan
    params = list(method.G.top.parameters())

    def g1_grads():
        loss, _ = method.g_loss(batch)
        grads = torch.autograd.grad(loss, params)
        return torch.cat([g.flatten() for g in grads])

    method.set_progress(0, 10)
    apart = g1_grads()
    method.set_progress(9, 10)
    joint = g1_grads()
    assert method.phase(4, 10) == "apart" and method.phase(5, 10) == "joint"
    assert not torch.allclose(apart, joint, atol=1e-5)


def test_levels_picture_shows_features_then_images(sgan):
    method, _, _ = sgan
    rows = method.stage_pictures(4)
    assert [name for name, _ in rows] == ["h1 = G1(y, z1)", "G0(h1, z0)", "G0(h1, other z0)"]
    assert all(images.shape == (4, 1, 16, 16) for _, images in rows)
    assert rows[0][1].min() >= -1 and rows[0][1].max() <= 1
