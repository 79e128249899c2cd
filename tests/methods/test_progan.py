"""Progressive growing: its layers against hand computations, the growth schedule, training
through the levels, exact resume mid-growth and loading a run that stopped mid-growth."""

import math

import pytest
import torch
import torch.nn.functional as F

import ganforge
from ganforge.data import DataSpec
from ganforge.errors import GanforgeError
from ganforge.methods import METHODS
from ganforge.methods.progan import growth_phase
from ganforge.models.progan import ProDiscriminator, ProGenerator, resolutions
from ganforge.nn.progressive import (
    EqualizedConv2d,
    EqualizedLinear,
    MinibatchStdDev,
    PixelNorm,
    fade_in,
)
from ganforge.training import Trainer
from ganforge.training.log import read_log
from tests.methods.test_methods import tiny_config


@pytest.fixture(autouse=True)
def _one_thread():
    # These nets are tiny: a second thread only adds synchronisation (several times slower on
    # busy cores).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_equalized_layers_scale_unit_weights_by_he_constant():
    torch.manual_seed(0)
    conv = EqualizedConv2d(64, 32, 3)
    assert conv.weight.std().item() == pytest.approx(1.0, abs=0.02)
    assert conv.weight.mean().item() == pytest.approx(0.0, abs=0.02)
    assert torch.equal(conv.bias, torch.zeros(32))
    with torch.no_grad():
        conv.bias.normal_()
    x = torch.randn(2, 64, 5, 5)
    expected = F.conv2d(x, conv.weight * math.sqrt(2 / (64 * 9)), conv.bias, padding=1)
    torch.testing.assert_close(conv(x), expected)

    linear = EqualizedLinear(400, 50, gain=1.0)
    assert linear.weight.std().item() == pytest.approx(1.0, abs=0.02)
    x = torch.randn(3, 400)
    torch.testing.assert_close(linear(x), x @ (linear.weight / 20).T)


def test_pixel_norm_gives_unit_rms_per_pixel():
    x = torch.randn(3, 16, 4, 5) * torch.rand(3, 1, 4, 5) * 10
    rms = PixelNorm()(x).pow(2).mean(dim=1).sqrt()
    torch.testing.assert_close(rms, torch.ones(3, 4, 5))


@pytest.mark.parametrize("batch,group", [(8, 4), (6, 3), (5, 1), (2, 2)])
def test_minibatch_stddev_appends_the_group_std(batch, group):
    x = torch.randn(batch, 3, 2, 2)
    out = MinibatchStdDev(group_size=4)(x)
    assert out.shape == (batch, 4, 2, 2) and torch.equal(out[:, :3], x)
    groups = batch // group
    for i in range(batch):
        # As the official code: example i is in group i mod (batch / group size).
        members = x[[j for j in range(batch) if j % groups == i % groups]]
        std = (((members - members.mean(0)) ** 2).mean(0) + 1e-8).sqrt().mean()
        torch.testing.assert_close(out[i, 3], std.expand(2, 2))


def test_fade_in_blends_old_and_new_paths():
    low, high = torch.randn(2, 1, 4, 4), torch.randn(2, 1, 4, 4)
    assert torch.equal(fade_in(0.0, low, high), low)
    assert torch.equal(fade_in(1.0, low, high), high)
    torch.testing.assert_close(fade_in(0.5, low, high), (low + high) / 2)


def test_networks_fade_from_the_previous_level():
    torch.manual_seed(0)
    G, D = ProGenerator(8, 1, 16, 4), ProDiscriminator(1, 16, 4)
    z = torch.randn(4, 8)
    # alpha 0: G is the previous level, upsampled; D sees the image through the old fromRGB.
    up = F.interpolate(G(z, 1, 1.0), scale_factor=2, mode="nearest")
    assert torch.equal(G(z, 2, 0.0), up)
    x = torch.randn(4, 1, 16, 16)
    assert torch.equal(D(x, 2, 0.0), D(F.avg_pool2d(x, 2), 1, 1.0))
    assert not torch.allclose(G(z, 2, 1.0), up)
    with pytest.raises(GanforgeError, match="takes 8 px"):
        D(x, 1)


def test_resolutions_and_growth_schedule():
    assert resolutions(28) == [7, 14, 28] and resolutions(32) == [4, 8, 16, 32]
    assert resolutions(8) == [4, 8] and resolutions(64)[0] == 4 and resolutions(6) == [6]
    # 28 px, 500 steps: 5 phases of 100 (7 stable, 14 fade + stable, 28 fade + stable).
    expected = {0: (0, 1.0), 99: (0, 1.0), 100: (1, 0.0), 150: (1, 0.5), 199: (1, 0.99),
                200: (1, 1.0), 300: (2, 0.0), 375: (2, 0.75), 400: (2, 1.0), 499: (2, 1.0)}
    for step, phase in expected.items():
        assert growth_phase(step, 500, levels=3) == pytest.approx(phase), step
    # 32 px, 7 phases; 703 // 7 = 100, the last phase takes the 3 left over.
    sizes = resolutions(32)
    got = [(sizes[lv], a) for lv, a in (growth_phase(s, 703, 4) for s in range(0, 703, 50))]
    assert [r for r, _ in got] == [4, 4, 8, 8, 8, 8, 16, 16, 16, 16, 32, 32, 32, 32, 32]
    assert growth_phase(650, 703, 4) == (3, 1.0) and growth_phase(702, 703, 4) == (3, 1.0)
    # Fixed phase lengths: growth ends after 6 phases whatever the total.
    assert growth_phase(70, 10_000, 4, phase_steps=20) == (2, 0.5)
    assert growth_phase(9_999, 10_000, 4, phase_steps=20) == (3, 1.0)
    assert growth_phase(0, 3, 1) == (0, 1.0) and growth_phase(2, 3, 1) == (0, 1.0)


def test_progan_defaults_and_refusals(tmp_path):
    cfg = tiny_config("progan", tmp_path)
    assert (cfg.settings.loss, cfg.settings.gp_weight, cfg.lr, cfg.beta1, cfg.beta2, cfg.ema) == (
        "wasserstein", 10.0, 1e-3, 0.0, 0.99, 0.995)
    spec = DataSpec(img_channels=1, img_size=16)
    method = METHODS.get("progan")(cfg, spec)
    assert method.settings.drift == 0.001 and method.settings.phase_steps == 0
    # Its own networks: the backbone knobs are not among its settings.
    with pytest.raises(GanforgeError, match="--arch does not apply to progan"):
        tiny_config("progan", tmp_path, arch="dcgan")
    with pytest.raises(GanforgeError, match="--d-norm does not apply to progan"):
        tiny_config("progan", tmp_path, d_norm="spectral")


def test_losses_work_at_the_level_resolution(tmp_path, digits):
    method = METHODS.get("progan")(tiny_config("progan", tmp_path),
                                   DataSpec(img_channels=1, img_size=16))
    batch = {"x": digits.images[:8].float() / 127.5 - 1}
    for level, alpha in [(0, 1.0), (1, 0.3), (2, 0.7), (2, 1.0)]:
        method.level, method.alpha = level, alpha
        real = method.real_at_level(batch["x"])
        assert real.shape[-1] == method.resolution == 4 * 2 ** level
        assert method.generate(8).shape == real.shape
        assert method.sample(3).shape == (3, 1, 16, 16)  # full size outside the losses
        d_loss, logs = method.d_loss(batch)
        g_loss, _ = method.g_loss(batch)
        assert torch.isfinite(d_loss) and torch.isfinite(g_loss) and logs["gp"] >= 0
        assert logs["resolution"] == 4 * 2 ** level and logs["alpha"] == pytest.approx(alpha)
    # During a fade-in, reals blend with their half-resolution selves as G's output does.
    method.level, method.alpha = 1, 0.25
    x8 = F.avg_pool2d(batch["x"], 2)
    low = F.interpolate(F.avg_pool2d(x8, 2), scale_factor=2, mode="nearest")
    torch.testing.assert_close(method.real_at_level(batch["x"]), 0.25 * x8 + 0.75 * low)


@pytest.mark.parametrize("size", [8, 16])
def test_progan_grows_through_every_level_on_digits(size, tmp_path, digits):
    from ganforge.data import load_dataset

    data = digits if size == 16 else load_dataset("digits", image_size=8)
    cfg = tiny_config("progan", tmp_path, image_size=size, steps=10, sample_every=5,
                      checkpoint_every=10)
    trainer = Trainer(cfg, dataset=data)
    run_dir = trainer.fit()
    rows = read_log(run_dir / "log.jsonl")
    assert all(math.isfinite(r[k]) for r in rows for k in ("d_loss", "g_loss", "gp", "drift"))
    assert rows[0]["resolution"] == 4 and rows[-1]["resolution"] == size
    assert trainer.samples(4).shape == (4, 1, size, size)
    stages = trainer.method.stage_pictures(3, G=trainer.sampling_G)
    assert [label for label, _ in stages] == [f"{r}px" for r in resolutions(size)]
    assert all(x.shape == (3, 1, size, size) for _, x in stages)
    assert (run_dir / "stages.png").exists()


def test_progan_trains_at_28_px_from_7(tmp_path, fake28):
    cfg = tiny_config("progan", tmp_path, dataset="fake", image_size=28, steps=5, batch_size=8,
                      sample_every=5)
    trainer = Trainer(cfg, dataset=fake28)
    trainer.fit()
    rows = read_log(trainer.run_dir / "log.jsonl")
    assert [r["resolution"] for r in rows] == [7, 14, 14, 28, 28]
    assert all(math.isfinite(r["d_loss"]) for r in rows)
    assert trainer.samples(2).shape == (2, 1, 28, 28)


@pytest.mark.parametrize("restart", ["phase", "never"])
def test_optimizers_restart_at_every_new_phase(restart, tmp_path, digits):
    # 16 px, 10 steps: five phases of 2 steps, starting at steps 0, 2, 4, 6 and 8.
    cfg = tiny_config("progan", tmp_path, steps=10, sample_every=100,
                      **{"optimizer_restart": restart})
    trainer = Trainer(cfg, dataset=digits)
    counts = []
    for _ in range(10):
        trainer.train_step()
        # The largest count: a block left behind (an old fromRGB) is no longer stepped.
        counts.append(max(int(s["step"]) for s in trainer.optimizers["D"].state.values()))
    if restart == "phase":
        assert counts == [1, 2] * 5
    else:
        assert counts == list(range(1, 11))
    with pytest.raises(GanforgeError, match="optimizer-restart"):
        Trainer(tiny_config("progan", tmp_path, **{"optimizer_restart": "level"}),
                dataset=digits)


@pytest.mark.parametrize("until", [6, 7])
def test_resume_mid_growth_equals_an_unbroken_run(until, tmp_path, digits):
    # 16 px, 10 steps: phases of 2 steps; step 6 starts the fade-in of 16 px (the optimisers
    # restart there), step 7 is half-way through it.
    fields = dict(steps=10, ema=0.9, sample_every=100, checkpoint_every=100)
    straight = Trainer(tiny_config("progan", tmp_path / "a", **fields), dataset=digits)
    straight.fit()
    first = Trainer(tiny_config("progan", tmp_path / "b", **fields), dataset=digits)
    first.fit(until=until)
    assert growth_phase(first.step, 10, levels=3) == (2, (until - 6) / 2)
    resumed = Trainer.resume(tmp_path / "b" / "progan", dataset=digits)
    resumed.fit()
    a, _ = straight.state_tensors_and_json()
    b, _ = resumed.state_tensors_and_json()
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


def test_loading_a_run_stopped_mid_growth_samples_at_its_level(tmp_path, digits):
    trainer = Trainer(tiny_config("progan", tmp_path, steps=10, sample_every=100),
                      dataset=digits)
    trainer.fit(until=5)  # the last step trained was step 4: stable at 8 px
    model = ganforge.load(trainer.run_dir, device="cpu")
    assert (model.method.level, model.method.alpha) == (1, 1.0)
    images = model.sample(4, seed=0)
    assert images.shape == (4, 1, 16, 16)
    # Nearest-upsampled from 8 px: every 2x2 block is one pixel.
    blocks = F.interpolate(images[..., ::2, ::2], scale_factor=2, mode="nearest")
    assert torch.equal(images, blocks)
    # The EMA generator at the level the run reached, as the trainer sampled it.
    with torch.no_grad():
        expected = trainer.method.sample(4, torch.Generator().manual_seed(0),
                                         G=trainer.sampling_G)
    torch.testing.assert_close(images, expected.add(1).div(2).clamp(0, 1))
