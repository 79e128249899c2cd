"""Fault injection, training side (issue #23, items 1-5 and 9): poisoned and runaway weights,
signals at and inside steps, two trainers on one directory, tampered run files, leftovers.

Each test injects one fault the way a user or an operator meets it and checks what must hold:
the right error in one line, and no lost or corrupted work. The command-line faults, and the
signals sent to a real ``ganforge train`` process, are in tests/test_cli_faults.py.
"""

import json
import math
import os
import shutil
import signal
import subprocess
import sys

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from ganforge.errors import GanforgeError, TrainingDiverged
from ganforge.inference import load
from ganforge.runs import checkpoint as ckpt
from ganforge.runs.directory import LOCK_FILE, RunLock
from ganforge.training import Trainer
from ganforge.training.log import read_log
from tests.training.test_trainer import config


@pytest.fixture(autouse=True)
def _one_thread(_few_threads):
    # These networks are tiny: one thread runs their steps fastest, where two spin-wait on
    # each other whenever the cores are busy with other work.
    torch.set_num_threads(1)


def finite_weights(tensors):
    return all(torch.isfinite(t).all() for t in tensors.values() if t.is_floating_point())


def assert_same_state(a: Trainer, b: Trainer) -> None:
    """Every tensor of the two trainers' checkpoints equal, bit for bit, and the same JSON."""
    (ta, sa), (tb, sb) = a.state_tensors_and_json(), b.state_tensors_and_json()
    assert ta.keys() == tb.keys()
    for key in ta:
        assert torch.equal(ta[key], tb[key]), key
    assert sa == sb


def poison_generator_at(trainer: Trainer, step: int) -> None:
    """NaN into G's weights by the generator update of ``step`` (1-based), after that step's
    losses were computed: the losses the old guard read stay finite."""
    after_update = trainer.method.after_update

    def poisoned(group):
        after_update(group)
        if group == "G" and trainer.step + 1 == step:
            with torch.no_grad():
                next(trainer.method.G.parameters()).fill_(math.nan)

    trainer.method.after_update = poisoned


# ---- 1. the guard: no poisoned checkpoint ------------------------------------------------------


def test_nan_weights_from_the_last_update_stop_the_run_and_keep_the_last_good_checkpoint(
        tmp_path, digits):
    # The audit's `--lr 1e7 --checkpoint-every 1`: the update of step 5 poisons the weights.
    trainer = Trainer(config(tmp_path, "n", steps=20, log_every=100, checkpoint_every=1),
                      dataset=digits)
    poison_generator_at(trainer, 5)
    with pytest.raises(TrainingDiverged, match=r"weights became NaN or inf between steps 4 "
                       r"and 5.*checkpoint \(step 4\) is kept") as info:
        trainer.fit()
    assert "\n" not in str(info.value)
    tensors, state = ckpt.load_checkpoint(tmp_path / "n" / ckpt.CHECKPOINT)
    assert state["step"] == 4 and finite_weights(tensors)
    assert load(tmp_path / "n", device="cpu").sample(4, seed=0).isfinite().all()


def test_nan_weights_at_the_very_last_step_are_not_saved_as_the_final_checkpoint(
        tmp_path, digits):
    # The audit's `--steps 13`: the run's last update poisons the weights, and the run used to
    # end with exit 0 and a NaN checkpoint.
    trainer = Trainer(config(tmp_path, "l", steps=7, log_every=100, checkpoint_every=4),
                      dataset=digits)
    poison_generator_at(trainer, 7)
    with pytest.raises(TrainingDiverged, match=r"checkpoint \(step 4\) is kept"):
        trainer.fit()
    tensors, state = ckpt.load_checkpoint(tmp_path / "l" / ckpt.CHECKPOINT)
    assert state["step"] == 4 and finite_weights(tensors)
    assert not (tmp_path / "l" / "samples.png").exists()  # no final pictures of NaN weights


def test_runaway_weights_that_stay_finite_stop_the_run(tmp_path, digits):
    # DCGAN at --lr 1e6: batch norm's running variance reaches 1e26 in one step, 1e29 in ten,
    # without a NaN anywhere.
    trainer = Trainer(config(tmp_path, "r", lr=1e6, steps=8, log_every=2), dataset=digits)
    with pytest.raises(TrainingDiverged, match="weights ran away.*beyond 1e\\+08.*no checkpoint"):
        trainer.fit()
    assert not (tmp_path / "r" / ckpt.CHECKPOINT).exists()


def test_a_poisoned_checkpoint_is_never_written_over_a_good_one(tmp_path, digits):
    trainer = Trainer(config(tmp_path, "p", steps=2), dataset=digits)
    trainer.fit()
    path = tmp_path / "p" / ckpt.CHECKPOINT
    good = path.read_bytes()
    tensors, state = trainer.state_tensors_and_json()
    # NaN in the optimiser's moments (Adam's exp_avg_sq overflows first at a huge --lr), then
    # finite weights past the limit.
    moment = next(k for k in tensors if k.startswith("optim.") and "exp_avg_sq" in k)
    for key, value in ((moment, math.nan), ("G.net.1.running_var", 1e12)):
        bad = {**tensors, key: torch.full_like(tensors[key], value)}
        with pytest.raises(TrainingDiverged, match=f"not writing .*{key}"):
            ckpt.save_checkpoint(path, bad, state)
    assert path.read_bytes() == good
    assert not list(path.parent.glob("*.tmp"))


def test_the_guard_reads_the_device_once_per_log_interval_and_never_per_step(
        tmp_path, digits, monkeypatch):
    trainer = Trainer(config(tmp_path, "s", steps=8), dataset=digits)
    reads = []
    for name in ("item", "tolist", "__bool__", "__float__", "__int__"):
        real = getattr(torch.Tensor, name)

        def counted(self, *args, _real=real, _name=name, **kwargs):
            reads.append(_name)
            return _real(self, *args, **kwargs)

        monkeypatch.setattr(torch.Tensor, name, counted)
    for _ in range(3):
        trainer.train_step()
    assert reads == []
    assert trainer.flush_logs() is not None
    assert reads == ["tolist"]


# ---- 2, 3. signals at step boundaries ----------------------------------------------------------


def signal_during_step(trainer: Trainer, step: int, *signals: int) -> None:
    """Deliver ``signals`` to this process in the middle of step ``step`` (1-based), between
    its discriminator and generator updates: the moment a half-saved step used to be written."""
    g_loss = trainer.method.g_loss

    def interrupted(batch):
        if trainer.step + 1 == step:
            for signum in signals:
                os.kill(os.getpid(), signum)
        return g_loss(batch)

    trainer.method.g_loss = interrupted


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_during_step_one_finishes_it_and_resumes_exactly(signum, tmp_path, digits):
    # Ctrl-C during step 1 used to write a step-0 checkpoint that neither --resume nor a fresh
    # start could use.
    straight = Trainer(config(tmp_path, "a", steps=6), dataset=digits)
    straight.fit()
    first = Trainer(config(tmp_path, "b", steps=6), dataset=digits)
    signal_during_step(first, 1, signum)
    handlers = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    first.fit()
    assert first.stopped_by == signum and first.step == 1
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == handlers
    _, state = ckpt.load_checkpoint(tmp_path / "b" / ckpt.CHECKPOINT)
    assert state["step"] == 1
    resumed = Trainer.resume(tmp_path / "b", dataset=digits)
    resumed.fit()
    assert_same_state(straight, resumed)


def test_a_second_ctrl_c_stops_at_once_and_the_last_checkpoint_stands(tmp_path, digits):
    trainer = Trainer(config(tmp_path, "c", steps=8, checkpoint_every=4), dataset=digits)
    signal_during_step(trainer, 6, signal.SIGINT, signal.SIGINT)
    with pytest.raises(KeyboardInterrupt):
        trainer.fit()
    _, state = ckpt.load_checkpoint(tmp_path / "c" / ckpt.CHECKPOINT)
    assert state["step"] == 4  # not the half-done step 6
    lock = RunLock(tmp_path / "c")  # released on the way out
    lock.acquire()
    lock.release()
    assert Trainer.resume(tmp_path / "c", dataset=digits).step == 4


# ---- 4. one trainer per run directory ----------------------------------------------------------


def test_a_second_trainer_on_a_locked_directory_stops_in_one_line(tmp_path, digits):
    (tmp_path / "x").mkdir()
    held = RunLock(tmp_path / "x")
    held.acquire()
    with pytest.raises(GanforgeError, match=r"is in use by another trainer \(pid") as info:
        Trainer(config(tmp_path, "x", steps=2), dataset=digits).fit()
    assert "\n" not in str(info.value)
    assert sorted(p.name for p in (tmp_path / "x").iterdir()) == [LOCK_FILE]  # nothing written
    held.release()
    Trainer(config(tmp_path, "x", steps=2), dataset=digits).fit()


def test_the_lock_of_a_killed_process_is_taken_over(tmp_path, digits):
    run = tmp_path / "k"
    run.mkdir()
    # Another process takes the lock as a trainer does, and is killed with it held.
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import fcntl, os, sys, time; fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT); "
         "fcntl.flock(fd, fcntl.LOCK_EX); os.write(fd, b'pid %d' % os.getpid()); "
         "print('locked', flush=True); time.sleep(60)", str(run / LOCK_FILE)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(GanforgeError, match=f"in use by another trainer \\(pid {holder.pid}"):
            Trainer(config(tmp_path, "k", steps=2), dataset=digits).fit()
    finally:
        holder.kill()
        holder.wait()
    Trainer(config(tmp_path, "k", steps=2), dataset=digits).fit()
    assert f"pid {os.getpid()}" in (run / LOCK_FILE).read_text()


def test_a_fresh_run_never_appends_to_an_unfinished_runs_files(tmp_path, digits):
    run = tmp_path / "u"
    (run / "samples").mkdir(parents=True)
    (run / "log.jsonl").write_text('{"step": 500, "d_loss": 9.0}\n')
    (run / "config.json").write_text("{}")
    (run / "samples" / "step_000500.png").write_bytes(b"old")
    (run / "notes.txt").write_text("mine")
    with pytest.warns(UserWarning, match="no checkpoint .*config.json, log.jsonl, samples"):
        Trainer(config(tmp_path, "u", steps=4), dataset=digits).fit()
    assert [r["step"] for r in read_log(run / "log.jsonl")] == [2, 4]
    assert not (run / "samples" / "step_000500.png").exists()
    assert (run / "notes.txt").read_text() == "mine"  # not ganforge's: left alone


def test_a_fresh_run_refuses_a_directory_holding_trained_weights(tmp_path, digits):
    Trainer(config(tmp_path, "w", steps=2), dataset=digits).fit()
    (tmp_path / "w" / ckpt.CHECKPOINT).rename(tmp_path / "w" / "checkpoint-best.safetensors")
    with pytest.raises(GanforgeError, match="already holds a run \\(checkpoint-best"):
        Trainer(config(tmp_path, "w", steps=2), dataset=digits).fit()


def test_a_trainer_whose_checkpoint_another_moved_on_refuses_to_write(tmp_path, digits):
    Trainer(config(tmp_path, "m", steps=2), dataset=digits).fit()
    late = Trainer.resume(tmp_path / "m", steps=4, dataset=digits)
    Trainer.resume(tmp_path / "m", steps=6, dataset=digits).fit()
    with pytest.raises(GanforgeError, match="moved on to step 6 after this trainer read its "
                       "step-2 checkpoint"):
        late.fit()
    assert ckpt.load_checkpoint(tmp_path / "m" / ckpt.CHECKPOINT)[1]["step"] == 6


# ---- 5. load and resume verify what they read ---------------------------------------------------


@pytest.fixture(scope="module")
def trained(tmp_path_factory, digits):
    """Two finished runs, dcgan and gan, to copy and tamper with."""
    root = tmp_path_factory.mktemp("trained")
    for method in ("dcgan", "gan"):
        Trainer(config(root, method, method=method, steps=2), dataset=digits).fit()
    return root


def copy_run(trained, tmp_path, method="dcgan"):
    run = tmp_path / "run"
    shutil.copytree(trained / method, run)
    return run


def rewrite_checkpoint(path, change_tensors=None, state=None, keep_digest=False):
    """Write ``path`` again with changed tensors or state, as a tool other than ganforge would:
    a well-formed file whose digest matches what it holds (unless ``keep_digest``), so the
    checks after the digest are the ones that must catch it."""
    tensors = load_file(str(path))
    with safe_open(str(path), framework="pt") as f:
        metadata = f.metadata()
    if change_tensors is not None:
        tensors = change_tensors(tensors)
    if state is not None:
        metadata["state"] = state
    if not keep_digest:
        metadata["sha256"] = ckpt.content_digest(tensors, metadata["state"])
    save_file(tensors, str(path), metadata=metadata)


def first_weight(tensors):
    return next(k for k in tensors if k.startswith("G.") and k.endswith("weight"))


def with_changed(fn):
    def change(tensors):
        key = first_weight(tensors)
        return {**tensors, key: fn(tensors[key])}
    return change


CHECKPOINT_FAULTS = {
    "NaN weights": (with_changed(lambda t: torch.full_like(t, math.nan)), "NaN or inf"),
    "fp16 weights": (with_changed(lambda t: t.half()), "is float16 .* need float32"),
    "int64 weights": (with_changed(lambda t: t.long()), "is int64 .* need float32"),
    "a wrong shape": (with_changed(lambda t: torch.cat([t, t])), r"need float32 \["),
    "a missing tensor": (lambda t: {k: v for k, v in t.items() if k != first_weight(t)},
                         "lacks 1 tensors"),
}


@pytest.mark.parametrize("fault", CHECKPOINT_FAULTS)
def test_load_and_resume_refuse_a_checkpoint_that_is_not_this_runs(fault, trained, tmp_path,
                                                                   digits):
    run = copy_run(trained, tmp_path)
    change, message = CHECKPOINT_FAULTS[fault]
    rewrite_checkpoint(run / ckpt.CHECKPOINT, change)
    for attempt in (lambda: load(run, device="cpu"),
                    lambda: Trainer.resume(run, steps=4, dataset=digits)):
        with pytest.raises(GanforgeError, match=message) as info:
            attempt()
        assert str(info.value).startswith(str(run / ckpt.CHECKPOINT))
        assert "\n" not in str(info.value)


def test_another_methods_checkpoint_is_refused(trained, tmp_path, digits):
    run = copy_run(trained, tmp_path)
    shutil.copy(trained / "gan" / ckpt.CHECKPOINT, run / ckpt.CHECKPOINT)
    for attempt in (lambda: load(run, device="cpu"), lambda: Trainer.resume(run, steps=4,
                                                                           dataset=digits)):
        with pytest.raises(GanforgeError, match="lacks .* and holds .*not a checkpoint of the "
                           "method"):
            attempt()


@pytest.mark.parametrize("state,message", [
    ("{not json", "no readable training state"),
    ('{"total_steps": 2}', "no readable training state"),
    ('{"step": 2, "total_steps": 2, "batcher": {}, "scalers": {}}', "KeyError: 'optimizers'"),
])
def test_bad_state_metadata_is_refused(state, message, trained, tmp_path, digits):
    run = copy_run(trained, tmp_path)
    rewrite_checkpoint(run / ckpt.CHECKPOINT, state=state)
    with pytest.raises(GanforgeError, match=message) as info:
        Trainer.resume(run, steps=4, dataset=digits)
    assert str(run / ckpt.CHECKPOINT) in str(info.value)


def test_a_checkpoint_without_the_random_state_is_refused_on_resume(trained, tmp_path, digits):
    run = copy_run(trained, tmp_path)
    rewrite_checkpoint(run / ckpt.CHECKPOINT, lambda t: {k: v for k, v in t.items()
                                                         if k != "rng.cpu"})
    with pytest.raises(GanforgeError, match="lacks 1 tensors .*first: rng.cpu"):
        Trainer.resume(run, steps=4, dataset=digits)
    assert load(run, device="cpu").step == 2  # sampling needs no random state


def test_a_flipped_byte_fails_the_content_checksum(trained, tmp_path):
    run = copy_run(trained, tmp_path)
    path = run / ckpt.CHECKPOINT
    data = bytearray(path.read_bytes())
    data[-100] ^= 0x01  # in the tensor data: the file still parses
    path.write_bytes(bytes(data))
    with pytest.raises(GanforgeError, match="fails its content checksum"):
        load(run, device="cpu")


def edit_config(run, change):
    path = run / "config.json"
    raw = json.loads(path.read_text())
    change(raw)
    path.write_text(json.dumps(raw))


CONFIG_FAULTS = {
    # 10^9 used to make `load` try to allocate 8 TB.
    "a huge latent_dim": (lambda r: r["config"].update(latent_dim=10**9),
                          "latent-dim must be at most"),
    "a string for a number": (lambda r: r["config"].update(width="8"), "width must be int"),
    "a float for an int": (lambda r: r["config"].update(batch_size=32.5),
                           "batch_size must be int"),
    "an unknown method": (lambda r: r["config"].update(method="nosuch"), "nosuch"),
    "a huge image size": (lambda r: r["data_spec"].update(img_size=10**6),
                          r"img_size must lie in \[1, 4096\]"),
    "no data_spec": (lambda r: r.pop("data_spec"), "no 'data_spec' entry"),
    "an unknown key": (lambda r: r["config"].update(x=1),
                       "unknown config key 'x' for dcgan; valid keys: "),
    # The form of runs before the methods declared their settings: options in "extra".
    "a bad option of an older run": (lambda r: r["config"].update(extra={"x": 1}),
                                     "--x does not apply to dcgan"),
}


@pytest.mark.parametrize("fault", CONFIG_FAULTS)
def test_load_validates_config_json_before_building_anything(fault, trained, tmp_path):
    run = copy_run(trained, tmp_path)
    change, message = CONFIG_FAULTS[fault]
    edit_config(run, change)
    with pytest.raises(GanforgeError, match=message) as info:
        load(run, device="cpu")
    assert str(info.value).startswith(f"{run / 'config.json'} is not a valid ganforge config")
    assert "\n" not in str(info.value)


def test_config_json_that_is_not_json_is_refused(trained, tmp_path):
    run = copy_run(trained, tmp_path)
    (run / "config.json").write_bytes(b'{"config": \xff')
    with pytest.raises(GanforgeError, match="config.json is not a valid ganforge config"):
        load(run, device="cpu")


def test_a_half_written_last_log_line_does_not_block_resume(trained, tmp_path, digits):
    run = copy_run(trained, tmp_path)
    with open(run / "log.jsonl", "a") as f:
        f.write('{"step": 3, "d_lo')  # killed while appending
    trainer = Trainer.resume(run, steps=4, dataset=digits)
    trainer.fit()
    assert [r["step"] for r in read_log(run / "log.jsonl")] == [2, 4]


# ---- 6. a full disk while checkpointing --------------------------------------------------------


def test_a_full_disk_while_checkpointing_keeps_the_last_checkpoint(tmp_path, digits, monkeypatch):
    import ganforge.files

    trainer = Trainer(config(tmp_path, "f", steps=8, checkpoint_every=4), dataset=digits)
    after_update = trainer.method.after_update

    def no_space(fd):
        raise OSError(28, "No space left on device")

    def disk_fills_at_step_6(group):
        after_update(group)
        if trainer.step + 1 == 6:
            monkeypatch.setattr(ganforge.files.os, "fsync", no_space)

    trainer.method.after_update = disk_fills_at_step_6
    with pytest.raises(GanforgeError, match="could not write the checkpoint of step 8 to .*"
                       "checkpoint.safetensors .*No space left on device.*checkpoint of step 4 "
                       "is kept.*--resume") as info:
        trainer.fit()
    assert "\n" not in str(info.value)
    assert not list((tmp_path / "f").glob("*.tmp"))
    monkeypatch.undo()
    assert ckpt.load_checkpoint(tmp_path / "f" / ckpt.CHECKPOINT)[1]["step"] == 4
    assert Trainer.resume(tmp_path / "f", dataset=digits).step == 4


# ---- 7. a resume that would train nothing -----------------------------------------------------


def test_resume_refuses_a_total_below_the_steps_done(trained, tmp_path, digits):
    # `--resume RUN --steps 10` on a run at step 120 used to say "trained 120 steps", exit 0.
    run = copy_run(trained, tmp_path)
    with pytest.raises(GanforgeError, match="cannot be below the 2 steps .* got 1"):
        Trainer.resume(run, steps=1, dataset=digits)
    assert Trainer.resume(run, steps=2, dataset=digits).step == 2  # nothing to do: allowed


# ---- 9. leftovers of killed writes ------------------------------------------------------------


def test_resume_clears_killed_writes_and_brings_state_json_up_to_date(trained, tmp_path, digits):
    run = copy_run(trained, tmp_path)
    leftovers = [run / ".tmpA1b2C3", run / "checkpoint.safetensors.tmp", run / "state.json.tmp",
                 run / "samples" / "step_000004.png.tmp"]
    for path in leftovers:
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(b"half")
    (run / "state.json").write_text(json.dumps({"step": 1}))  # lags the checkpoint
    trainer = Trainer.resume(run, steps=3, dataset=digits)
    trainer.fit(until=2)  # opens the run directory, trains nothing
    assert not any(p.exists() for p in leftovers)
    assert json.loads((run / "state.json").read_text())["step"] == 2
