"""`ganforge eval` and the training flags for periodic evaluation."""

import json

import numpy as np
import pytest
from PIL import Image

from ganforge.cli import main
from ganforge.metrics import inception as inc
from ganforge.metrics.report import format_table
from tests.conftest import SHARED_DATA, needs_mnist


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(autouse=True)
def _cache_in_tmp(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "run"
    code = main(["train", "--method", "gan", "--dataset", "digits", "--steps", "2",
                 "--batch-size", "16", "--width", "8", "--device", "cpu", "--out", str(out)])
    assert code == 0
    return out


def test_eval_run_dir_prints_a_table_and_writes_metrics_json(capsys, run_dir):
    code, out, err = run(capsys, "eval", run_dir, "--metrics", "mnist-fid,mnist-is,mnist-classes",
                         "--n", 40, "--device", "cpu")
    assert code == 0, err
    report = json.loads((run_dir / "metrics.json").read_text())
    values = report["metrics"]
    assert {"mnist_fid", "mnist_is_mean", "mnist_is_std", "mnist_kl_uniform",
            "mnist_confident_share", "mnist_class_histogram"} == set(values)
    assert report["fake"] == {"run_dir": str(run_dir), "step": 2, "seed": 0, "num_images": 40}
    assert report["real"]["id"] == "digits:train:16px" and report["real"]["num_images"] == 40
    assert report["extractors"] == {"mnist-lenet": "a0480e161ea8"}
    lines = out.splitlines()
    table = lines[lines.index(next(x for x in lines if x.startswith("metric"))):-1]
    assert f"{values['mnist_fid']:.4f}" in table[1] and table[1].endswith("lower")
    # Aligned: every value column ends at the same place as the header's.
    assert len({line.index("  ", len("mnist_class_histogram")) for line in table[:-1]}) == 1
    assert sum(values["mnist_class_histogram"]) == 40
    # Seeded: the same command gives the same numbers.
    run(capsys, "eval", run_dir, "--metrics", "mnist-fid,mnist-is,mnist-classes", "--n", 40,
        "--device", "cpu", "--out", run_dir / "again.json")
    assert json.loads((run_dir / "again.json").read_text())["metrics"] == values


def test_eval_fake_and_real_paths(capsys, tmp_path):
    rng = np.random.default_rng(0)
    fake = rng.integers(0, 256, (30, 16, 16, 1), dtype=np.uint8)
    np.savez(tmp_path / "fake.npz", images=fake)
    real_dir = tmp_path / "real"
    real_dir.mkdir()
    for i, image in enumerate(fake[:20, :, :, 0]):
        Image.fromarray(image).save(real_dir / f"{i:02d}.png")
    out = tmp_path / "m.json"
    code, stdout, err = run(capsys, "eval", "--fake", tmp_path / "fake.npz", "--real", real_dir,
                            "--metrics", "mnist-fid", "--n", 20, "--out", out)
    assert code == 0, err
    report = json.loads(out.read_text())
    # The folder holds exactly 20 of the .npz's images, so a 20-image seeded subset of the
    # .npz compared with them has a finite, moderate FID and both sides have 20 images.
    assert report["fake"]["num_images"] == 20 and report["real"]["num_images"] == 20
    assert np.isfinite(report["metrics"]["mnist_fid"]) and "mnist_fid" in stdout
    code, _, err = run(capsys, "eval", "--fake", real_dir, "--real", real_dir,
                       "--metrics", "mnist-fid", "--n", 20, "--out", out)
    assert code == 0 and json.loads(out.read_text())["metrics"]["mnist_fid"] == pytest.approx(
        0.0, abs=1e-6)


@needs_mnist
def test_eval_against_another_real_set_and_data_dir(capsys, run_dir):
    code, out, err = run(capsys, "eval", run_dir, "--metrics", "mnist-fid", "--n", 30,
                         "--real", "mnist:test", "--data-dir", SHARED_DATA,
                         "--out", run_dir / "test.json")
    assert code == 0, err
    assert json.loads((run_dir / "test.json").read_text())["real"]["id"] == "mnist:test:16px"


@pytest.mark.parametrize(
    "argv,message",
    [
        (["eval", "RUN", "--metrics", "mnist-fdi"],
         "unknown metric 'mnist-fdi'; choose one of: dc, digits-classes, digits-fid, "
         "digits-is, fid, is, kid, mnist-classes, mnist-fid"),
        (["eval", "RUN", "--metrics", "mnist-is", "--n", "5"],
         "mnist-is needs at least 10 generated images, got 5; evaluate with --n 10 or more"),
        (["eval", "RUN", "--metrics", "kid", "--n", "500"],
         "kid needs at least 1000 generated images, got 500"),
        (["eval"], "give a RUN_DIR or --fake PATH"),
        (["eval", "RUN", "--fake", "RUN"], "give a RUN_DIR or --fake PATH"),
        (["eval", "--fake", "RUN", "--real", "nope", "--metrics", "mnist-fid", "--n", "10"],
         "'nope' is not a run directory, an image folder, an .npz file or a data set"),
        (["eval", "--fake", "digits", "--metrics", "mnist-fid"],
         "mnist-fid compare with real images; give --real PATH"),
        (["eval", "/nonexistent/run"],
         "'/nonexistent/run' is not a run directory, an image folder, an .npz file"),
    ],
)
def test_eval_errors_are_one_line(capsys, run_dir, argv, message):
    code, _, err = run(capsys, *[str(run_dir) if a == "RUN" else a for a in argv])
    assert code == 2
    assert message in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_eval_without_inception_weights_says_where_to_put_them(
    capsys, run_dir, tmp_path, monkeypatch
):
    monkeypatch.setenv(inc.WEIGHTS_ENV_VAR, str(tmp_path / "weights"))
    monkeypatch.setattr(inc, "FID_WEIGHTS_MIRRORS", ((tmp_path / "nowhere.pth").as_uri(),))
    code, _, err = run(capsys, "eval", run_dir, "--metrics", "fid", "--n", 10)
    assert code == 2 and err.count("\n") == 1
    assert f"save it as {tmp_path / 'weights' / inc.FID_WEIGHTS_FILENAME}" in err


def test_train_with_periodic_evaluation_and_best_checkpoint(capsys, tmp_path):
    out = tmp_path / "run"
    code, _, err = run(capsys, "train", "--method", "gan", "--dataset", "digits", "--steps", 3,
                       "--image-size", 8, "--batch-size", 16, "--device", "cpu", "--out", out,
                       "--eval-every", 2, "--eval-n", 20, "--eval-metrics", "mnist-fid",
                       "--best-metric", "mnist_fid")
    assert code == 0, err
    steps = [json.loads(line)["step"] for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert steps == [2, 3]
    assert (out / "checkpoint-best.safetensors").is_file()
    config = json.loads((out / "config.json").read_text())["config"]
    assert (config["eval_every"], config["eval_n"], config["best_metric"]) == (2, 20, "mnist_fid")


@pytest.mark.parametrize(
    "argv,message",
    [
        (["--best-metric", "mnist_fid"], "--best-metric needs --eval-every N"),
        (["--eval-every", "5", "--best-metric", "fid"],
         "--best-metric 'fid' is not computed by the evaluation metrics; choose one of: "
         "digits_fid (lower is better), digits_kl_uniform (lower is better), "
         "digits_confident_share (higher is better)"),
        (["--eval-every", "5", "--eval-metrics", "nope"], "unknown metric 'nope'"),
    ],
)
def test_train_evaluation_flags_are_checked(capsys, argv, message):
    code, _, err = run(capsys, "train", "--dataset", "digits", "--dry-run", *argv)
    assert code == 2 and message in err


def test_dry_run_fills_the_default_evaluation_metrics(capsys):
    code, out, _ = run(capsys, "train", "--dataset", "digits", "--eval-every", "100", "--dry-run")
    assert code == 0 and json.loads(out)["eval_metrics"] == "digits-fid,digits-classes"


def test_format_table_aligns_numbers_and_names_directions():
    table = format_table({"fid": 12.5, "is_mean": 3.25, "hist": [1, 2]}).splitlines()
    assert table == ["metric     value  better",
                     "fid      12.5000  lower",
                     "is_mean   3.2500  higher",
                     "hist         1 2"]
