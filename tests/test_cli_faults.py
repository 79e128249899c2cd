"""Fault injection through the command line (issue #23, items 2, 3 and 6-10): signals sent to a
real ``ganforge train`` process, machine limits, odd input files, silently wrong results.

What must hold for each: the right exit code, one line on stderr naming the file, flag or
problem (never a traceback), and no lost or corrupted work. Training-side faults (the guard,
the lock, tampered checkpoints) are in tests/training/test_faults.py.
"""

import errno
import json
import math
import os
import signal
import struct
import subprocess
import sys
import time
import zlib
from io import StringIO
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import ganforge
from ganforge.cli import main
from ganforge.configure import configure
from ganforge.data.datasets import load_folder
from ganforge.data.download import fetch
from ganforge.errors import DataError, GanforgeError
from ganforge.files import json_line, read_jsonl
from ganforge.inference.translate_files import translation_targets
from ganforge.metrics.errors import MetricError
from ganforge.metrics.sources import sample_uint8
from ganforge.runs import checkpoint as ckpt
from ganforge.runs import read_run_config
from ganforge.training import Trainer
from ganforge.training.progress import Progress
from tests.training.test_trainer import config

SRC = Path(ganforge.__file__).resolve().parents[1]
TINY = ["--method", "dcgan", "--dataset", "digits", "--image-size", "16", "--width", "8",
        "--latent-dim", "8", "--batch-size", "32", "--device", "cpu", "--seed", "5"]


@pytest.fixture(autouse=True)
def _one_thread(_few_threads):
    # These networks are tiny: one thread runs their steps fastest, where two spin-wait on
    # each other whenever the cores are busy with other work.
    torch.set_num_threads(1)


def ganforge_process(*args: str, **popen) -> subprocess.Popen:
    """``ganforge ARGS`` in a process of its own, on this checkout's code, with the threads
    the in-process runs use (so that its arithmetic is theirs, bit for bit)."""
    env = {**os.environ, "PYTHONPATH": str(SRC), "OMP_NUM_THREADS": str(torch.get_num_threads())}
    return subprocess.Popen([sys.executable, "-m", "ganforge.cli", *args], env=env, text=True,
                            **{"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, **popen})


def one_line_error(capsys, argv, code: int = 2) -> str:
    """Run ``ganforge ARGV`` in this process; its exit code must be ``code`` and its stderr
    one line, which is returned."""
    assert main(argv) == code
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("ganforge: "), err
    return err[0]


# ---- 2, 3, 8. SIGTERM and SIGINT to a real training process --------------------------------------


@pytest.mark.parametrize("signum,code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_saves_an_exact_checkpoint_and_resume_is_bit_exact(signum, code, tmp_path,
                                                                    digits):
    run = tmp_path / "run"
    proc = ganforge_process("train", *TINY, "--steps", "100000", "--log-every", "1",
                            "--checkpoint-every", "100000", "--sample-every", "100000",
                            "--out", str(run))
    try:
        # 8: the run directory is named before the first step, even through a pipe; from that
        # line on a signal ends the run with a checkpoint. Sent at once, it lands in the first
        # steps, where Ctrl-C used to leave a step-0 checkpoint that nothing could resume.
        first = proc.stderr.readline()
        assert first.strip() == f"dcgan on digits: training steps 1 to 100000 into {run}"
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == code
    assert "Traceback" not in err
    *_, last = err.strip().splitlines()
    name = signal.Signals(signum).name
    assert last.startswith(f"ganforge: {name} received: stopped after step ")
    assert last.endswith(f"continue with `ganforge train --resume {run}`")
    step = int(last.split("after step ")[1].split()[0])
    _, state = ckpt.load_checkpoint(run / ckpt.CHECKPOINT)
    assert state["step"] == step >= 1
    assert [r["step"] for r in read_jsonl(run / "log.jsonl")] == list(range(1, step + 1))

    # The same run uninterrupted, in this process, against the killed one resumed.
    cfg = read_run_config(run)["config"]
    straight = Trainer(cfg.replace(steps=step + 3, out=str(tmp_path / "straight")),
                       dataset=digits)
    straight.fit()
    resumed = Trainer.resume(run, steps=step + 3, dataset=digits)
    resumed.fit()
    (a, state_a), (b, state_b) = straight.state_tensors_and_json(), resumed.state_tensors_and_json()
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key
    assert state_a == state_b


def test_ctrl_c_during_start_up_exits_130_without_a_traceback(tmp_path):
    proc = ganforge_process("train", *TINY, "--steps", "100000", "--out", str(tmp_path / "run"))
    # Once torch's library is mapped the command is under way (it imports torch itself), and
    # still loading and building: the start-up a user interrupts.
    maps = Path(f"/proc/{proc.pid}/maps")
    deadline = time.monotonic() + 60
    while maps.exists() and "libtorch" not in maps.read_text() and time.monotonic() < deadline:
        time.sleep(0.01)
    if not maps.exists():  # no /proc (macOS): a second is well into the start-up
        time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert "Traceback" not in err and err.strip().splitlines()[-1].startswith("ganforge: ")


# ---- 6. tracebacks where a one-line error belongs -----------------------------------------------


def test_a_reader_that_goes_away_is_no_traceback():
    # `ganforge train --dry-run | head`: the pipe closes before the configuration is printed.
    proc = ganforge_process("train", "--dry-run")
    proc.stdout.close()
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 141 and err == ""


def test_out_under_a_file_is_one_line(capsys, tmp_path):
    (tmp_path / "file").write_text("")
    line = one_line_error(capsys, ["train", *TINY, "--steps", "1",
                                   "--out", str(tmp_path / "file" / "run")])
    assert f"cannot write the run directory {tmp_path / 'file' / 'run'}" in line


def test_a_read_only_out_is_one_line(capsys, tmp_path, monkeypatch):
    # Simulated: the tests may run as root, whom file modes do not stop.
    real_mkdir = Path.mkdir

    def read_only(self, *args, **kwargs):
        if tmp_path / "ro" in (self, *self.parents):
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", read_only)
    line = one_line_error(capsys, ["train", *TINY, "--steps", "1",
                                   "--out", str(tmp_path / "ro" / "run")])
    assert "ro/run (Permission denied); choose another --out" in line


@pytest.fixture(scope="module")
def trained(tmp_path_factory, digits):
    run = tmp_path_factory.mktemp("cli") / "run"
    Trainer(config(run.parent, "run", steps=8, checkpoint_every=4), dataset=digits).fit()
    return run


def test_a_full_disk_while_resuming_is_one_line_and_loses_nothing(capsys, trained, tmp_path,
                                                                  monkeypatch):
    import shutil

    import ganforge.files

    run = tmp_path / "run"
    shutil.copytree(trained, run)
    def files():
        return {p.name: p.read_bytes() for p in run.iterdir()
                if p.is_file() and p.name != ".lock"}

    before = files()

    def no_space(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(ganforge.files.os, "fsync", no_space)
    line = one_line_error(capsys, ["train", "--resume", str(run), "--steps", "12"])
    assert line == f"ganforge: error: {run / 'config.json'}: No space left on device"
    assert files() == before


def bomb_png(path: Path, side: int = 20000) -> None:
    """A PNG whose header claims side x side pixels (400 million at 20000): a decompression
    bomb, a few dozen bytes on disk."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
                     + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))


def save_png(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


def test_a_decompression_bomb_in_a_folder_is_named(capsys, tmp_path):
    save_png(tmp_path / "imgs" / "a.png", np.zeros((16, 16), np.uint8))
    bomb_png(tmp_path / "imgs" / "huge.png")
    line = one_line_error(capsys, ["train", "--dataset", f"folder:{tmp_path / 'imgs'}",
                                   "--steps", "1", "--out", str(tmp_path / "run")])
    assert f"{tmp_path / 'imgs' / 'huge.png'} is larger than ganforge reads" in line
    assert not (tmp_path / "run").exists()


def test_a_caption_file_that_is_not_utf8_is_named(capsys, tmp_path):
    root = tmp_path / "birds"
    save_png(root / "images" / "wren" / "1.png", np.zeros((16, 16, 3), np.uint8))
    (root / "text_c10" / "wren").mkdir(parents=True)
    (root / "text_c10" / "wren" / "1.txt").write_bytes("a small café bird\n".encode("latin-1"))
    line = one_line_error(capsys, ["train", "--method", "text2img", "--dataset",
                                   f"captions:{root}", "--steps", "1",
                                   "--out", str(tmp_path / "run")])
    assert f"{root / 'text_c10' / 'wren' / '1.txt'} is not UTF-8 text (byte 0xe9" in line


@pytest.mark.parametrize("broken", ["a_broken.png", "b_broken.png"])
def test_an_unreadable_image_under_eval_fake_is_named(broken, capsys, tmp_path):
    # a_ sorts first (the folder's size is read from it), b_ second (read with the rest).
    folder = tmp_path / "fakes"
    save_png(folder / "a.png", np.zeros((16, 16), np.uint8))
    save_png(folder / "b.png", np.zeros((16, 16), np.uint8))
    (folder / broken).write_bytes(b"not a png")
    line = one_line_error(capsys, ["eval", "--fake", str(folder), "--metrics", "mnist-is",
                                   "--n", "10", "--device", "cpu", "--out",
                                   str(tmp_path / "m.json")])
    assert f"{folder / broken} is not a readable image" in line


@pytest.mark.parametrize("method", ["dcgan", "gan", "infogan"])
def test_a_translation_set_with_an_image_method_is_one_line(method, capsys, tmp_path):
    for i in range(2):  # the pix2pix layout: A and B side by side
        save_png(tmp_path / "pairs" / "train" / f"{i}.png", np.zeros((16, 32, 3), np.uint8))
    line = one_line_error(capsys, ["train", "--method", method, "--dataset",
                                   f"paired:{tmp_path / 'pairs'}", "--image-size", "16",
                                   "--steps", "1", "--out", str(tmp_path / "run")])
    assert f"{method} trains on images or 2-D points; paired:" in line
    assert "holds images of two domains, for image-to-image translation" in line
    assert ("or train cogan, cyclegan, discogan, distancegan, dtn, dualgan, pix2pix, s2gan, "
            "unit on it" in line)


# ---- 5, 7. silently wrong results ----------------------------------------------------------------


def test_sixteen_bit_pngs_keep_their_brightness(tmp_path):
    # A ramp over 16 bits, 0..65535: its 8-bit version is the same ramp over 0..255, not the
    # near-white of a clipped conversion.
    ramp = np.linspace(0, 65535, 16 * 16).round().astype(np.uint16).reshape(16, 16)
    Image.fromarray(ramp).save(tmp_path / "deep.png")
    assert Image.open(tmp_path / "deep.png").mode == "I;16"
    images = load_folder(tmp_path, 16).images
    expected = torch.from_numpy(np.rint(ramp / 257.0).astype(np.uint8))
    assert images.shape == (1, 1, 16, 16)
    assert (images[0, 0].int() - expected.int()).abs().max() <= 1  # bicubic at the same size


def test_images_beside_class_folders_are_refused(tmp_path):
    save_png(tmp_path / "top.png", np.zeros((8, 8), np.uint8))
    save_png(tmp_path / "sub" / "inner.png", np.zeros((8, 8), np.uint8))
    with pytest.raises(DataError, match="top level \\(top.png\\) and in subfolders \\(sub/\\)"):
        load_folder(tmp_path, 8)


def test_evaluating_nan_samples_is_refused():
    class Diverged:
        def sample(self, n, generator, G=None):
            return torch.full((n, 1, 8, 8), math.nan)

    with pytest.raises(MetricError, match="samples hold NaN or inf"):
        sample_uint8(Diverged(), 4, seed=0)


def test_eval_and_sample_of_a_nan_run_exit_2(capsys, trained, tmp_path):
    import shutil

    from tests.training.test_faults import rewrite_checkpoint, with_changed

    run = tmp_path / "run"
    shutil.copytree(trained, run)
    rewrite_checkpoint(run / ckpt.CHECKPOINT, with_changed(lambda t: t * math.nan))
    for argv in (["eval", str(run), "--metrics", "mnist-is", "--n", "10", "--device", "cpu"],
                 ["sample", str(run), "--out", str(tmp_path / "s.png"), "--device", "cpu"]):
        line = one_line_error(capsys, argv)
        assert f"{run / ckpt.CHECKPOINT} cannot be used: " in line and "NaN or inf" in line
    assert not (tmp_path / "s.png").exists() and not (run / "metrics.json").exists()


def test_translation_outputs_never_collide_or_replace_inputs(tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    a_png, a_jpg, grid = inputs / "a.png", inputs / "a.jpg", inputs / "grid.png"
    out = tmp_path / "out"
    with pytest.raises(GanforgeError, match="a.png and a.jpg would both be translated into"):
        translation_targets([a_png, a_jpg], out)
    with pytest.raises(GanforgeError, match="where the comparison grid goes"):
        translation_targets([grid], out)
    a_png.write_bytes(b"input")
    with pytest.raises(GanforgeError, match="is one of the input images"):
        translation_targets([a_png], inputs, overwrite=True)
    out.mkdir()
    (out / "a.png").write_bytes(b"earlier output")
    with pytest.raises(GanforgeError, match="already holds a.png .* give --overwrite"):
        translation_targets([a_png], out)
    assert translation_targets([a_png], out, overwrite=True) == ([out / "a.png"],
                                                                 out / "grid.png")


def test_a_walk_is_written_as_gif_and_never_into_a_png(capsys, trained, tmp_path, monkeypatch):
    line = one_line_error(capsys, ["sample", str(trained), "--walk", "2", "--steps", "1",
                                   "--out", str(tmp_path / "walk.png")])
    assert "walk.png: this picture is written as an animated GIF" in line
    assert not (tmp_path / "walk.png").exists()
    monkeypatch.chdir(tmp_path)
    assert main(["sample", str(trained), "--walk", "2", "--steps", "1", "--device", "cpu"]) == 0
    assert (tmp_path / "walk.gif").read_bytes()[:6] == b"GIF89a"


def test_metrics_and_logs_hold_json_never_bare_nan(tmp_path):
    from ganforge.training.evaluation import _EvaluationLog

    log = _EvaluationLog(configure(method="gan", eval_every=1), False)
    log.open(tmp_path, None)
    log._record(1, {"modes": 3, "mode_kl": math.nan, "x": math.inf})

    def strict(constant):
        raise ValueError(f"{constant} is not JSON")

    line = (tmp_path / "metrics.jsonl").read_text()
    assert json.loads(line, parse_constant=strict) == {"step": 1, "modes": 3, "mode_kl": None,
                                                        "x": None}
    assert json_line({"v": -math.inf}) == '{"v": null}\n'


def test_resume_to_a_total_it_already_passed_is_one_line(capsys, trained, tmp_path):
    import shutil

    line = one_line_error(capsys, ["train", "--resume", str(trained), "--steps", "4"])
    assert "--steps is the run's new total and cannot be below the 8 steps" in line
    # A finished run resumed as it is: nothing to train, and it says so.
    shutil.copytree(trained, tmp_path / "run")
    assert main(["train", "--resume", str(tmp_path / "run")]) == 0
    assert "has trained all its 8 steps; give --steps N above 8" in capsys.readouterr().err


# ---- 8. progress when not on a terminal -------------------------------------------------------


def test_plain_progress_lines_off_a_terminal():
    stream = StringIO()  # not a terminal
    progress = Progress("dcgan on mnist", 0, 100, per_step=64, unit="images", every=0.0,
                        stream=stream)
    progress.announce("dcgan on mnist: training steps 1 to 100 into runs/x")
    time.sleep(0.01)
    progress.update(10, {"step": 10, "d_loss": 0.5, "g_loss": 1.25, "images_per_s": 1.0})
    progress.close()
    announce, line = stream.getvalue().splitlines()
    assert announce.endswith("into runs/x") and "\r" not in stream.getvalue()
    fields = line.split("  ")
    assert fields[:3] == ["dcgan on mnist: step 10/100", "d_loss 0.500", "g_loss 1.250"]
    assert fields[3].endswith(" images/s") and fields[4].startswith("eta ")


# ---- 10. downloads ----------------------------------------------------------------------------


def test_plain_http_without_a_digest_is_never_fetched(tmp_path, monkeypatch):
    import urllib.request

    def no_network(url, *args, **kwargs):
        raise AssertionError(f"fetched {url}")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    with pytest.raises(DataError, match="plain http without a digest"):
        fetch(["http://example.com/set.zip"], tmp_path / "set.zip")
