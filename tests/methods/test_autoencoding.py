"""VAE, VAE-GAN and BiGAN/ALI: encoders, their losses, reconstructions."""

import pytest
import torch
import torch.nn.functional as F

import ganforge
from ganforge.cli import main
from ganforge.configure import configure
from ganforge.errors import GanforgeError
from ganforge.methods.autoencoding import bernoulli_nll, gaussian_kl, scale_gradient
from ganforge.training import Trainer


def ae_config(tmp_path, method, **kw):
    fields = dict(dataset="digits", image_size=16, width=8, latent_dim=6, batch_size=16,
                  steps=3, log_every=1, sample_every=100, device="cpu", seed=4,
                  out=str(tmp_path / method))
    return configure(method=method, **{**fields, **kw})


@pytest.mark.parametrize("method", ["vae", "vaegan", "bigan"])
def test_encoder_and_decoder_shapes_and_a_few_steps(method, tmp_path, digits):
    trainer = Trainer(ae_config(tmp_path, method), dataset=digits)
    x = next(iter(trainer.batcher))["x"]
    codes = trainer.method.E(x)
    assert codes.shape == (16, 12 if method in ("vae", "vaegan") else 6)
    before = [p.detach().clone() for p in trainer.method.E.parameters()]
    trainer.fit()
    assert any(not torch.equal(a, b) for a, b in zip(before, trainer.method.E.parameters(),
                                                       strict=True)), "the encoder did not learn"
    model = ganforge.load(trainer.run_dir)
    images = digits.images[:5]
    assert model.encode(images).shape == (5, 6)
    recon = model.reconstruct(images)
    assert recon.shape == (5, 1, 16, 16) and 0 <= recon.min() and recon.max() <= 1
    assert model.sample(4).shape == (4, 1, 16, 16)


def test_vae_loss_is_the_negative_elbo(tmp_path, digits):
    trainer = Trainer(ae_config(tmp_path, "vae"), dataset=digits)
    method = trainer.method
    x = next(iter(trainer.batcher))["x"]
    torch.manual_seed(1)
    loss, logs = method.g_loss({"x": x})
    torch.manual_seed(1)
    mu, logvar = method.E(x).chunk(2, 1)
    z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
    p = (method.G(z) + 1) / 2
    nll = F.binary_cross_entropy(p.clamp(1e-6, 1 - 1e-6), (x + 1) / 2, reduction="sum") / len(x)
    kl = (-0.5 * (1 + logvar - mu**2 - logvar.exp()).sum(1)).mean()
    assert torch.allclose(loss, nll + kl, rtol=1e-4)
    assert torch.allclose(logs["kl"], kl, rtol=1e-4)


def test_vae_pieces_against_their_formulas():
    mu, logvar = torch.zeros(3, 4), torch.zeros(3, 4)
    assert gaussian_kl(mu, logvar) == 0
    assert torch.allclose(gaussian_kl(torch.ones(2, 4), torch.zeros(2, 4)), torch.tensor(2.0))
    x = torch.full((2, 1, 2, 2), 1.0)
    assert torch.allclose(bernoulli_nll(torch.ones_like(x) * 0.0, x), torch.tensor(4 * 0.6931),
                          rtol=1e-3)
    a = torch.tensor([2.0], requires_grad=True)
    scale_gradient(a, 0.25).sum().backward()
    assert a.grad.item() == pytest.approx(0.25) and scale_gradient(a, 0.25).item() == 2.0


def test_vaegan_routes_each_term_to_the_network_the_paper_says(tmp_path, digits):
    """Encoder: KL + L_llike; decoder: gamma L_llike + L_GAN; no GAN term reaches the encoder."""
    gamma, beta = 0.1, 0.5
    cfg = ae_config(tmp_path, "vaegan", **{"recon_weight": gamma, "kl_weight": beta})
    trainer = Trainer(cfg, dataset=digits)
    method, x = trainer.method, next(iter(trainer.batcher))["x"]
    E, G = list(method.E.parameters()), list(method.G.parameters())

    def grads(loss, params):
        return torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True)

    torch.manual_seed(0)
    loss, logs = method.g_loss({"x": x})
    assert {"kl", "feature_recon"} <= set(logs)
    got_E, got_G = grads(loss, E), grads(loss, G)
    torch.manual_seed(0)
    z, kl = method.draw_posterior(x)
    h_real = method.d_features(x).detach()

    def llike(recon):
        return 0.5 * (method.d_features(recon) - h_real).pow(2).sum(1).mean()

    fakes = torch.cat([method.G(z.detach()), method.generate(len(x))])
    adversarial = method.objective.g(method.discriminate(fakes), None)
    want_E = grads(beta * kl + llike(method.G(z)), E)
    want_G = grads(gamma * llike(method.G(z.detach())) + adversarial, G)
    for got, want in [*zip(got_E, want_E, strict=True), *zip(got_G, want_G, strict=True)]:
        torch.testing.assert_close(got, want, rtol=1e-3, atol=1e-5)


def test_bigan_encoder_and_generator_play_with_swapped_labels(tmp_path, digits):
    trainer = Trainer(ae_config(tmp_path, "bigan"), dataset=digits)
    method = trainer.method
    x = next(iter(trainer.batcher))["x"]
    torch.manual_seed(0)
    d_loss, _ = method.d_loss({"x": x})
    torch.manual_seed(0)
    g_loss, _ = method.g_loss({"x": x})
    torch.manual_seed(0)
    real, fake = method.pair_logits(x)
    assert torch.allclose(d_loss, F.softplus(-real).mean() + F.softplus(fake).mean(), rtol=1e-5)
    assert torch.allclose(g_loss, F.softplus(-fake).mean() + F.softplus(real).mean(), rtol=1e-5)


@pytest.mark.parametrize("method,fields,message", [
    ("vae", {"gp_weight": 10.0, "d_norm": "layer"}, "--gp-weight does not apply to vae"),
    ("vae", {"loss": "hinge"}, "--loss does not apply to vae"),
    ("bigan", {"gp_weight": 1.0, "d_norm": "none"}, "--gp-weight does not apply to bigan"),
    ("vaegan", {"feature_matching": True}, "--feature-matching does not apply to vaegan"),
    ("vaegan", {"loss": "relativistic"}, "--loss relativistic compares fakes with real"),
    ("vaegan", {"recon_weight": 0.0}, "--recon-weight must be positive"),
    ("vae", {"kl_weight": -1.0}, "--kl-weight must be positive"),
    ("bigan", {"minibatch_kernels": 4}, "--minibatch-kernels does not apply to bigan"),
])
def test_options_these_methods_cannot_honour_are_refused(method, fields, message, tmp_path,
                                                         digits):
    with pytest.raises(GanforgeError, match=message):
        Trainer(ae_config(tmp_path, method, **fields), dataset=digits)


def test_cli_reconstruct(tmp_path, digits, capsys):
    trainer = Trainer(ae_config(tmp_path, "vae"), dataset=digits)
    trainer.fit()
    out = tmp_path / "rec.png"
    assert main(["sample", str(trainer.run_dir), "--reconstruct", "digits:test", "--n", "16",
                 "--out", str(out)]) == 0
    assert "reconstructions of 16 images" in capsys.readouterr().out and out.exists()
    model = ganforge.load(trainer.run_dir)
    # 12 images: a full row and a row of 4 beside 4 blanks, not 8 shown and 4 dropped
    twelve = model.reconstruction_grid(digits.images[:12])
    assert twelve.shape == model.reconstruction_grid(digits.images[:16]).shape
    cell = 16 * model.scale  # the blank cells: the last four of the last two rows
    assert twelve[:, -2 * cell:, -4 * cell:].max() < twelve[:, -2 * cell:, : 4 * cell].max()
    assert model.reconstruction_grid(digits.images[:3]).shape[-1] < twelve.shape[-1]
    with pytest.raises(GanforgeError, match=r"got \[2, 3, 16, 16\]; give grey-level images$"):
        model.reconstruct(digits.images[:2].expand(-1, 3, -1, -1))
    gan = Trainer(ae_config(tmp_path, "dcgan"), dataset=digits)
    gan.fit()
    assert main(["sample", str(gan.run_dir), "--reconstruct", "digits"]) == 2
    assert "has no encoder" in capsys.readouterr().err


@pytest.mark.parametrize("method", ["vae", "vaegan", "bigan"])
def test_encoding_methods_refuse_point_data(method, tmp_path):
    cfg = configure(method=method, dataset="ring8", steps=1, device="cpu",
                               out=str(tmp_path / method))
    with pytest.raises(GanforgeError, match="trains on images; ring8 holds 2-D points"):
        Trainer(cfg)


def test_bigan_spectral_norm_reaches_the_joint_layers(tmp_path, digits):
    method = Trainer(ae_config(tmp_path, "bigan", d_norm="spectral"), dataset=digits).method
    from torch.nn.utils import parametrize

    assert parametrize.is_parametrized(method.D.joint[0], "weight")
    assert parametrize.is_parametrized(method.D.embed_z[0], "weight")
    assert parametrize.is_parametrized(method.D.head, "weight")
