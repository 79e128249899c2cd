"""Every registered method, on every kind of data it declares it trains on, trains a few steps on
tiny data, saves, loads, and does what it declares it can do: sample, or translate, encode,
draw a class, a caption or its stages."""

import math

import pytest
import torch

import ganforge
from ganforge.configure import configure
from ganforge.data import ToyMixture, TranslationData, load_dataset
from ganforge.methods import METHODS
from ganforge.methods.capabilities import (
    Conditional,
    DomainTranslator,
    Encoder,
    Staged,
    TextConditioned,
    Translator,
)
from ganforge.training import Trainer
from ganforge.training.log import read_log


def tiny_config(method, tmp_path, **kw):
    """A config of ``method`` with tiny networks: the sizes it has set small."""
    own = METHODS.get(method).Settings.__dataclass_fields__
    sizes = {k: v for k, v in dict(width=8, latent_dim=8, patch=16).items() if k in own}
    fields = dict(dataset="digits", image_size=16, batch_size=16, steps=4, log_every=1,
                  sample_every=2, checkpoint_every=2, n_samples=16, device="cpu",
                  out=str(tmp_path / method), **sizes)
    return configure(method=method, **{**fields, **kw})


def data_kinds(method: str) -> list[str]:
    """The kinds of data ``method`` declares it trains on, as this test names them."""
    needs = METHODS.get(method).trains_on
    if needs.captions:
        return ["captions"]
    return ["pairs" if kind == "translation" and needs.pairs else
            "unpaired" if kind == "translation" else kind for kind in needs.kinds]


def tiny_data(kind: str):
    """(data, config fields) of each kind: labelled 16 px digits, captioned 16 px digits, two
    domains of 16 px blobs (paired, or unpaired of other sizes), the ring of 8 Gaussians."""
    if kind == "image":
        return load_dataset("digits", image_size=16), {}
    if kind == "captions":
        # 16 px: StackGAN++'s tree has three scales (16, 8, 4 px).
        return (load_dataset("captioned-digits", image_size=16),
                {"dataset": "captioned-digits", "image_size": 16, "batch_size": 8})
    if kind == "points":
        return ToyMixture("ring8"), {"dataset": "ring8", "image_size": None, "n_samples": 100}
    g = torch.Generator().manual_seed(0)
    a = (torch.rand(24, 1, 16, 16, generator=g) > 0.7).to(torch.uint8) * 255
    b = (255 - a) if kind == "pairs" else torch.randint(0, 256, (29, 1, 16, 16), generator=g,
                                                         dtype=torch.uint8)
    data = TranslationData("tiny", a, b, paired=kind == "pairs", domain_names=("x", "y"))
    return data, {"dataset": "edges2mnist" if kind == "pairs" else "digits2mnist",
                  "image_size": None, "batch_size": 4}


CASES = [(m, kind) for m in METHODS.names() for kind in data_kinds(m)]


def test_every_method_is_covered_on_each_kind_of_data_it_takes():
    assert {m for m, _ in CASES} == set(METHODS.names())
    assert {kind for _, kind in CASES} == {"image", "points", "pairs", "unpaired", "captions"}


@pytest.mark.parametrize("method,kind", CASES)
def test_method_trains_saves_loads_and_does_what_it_declares(method, kind, tmp_path):
    data, fields = tiny_data(kind)
    run_dir = Trainer(tiny_config(method, tmp_path, **fields), dataset=data).fit()
    rows = read_log(run_dir / "log.jsonl")
    assert [r["step"] for r in rows] == [1, 2, 3, 4]
    # The VAE has no discriminator: its one loss is the generator's.
    players = METHODS.get(method).players
    key = "d_loss" if "D" in players else "g_loss"
    # Each player's loss is logged; generation with D alone has no G loss.
    keys = [f"{p.lower()}_loss" for p in players]
    assert all(math.isfinite(r[k]) for r in rows for k in keys)
    assert len({r[key] for r in rows}) > 1, "losses did not move"
    assert (run_dir / "samples.png").exists() and (run_dir / "samples" / "step_000002.png").exists()
    model = ganforge.load(run_dir, device="cpu")
    m = model.method
    if isinstance(m, Translator):
        x = torch.rand(3, m.source_channels(), 16, 16)
        options = {"to_domain": 1} if isinstance(m, DomainTranslator) else {}
        out = model.translate(x, **options)
        assert out.shape[0] == 3 and 0 <= out.min() and out.max() <= 1
        assert torch.equal(out, model.translate(x, **options))
        return
    if kind == "points":
        points = model.sample(50, seed=1)
        assert points.shape == (50, 2) and torch.equal(points, model.sample(50, seed=1))
        return
    size = data.img_size
    images = model.sample(5, seed=1)
    assert images.shape == (5, 1, size, size) and 0 <= images.min() and images.max() <= 1
    assert torch.equal(images, model.sample(5, seed=1))
    assert not torch.equal(images, model.sample(5, seed=2))
    if isinstance(m, Conditional):
        assert model.sample(4, seed=1, classes=2).shape == (4, 1, size, size)
    if isinstance(m, TextConditioned):
        assert model.sample(2, seed=1, text="a three").shape == (2, 1, size, size)
    if isinstance(m, Encoder):
        assert model.encode(data.images[:3]).shape[0] == 3
        assert model.reconstruct(data.images[:3]).shape == (3, 1, size, size)
    if isinstance(m, Staged):
        assert model.stage_picture(2).dim() == 3


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
