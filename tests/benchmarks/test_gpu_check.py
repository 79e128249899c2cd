"""benchmarks/gpu_check.py's --smoke mode: every part, end to end on the CPU, so the few
minutes of a borrowed GPU are not lost to a typo."""

import json
import subprocess
import sys

from ganforge.methods import METHODS
from tests.benchmarks import BENCHMARKS, import_benchmark
from tests.conftest import SHARED_DATA, needs_mnist

SCRIPT = BENCHMARKS / "gpu_check.py"


def test_every_registered_method_has_its_data_chosen():
    gpu_check = import_benchmark("gpu_check")
    assert set(gpu_check.METHOD_DATA) == set(METHODS)


@needs_mnist
def test_smoke_runs_every_part_on_the_cpu(tmp_path):
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, str(SCRIPT), "--smoke", "--device", "cpu",
                           "--data-dir", str(SHARED_DATA), "--out", str(out),
                           "--work", str(tmp_path / "work"), "--jobs", "2"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads((out / "gpu_check.json").read_text())
    for part in ("methods", "reference", "throughput", "quality", "epochs"):
        assert "error" not in report[part], (part, report[part])
    rows = {row["method"]: row for row in report["methods"]}
    for name in ("dcgan", "text2img", "pix2pix", "cyclegan", "stargan"):
        eager = rows[name]["eager"]
        assert eager["finite"] and eager["moved"], (name, eager)
        assert rows[name]["captured"] == {"skipped": "CUDA graphs need a CUDA device"}
    assert rows["sync-probe-default"]["probe"]["finite"]
    assert set(report["reference"]) == {"dcgan.py", "gan.py", "cgan.py", "wgan_gp.py"}
    assert all(v > 0 for v in report["reference"].values())
    benched = {r["method"] for rows in report["throughput"].values() for r in rows}
    assert benched == {"gan", "cgan", "wgan-gp", "dcgan"}
    assert report["quality"]["eager-seed0"]["steps"] == 6
    assert 0 <= report["epochs"]["mnist_confident_share"] <= 1
    assert sorted(p.name for p in out.iterdir()) == [
        "dcgan_0.004_epochs.png", "gpu_check.json", "gpu_check.log", "quality_grids.png"]
