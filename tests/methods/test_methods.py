"""Every registered method trains a few steps on tiny data, saves, loads and samples."""

import math

import pytest
import torch

import ganforge
from ganforge.config import with_method_defaults
from ganforge.methods import METHODS
from ganforge.methods.text2img import Text2Image
from ganforge.methods.translation import Translation
from ganforge.training import Trainer
from ganforge.training.log import read_log


def tiny_config(method, tmp_path, **kw):
    fields = dict(dataset="digits", image_size=16, width=8, latent_dim=8, batch_size=16,
                  steps=4, log_every=1, sample_every=2, checkpoint_every=2, n_samples=16,
                  device="cpu", out=str(tmp_path / method))
    return with_method_defaults(method, **{**fields, **kw})


# The translation methods need two domains, text2img captions; their own test files have them
# (tests/methods/test_translation_methods.py, tests/methods/test_text2img.py).
@pytest.mark.parametrize("method", [m for m in METHODS.names() if not issubclass(
    METHODS.get(m), (Translation, Text2Image))])
def test_method_trains_saves_loads_and_samples(method, tmp_path, digits):
    run_dir = Trainer(tiny_config(method, tmp_path), dataset=digits).fit()
    rows = read_log(run_dir / "log.jsonl")
    assert [r["step"] for r in rows] == [1, 2, 3, 4]
    # The VAE has no discriminator: its one loss is the generator's.
    key = "g_loss" if method == "vae" else "d_loss"
    assert all(math.isfinite(v) for r in rows for v in (r[key], r["g_loss"]))
    assert len({r[key] for r in rows}) > 1, "losses did not move"
    assert (run_dir / "samples.png").exists() and (run_dir / "samples" / "step_000002.png").exists()
    model = ganforge.load(run_dir, device="cpu")
    images = model.sample(5, seed=1)
    assert images.shape == (5, 1, 16, 16) and 0 <= images.min() and images.max() <= 1
    assert torch.equal(images, model.sample(5, seed=1))
    assert not torch.equal(images, model.sample(5, seed=2))


@pytest.mark.parametrize("loss", ["minimax", "gan"])
def test_gan_generator_losses_are_selectable(loss, tmp_path, digits):
    trainer = Trainer(tiny_config("gan", tmp_path, loss=loss, steps=2), dataset=digits)
    trainer.fit()
    sign = -1 if loss == "minimax" else 1  # minimax loss log(1 - D) is negative
    assert sign * read_log(trainer.run_dir / "log.jsonl")[-1]["g_loss"] > 0


def test_d_steps_takes_k_discriminator_updates_per_generator_update(tmp_path, digits):
    trainer = Trainer(tiny_config("dcgan", tmp_path, d_steps=3, steps=2), dataset=digits)
    trainer.fit()
    d_state = trainer.optimizers["D"].state_dict()["state"]
    g_state = trainer.optimizers["G"].state_dict()["state"]
    assert d_state[0]["step"].item() == 6 and g_state[0]["step"].item() == 2
    assert trainer.batcher.cursor == 6 * 16


def test_ganforge_train_api_returns_a_model(tmp_path):
    model = ganforge.train(method="gan", dataset="digits", image_size=8, steps=2, batch_size=8,
                           device="cpu", out=str(tmp_path / "api"))
    assert model.sample(3).shape == (3, 1, 8, 8) and model.step == 2
