"""LAPGAN: the Laplacian pyramid, the level networks, training every level at once, sampling
coarse to fine, and save/load."""

import math

import pytest
import torch

import ganforge
from ganforge.data import DataSpec, load_dataset
from ganforge.errors import GanforgeError
from ganforge.methods import METHODS
from ganforge.nn.pyramid import (
    downsample,
    gaussian_pyramid,
    laplacian_pyramid,
    pyramid_sizes,
    reconstruct,
    upsample,
)
from ganforge.training import Trainer
from ganforge.training.log import read_log
from tests.methods.test_methods import tiny_config


@pytest.fixture(scope="module")
def digits8():
    return load_dataset("digits", image_size=8)


def build(tmp_path, img_size=28, channels=1, **kw):
    cfg = tiny_config("lapgan", tmp_path, **kw)
    return METHODS.get("lapgan")(cfg, DataSpec(img_channels=channels, img_size=img_size))


# ---- the pyramid ------------------------------------------------------------------------------

@pytest.mark.parametrize(("size", "sizes"), [(28, [28, 14, 7]), (32, [32, 16, 8, 4]),
                                             (8, [8, 4]), (16, [16, 8, 4]), (7, [7])])
def test_pyramid_sizes_halve_while_even_and_at_least_4(size, sizes):
    assert pyramid_sizes(size) == sizes
    assert pyramid_sizes(size, levels=1) == [size]


def test_pyramid_sizes_refuse_too_many_levels():
    assert pyramid_sizes(32, levels=3) == [32, 16, 8]
    with pytest.raises(GanforgeError, match="1 to 3 levels.*28 -> 14 -> 7.*got 4"):
        pyramid_sizes(28, levels=4)


@pytest.mark.parametrize(("size", "channels"), [(28, 1), (32, 3), (8, 1)])
def test_reconstruct_undoes_the_laplacian_pyramid(size, channels):
    x = torch.rand(3, channels, size, size, generator=torch.Generator().manual_seed(0)) * 2 - 1
    levels = len(pyramid_sizes(size))
    pyramid = laplacian_pyramid(x, levels)
    assert [p.shape[-1] for p in pyramid] == pyramid_sizes(size)
    assert torch.equal(pyramid[-1], gaussian_pyramid(x, levels)[-1])
    assert torch.allclose(reconstruct(pyramid), x, atol=1e-6, rtol=0)
    # The residuals are band-pass: they carry the detail, not the image's mean.
    assert pyramid[0].abs().mean() < x.abs().mean()


def test_downsample_is_the_mean_of_2x2_blocks_and_upsample_is_bilinear():
    x = torch.randn(2, 3, 6, 4)
    blocks = x.view(2, 3, 3, 2, 2, 2).mean(dim=(3, 5))  # written out: [.., h, 2, w, 2]
    assert torch.allclose(downsample(x), blocks, atol=1e-6)
    with pytest.raises(GanforgeError, match="even sizes"):
        downsample(torch.zeros(1, 1, 7, 7))
    # Bilinear with half-pixel centres: [0, 1] -> [0, 1/4, 3/4, 1] along each axis.
    ramp = torch.tensor([[0.0, 1.0], [0.0, 1.0]]).view(1, 1, 2, 2)
    assert torch.allclose(upsample(ramp, 4)[0, 0, 0], torch.tensor([0.0, 0.25, 0.75, 1.0]))
    flat = torch.full((1, 1, 7, 7), 0.3)
    assert torch.allclose(upsample(flat, 14), torch.full((1, 1, 14, 14), 0.3))


# ---- the networks -------------------------------------------------------------------------

def test_level_networks_have_the_pyramids_shapes(tmp_path):
    method = build(tmp_path, img_size=28)
    assert method.sizes == [28, 14, 7]
    assert len(method.G.residual) == 2 and len(method.D) == 3
    groups = method.groups()
    assert groups["D"] == list(method.D)
    assert set(groups["G"]) == {*method.G.residual, method.G.coarse}
    n, d = 5, method.settings.latent_dim
    for k, size in enumerate([28, 14]):
        low = torch.randn(n, 1, size, size)
        h = method.G.residual[k](torch.randn(n, d), low)
        assert h.shape == (n, 1, size, size)
        assert method.D[k](low + h, low).shape == (n,)
        assert method.D[k].features(low + h, low).shape == (n, method.D[k].feature_dim)
    assert method.G.coarse(torch.randn(n, d)).shape == (n, 1, 7, 7)
    assert method.D[2](torch.randn(n, 1, 7, 7)).shape == (n,)
    # The latent holds one noise vector per level; the pyramid draws full-size images.
    z = method.sample_latent(n)
    assert z.shape == (n, 3 * d)
    levels = method.G.levels(z)
    assert [lv["image"].shape[-1] for lv in levels] == [7, 14, 28]
    assert all(lv["image"].abs().max() <= 1 for lv in levels)
    for coarse, fine in zip(levels, levels[1:], strict=False):
        assert torch.equal(fine["low"], upsample(coarse["image"], fine["image"].shape[-1]))
    with pytest.raises(GanforgeError, match="8 noise values for each of its 3 levels, 24"):
        method.G(torch.randn(n, d))


def test_each_level_plays_on_the_real_pyramid(tmp_path):
    method = build(tmp_path, img_size=32, channels=3, **{"levels": 3})
    real = torch.rand(4, 3, 32, 32) * 2 - 1
    games = method.games(real)
    pyramid = laplacian_pyramid(real, 3)
    for (k, (level, low, classes), real_k, fake_k), target in zip(games, pyramid, strict=True):
        size = method.sizes[k]
        assert classes is None
        assert level == k and real_k.shape == fake_k.shape == (4, 3, size, size)
        if low is None:  # the coarsest level: an ordinary GAN on the small image
            assert torch.equal(real_k, target)
        else:  # real residual = I_k - u(d(I_k)); D judges images against the real l_k
            assert torch.allclose(real_k - low, target, atol=1e-6)


def test_unsupported_settings_are_refused(tmp_path, digits8):
    with pytest.raises(GanforgeError, match="--feature-matching does not apply to lapgan"):
        build(tmp_path, feature_matching=True)
    with pytest.raises(GanforgeError, match="1 to 3 levels"):
        build(tmp_path, **{"levels": 4})
    with pytest.raises(GanforgeError, match="coarsest level is 7px.*DCGAN needs"):
        build(tmp_path, arch="dcgan")
    with pytest.raises(GanforgeError, match="lapgan trains on images; ring8 holds 2-D points"):
        Trainer(tiny_config("lapgan", tmp_path, dataset="ring8", image_size=None))


# ---- training, sampling, save/load ----------------------------------------------------------

@pytest.mark.parametrize("data", ["digits8", "fake28"])
def test_lapgan_trains_samples_and_loads(data, tmp_path, request):
    dataset = request.getfixturevalue(data)
    size = dataset.img_size
    cfg = tiny_config("lapgan", tmp_path, image_size=size, steps=4, ema=0.9, sample_every=4,
                      checkpoint_every=4)
    trainer = Trainer(cfg, dataset=dataset)
    run_dir = trainer.fit()
    rows = read_log(run_dir / "log.jsonl")
    sizes = trainer.method.sizes
    keys = [f"{loss}_{s}" for s in sizes for loss in ("d_loss", "g_loss")]
    assert all(math.isfinite(r[k]) for r in rows for k in keys + ["d_loss", "g_loss"])
    assert all(len({r[k] for r in rows}) > 1 for k in keys), "a level's losses did not move"
    assert math.isclose(rows[-1]["d_loss"], sum(rows[-1][f"d_loss_{s}"] for s in sizes),
                        rel_tol=1e-5)
    method = trainer.method.eval()
    fakes = method.sample(6, torch.Generator().manual_seed(3), G=trainer.sampling_G)
    assert fakes.shape == (6, 1, size, size) and fakes.abs().max() <= 1
    again = method.sample(6, torch.Generator().manual_seed(3), G=trainer.sampling_G)
    assert torch.equal(fakes, again)
    # Loading rebuilds the pyramid from config.json and samples what the run's EMA G drew.
    model = ganforge.load(run_dir, device="cpu")
    loaded = model.sample(6, seed=3)
    assert torch.allclose(loaded, fakes.add(1).div(2), atol=1e-6)
    # The level picture: the coarse sample, then input, residual and result per finer level.
    rows = method.stage_pictures(4, torch.Generator().manual_seed(3), G=trainer.sampling_G)
    finer = [f"{s}px {what}" for s in reversed(sizes[:-1])
             for what in ("u(coarser)", "residual", "result")]
    assert [label for label, _ in rows] == [f"{sizes[-1]}px sample", *finer]
    assert all(x.shape == (4, 1, size, size) for _, x in rows)
    four = method.sample(4, torch.Generator().manual_seed(3), G=trainer.sampling_G)
    assert torch.equal(rows[-1][1], four)


@pytest.mark.parametrize("options", [
    {"loss": "hinge", "d_norm": "spectral", "minibatch_kernels": 4},
    {"loss": "relativistic", "r1_weight": 1.0, "d_norm": "none", "label_smoothing": 0.0},
    {"gp_weight": 10.0, "d_norm": "layer", "loss": "wasserstein"},
    {"label_smoothing": 0.1, "clip": 0.5, "g_norm": "virtual"},
])
def test_stabilisers_apply_at_every_level(options, tmp_path, digits8):
    trainer = Trainer(tiny_config("lapgan", tmp_path, image_size=8, steps=2, **options),
                      dataset=digits8)
    trainer.fit()
    row = read_log(trainer.run_dir / "log.jsonl")[-1]
    assert math.isfinite(row["d_loss"]) and math.isfinite(row["g_loss"])
    penalty = "gp" if "gp_weight" in options else "r1" if "r1_weight" in options else None
    if penalty:
        assert {f"{penalty}_8", f"{penalty}_4"} <= set(row)
    if "clip" in options:
        assert all(p.abs().max() <= 0.5 for p in trainer.method.D.parameters())


def test_sample_stages_draws_the_pyramid_and_refuses_single_stage_runs(tmp_path, digits8,
                                                                        capsys):
    from PIL import Image

    from ganforge.cli import main

    run_dir = Trainer(tiny_config("lapgan", tmp_path / "lap", image_size=8, steps=2),
                      dataset=digits8).fit()
    assert (run_dir / "stages.png").exists()  # the Trainer's own picture of the levels
    out = tmp_path / "stages.png"
    assert main(["sample", str(run_dir), "--stages", "5", "--out", str(out)]) == 0
    with Image.open(out) as picture, Image.open(run_dir / "stages.png") as trainers:
        assert picture.height == trainers.height  # the same 4 rows: 4px, then 3 at 8px
        assert picture.width < trainers.width  # 5 samples, not 10
    plain = Trainer(tiny_config("gan", tmp_path / "gan", image_size=8, steps=1),
                    dataset=digits8).fit()
    assert not (plain / "stages.png").exists()
    assert main(["sample", str(plain), "--stages", "5", "--out", str(tmp_path / "x.png")]) != 0
    assert "--stages shows the stages of coarse-to-fine" in capsys.readouterr().err


def test_latent_grid_is_refused_for_a_pyramid_with_noise_per_level(tmp_path, digits8):
    run_dir = Trainer(tiny_config("lapgan", tmp_path, image_size=8, steps=1, latent_dim=2),
                      dataset=digits8).fit()
    model = ganforge.load(run_dir, device="cpu")
    with pytest.raises(GanforgeError, match="takes 4 noise values per sample .latent_dim 2, "
                                            "with its other noise"):
        model.latent_grid(3)


# ---- the class-conditional LAPGAN -------------------------------------------------------------

def test_class_conditional_levels_see_the_class(tmp_path):
    cfg = tiny_config("cc-lapgan", tmp_path)
    method = METHODS.get("cc-lapgan")(cfg, DataSpec(img_channels=1, img_size=28, num_classes=10))
    n, d = 4, cfg.settings.latent_dim
    z, low = torch.randn(n, d), torch.randn(n, 1, 28, 28)
    G_k, D_k = method.G.residual[0].eval(), method.D[0].eval()
    threes, sevens = torch.full((n,), 3), torch.full((n,), 7)
    assert not torch.allclose(G_k(z, low, threes), G_k(z, low, sevens))
    assert not torch.allclose(D_k(low, low, threes), D_k(low, low, sevens))
    coarse = method.G.coarse.eval()
    assert not torch.allclose(coarse(z, threes), coarse(z, sevens))
    # Each level's game carries the real images' classes, D's condition and G's with them:
    # the same noise draws other fakes for other classes.
    y, real = torch.tensor([0, 1, 2, 3]), torch.rand(n, 1, 28, 28) * 2 - 1
    method.eval()
    torch.manual_seed(5)
    games = method.games(real, y)
    torch.manual_seed(5)
    others = method.games(real, (y + 1) % 10)
    torch.manual_seed(5)
    same = method.games(real, y)
    for (k, (level, _, classes), _, fake), other, again in zip(games, others, same, strict=True):
        assert level == k and torch.equal(classes, y) and fake.shape[0] == n
        assert torch.equal(fake, again[3]) and not torch.allclose(fake, other[3])
    with pytest.raises(GanforgeError, match="class-conditional: give the classes"):
        method.G(method.sample_latent(n))
    with pytest.raises(GanforgeError, match="needs a labelled data set"):
        METHODS.get("cc-lapgan")(cfg, DataSpec(img_channels=1, img_size=28))
    plain = build(tmp_path)
    with pytest.raises(GanforgeError, match="draws no classes .train cc-lapgan"):
        plain.G(plain.sample_latent(n), y)


def test_class_conditional_lapgan_trains_and_draws_chosen_classes(tmp_path, digits8):
    run_dir = Trainer(tiny_config("cc-lapgan", tmp_path, image_size=8, steps=3, ema=0.9),
                      dataset=digits8).fit()
    rows = read_log(run_dir / "log.jsonl")
    assert all(math.isfinite(r[k]) for r in rows for k in ("d_loss_8", "d_loss_4", "g_loss"))
    model = ganforge.load(run_dir, device="cpu")
    assert model.num_classes == 10
    sevens = model.sample(5, seed=1, classes=7)
    assert sevens.shape == (5, 1, 8, 8)
    assert torch.equal(sevens, model.sample(5, seed=1, classes=7))
    assert not torch.equal(sevens, model.sample(5, seed=1, classes=2))
    grid, two = model.class_grid(per_class=3), model.class_grid(per_class=3, classes=[1, 2])
    assert grid.dtype == torch.uint8 and grid.shape[1] > two.shape[1]  # 10 rows against 2
    # The last stage row is the sample the same seed draws (classes drawn after the noise).
    method = model.method
    rows = method.stage_pictures(4, torch.Generator().manual_seed(3))
    assert torch.equal(rows[-1][1], method.sample(4, torch.Generator().manual_seed(3)))
    with pytest.raises(GanforgeError, match="class 10 does not exist"):
        model.sample(2, classes=10)


def test_spectral_norm_leaves_the_class_planes_alone(tmp_path):
    from torch.nn.utils import parametrize

    cfg = tiny_config("cc-lapgan", tmp_path, d_norm="spectral", loss="hinge")
    method = METHODS.get("cc-lapgan")(cfg, DataSpec(img_channels=1, img_size=28, num_classes=10))
    D_k = method.D[0]
    assert parametrize.is_parametrized(D_k.body[0], "weight")
    assert not parametrize.is_parametrized(D_k.label, "weight")
    plane = D_k.label.plane(torch.arange(10), torch.zeros(1))
    assert plane.std() > 0.5  # N(0, 1) entries, not divided by the table's norm (~30)
