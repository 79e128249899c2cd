"""Issue #9's GPU checks in one run sized for a borrowed GPU's few minutes.

1. **Capture works**: one ``--cuda-graphs`` Trainer per method, stepped past its capture; says
   for each whether its step was captured, fell back (and why), and checks that the weights
   moved and stayed finite.
2. **Throughput**: ``ganforge bench`` of gan, cgan and wgan-gp at 28 px and dcgan at 32 px
   (the reference script's size) on MNIST held on the GPU, eager and captured, at batch 64 and
   1,024 (captured also in bf16 at 1,024).
3. **The reference**: PyTorch-GAN's ``dcgan.py`` and ``gan.py`` as written
   (:mod:`reference_dcgan`, :mod:`reference_gan`), end to end on the same GPU.
4. **Same samples**: DCGAN trained ``--quality-steps`` steps on MNIST eagerly and captured,
   same seed; MNIST-FID of 5,000 samples of each against the MNIST test digits, and a sample
   grid of each.
5. **Large batches**: captured DCGAN on MNIST for the same ``--sweep-images`` real images at
   batch 64, 256 and 1,024, with Adam's 2e-4 kept and scaled by sqrt(batch / 64), and the EMA
   half-life held at 10k images (decay 0.5 ** (batch / 10,000)); MNIST-FID of each.

Run from the repository root (the JSON and PNGs go to ``--out``)::

    python benchmarks/gpu_check.py --data-dir ../shared/data --out "$OUT"
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # the reference scripts and their torchvision stand-in

# Each method with the data set it trains on (translation and text need their own).
CAPTURE_METHODS = {"gan": "mnist", "dcgan": "mnist", "cgan": "mnist", "acgan": "mnist",
                   "infogan": "mnist", "wgan-gp": "mnist", "lsgan": "mnist", "sngan": "mnist",
                   "sagan": "mnist", "ssgan": "mnist", "lapgan": "mnist", "progan": "mnist",
                   "vae": "mnist", "vaegan": "mnist", "bigan": "mnist",
                   "text2img": "captioned-mnist", "pix2pix": "edges2mnist",
                   "cyclegan": "digits2mnist", "unit": "digits2mnist",
                   "stargan": "mnist-styles"}


def capture_one(name: str, dataset: str, data_dir: str) -> dict:
    """Step one --cuda-graphs Trainer of ``name`` past its capture (run in a process of its
    own: a failed capture leaves CUDA unusable in the process)."""
    from ganforge.config import with_method_defaults
    from ganforge.training import Trainer
    from ganforge.training.graphed import WARMUP_STEPS

    row = {"method": name, "dataset": dataset}
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            cfg = with_method_defaults(name, dataset=dataset, data_dir=data_dir, device="cuda",
                                       steps=10**6, cuda_graphs=True)
            trainer = Trainer(cfg)
            before = [p.detach().clone() for p in trainer.method.parameters()]
            for _ in range(WARMUP_STEPS + 3):
                trainer.train_step()
            row["logs"] = trainer.flush_logs()
        row["captured"] = trainer.replays_cuda_graph
        row["why_not"] = "; ".join(str(w.message) for w in caught) or None
        after = list(trainer.method.parameters())
        row["moved"] = any(not torch.equal(a, b) for a, b in zip(before, after, strict=True))
        row["finite"] = all(torch.isfinite(p).all().item() for p in after)
    except Exception as e:  # a check reports every method, whatever one does
        row["error"] = f"{type(e).__name__}: {e}"
    return row


def check_capture(data_dir: str, log) -> list[dict]:
    rows = []
    for name, dataset in CAPTURE_METHODS.items():
        done = subprocess.run([sys.executable, __file__, "--capture-one", name, dataset,
                               "--data-dir", data_dir], capture_output=True, text=True,
                              timeout=300)
        lines = done.stdout.strip().splitlines()
        row = (json.loads(lines[-1]) if done.returncode == 0 and lines else
               {"method": name, "error": done.stderr.strip()[-2000:]})
        log(json.dumps(row))
        rows.append(row)
    return rows


def throughput(data_dir: str, out: Path, log) -> dict:
    from ganforge.training.bench import run_benchmarks

    results = {}
    plans = [("mlp-28", ["gan", "cgan", "wgan-gp"], None), ("dcgan-32", ["dcgan"], 32)]
    for label, methods, size in plans:
        for graphs, precision, batches in ((False, "fp32", [64, 1024]),
                                           (True, "fp32", [64, 1024]), (True, "bf16", [1024])):
            key = f"{label}-{'graph' if graphs else 'eager'}-{precision}"
            found = run_benchmarks(methods, batches, dataset="mnist", data_dir=data_dir,
                                   image_size=size, device="cuda", precision=precision,
                                   repeats=3, cuda_graphs=graphs, json_path=out / f"{key}.json")
            results[key] = [r.to_dict() for r in found]
            for r in found:
                log(f"{key} {r.method} batch {r.batch_size}: {r.images_per_s:,.0f} images/s "
                    f"(captured: {r.cuda_graph})")
    return results


def reference(data_dir: str, log) -> dict:
    import reference_dcgan
    import reference_gan

    figures = {}
    loops = (("dcgan.py", reference_dcgan.parser, reference_dcgan.ReferenceLoop),
             ("gan.py", reference_gan.parser, reference_gan.gan_loop))
    for name, parser, loop in loops:
        opt = parser.parse_args(["--data-dir", str(Path(data_dir) / "mnist")])
        with open(os.devnull, "w") as quiet:  # its per-batch print (and .item() syncs) stay
            batches = loop(opt, opt.data_dir, log=quiet).batches()
            reference_dcgan.time_batches(batches, 20)
            images, seconds = reference_dcgan.time_batches(batches, 300)
        figures[name] = images / seconds
        log(f"reference {name}: {figures[name]:,.0f} images/s end to end")
    return figures


def quality(data_dir: str, steps: int, out: Path, log) -> dict:
    from ganforge.config import with_method_defaults
    from ganforge.metrics.evaluate import Evaluator
    from ganforge.metrics.sources import load_source

    evaluator = Evaluator("mnist-fid", device=torch.device("cuda"))
    real = load_source("mnist:test", 10_000, data_dir=data_dir, image_size=28)
    figures = {}
    for graphs in (False, True):
        name = "graph" if graphs else "eager"
        run = out / f"dcgan-{name}"
        cfg = with_method_defaults("dcgan", dataset="mnist", data_dir=data_dir, device="cuda",
                                   steps=steps, cuda_graphs=graphs, out=str(run),
                                   sample_every=10**9, checkpoint_every=10**9)
        fid, seconds = train_and_score(cfg, evaluator, real, out / f"dcgan_{name}_samples.png")
        figures[name] = {"mnist_fid": fid, "seconds": seconds}
        log(f"dcgan {steps} steps {name}: MNIST-FID {fid:.1f} ({seconds:.0f} s)")
    return figures


def train_and_score(cfg, evaluator, real, picture: Path) -> tuple[float, float]:
    """Train ``cfg``'s run; (MNIST-FID of 5,000 of its samples, training seconds), with a
    sample grid written to ``picture``."""
    import ganforge
    from ganforge.metrics.sources import load_source
    from ganforge.training import Trainer

    start = time.perf_counter()
    Trainer(cfg).fit()
    seconds = time.perf_counter() - start
    fake = load_source(cfg.out, 5_000, seed=0, device="cuda")
    fid = evaluator(fake.images, real.images, real.id)["mnist_fid"]
    ganforge.load(cfg.out, device="cuda").save_grid(picture, n=64, seed=0)
    (Path(cfg.out) / "checkpoint.safetensors").unlink()  # not wanted back from the GPU machine
    return fid, seconds


def batch_sweep(data_dir: str, images: int, out: Path, log) -> list[dict]:
    from ganforge.config import with_method_defaults
    from ganforge.metrics.evaluate import Evaluator
    from ganforge.metrics.sources import load_source

    evaluator = Evaluator("mnist-fid", device=torch.device("cuda"))
    real = load_source("mnist:test", 10_000, data_dir=data_dir, image_size=28)
    rows = []
    for batch in (64, 256, 1024):
        for rule in ("fixed", "sqrt") if batch > 64 else ("fixed",):
            lr = 2e-4 * ((batch / 64) ** 0.5 if rule == "sqrt" else 1.0)
            run = out / f"sweep-{batch}-{rule}"
            cfg = with_method_defaults("dcgan", dataset="mnist", data_dir=data_dir,
                                       device="cuda", batch_size=batch, lr=lr,
                                       steps=max(1, images // batch), cuda_graphs=True,
                                       ema=0.5 ** (batch / 10_000), out=str(run),
                                       sample_every=10**9, checkpoint_every=10**9)
            fid, seconds = train_and_score(cfg, evaluator, real,
                                           out / f"sweep_{batch}_{rule}.png")
            rows.append({"batch": batch, "lr_rule": rule, "lr": lr, "steps": cfg.steps,
                         "ema": cfg.ema, "mnist_fid": fid, "seconds": seconds})
            log(json.dumps(rows[-1]))
    return rows


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", default=str(HERE.parent.parent / "shared" / "data"))
    p.add_argument("--out", default="gpu-check")
    p.add_argument("--quality-steps", type=int, default=3000)
    p.add_argument("--sweep-images", type=int, default=640_000)
    p.add_argument("--capture-one", nargs=2, metavar=("METHOD", "DATASET"),
                   help=argparse.SUPPRESS)
    p.add_argument("--skip", default="", help="comma-separated parts to skip: capture, "
                   "throughput, reference, quality, sweep")
    args = p.parse_args()
    if not torch.cuda.is_available():
        print("error: no CUDA device; this script checks the GPU fast path", file=sys.stderr)
        return 2
    if args.capture_one:
        print(json.dumps(capture_one(*args.capture_one, args.data_dir), default=str))
        return 0
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    lines: list[str] = []

    def log(line: str) -> None:
        print(line, flush=True)
        lines.append(line)

    skip = set(filter(None, args.skip.split(",")))
    report = {"device": torch.cuda.get_device_name(), "torch": torch.__version__}
    parts = (("capture", lambda: check_capture(args.data_dir, log)),
             ("reference", lambda: reference(args.data_dir, log)),
             ("throughput", lambda: throughput(args.data_dir, out, log)),
             ("quality", lambda: quality(args.data_dir, args.quality_steps, out, log)),
             ("sweep", lambda: batch_sweep(args.data_dir, args.sweep_images, out, log)))
    for name, part in parts:
        if name in skip:
            continue
        start = time.perf_counter()
        report[name] = part()
        log(f"-- {name} done in {time.perf_counter() - start:.0f} s")
        (out / "gpu_check.json").write_text(json.dumps(report, indent=1, default=str))
    (out / "gpu_check.log").write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
