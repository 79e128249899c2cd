import json
import warnings

import pytest
import torch

from ganforge.configure import configure
from ganforge.errors import GanforgeError, TrainingDiverged
from ganforge.runs import checkpoint as ckpt
from ganforge.training import Trainer


def config(tmp_path, name, **kw):
    fields = dict(dataset="digits", image_size=16, width=8, latent_dim=8, batch_size=32,
                  steps=8, log_every=2, checkpoint_every=4, sample_every=100, n_samples=16,
                  device="cpu", seed=5, out=str(tmp_path / name))
    return configure(method=kw.pop("method", "dcgan"), **{**fields, **kw})


def all_state(trainer):
    tensors, state = trainer.state_tensors_and_json()
    return tensors, state


@pytest.mark.parametrize("method,ema", [("dcgan", None), ("gan", 0.9), ("dcgan", 0.9)])
def test_interrupted_and_resumed_run_equals_uninterrupted(method, ema, tmp_path, digits):
    straight = Trainer(config(tmp_path, "a", method=method, ema=ema), dataset=digits)
    straight.fit()
    first = Trainer(config(tmp_path, "b", method=method, ema=ema), dataset=digits)
    first.fit(until=3)
    resumed = Trainer.resume(tmp_path / "b", dataset=digits)
    assert resumed.step == 3
    resumed.fit()
    a, state_a = all_state(straight)
    b, state_b = all_state(resumed)
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key
    assert state_a["optimizers"] == state_b["optimizers"]
    assert resumed.optimizers["G"].param_groups[0]["betas"] == (0.5, 0.999)
    rows = [json.loads(line) for line in (tmp_path / "b" / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [2, 3, 4, 6, 8]


def test_resume_can_extend_the_run(tmp_path, digits):
    Trainer(config(tmp_path, "r", steps=2), dataset=digits).fit()
    trainer = Trainer.resume(tmp_path / "r", steps=5, dataset=digits)
    trainer.fit()
    _, state = ckpt.load_checkpoint(tmp_path / "r" / ckpt.CHECKPOINT)
    assert state["step"] == 5


def test_a_run_keeps_its_method_settings_when_their_defaults_change(tmp_path, digits,
                                                                    monkeypatch):
    from ganforge.methods import METHODS

    infogan = METHODS.get("infogan")
    Trainer(config(tmp_path, "o", method="infogan", steps=1), dataset=digits).fit()
    written = json.loads((tmp_path / "o" / "config.json").read_text())["config"]
    assert {k: written[k] for k in ("codes", "info_weight", "cont_loss")} == {
        "codes": "cat:10,cont:2", "info_weight": 1.0, "cont_loss": "mse"}
    monkeypatch.setattr(infogan, "defaults", {**infogan.defaults, "info_weight": 2.0})
    resumed = Trainer.resume(tmp_path / "o", steps=2, dataset=digits)
    assert resumed.method.settings.info_weight == written["info_weight"]
    fresh = Trainer(config(tmp_path, "p", method="infogan", steps=1), dataset=digits)
    assert fresh.method.settings.info_weight == 2 * written["info_weight"]


def test_nan_loss_stops_and_keeps_last_good_checkpoint(tmp_path, digits):
    trainer = Trainer(config(tmp_path, "nan", steps=20, log_every=5, checkpoint_every=5),
                      dataset=digits)
    d_loss = trainer.method.d_loss

    def poisoned(batch):
        loss, logs = d_loss(batch)
        return (loss * float("nan") if trainer.step >= 7 else loss), logs

    trainer.method.d_loss = poisoned
    with pytest.raises(TrainingDiverged, match=r"between steps 5 and 10.*checkpoint \(step 5\)"):
        trainer.fit()
    tensors, state = ckpt.load_checkpoint(tmp_path / "nan" / ckpt.CHECKPOINT)
    assert state["step"] == 5
    assert all(torch.isfinite(t).all() for k, t in tensors.items() if t.is_floating_point())


def test_checkpoint_is_atomic_and_corruption_is_reported(tmp_path, digits):
    trainer = Trainer(config(tmp_path, "c", steps=2), dataset=digits)
    trainer.fit()
    path = tmp_path / "c" / ckpt.CHECKPOINT
    assert not list((tmp_path / "c").glob("*.tmp"))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(GanforgeError, match="checkpoint.safetensors is truncated or corrupt"):
        Trainer.resume(tmp_path / "c", dataset=digits)


def test_checkpoint_holds_no_pickle(tmp_path, digits):
    Trainer(config(tmp_path, "p", steps=2, ema=0.99), dataset=digits).fit()
    run = tmp_path / "p"
    assert sorted(p.name for p in run.iterdir() if p.is_file()) == [
        ".lock", "README.md", "checkpoint.safetensors", "config.json", "log.jsonl",
        "samples.png", "state.json"]
    tensors, state = ckpt.load_checkpoint(run / ckpt.CHECKPOINT)
    # "augment": ADA's probability p, on by default for dcgan on the digits
    assert {"G", "D", "G_ema", "ema", "augment", "optim", "rng", "batcher"} == {
        k.split(".")[0] for k in tensors}
    assert state["step"] == 2 and json.loads((run / "config.json").read_text())["method"] == "dcgan"


def test_new_run_refuses_to_overwrite_an_existing_one(tmp_path, digits):
    Trainer(config(tmp_path, "o", steps=1), dataset=digits).fit()
    with pytest.raises(GanforgeError, match="already holds a run .* continue it with --resume"):
        Trainer(config(tmp_path, "o", steps=1), dataset=digits).fit()


def test_ema_tracks_generator(tmp_path, digits):
    trainer = Trainer(config(tmp_path, "e", steps=3, ema=0.5), dataset=digits)
    before = [p.clone() for p in trainer.ema.module.parameters()]
    trainer.fit()
    after = list(trainer.ema.module.parameters())
    live = list(trainer.method.G.parameters())
    assert any(not torch.equal(b, a) for b, a in zip(before, after, strict=True))
    assert any(not torch.equal(a, p) for a, p in zip(after, live, strict=True))


@pytest.mark.filterwarnings("ignore:--precision bf16")  # emulated on CPUs without it: slow, right
@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_mixed_precision_trains(precision, tmp_path, digits):
    trainer = Trainer(config(tmp_path, precision, steps=2, precision=precision), dataset=digits)
    trainer.fit()
    assert trainer.step == 2


def cpu_bf16(monkeypatch, native: bool) -> None:
    """Make this CPU look as if it had (or lacked) AVX512-BF16; AMX absent either way."""
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: native, raising=False)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False, raising=False)


@pytest.mark.parametrize("native,resolved", [(True, "bf16"), (False, "fp32")])
def test_auto_precision_is_bf16_only_where_the_cpu_has_it(native, resolved, monkeypatch,
                                                          tmp_path, digits, capsys):
    cpu_bf16(monkeypatch, native)
    trainer = Trainer(config(tmp_path, "auto", steps=1, precision="auto"), dataset=digits)
    trainer.fit()
    # The run records what it trained in: a resume on another machine repeats it.
    saved = json.loads((tmp_path / "auto" / "config.json").read_text())["config"]
    assert trainer.cfg.precision == saved["precision"] == resolved
    assert Trainer.resume(tmp_path / "auto", dataset=digits).cfg.precision == resolved
    assert f"--precision auto: {resolved}" in capsys.readouterr().err


def test_bf16_on_a_cpu_without_it_is_warned_about(monkeypatch, tmp_path, digits):
    cpu_bf16(monkeypatch, False)
    with pytest.warns(UserWarning, match="no AVX512-BF16 or AMX.*--precision auto"):
        Trainer(config(tmp_path, "emulated", steps=1, precision="bf16"), dataset=digits)
    cpu_bf16(monkeypatch, True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Trainer(config(tmp_path, "native", steps=1, precision="bf16"), dataset=digits)
