"""Metrics during training (training/evaluation.py): metrics.jsonl, the best checkpoint, and
evaluation leaving the training itself, and its exact resume, untouched."""

import json

import pytest
import torch

from ganforge.errors import GanforgeError
from ganforge.inference import load
from ganforge.metrics.sources import sample_uint8
from ganforge.runs import checkpoint as ckpt
from ganforge.training import Trainer
from ganforge.training.evaluation import BEST_CHECKPOINT, METRICS_LOG, PeriodicEvaluation
from tests.training.test_trainer import all_state, config

EVAL = dict(eval_every=2, eval_n=64, eval_metrics="mnist-fid,mnist-is",
            best_metric="mnist_fid")


@pytest.fixture(autouse=True)
def _cache_in_tmp(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def rows(run_dir):
    return [json.loads(line) for line in (run_dir / METRICS_LOG).read_text().splitlines()]


def test_resume_with_evaluation_is_exact_and_evaluation_changes_no_weights(tmp_path, digits):
    # No EMA: the live G, with batch norm, is evaluated and must be left as it was (the EMA
    # path is checked in test_evaluation_samples_the_ema_generator_...).
    short = dict(method="gan", ema=None, steps=6)
    plain = Trainer(config(tmp_path, "plain", **short), dataset=digits)
    plain.fit()
    straight = Trainer(config(tmp_path, "a", **short, **EVAL), dataset=digits)
    straight.fit()
    first = Trainer(config(tmp_path, "b", **short, **EVAL), dataset=digits)
    first.fit(until=3)
    resumed = Trainer.resume(tmp_path / "b", dataset=digits)
    resumed.fit()
    (a, state_a), (b, state_b), (p, _) = all_state(straight), all_state(resumed), all_state(plain)
    for key in a:
        assert torch.equal(a[key], b[key]), key
        assert torch.equal(a[key], p[key]), key
    assert rows(tmp_path / "a") == rows(tmp_path / "b")
    assert [r["step"] for r in rows(tmp_path / "a")] == [2, 4, 6]
    assert state_a["evaluation"] == state_b["evaluation"]


def test_best_checkpoint_holds_the_best_row_and_the_last_step_is_evaluated(tmp_path, digits):
    trainer = Trainer(config(tmp_path, "best", method="gan", steps=5, **EVAL), dataset=digits)
    trainer.fit()
    table = rows(tmp_path / "best")
    assert [r["step"] for r in table] == [2, 4, 5]
    best = min(table, key=lambda r: r["mnist_fid"])
    _, state = ckpt.load_checkpoint(tmp_path / "best" / BEST_CHECKPOINT)
    assert state["step"] == best["step"]
    assert state["evaluation"] == {"best_metric": "mnist_fid", "best_value": best["mnist_fid"],
                                   "best_step": best["step"]}
    assert not list((tmp_path / "best").glob("*.tmp"))
    # The real statistics went to the (temporary) cache, once.
    assert len(list((tmp_path / "cache" / "ganforge" / "stats").glob("*.safetensors"))) == 1


@pytest.mark.parametrize("best_metric,values,kept", [
    ("mnist_fid", [5.0, 3.0, 4.0, float("nan"), 2.5], [True, True, False, False, True]),
    ("mnist_is_mean", [5.0, 3.0, 6.0, 6.0, 7.0], [True, False, True, False, True]),
])
def test_best_value_follows_the_metric_direction(best_metric, values, kept, tmp_path, digits):
    cfg = config(tmp_path, "dir", **{**EVAL, "best_metric": best_metric})
    evaluation = PeriodicEvaluation(cfg, digits, torch.device("cpu"))
    assert [evaluation._update_best(step, {best_metric: v})
            for step, v in enumerate(values)] == kept
    assert evaluation.best_step == len(values) - 1 and evaluation.best_value == values[-1]


def test_evaluation_samples_the_ema_generator_and_spares_the_global_rng(tmp_path, digits):
    trainer = Trainer(config(tmp_path, "ema", method="gan", steps=4, ema=0.5, eval_every=4,
                             eval_n=32, eval_metrics="mnist-is"), dataset=digits)
    trainer.fit()
    seen = []
    compute = trainer.evaluation._evaluator.compute
    trainer.evaluation._evaluator.compute = lambda fake, real: seen.append(fake) or compute(
        fake, real)
    logged = rows(tmp_path / "ema")
    rng = torch.get_rng_state()
    row = trainer.evaluate()
    assert torch.equal(torch.get_rng_state(), rng)
    assert [r["step"] for r in logged] == [4] and row == logged[0]  # fixed noise: same values
    # The saved run's G is the EMA copy: the same images as the trainer evaluated.
    model = load(tmp_path / "ema", device="cpu")
    assert torch.equal(seen[0], sample_uint8(model.method, 32, trainer.cfg.seed + 2))
    live = sample_uint8(trainer.method, 32, trainer.cfg.seed + 2, G=trainer.method.G.eval())
    assert not torch.equal(seen[0], live)
    assert not (tmp_path / "ema" / BEST_CHECKPOINT).exists()  # no --best-metric


@pytest.mark.parametrize(
    "fields,message",
    [
        (dict(eval_every=0), "--eval-every must be at least 1"),
        (dict(best_metric="mnist_fid"), "--best-metric needs --eval-every N"),
        (dict(eval_metrics="mnist-fid"), "--eval-metrics needs --eval-every N"),
        (dict(eval_every=2, eval_metrics="mnist-fdi"), "unknown metric 'mnist-fdi'"),
        (dict(eval_every=2, eval_metrics="mnist-is", eval_n=5),
         "mnist-is needs at least 10 generated images, got 5"),
        (dict(eval_every=2, eval_metrics="mnist-fid", best_metric="mnist_is_mean"),
         "--best-metric 'mnist_is_mean' is not computed by the evaluation metrics; choose one "
         "of: mnist_fid (lower is better)"),
    ],
)
def test_bad_evaluation_settings_fail_before_training(fields, message, tmp_path, digits):
    with pytest.raises(GanforgeError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Trainer(config(tmp_path, "bad", **fields), dataset=digits)
