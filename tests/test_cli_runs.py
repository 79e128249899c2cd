"""`ganforge runs`: a table of run directories, at once and without torch."""

import json
import subprocess
import sys
import time

import pytest

from ganforge.cli import main


def fake_run(folder, method, dataset, step, fid=None):
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps(
        {"method": method, "config": {"method": method, "dataset": dataset},
         "total_steps": 100}))
    (folder / "state.json").write_text(json.dumps(
        {"step": step, "total_steps": 100,
         "evaluation": {"best_metric": "fid", "best_value": fid, "best_step": step}
         if fid is not None else {"best_metric": None}}))
    if fid is not None:
        (folder / "metrics.jsonl").write_text(
            json.dumps({"step": step // 2, "fid": fid + 10}) + "\n"
            + json.dumps({"step": step, "fid": fid}) + "\n")
    (folder / "samples").mkdir()


def test_runs_lists_ten_runs_sorted_by_a_metric_in_under_a_second(tmp_path, capsys):
    for i in range(10):
        fake_run(tmp_path / "group" / f"run{i}", "dcgan", "mnist", 10 * i, fid=50.0 - i)
    fake_run(tmp_path / "plain", "gan", "digits", 7)
    start = time.perf_counter()
    assert main(["runs", str(tmp_path), "--sort", "fid"]) == 0
    assert time.perf_counter() - start < 1.0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:4] == ["run", "method", "dataset", "steps"]
    assert len(lines) == 12
    # Lowest FID first, the run without metrics last; the last row of metrics.jsonl is shown.
    assert lines[1].startswith("group/run9") and "fid 41" in lines[1]
    assert "fid 41 @ 90" in lines[1] and lines[-1].startswith("plain")
    assert main(["runs", str(tmp_path), "--sort", "fid", "--reverse"]) == 0
    assert capsys.readouterr().out.splitlines()[1].startswith("group/run0")


def test_runs_refuses_an_unknown_metric_and_a_missing_folder(tmp_path, capsys):
    fake_run(tmp_path / "a", "gan", "digits", 3, fid=1.0)
    assert main(["runs", str(tmp_path), "--sort", "kid"]) == 2
    assert "sort by one of: fid" in capsys.readouterr().err
    assert main(["runs", str(tmp_path / "nope")]) == 2
    assert "is not a folder" in capsys.readouterr().err


def test_runs_does_not_import_torch(tmp_path):
    fake_run(tmp_path / "a", "gan", "digits", 3)
    code = ("import sys; from ganforge.cli import main; main(['runs', sys.argv[1]]); "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True,
                         text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "False"


@pytest.mark.parametrize("argv", [["--help"], ["runs", "--help"]])
def test_runs_is_in_the_help(argv, capsys):
    with pytest.raises(SystemExit):
        main(argv)
    assert "runs" in capsys.readouterr().out
