"""pix2pix, CycleGAN (and its DualGAN/DiscoGAN presets), UNIT and StarGAN on tiny data."""

import numpy as np
import pytest
import torch
from PIL import Image

import ganforge
from ganforge.cli import main
from ganforge.configure import configure
from ganforge.data import ImageDataset, TranslationData
from ganforge.errors import GanforgeError
from ganforge.losses.translation import cycle_loss, identity_loss
from ganforge.training import Trainer
from ganforge.viz import grid_scale, image_grid

SIZE = 16


def pairs(n=24, paired=True, b_channels=1):
    g = torch.Generator().manual_seed(0)
    a = (torch.rand(n, 1, SIZE, SIZE, generator=g) > 0.7).to(torch.uint8) * 255
    if paired:
        b = (255 - a).expand(-1, b_channels, -1, -1).contiguous()
    else:
        b = torch.randint(0, 256, (n + 5, b_channels, SIZE, SIZE), generator=g,
                          dtype=torch.uint8)
    return TranslationData("tiny", a, b, paired=paired, domain_names=("x", "y"))


def domains(n=24, k=3):
    g = torch.Generator().manual_seed(1)
    images = torch.randint(0, 256, (n, 3, SIZE, SIZE), generator=g, dtype=torch.uint8)
    labels = torch.arange(n) % k
    return ImageDataset("tiny-domains", images, labels, [f"d{i}" for i in range(k)])


def config(tmp_path, method, dataset="edges2mnist", **kw):
    fields = dict(dataset=dataset, width=4, batch_size=2, steps=3, log_every=1,
                  sample_every=100, checkpoint_every=100, device="cpu", seed=2,
                  out=str(tmp_path / method))
    if method in ("pix2pix", "cyclegan", "dualgan", "discogan", "unit"):
        fields["patch"] = 16
    return configure(method=method, **{**fields, **kw})


def changed(before, module) -> bool:
    return any(not torch.equal(a, b) for a, b in zip(before, module.parameters(), strict=True))


CASES = [("pix2pix", "edges2mnist", pairs), ("cyclegan", "digits2mnist", pairs),
         ("dualgan", "digits2mnist", pairs), ("discogan", "digits2mnist", pairs),
         ("unit", "digits2mnist", pairs), ("stargan", "mnist-styles", domains)]


@pytest.mark.parametrize("method,dataset,make", CASES)
def test_a_few_steps_train_both_players_and_translate(method, dataset, make, tmp_path):
    data = make() if make is domains else make(paired=method == "pix2pix")
    trainer = Trainer(config(tmp_path, method, dataset), dataset=data)
    G_before = [p.detach().clone() for p in trainer.method.G.parameters()]
    D_before = [p.detach().clone() for p in trainer.method.D.parameters()]
    trainer.fit()
    assert changed(G_before, trainer.method.G) and changed(D_before, trainer.method.D)
    # Labelled columns (input, output, target or the domains) above the grid: the picture
    # is taller than the bare grid of the same images.
    shown = trainer.method.sample(1)
    bare = image_grid(shown, nrow=trainer.method.display_nrow).shape[1] * grid_scale(SIZE)
    assert Image.open(trainer.run_dir / "samples.png").height > bare
    assert len(trainer.method.display_columns) * 2 == trainer.method.display_nrow or (
        method == "stargan")
    model = ganforge.load(trainer.run_dir)
    if method == "stargan":
        out = model.translate(data.images[:3], to_domain="d2")
        assert out.shape == (3, 3, SIZE, SIZE)
        with pytest.raises(GanforgeError, match="choose one of: d0, d1, d2"):
            model.translate(data.images[:3], to_domain="nowhere")
    else:
        out = model.translate(data.a[:3])
        assert out.shape == (3, 1, SIZE, SIZE) and 0 <= out.min() and out.max() <= 1
        if method != "pix2pix":
            assert model.translate(data.b[:2], "BtoA").shape == (2, 1, SIZE, SIZE)


def test_methods_refuse_data_they_cannot_learn_from(tmp_path):
    with pytest.raises(GanforgeError, match="pix2pix learns from paired images"):
        Trainer(config(tmp_path, "pix2pix", "digits2mnist"), dataset=pairs(paired=False))
    with pytest.raises(GanforgeError, match="cyclegan trains on images of two domains"):
        Trainer(config(tmp_path, "cyclegan", "mnist-styles"), dataset=domains())
    with pytest.raises(GanforgeError,
                       match="stargan trains on images; edges2mnist holds .* mnist-styles"):
        Trainer(config(tmp_path, "stargan", "edges2mnist"), dataset=pairs())
    with pytest.raises(GanforgeError, match="--arch does not apply to cyclegan"):
        Trainer(config(tmp_path, "cyclegan", "digits2mnist", arch="dcgan"),
                dataset=pairs(paired=False))


def test_pix2pix_loss_is_adversarial_plus_lambda_l1(tmp_path):
    trainer = Trainer(config(tmp_path, "pix2pix"), dataset=pairs())
    method = trainer.method
    batch = next(trainer.batcher)
    torch.manual_seed(0)
    loss, logs = method.g_loss(batch)
    torch.manual_seed(0)
    fake = method.G(batch["a"])
    l1 = (fake - batch["b"]).abs().mean()
    adversarial = method.objective.g(method.D(torch.cat([batch["a"], fake], 1)))
    assert torch.allclose(loss, adversarial + 100 * l1, rtol=1e-5)
    assert torch.allclose(logs["l1"], l1)


def test_l1_alone_has_no_discriminator(tmp_path):
    trainer = Trainer(config(tmp_path, "pix2pix", **{"adversarial_weight": 0.0}),
                      dataset=pairs())
    assert set(trainer.optimizers) == {"G"} and not hasattr(trainer.method, "D")
    trainer.fit()
    assert ganforge.load(trainer.run_dir).translate(pairs().a[:1]).shape == (1, 1, SIZE, SIZE)


def test_cyclegan_generator_loss_against_its_terms(tmp_path):
    trainer = Trainer(config(tmp_path, "cyclegan", "digits2mnist"), dataset=pairs(paired=False))
    method = trainer.method
    batch = next(trainer.batcher)
    a, b, G, D = batch["a"], batch["b"], method.G, method.D
    loss, logs = method.g_loss(batch)
    fake_b, fake_a = G["ab"](a), G["ba"](b)
    # Least squares as in the CycleGAN code: E[(D(G(a)) - 1)^2] for each generator.
    adversarial = (D["b"](fake_b) - 1).pow(2).mean() + (D["a"](fake_a) - 1).pow(2).mean()
    cycle = cycle_loss(a, G["ba"](fake_b)) + cycle_loss(b, G["ab"](fake_a))
    identity = identity_loss(b, G["ab"](b)) + identity_loss(a, G["ba"](a))
    assert torch.allclose(loss, adversarial + 10 * cycle + 5 * identity, rtol=1e-5)
    assert torch.allclose(logs["cycle"], cycle, rtol=1e-5)


def test_presets_differ_where_the_papers_do(tmp_path):
    data = pairs(paired=False)
    dual = Trainer(config(tmp_path, "dualgan", "digits2mnist"), dataset=data)
    assert dual.method.settings.loss == "wasserstein" and dual.method.settings.clip == 0.01
    assert dual.method.settings.cycle_weight == 1000 and dual.method.settings.pool_size == 0
    dual.fit()
    assert all(p.abs().max() <= 0.01 + 1e-7 for p in dual.method.D.parameters())
    disco = Trainer(config(tmp_path, "discogan", "digits2mnist"), dataset=data)
    assert disco.method.settings.recon_loss == "l2"
    assert disco.method.settings.generator == "encoder-decoder"


def test_unit_ties_the_shared_layers(tmp_path):
    trainer = Trainer(config(tmp_path, "unit", "digits2mnist"), dataset=pairs(paired=False))
    encoders, x = trainer.method.G["encoders"], next(trainer.batcher)["a"]
    # The shared block's gradient comes from both domains' encodings.
    shared = list(encoders.shared.parameters())
    grads = []
    for encode in (encoders.encode_a, encoders.encode_b):
        encoders.zero_grad()
        encode(x).sum().backward()
        grads.append(shared[0].grad.clone())
    assert grads[0].abs().sum() > 0 and grads[1].abs().sum() > 0
    assert not torch.equal(grads[0], grads[1])


def test_linear_lr_decay_and_exact_resume_with_the_image_pool(tmp_path):
    cfg = config(tmp_path, "cyclegan", "digits2mnist", steps=6, lr_decay_from=0.5,
                 checkpoint_every=3, **{"pool_size": 3, "patch": 16})
    data = pairs(paired=False)
    trainer = Trainer(cfg, dataset=data)
    factors = [trainer.lr_decay.factor(s, trainer.total_steps) for s in (0, 2, 3, 4, 5, 6)]
    assert factors == pytest.approx([1, 1, 1, 2 / 3, 1 / 3, 0])
    trainer.fit(until=3)
    trainer.save()
    trainer.fit()
    assert trainer.optimizers["G"].param_groups[0]["lr"] == pytest.approx(cfg.lr / 3)
    # Resume from step 3 in a fresh run and compare with the unbroken one.
    broken = Trainer(cfg.replace(out=str(tmp_path / "broken")), dataset=data)
    broken.fit(until=3)
    broken.save()
    again = Trainer.resume(tmp_path / "broken", dataset=data)
    again.fit()
    for a, b in zip(trainer.method.state_dict().values(), again.method.state_dict().values(),
                    strict=True):
        assert torch.equal(a, b)


def test_translate_command_writes_outputs_and_a_grid(tmp_path, capsys):
    trainer = Trainer(config(tmp_path, "cyclegan", "digits2mnist"), dataset=pairs(paired=False))
    trainer.fit()
    inputs = tmp_path / "in"
    inputs.mkdir()
    for k in range(3):
        Image.fromarray(np.full((20, 20), 40 * k, dtype=np.uint8)).save(inputs / f"p{k}.png")
    out = tmp_path / "out"
    assert main(["translate", str(trainer.run_dir), "--input", str(inputs), "--out", str(out),
                 "--direction", "BtoA", "--device", "cpu"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["grid.png", "p0.png", "p1.png", "p2.png"]
    assert "translated 3 images (BtoA)" in capsys.readouterr().out
    assert main(["sample", str(trainer.run_dir), "--out", str(tmp_path / "s.png"),
                 "--device", "cpu"]) == 0
    assert Image.open(tmp_path / "s.png").size[0] > Image.open(tmp_path / "s.png").size[1] / 2
    from ganforge.inference.sources import sample_run
    from ganforge.metrics.errors import MetricError

    with pytest.raises(MetricError, match="translates given images"):
        sample_run(trainer.run_dir, 10)


def test_translate_refuses_a_run_that_does_not_translate(tmp_path, digits, capsys):
    cfg = configure(method="dcgan", dataset="digits", image_size=16, width=4, steps=1,
                               batch_size=8, device="cpu", out=str(tmp_path / "dcgan"))
    run = Trainer(cfg, dataset=digits).fit()
    assert main(["translate", str(run), "--input", str(tmp_path), "--out",
                 str(tmp_path / "o")]) != 0
    assert "dcgan run, which does not translate" in capsys.readouterr().err


def test_review_fixes_refuse_what_would_be_ignored_or_crash(tmp_path):
    data = pairs(paired=False)
    with pytest.raises(GanforgeError, match="--gp-weight does not apply to cyclegan"):
        Trainer(config(tmp_path, "cyclegan", "digits2mnist", gp_weight=10.0), dataset=data)
    with pytest.raises(GanforgeError, match="--d-norm layer does not apply"):
        Trainer(config(tmp_path, "cyclegan", "digits2mnist", d_norm="layer"), dataset=data)
    with pytest.raises(GanforgeError, match="--patch 70 needs images of at least 24 px; at 16 px"
                                            " choose 16"):
        Trainer(config(tmp_path, "cyclegan", "digits2mnist", **{"patch": 70}), dataset=data)
    # Fewer images than the display shows are repeated, not refused.
    few = TranslationData("few", data.a[:3], data.b[:3], paired=False)
    Trainer(config(tmp_path, "unit", "digits2mnist", batch_size=1), dataset=few)


def test_direction_swaps_the_domains_and_translate_checks_its_options(tmp_path):
    data = pairs(paired=True, b_channels=3)
    trainer = Trainer(config(tmp_path, "pix2pix", direction="BtoA", steps=1), dataset=data)
    assert trainer.spec.img_channels == 3 and trainer.spec.b_channels == 1
    trainer.fit()
    model = ganforge.load(trainer.run_dir)
    assert model.translate(data.b[:2]).shape == (2, 1, SIZE, SIZE)
    with pytest.raises(GanforgeError, match="--to-domain applies to stargan runs"):
        model.translate(data.b[:2], to_domain="x")


def test_cyclegan_least_squares_generator_term_is_unhalved(tmp_path):
    trainer = Trainer(config(tmp_path, "cyclegan", "digits2mnist"), dataset=pairs(paired=False))
    logits = torch.zeros(2, 1, 3, 3)
    assert trainer.method.adv_g(logits) == pytest.approx(1.0)  # E[(D - 1)^2], as CycleGAN's
