"""`ganforge plot`: the curves of runs from their JSON logs, several overlaid."""

import json
import subprocess
import sys

import pytest
from PIL import Image

from ganforge.cli import main
from ganforge.viz.curves import run_curves


def fake_run(folder, d_loss, rate=1000.0):
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps(
        {"method": "dcgan", "config": {"batch_size": 100, "d_steps": 1}}))
    (folder / "state.json").write_text(json.dumps({"step": 30}))
    (folder / "log.jsonl").write_text("".join(
        json.dumps({"step": s, "d_loss": d_loss * s, "g_loss": 1.0, "D(x)": 0.6,
                    "images_per_s": rate}) + "\n" for s in (10, 20, 30)) + '{"step": 4')
    (folder / "metrics.jsonl").write_text(
        json.dumps({"step": 20, "fid": 80.0}) + "\n" + json.dumps({"step": 30, "fid": 60.0}))


def test_two_runs_overlay_into_one_png(tmp_path, capsys):
    fake_run(tmp_path / "a", 0.1)
    fake_run(tmp_path / "b", 0.2, rate=500.0)
    out = tmp_path / "both.png"
    assert main(["plot", str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    # Losses, D's scores, throughput, the FID: four panels, three to a row.
    assert Image.open(out).size == (int(4.6 * 3 * 90), int(3.4 * 2 * 90))
    assert main(["plot", str(tmp_path / "a"), "--against", "seconds"]) == 0
    assert (tmp_path / "a" / "curves.png").exists()


def test_curves_read_steps_seconds_and_metrics_and_skip_a_cut_line(tmp_path):
    fake_run(tmp_path / "a", 0.1, rate=1000.0)
    curves = run_curves(tmp_path / "a")
    # 10 steps of 100 images at 1000 images/s: a second per logged interval.
    assert curves["d_loss"] == [(10, 1.0, 1.0), (20, 2.0, 2.0), (30, 3.0, 3.0)]
    assert curves["metric: fid"] == [(20, 2.0, 80.0), (30, 3.0, 60.0)]


@pytest.mark.parametrize("make, message", [
    (lambda p: None, "is not a run directory"),
    (lambda p: p.mkdir(), "not a run directory (no config.json)"),
    (lambda p: (p.mkdir(), (p / "config.json").write_text("{}")), "nothing to plot"),
])
def test_plot_refuses_what_is_not_a_run_in_one_line(tmp_path, capsys, make, message):
    make(tmp_path / "r")
    assert main(["plot", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_plot_does_not_import_torch(tmp_path):
    fake_run(tmp_path / "a", 0.1)
    code = ("import sys; from ganforge.cli import main; main(['plot', sys.argv[1]]); "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "a")], capture_output=True,
                         text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "False"
