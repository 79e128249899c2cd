"""text2img: GAN-CLS and GAN-INT against their formulas, conditioning augmentation, training on
captioned digits, sampling from captions in Python and on the command line."""

import dataclasses
import math

import pytest
import torch
from torch import nn

import ganforge
from ganforge.cli import main
from ganforge.data import DataSpec, load_dataset
from ganforge.errors import GanforgeError
from ganforge.methods import METHODS
from ganforge.methods.text2img import INTERP_BETA, gan_cls_d_loss, mismatched
from ganforge.models.text import ConditioningAugmentation, SentenceEncoder, ca_kl
from ganforge.training import Trainer
from ganforge.training.log import read_log
from tests.methods.test_methods import tiny_config


@pytest.fixture(scope="module")
def captioned():
    return load_dataset("captioned-digits", image_size=8)


def config(tmp_path, **kw):
    fields = dict(dataset="captioned-digits", image_size=8, batch_size=8, steps=3,
                  sample_every=3, checkpoint_every=3, n_samples=16)
    return tiny_config("text2img", tmp_path, **{**fields, **kw})


def test_mismatched_captions_come_from_another_class_when_there_is_one():
    text = torch.arange(12).view(6, 2)
    labels = torch.tensor([3, 3, 5, 5, 5, 7])
    wrong = mismatched(text, labels)
    source = wrong[:, 0] // 2  # the row each wrong caption came from
    assert (labels[source] != labels).all()
    assert source.tolist() == [5, 5, 1, 1, 1, 4]  # the nearest earlier row of another class
    # Without labels the tokens are the keys: an identical caption is skipped.
    same = torch.tensor([[1, 2], [1, 2], [3, 4]])
    assert mismatched(same, same).tolist() == [[3, 4], [3, 4], [1, 2]]
    one_class = torch.zeros(3, dtype=torch.long)
    assert torch.equal(mismatched(text[:3], one_class), text[:3].roll(1, 0))


def test_gan_cls_d_loss_is_reeds_formula(tmp_path):
    real, wrong, fake = torch.randn(3, 10)
    expected = -(torch.log(torch.sigmoid(real))
                 + 0.5 * (torch.log(1 - torch.sigmoid(wrong))
                          + torch.log(1 - torch.sigmoid(fake)))).mean()
    spec = DataSpec(1, 8, vocabulary=("<pad>", "<unk>", "a"), caption_length=2)
    method = METHODS.get("text2img")(config(tmp_path), spec)
    assert gan_cls_d_loss(method.adv_d, real, wrong, fake).item() == pytest.approx(
        expected.item(), rel=1e-5)


class StubD(nn.Module):
    """Logit = mean pixel x sentence value, the sentence value being the sum of token ids."""

    def embed(self, text):
        return text if text.is_floating_point() else text.float().sum(1, keepdim=True)

    def features(self, x, text=None):
        return x.flatten(1).mean(1, keepdim=True)

    def logits(self, h, text):
        return h[:, 0] * self.embed(text)[:, 0]

    def forward(self, x, text):
        return self.logits(self.features(x), text)


class StubG(nn.Module):
    """Draws grey 0.5 pictures and reports a KL of 0.25."""

    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(()))

    def embed(self, text):
        return text if text.is_floating_point() else text.float().sum(1, keepdim=True)

    def stages(self, z, text):
        self.seen = self.embed(text)
        return [torch.full((len(z), 1, 8, 8), 0.5) * self.weight], torch.tensor(0.25)


def test_method_losses_match_gan_cls_and_gan_int_with_stub_networks(tmp_path):
    spec = DataSpec(1, 8, vocabulary=tuple(f"w{i}" for i in range(10)), caption_length=2)
    method = METHODS.get("text2img")(config(tmp_path, **{"ca_weight": 3.0}), spec)
    method.G, method.D = StubG(), nn.ModuleList([StubD()])
    text = torch.tensor([[1, 0], [2, 3], [4, 0], [5, 1]])
    labels = torch.tensor([0, 0, 1, 2])
    real = torch.tensor([0.2, -0.4, 0.6, 0.8]).view(4, 1, 1, 1).expand(4, 1, 8, 8)
    batch = {"x": real, "caption": text, "label": labels}
    t = torch.tensor([1.0, 5.0, 4.0, 6.0])  # sentence values
    r = torch.tensor([0.2, -0.4, 0.6, 0.8])
    t_wrong = t[torch.tensor([3, 3, 1, 2])]  # nearest earlier row of another class
    log_d = lambda s: torch.log(torch.sigmoid(s))  # noqa: E731
    expected_d = -(log_d(r * t) + 0.5 * (torch.log(1 - torch.sigmoid(r * t_wrong))
                                         + torch.log(1 - torch.sigmoid(0.5 * t)))).mean()
    d_loss, logs = method.d_loss(batch)
    assert d_loss.item() == pytest.approx(expected_d.item(), rel=1e-5)
    assert logs["D(x,wrong t)"].item() == pytest.approx(torch.sigmoid(r * t_wrong).mean().item())
    # G: -log D(G(z, t), t), GAN-INT's term at t halfway to the previous row's, and the KL.
    t_int = INTERP_BETA * t + (1 - INTERP_BETA) * t.roll(1, 0)
    expected_g = (-log_d(0.5 * t).mean() - log_d(0.5 * t_int).mean() + 3.0 * 0.25)
    g_loss, logs = method.g_loss(batch)
    assert g_loss.item() == pytest.approx(expected_g.item(), rel=1e-5)
    assert torch.allclose(method.G.seen[:, 0], torch.cat([t, t_int]))
    method.settings = dataclasses.replace(method.settings, interp_weight=0.0)
    g_loss, _ = method.g_loss(batch)
    assert g_loss.item() == pytest.approx((-log_d(0.5 * t).mean() + 3.0 * 0.25).item(), rel=1e-5)


def test_conditioning_augmentation_kl_is_the_closed_form():
    mu, log_sigma = torch.randn(5, 7), 0.3 * torch.randn(5, 7)
    reference = torch.distributions.kl_divergence(
        torch.distributions.Normal(mu, log_sigma.exp()), torch.distributions.Normal(0.0, 1.0))
    assert ca_kl(mu, log_sigma).item() == pytest.approx(reference.mean().item(), rel=1e-5)
    assert ca_kl(torch.zeros(3, 4), torch.zeros(3, 4)).item() == 0.0
    ca = ConditioningAugmentation(6, 5)
    e, eps = torch.randn(3, 6), torch.randn(3, 5)
    c, mu, log_sigma = ca(e, eps)
    assert torch.allclose(c, mu + log_sigma.exp() * eps)
    assert torch.equal(ca(e, torch.zeros(3, 5))[0], mu)


def test_sentence_encoder_ignores_padding_and_reads_words():
    encoder = SentenceEncoder(10)
    short = torch.tensor([[2, 5, 0, 0]])
    assert torch.allclose(encoder(short), encoder(short[:, :2]), atol=1e-6)
    assert not torch.allclose(encoder(short), encoder(torch.tensor([[2, 6, 0, 0]])))
    assert not torch.allclose(encoder(short), encoder(torch.tensor([[5, 2, 0, 0]])))  # order


def test_text2img_needs_captions(tmp_path, digits):
    with pytest.raises(GanforgeError, match="text2img draws from captions; digits has none"):
        Trainer(tiny_config("text2img", tmp_path), dataset=digits)


@pytest.mark.parametrize("stages", [1, 2])
def test_trains_saves_loads_and_samples_from_text(stages, tmp_path, captioned):
    trainer = Trainer(config(tmp_path, image_size=16 if stages == 2 else 8,
                             **{"stages": stages}),
                      dataset=load_dataset("captioned-digits", image_size=16) if stages == 2
                      else captioned)
    run_dir = trainer.fit()
    rows = read_log(run_dir / "log.jsonl")
    assert [r["step"] for r in rows] == [1, 2, 3]
    assert all(math.isfinite(r[k]) for r in rows for k in ("d_loss", "g_loss", "kl", "g_int"))
    assert len(trainer.method.D) == stages
    size = trainer.spec.img_size
    model = ganforge.load(run_dir, device="cpu")
    images = model.sample(4, seed=1, text="a thick seven")
    assert images.shape == (4, 1, size, size) and 0 <= images.min() and images.max() <= 1
    assert torch.equal(images, model.sample(4, seed=1, text="a thick seven"))
    # The caption reaches the picture (stage I's: three steps leave stage II's eval-mode
    # batch norm near its initial statistics, where its output is still flat).
    z = model.method.sample_latent(4, torch.Generator().manual_seed(1))
    first = [model.method.G.stages(z, model.text_condition([c] * 4))[0][0]
             for c in ("a thick seven", "a thin one")]
    assert not torch.equal(*first)
    assert model.sample(2, seed=1, text=["a one", "an eight"]).shape == (2, 1, size, size)
    with pytest.raises(GanforgeError, match="give one caption or 3 of them, got 2"):
        model.sample(3, text=["a one", "a two"])
    grid = model.text_grid(["a zero", "a large thin upright three"], per_caption=3)
    assert grid.dtype == torch.uint8 and grid.shape[0] == 1
    picture = model.text_interpolation("a thin four", "a thick four", steps=4, rows=2)
    assert picture.dtype == torch.uint8


def test_batcher_state_resumes_the_caption_draws(tmp_path, captioned):
    trainer = Trainer(config(tmp_path, steps=2), dataset=captioned)
    trainer.fit()
    resumed = Trainer.resume(trainer.run_dir, steps=3, dataset=captioned)
    trainer.total_steps = 3
    assert torch.equal(next(resumed.batcher)["caption"], next(trainer.batcher)["caption"])


def test_sample_text_on_the_command_line(capsys, tmp_path):
    run = tmp_path / "run"
    common = ["--dataset", "captioned-digits", "--image-size", "8", "--batch-size", "8",
              "--width", "8", "--latent-dim", "8", "--device", "cpu"]
    assert main(["train", "--method", "text2img", "--steps", "1", "--out", str(run),
                 *common]) == 0
    capsys.readouterr()
    grid = tmp_path / "grid.png"
    assert main(["sample", str(run), "--text", "a thin four", "--text", "a thick four",
                 "--nrow", "3", "--out", str(grid)]) == 0
    assert "3 samples for each of 2 captions" in capsys.readouterr().out and grid.exists()
    walk = tmp_path / "walk.png"
    assert main(["sample", str(run), "--text", "a one", "--interpolate-text", "a seven",
                 "--steps", "4", "--rows", "2", "--out", str(walk)]) == 0
    assert "2 interpolations from 'a one' to 'a seven'" in capsys.readouterr().out
    for argv, message in [
        (["--text", "a purple four"], "unknown word 'purple' in caption 'a purple four'"),
        (["--interpolate-text", "a four"], "give exactly one --text A"),
        (["--text", "a four", "--per-class", "2"], "does not combine with --per-class"),
        (["--class", "3"], "a text2img run draws what a caption says, not a class"),
    ]:
        assert main(["sample", str(run), *argv, "--out", str(tmp_path / "x.png")]) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1
    other = tmp_path / "gan"
    assert main(["train", "--method", "gan", "--steps", "1", "--out", str(other), *common]) == 0
    capsys.readouterr()
    assert main(["sample", str(other), "--text", "a four"]) == 2
    assert "captions need a text-to-image run (text2img); this run is gan" in capsys.readouterr(
        ).err
