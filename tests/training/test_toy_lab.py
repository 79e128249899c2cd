"""The mode-collapse lab: training on the 2-D mixtures, its pictures, metrics and errors."""

import json

import pytest
import torch
from PIL import Image

import ganforge
from ganforge.cli import main
from ganforge.configure import configure
from ganforge.data import PointBatcher, ToyMixture
from ganforge.errors import GanforgeError
from ganforge.metrics.modes import point_metrics
from ganforge.training import Trainer


def toy_config(tmp_path, name="toy", **kw):
    fields = dict(dataset="ring8", width=16, latent_dim=4, batch_size=64, steps=12, log_every=3,
                  sample_every=4, eval_every=4, eval_n=500, n_samples=300,
                  checkpoint_every=6, device="cpu", seed=3, out=str(tmp_path / name))
    return configure(method=kw.pop("method", "gan"), **{**fields, **kw})


def rows(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_toy_data_sets_get_the_point_backbone_and_lab_defaults():
    cfg = configure(method="sngan", dataset="grid25")
    assert cfg.settings.arch == "toy" and cfg.eval_n == 2500 and cfg.batch_size == 256
    # The preset itself is kept.
    assert cfg.settings.loss == "hinge" and cfg.settings.d_norm == "spectral"
    assert configure(method="sngan", dataset="ring8", arch="toy", width=8).settings.width == 8


def test_toy_run_writes_scatter_frames_gif_and_mode_metrics(tmp_path):
    trainer = Trainer(toy_config(tmp_path))
    run = trainer.fit()
    assert trainer.method.spec.kind == "points"
    assert trainer.samples().shape == (300, 2) and trainer.samples().dtype == torch.float32
    frames = sorted(p.name for p in (run / "samples").iterdir())
    assert frames == ["step_000004.png", "step_000008.png", "step_000012.png"]
    with Image.open(run / "samples.gif") as gif:
        assert gif.n_frames == 3 and gif.size == (384, 384)
    with Image.open(run / "samples.png") as final:
        # Red rings are drawn at the 8 modes on a white background.
        pixels = torch.from_numpy(__import__("numpy").array(final.convert("RGB")))
        assert ((pixels[..., 0] > 200) & (pixels[..., 1] < 80)).sum() > 8
    evaluations = rows(run / "metrics.jsonl")
    assert [r["step"] for r in evaluations] == [4, 8, 12]
    assert {"modes", "high_quality", "mode_kl"} <= set(evaluations[0])
    assert all(0 <= r["modes"] <= 8 and 0 <= r["high_quality"] <= 1 for r in evaluations)
    log = rows(run / "log.jsonl")
    assert "points_per_s" in log[0] and "epoch" not in log[0]


def test_point_metrics_of_the_mixture_itself_and_of_a_collapsed_generator():
    mixture = ToyMixture("grid25")
    real = point_metrics(mixture.sample(2500, torch.Generator().manual_seed(0)), mixture)
    # Within 3 sigma of its mean in 2-D: 1 - exp(-9/2) = 98.9% of a Gaussian's mass.
    assert real["modes"] == 25 and real["high_quality"] == pytest.approx(0.989, abs=0.006)
    assert real["mode_kl"] < 0.02
    collapsed = mixture.centers[7] + 0.01 * torch.randn(2500, 2)
    one = point_metrics(collapsed, mixture)
    assert one["modes"] == 1 and one["mode_kl"] == pytest.approx(torch.log(torch.tensor(25.0)))
    nowhere = point_metrics(torch.full((100, 2), 1.0), mixture)
    assert nowhere["modes"] == 0 and nowhere["high_quality"] == 0


def test_the_evaluation_scores_a_generator_that_draws_the_data_perfectly(tmp_path):
    trainer = Trainer(toy_config(tmp_path, steps=4))
    mixture = trainer.data
    trainer.method.sample = lambda n, generator=None, G=None, condition=None: mixture.sample(
        n, generator)
    trainer.fit()
    last = rows(trainer.run_dir / "metrics.jsonl")[-1]
    assert last["modes"] == 8 and last["high_quality"] > 0.97


def test_toy_run_resumes_exactly(tmp_path):
    straight = Trainer(toy_config(tmp_path, "a"))
    straight.fit()
    first = Trainer(toy_config(tmp_path, "b"))
    first.fit(until=6)
    resumed = Trainer.resume(tmp_path / "b")
    resumed.fit()
    a, _ = straight.state_tensors_and_json()
    b, _ = resumed.state_tensors_and_json()
    for key in a:
        assert torch.equal(a[key], b[key]), key
    assert rows(tmp_path / "a" / "metrics.jsonl") == rows(tmp_path / "b" / "metrics.jsonl")


def test_point_batcher_draws_fresh_reproducible_batches():
    mixture = ToyMixture("ring8")
    a, b = PointBatcher(mixture, 32, "cpu", seed=1), PointBatcher(mixture, 32, "cpu", seed=1)
    first = next(a)["x"]
    assert first.shape == (32, 2) and torch.equal(first, next(b)["x"])
    state = a.state_dict()
    after = next(a)["x"]
    assert not torch.equal(after, first)
    b.load_state_dict(state)
    assert torch.equal(next(b)["x"], after)


@pytest.mark.parametrize("method,fields", [
    ("gan", {"loss": "minimax"}), ("wgan-gp", {}), ("lsgan", {}), ("sngan", {}),
    ("gan", {"minibatch_kernels": 3}), ("wgan", {}),
])
def test_every_lab_variant_trains_on_the_toys(method, fields, tmp_path):
    trainer = Trainer(toy_config(tmp_path, method=method, steps=3, d_steps=1, **fields))
    before = [p.detach().clone() for p in trainer.method.G.parameters()]
    trainer.fit()
    assert any(not torch.equal(p, q) for p, q in zip(before, trainer.method.G.parameters(),
                                                       strict=True))


@pytest.mark.parametrize("fields,message", [
    ({"epochs": 2.0, "steps": None}, "has no epochs; give --steps"),
    ({"arch": "dcgan"}, "the dcgan backbone draws images, but this data set holds 2-D points"),
    ({"eval_metrics": "fid"}, "evaluated with --eval-metrics modes"),
    ({"best_metric": "mnist_fid"}, "choose one of: modes (higher is better)"),
    ({"image_size": 8}, "--image-size does not apply to ring8"),
])
def test_nonsense_for_point_data_is_refused(fields, message, tmp_path):
    with pytest.raises(GanforgeError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Trainer(toy_config(tmp_path, **fields))


def test_cli_trains_samples_and_evaluates_a_toy_run(tmp_path, capsys):
    run = tmp_path / "cli"
    assert main(["train", "--dataset", "ring8", "--steps", "5", "--width", "8", "--batch-size",
                 "32", "--device", "cpu", "--out", str(run)]) == 0
    assert main(["sample", str(run), "--out", str(tmp_path / "s.png")]) == 0
    assert "2500 samples" in capsys.readouterr().out
    with Image.open(tmp_path / "s.png") as picture:
        assert picture.size == (384, 384)
    assert main(["eval", str(run), "--n", "400"]) == 0
    out = capsys.readouterr().out
    assert "modes" in out and "high_quality" in out
    assert json.loads((run / "metrics.json").read_text())["metrics"]["modes"] >= 0
    assert main(["sample", str(run), "--interpolate", "4"]) == 2
    assert "draws 2-D points" in capsys.readouterr().err
    assert ganforge.load(run).sample(10, seed=0).shape == (10, 2)


def test_time_limit_stops_with_a_checkpoint_and_the_run_resumes(tmp_path, capsys):
    trainer = Trainer(toy_config(tmp_path, "timed", steps=10_000, time_limit=0.05))
    trainer.fit()
    assert trainer.timed_out and 0 < trainer.step < 10_000
    assert trainer.last_checkpoint_step == trainer.step
    assert rows(trainer.run_dir / "metrics.jsonl")[-1]["step"] == trainer.step
    resumed = Trainer.resume(trainer.run_dir, steps=trainer.step + 2)
    resumed.fit()
    assert resumed.step == trainer.step + 2 and not resumed.timed_out
    assert resumed.cfg.time_limit is None  # the limit bounded the first session only
    with pytest.raises(GanforgeError, match="--time-limit is in seconds"):
        Trainer(toy_config(tmp_path, "bad", time_limit=0))
