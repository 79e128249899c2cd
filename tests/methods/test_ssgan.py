"""The semi-supervised K+1 GAN (Salimans et al. 2016, sec. 5)."""

import pytest
import torch
import torch.nn.functional as F

import ganforge
from ganforge.configure import configure
from ganforge.data import DataSpec, ImageDataset, balanced_subset
from ganforge.errors import GanforgeError
from ganforge.methods import METHODS
from ganforge.nn import weight_norm_data_init_
from ganforge.training import Trainer


def ssgan_config(tmp_path, **kw):
    fields = dict(dataset="digits", image_size=16, latent_dim=8, batch_size=32, steps=4,
                  log_every=2, sample_every=100, device="cpu", seed=2,
                  out=str(tmp_path / "ss"), labels_per_class=2)
    return configure(method="ssgan", **{**fields, **kw})


def test_balanced_subset_is_balanced_and_deterministic():
    labels = torch.arange(10).repeat(50)[torch.randperm(500, generator=torch.Generator()
                                                        .manual_seed(0))]
    a = balanced_subset(labels, 7, seed=3)
    assert torch.equal(a, balanced_subset(labels, 7, seed=3))
    assert not torch.equal(a, balanced_subset(labels, 7, seed=4))
    assert len(a.unique()) == 70
    assert torch.equal(torch.bincount(labels[a], minlength=10), torch.full((10,), 7))
    with pytest.raises(GanforgeError, match="class 3 has only 1 examples"):
        balanced_subset(torch.tensor([0, 0, 1, 1, 2, 2, 3]), 2)


def test_labels_seed_fixes_the_labelled_subset_across_model_seeds(tmp_path, digits):
    def labelled_images(seed, **extra):
        cfg = ssgan_config(tmp_path, seed=seed, **{"labels_per_class": 2, **extra})
        return Trainer(cfg, dataset=digits).method.labelled_images.clone()

    def subset(seed):
        return digits.images[balanced_subset(digits.labels, 2, seed=seed)]

    assert torch.equal(labelled_images(5), subset(5))  # default: the model's seed picks it
    assert torch.equal(labelled_images(5, labels_seed=9), subset(9))
    assert torch.equal(labelled_images(6, labels_seed=9), subset(9))
    assert not torch.equal(subset(5), subset(9))


def test_k_plus_one_loss_matches_its_formula(tmp_path, digits):
    trainer = Trainer(ssgan_config(tmp_path), dataset=digits)
    method = trainer.method
    torch.manual_seed(0)
    real, fake = torch.randn(6, 10) * 2, torch.randn(6, 10) * 2  # class logits l_1..l_K
    # p(fake | x) = 1 / (1 + sum_k exp(l_k)) with the (K+1)-th logit fixed at 0.
    p_fake_real = 1 / (1 + real.exp().sum(1))
    p_fake_fake = 1 / (1 + fake.exp().sum(1))
    expected = -(1 - p_fake_real).log().mean() - p_fake_fake.log().mean()
    unsupervised = method.adv_d(torch.logsumexp(real, 1), torch.logsumexp(fake, 1))
    # weighted by --unlabelled-weight, 0.5 as in the released code
    assert torch.allclose(unsupervised, 0.5 * expected, atol=1e-5)
    h = torch.randn(6, method.D.feature_dim)
    method.eval()
    assert torch.allclose(method.d_logits(h), torch.logsumexp(method.class_logits(h), 1))


def test_supervised_term_is_cross_entropy_on_the_labelled_subset(tmp_path, digits):
    trainer = Trainer(ssgan_config(tmp_path), dataset=digits)
    method = trainer.method.eval()
    assert method.labelled_images.shape == (20, 1, 16, 16)
    assert torch.equal(torch.bincount(method.labelled_labels), torch.full((10,), 2))
    index = balanced_subset(digits.labels, 2, seed=2)
    assert torch.equal(method.labelled_images, digits.images[index])
    h = torch.zeros(32, method.D.feature_dim)
    loss, logs = method.aux_d_loss(h, None, h, None)
    images = method.labelled_images.float() / 127.5 - 1
    expected = F.cross_entropy(method.classify(images), method.labelled_labels)
    assert torch.allclose(loss, expected) and 0 <= logs["labelled_acc"] <= 1


def test_ssgan_trains_with_feature_matching_and_its_classifier_learns(tmp_path, digits):
    trainer = Trainer(ssgan_config(tmp_path, steps=40, batch_size=64, lr=1e-3), dataset=digits)
    assert trainer.cfg.settings.feature_matching and trainer.method.D.head[-1].out_features == 10
    images = trainer.method.labelled_images.float() / 127.5 - 1
    labels = trainer.method.labelled_labels

    def labelled_loss():
        trainer.method.eval()
        with torch.no_grad():
            loss = F.cross_entropy(trainer.method.classify(images), labels)
        trainer.method.train()
        return loss

    before = labelled_loss()
    trainer.fit()
    assert labelled_loss() < before * 0.5


def test_weight_norm_data_init_gives_unit_scale_outputs():
    from torch import nn
    from torch.nn.utils.parametrizations import weight_norm

    net = nn.Sequential(weight_norm(nn.Linear(20, 30)), nn.ReLU(), weight_norm(nn.Linear(30, 5)))
    x = torch.randn(400, 20) * 3 + 1
    weight_norm_data_init_(net, x)
    out = net(x)
    assert torch.allclose(out.mean(0), torch.zeros(5), atol=1e-4)
    assert torch.allclose(out.std(0), torch.ones(5), atol=1e-3)


def test_ssgan_refuses_unlabelled_data():
    with pytest.raises(GanforgeError, match="needs a labelled data set"):
        METHODS.get("ssgan")(configure(method="ssgan", dataset="fake"), DataSpec(1, 28))
    unlabelled = ImageDataset("x", torch.zeros(50, 1, 16, 16, dtype=torch.uint8))
    method = METHODS.get("ssgan")(configure(method="ssgan"),
                                  DataSpec(1, 16, 10, tuple("0123456789")))
    with pytest.raises(GanforgeError, match="needs labelled images"):
        method.bind_data(unlabelled)


def test_ssgan_on_other_backbones_and_bad_options(tmp_path, digits):
    from torch.nn.utils import parametrize

    trainer = Trainer(ssgan_config(tmp_path, arch="dcgan", d_norm="spectral", width=8,
                                   steps=2), dataset=digits)
    trainer.fit()
    head = trainer.method.D.head
    assert head.out_features == 10 and parametrize.is_parametrized(head, "weight")
    with pytest.raises(GanforgeError, match="--labels-per-class must be at least 1"):
        Trainer(ssgan_config(tmp_path, **{"labels_per_class": -1}), dataset=digits)


def test_the_classifier_is_a_moving_average_of_d(tmp_path, digits):
    trainer = Trainer(ssgan_config(tmp_path, steps=3), dataset=digits)
    method = trainer.method
    x = digits.images[:8].float() / 127.5 - 1
    method.eval()
    assert torch.equal(method.classify(x), method.classify(x, averaged=False))
    start = [p.detach().clone() for p in method.D.parameters()]
    trainer.fit()
    method.eval()
    assert int(method.average_updates) == 3
    # t = 1, 2, 3 give decays 2/11, 3/12, 4/13: the average trails D but has left the start.
    assert not torch.allclose(method.classify(x), method.classify(x, averaged=False))
    avg = [p for p in method.D_average.parameters()]
    assert any(not torch.equal(a, s) for a, s in zip(avg, start, strict=True))
    reloaded = ganforge.load(trainer.run_dir).method
    assert torch.equal(reloaded.classify(x), method.classify(x))


def test_hidden_gains_stay_fixed_and_the_output_gain_learns(tmp_path, digits):
    trainer = Trainer(ssgan_config(tmp_path, steps=3), dataset=digits)
    D = trainer.method.D
    gains = [m.parametrizations.weight.original0 for m in D.modules()
             if hasattr(m, "parametrizations")]
    hidden, output = gains[:-1], gains[-1]
    assert all(not g.requires_grad for g in hidden) and output.requires_grad
    before = [g.detach().clone() for g in gains]
    trainer.fit()
    assert all(torch.equal(g, b) for g, b in zip(hidden, before, strict=False))
    assert not torch.equal(output, before[-1])
    # The Trainer's gradient toggling did not switch the frozen gains back on.
    assert all(not g.requires_grad for g in hidden)


def test_improved_gan_d_weights_start_as_in_the_released_code():
    from ganforge.models.improved_gan import ImprovedGANDiscriminator

    D = ImprovedGANDiscriminator()
    first = D.body[1]
    # Directions from N(0, 0.1): under Adam their scale sets how far each step turns them.
    assert abs(float(first.parametrizations.weight.original1.detach().std()) - 0.1) < 0.005
    assert torch.allclose(first.weight.detach().norm(dim=1),
                          first.parametrizations.weight.original0.squeeze(1))
    assert D.body[0].std == 0.6  # the paper's 0.3 on [0, 1] pixels, on ganforge's [-1, 1]


def test_adam_epsilon_is_the_released_codes_and_refused_when_not_positive(tmp_path, digits):
    """Theano's sqrt(v + 1e-8) damps tiny-gradient weights about as PyTorch's eps 1e-4 does."""
    trainer = Trainer(ssgan_config(tmp_path), dataset=digits)
    assert {g["eps"] for o in trainer.optimizers.values() for g in o.param_groups} == {1e-4}
    dcgan = Trainer(configure(method="dcgan", dataset="digits", image_size=16, latent_dim=8,
                              batch_size=32, steps=4, device="cpu", out=str(tmp_path / "d")),
                    dataset=digits)
    assert dcgan.optimizers["D"].param_groups[0]["eps"] == 1e-8
    with pytest.raises(GanforgeError, match="--adam-eps must be positive"):
        ssgan_config(tmp_path, adam_eps=0.0)


def test_feature_matching_is_the_mean_over_features_as_in_the_released_code(tmp_path, digits):
    trainer = Trainer(ssgan_config(tmp_path), dataset=digits)
    method = trainer.method
    batch = next(trainer.batcher)
    torch.manual_seed(0)
    loss, _ = method.g_loss(batch)
    torch.manual_seed(0)
    fake = method.generate(len(batch["x"]))
    # D's noise drawn in g_loss's order: the fakes' features, then the real ones'
    fake_features = method.D.features(fake)
    gap = (method.D.features(batch["x"]).mean(0) - fake_features.mean(0)).pow(2)
    assert not torch.allclose(loss, gap.sum())  # the squared distance (other methods) is 250x
    torch.testing.assert_close(loss, gap.mean())


def test_improved_gan_g_is_built_as_in_the_released_code(tmp_path, digits):
    from ganforge.models.improved_gan import ImprovedGANGenerator

    G = ImprovedGANGenerator()
    norms = [m for m in G.modules() if isinstance(m, torch.nn.BatchNorm1d)]
    (out,) = [m for m in G.modules() if hasattr(m, "parametrizations")]  # the weight-normed output
    assert len(norms) == 2 and all(not n.weight.requires_grad for n in norms)  # g=None
    assert all(n.bias.requires_grad for n in norms)
    # scale 1 before the paper's sigmoid is 0.5 before tanh: tanh(a / 2) = 2 sigmoid(a) - 1
    torch.testing.assert_close(out.weight.detach().norm(dim=1), torch.full((784,), 0.5))
    bound = (6 / (500 + 784)) ** 0.5  # Glorot uniform
    assert out.parametrizations.weight.original1.abs().max() <= bound
    trainer = Trainer(ssgan_config(tmp_path, steps=2), dataset=digits)
    trainer.fit()
    assert all(not n.weight.requires_grad and torch.equal(n.weight, torch.ones_like(n.weight))
               for n in trainer.method.G.modules() if isinstance(n, torch.nn.BatchNorm1d))
