"""The EMA generator: its batch-norm statistics are its own, and its average forgets the
initial weights (training/ema.py)."""

import pytest
import torch

from ganforge.nn import eval_mode
from ganforge.training import Trainer
from ganforge.training.ema import EMA
from tests.training.test_trainer import config


def bn_gap(method, G) -> float:
    """Mean |eval-mode output - batch-statistics output| of G on fresh latents: small when the
    running statistics are those of G's own activations."""
    z = torch.Generator().manual_seed(99)
    with torch.no_grad(), eval_mode(G):
        standing = method.sample(512, torch.Generator().manual_seed(99), G=G)
        G.train()
        batch = method.sample(512, z, G=G)
    return float((standing - batch).abs().mean())


def test_ema_generator_normalises_with_statistics_of_its_own_weights(tmp_path, digits):
    """Copying the live G's running statistics into the averaged network (the old behaviour)
    normalises its layers with other weights' statistics: its eval-mode samples then differ
    from what its own batch statistics give by far more than the live G's do."""
    trainer = Trainer(config(tmp_path, "e", steps=40, ema=0.95, lr=2e-3, sample_every=10**6,
                             checkpoint_every=10**6, augment="none"), dataset=digits)
    trainer.fit()
    G_ema = trainer.sampling_G
    own = bn_gap(trainer.method, G_ema)
    live = bn_gap(trainer.method, trainer.method.G)
    # As before: the live G's statistics copied into the averaged network.
    copied = [b.clone() for b in trainer.method.G.buffers()]
    for dst, src in zip(G_ema.buffers(), copied, strict=True):
        dst.copy_(src)
    borrowed = bn_gap(trainer.method, G_ema)
    assert own < 0.05 and own <= 2 * live + 0.01
    assert borrowed > 3 * own


def test_statistics_are_a_function_of_the_weights_alone(tmp_path, digits):
    trainer = Trainer(config(tmp_path, "c", steps=6, ema=0.9), dataset=digits)
    trainer.fit()
    first = {k: v.clone() for k, v in trainer.sampling_G.state_dict().items()}
    for m in trainer.ema.norms:
        m.running_mean.add_(3.0)
    trainer.pictures.forget_calibration()
    again = trainer.sampling_G.state_dict()
    assert all(torch.equal(first[k], again[k]) for k in first)
    assert not trainer.ema.module.training
    assert all(not m.training and m.momentum == 0.1 for m in trainer.ema.norms)


def test_average_ramps_up_so_the_initial_weights_are_forgotten():
    G = torch.nn.Linear(3, 3)
    ema = EMA(G, decay=0.999)
    start = [p.clone() for p in ema.module.parameters()]
    with torch.no_grad():
        for p in G.parameters():
            p.add_(1.0)
    ema.update()  # the first update keeps 1/10 of the average
    for s, a, g in zip(start, ema.module.parameters(), G.parameters(), strict=True):
        assert torch.allclose(a, 0.1 * s + 0.9 * g)
    for _ in range(10_000):
        ema.update()
    assert float(ema.current_decay()) == pytest.approx(0.999)
    assert float(ema.updates) == 10_001.0


def test_the_mlp_gan_keeps_an_ema_by_default_and_ema_0_turns_it_off(tmp_path, digits):
    from ganforge.inference import load

    default = Trainer(config(tmp_path, "default", method="gan"), dataset=digits)
    assert default.cfg.ema == 0.999 and default.ema is not None
    off = Trainer(config(tmp_path, "off", method="gan", ema=0.0, steps=2), dataset=digits)
    assert off.ema is None
    off.fit()
    assert load(tmp_path / "off", device="cpu").step == 2
