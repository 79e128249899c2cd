"""Check that a change of the code leaves every result bit for bit as it was, on the CPU.

    # once, with the code before the change (a checkout or an export of its src/):
    python scripts/reproduce_check.py record --src /tmp/gf-ref/src --runs /tmp/gf-reference
    # after the change, with this checkout's code:
    python scripts/reproduce_check.py check --runs /tmp/gf-reference

``record`` trains every case below with the given source tree and keeps its run directory;
``check`` trains the same cases with this checkout's ``src/`` into a fresh folder and compares:
every tensor of every checkpoint (``torch.equal``, names, shapes and dtypes), the loss rows of
log.jsonl (timing columns aside), the JSON training state, and the samples a loaded run draws.
Cases named ``old-*`` go further: they load and resume the *recorded* run directories (written
by the old code, in the old config.json format) with the code under test, so old runs are
checked to sample and resume exactly as the old code would.

Both sides run the ``ganforge`` command in a subprocess on one fixed thread count, so nothing
here imports ganforge itself.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file

HERE = Path(__file__).resolve().parent
DATA = os.environ.get("GANFORGE_REPRODUCE_DATA", "/work/shared/data")
TINY = ["--width", "8", "--batch-size", "16", "--log-every", "1", "--checkpoint-every", "3",
        "--sample-every", "3"]
DIGITS = ["--dataset", "digits", "--image-size", "16"]
PAIRS = ["--data-dir", DATA, "--batch-size", "4", "--width", "8", "--log-every", "1",
         "--checkpoint-every", "3", "--sample-every", "3"]

# name -> arguments of `ganforge train` (the run directory is added). The first six are the
# runs of the issue: the default run, DCGAN on real MNIST, and a cGAN, InfoGAN, CycleGAN and
# text2img run; then every method and the GAN game's knobs on tiny settings.
CASES: dict[str, list[str]] = {
    "default": ["--steps", "60"],
    "dcgan-mnist": ["--method", "dcgan", "--dataset", "mnist", "--data-dir", DATA,
                    "--steps", "40"],
    "cgan": ["--method", "cgan", "--steps", "30"],
    "infogan": ["--method", "infogan", "--steps", "30"],
    "cyclegan": ["--method", "cyclegan", "--dataset", "digits2mnist", "--data-dir", DATA,
                 "--steps", "12"],
    "text2img": ["--method", "text2img", "--dataset", "captioned-digits", "--steps", "20"],
    **{f"tiny-{m}": ["--method", m, *DIGITS, *TINY, "--steps", "6"]
       for m in ("gan", "dcgan", "acgan", "lapgan", "cc-lapgan", "progan", "bigan",
                 "vaegan", "vae", "wgan", "wgan-gp", "lsgan", "sngan", "sagan")},
    "tiny-cgan-projection": ["--method", "cgan", "--d-cond", "projection", *DIGITS, *TINY,
                             "--steps", "6"],
    "tiny-infogan-nll": ["--method", "infogan", "--cont-loss", "nll", "--codes", "cat:4,cont:3",
                         *DIGITS, *TINY, "--steps", "6"],
    "tiny-ssgan": ["--method", "ssgan", "--labels-per-class", "2", *DIGITS, *TINY,
                   "--steps", "6"],
    "tiny-progan-phases": ["--method", "progan", "--phase-steps", "2", *DIGITS, *TINY,
                           "--steps", "8"],
    "tiny-text2img-stages": ["--method", "text2img", "--stages", "2", "--dataset",
                             "captioned-digits", *TINY, "--steps", "4"],
    "tiny-pix2pix": ["--method", "pix2pix", "--dataset", "edges2mnist", "--patch", "16",
                     *PAIRS, "--steps", "4"],
    "tiny-pix2pix-l1": ["--method", "pix2pix", "--dataset", "edges2mnist", "--patch", "16",
                        "--adversarial-weight", "0", *PAIRS, "--steps", "4"],
    **{f"tiny-{m}": ["--method", m, "--dataset", "digits2mnist", "--patch", "16", *PAIRS,
                     "--steps", "4"] for m in ("cyclegan", "dualgan", "discogan", "unit")},
    "tiny-stargan": ["--method", "stargan", "--dataset", "mnist-styles", *PAIRS, "--steps", "3"],
    "knobs-hinge-spectral": ["--method", "dcgan", "--loss", "hinge", "--d-norm", "spectral",
                             "--minibatch-kernels", "4", "--feature-matching", *DIGITS, *TINY,
                             "--steps", "6"],
    "knobs-penalties": ["--method", "dcgan", "--gp-weight", "10", "--r1-weight", "1",
                        "--d-norm", "layer", "--history-weight", "0.1", "--label-smoothing",
                        "0.1", "--augment", "color,translation,cutout", *DIGITS, *TINY,
                        "--steps", "6"],
    "knobs-virtual-ema": ["--method", "gan", "--g-norm", "virtual", "--ema", "0.99",
                          "--lr-decay-from", "0.5", "--loss", "relativistic", *DIGITS, *TINY,
                          "--steps", "6"],
    "knobs-attention": ["--method", "dcgan", "--arch", "resnet", "--attention", "8",
                        "--clip", "0.01", "--loss", "wasserstein", "--optimizer", "rmsprop",
                        *DIGITS, *TINY, "--steps", "6"],
    "knobs-eval-best": ["--method", "dcgan", "--eval-every", "3", "--eval-n", "64",
                        "--eval-metrics", "digits-fid", "--best-metric", "digits_fid",
                        "--flip", "--jitter", "1", *DIGITS, *TINY, "--steps", "6"],
    "toy-ring8": ["--dataset", "ring8", "--steps", "30", "--eval-every", "10",
                  "--best-metric", "modes"],
    "toy-wgan-gp": ["--method", "wgan-gp", "--dataset", "grid25", "--steps", "12"],
}
# Runs trained in two sessions: (first --steps, then --resume to this total).
RESUMED = {"resumed-default": ("20", "40"), "resumed-progan": ("5", "8")}
RESUMED_ARGS = {"resumed-default": [], "resumed-progan": ["--method", "progan", *DIGITS, *TINY]}
# Recorded runs that the code under test resumes (by this many more steps) and samples.
OLD_RUNS = ("default", "cgan", "infogan", "cyclegan", "text2img", "tiny-ssgan", "tiny-progan",
            "tiny-stargan", "tiny-vae", "knobs-virtual-ema", "toy-ring8")
CLI = "import sys; from ganforge.cli import main; sys.exit(main(sys.argv[1:]))"
# What log.jsonl rows hold besides the losses: the throughput depends on the machine's load.
TIMING = ("images_per_s", "points_per_s")
# The drawing done on a loaded run: (n, seed) for ganforge.load(run).sample.
SAMPLE_SNIPPET = """
import sys, ganforge
from safetensors.torch import save_file
run, out = sys.argv[1], sys.argv[2]
model = ganforge.load(run, device="cpu")
images = model.sample(6, seed=3) if not model.{translates} else model.translate(
    model.method.{display}[:4].float() / 255, **({{"to_domain": 0}} if
    model.cfg.method == "stargan" else {{}}))
save_file({{"images": images.contiguous()}}, out)
"""


def ganforge_env(src: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(src), "OMP_NUM_THREADS": "2", "MKL_NUM_THREADS": "2",
            "PYTHONHASHSEED": "0"}


def run(src: Path, args: list[str], log: Path) -> None:
    command = [sys.executable, "-c", CLI, *args]
    with open(log, "a") as f:
        f.write("$ " + " ".join(command) + "\n")
        f.flush()
        result = subprocess.run(command, env=ganforge_env(src), stdout=f, stderr=subprocess.STDOUT)
    if result.returncode:
        raise SystemExit(f"failed ({result.returncode}): {' '.join(args)}; see {log}")


def draw(src: Path, run_dir: Path, out: Path, log: Path) -> None:
    """Samples of a loaded run (translations of its display inputs for translators)."""
    snippet = SAMPLE_SNIPPET.format(translates="translates", display="display_a")
    with open(log, "a") as f:
        result = subprocess.run([sys.executable, "-c", snippet, str(run_dir), str(out)],
                                env=ganforge_env(src), stdout=f, stderr=subprocess.STDOUT)
    if result.returncode:
        raise SystemExit(f"sampling {run_dir} failed; see {log}")


def train_all(src: Path, root: Path, only: list[str] | None) -> None:
    root.mkdir(parents=True, exist_ok=True)
    log = root / "commands.log"
    for name, args in CASES.items():
        if only and name not in only:
            continue
        shutil.rmtree(root / name, ignore_errors=True)
        print(f"training {name}", flush=True)
        run(src, ["train", *args, "--device", "cpu", "--out", str(root / name)], log)
        draw(src, root / name, root / f"{name}.samples.safetensors", log)
    for name, (first, total) in RESUMED.items():
        if only and name not in only:
            continue
        shutil.rmtree(root / name, ignore_errors=True)
        print(f"training {name} in two sessions", flush=True)
        run(src, ["train", *RESUMED_ARGS[name], "--steps", first, "--device", "cpu",
                  "--out", str(root / name)], log)
        run(src, ["train", "--resume", str(root / name), "--steps", total], log)


def continue_old_runs(src: Path, recorded: Path, root: Path, only: list[str] | None) -> None:
    """Copies of the recorded runs, resumed by a few steps and sampled by the code ``src``."""
    log = root / "commands.log"
    for name in OLD_RUNS:
        if only and name not in only:
            continue
        target = root / f"old-{name}"
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(recorded / name, target)
        print(f"loading and resuming the recorded {name}", flush=True)
        draw(src, target, root / f"old-{name}.samples.safetensors", log)
        state = json.loads((target / "state.json").read_text())
        run(src, ["train", "--resume", str(target), "--steps", str(state["step"] + 3),
                  "--device", "cpu"], log)


def loss_rows(path: Path) -> list[dict]:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [{k: v for k, v in r.items() if k not in TIMING} for r in rows]


def compare_tensors(a: dict, b: dict, what: str) -> list[str]:
    if a.keys() != b.keys():
        return [f"{what}: tensor names differ: only recorded {sorted(a.keys() - b.keys())[:3]}, "
                f"only new {sorted(b.keys() - a.keys())[:3]}"]
    return [f"{what}: {k} differs" for k in a
            if a[k].dtype != b[k].dtype or a[k].shape != b[k].shape or not torch.equal(a[k], b[k])]


def compare_runs(recorded: Path, fresh: Path, name: str) -> list[str]:
    problems = []
    for checkpoint in sorted(recorded.glob("*.safetensors")):
        other = fresh / checkpoint.name
        if not other.exists():
            problems.append(f"{name}: {checkpoint.name} missing")
            continue
        problems += compare_tensors(load_file(checkpoint), load_file(other),
                                    f"{name}/{checkpoint.name}")
    for jsonl in ("log.jsonl", "metrics.jsonl"):
        if (recorded / jsonl).exists():
            if not (fresh / jsonl).exists() or loss_rows(recorded / jsonl) != loss_rows(
                    fresh / jsonl):
                problems.append(f"{name}: {jsonl} rows differ")
    state_a = json.loads((recorded / "state.json").read_text())
    state_b = json.loads((fresh / "state.json").read_text())
    if state_a != state_b:
        problems.append(f"{name}: state.json differs")
    names_a = sorted(p.relative_to(recorded).as_posix() for p in recorded.rglob("*")
                     if p.is_file() and p.name != ".lock")
    names_b = sorted(p.relative_to(fresh).as_posix() for p in fresh.rglob("*")
                     if p.is_file() and p.name != ".lock")
    if names_a != names_b:
        problems.append(f"{name}: the run directory's files differ: "
                        f"{sorted(set(names_a) ^ set(names_b))[:5]}")
    return problems


def check(recorded: Path, fresh: Path, names: list[str]) -> list[str]:
    problems = []
    for name in names:
        if not (recorded / name).exists():
            continue
        problems += compare_runs(recorded / name, fresh / name, name)
        samples = recorded / f"{name}.samples.safetensors"
        if samples.exists():
            problems += compare_tensors(load_file(samples),
                                        load_file(fresh / samples.name), f"{name} samples")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=("record", "check"))
    parser.add_argument("--src", type=Path, default=HERE.parent / "src",
                        help="the source tree to run (default: this checkout's src/)")
    parser.add_argument("--runs", type=Path, default=Path("/tmp/gf-reference"),
                        help="the recorded runs (record writes them, check reads them)")
    parser.add_argument("--fresh", type=Path, default=None,
                        help="check: where to train (default: RUNS-check)")
    parser.add_argument("--only", nargs="*", default=None, help="these cases alone")
    args = parser.parse_args()
    src = args.src.resolve()
    if args.mode == "record":
        train_all(src, args.runs, args.only)
        continue_old_runs(src, args.runs, args.runs, args.only)
        print(f"recorded into {args.runs}")
        return 0
    fresh = args.fresh or args.runs.with_name(args.runs.name + "-check")
    train_all(src, fresh, args.only)
    continue_old_runs(src, args.runs, fresh, args.only)
    names = [*CASES, *RESUMED, *(f"old-{n}" for n in OLD_RUNS)]
    problems = check(args.runs, fresh, [n for n in names if not args.only
                                        or n.removeprefix("old-") in args.only])
    for problem in problems:
        print(problem)
    print("reproduced bit for bit" if not problems else f"{len(problems)} differences")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
