"""The mode-collapse lab: does each stabilised GAN cover the modes that a plain GAN drops?

Three parts, each resumable (finished runs are read back, not retrained):

- ``toys``: every variant on ring8 and grid25 for ``--steps`` generator steps, 3 seeds; the
  figures are the last evaluation of each run (2,500 points from fixed noise): modes covered
  and high-quality share (VEEGAN's convention, :func:`ganforge.data.mode_metrics`), mean and
  spread over the seeds. Writes a picture of every variant's final samples (seed 0).
- ``mnist``: every variant on MNIST with the DCGAN backbone for the same wall-clock budget
  (``--time-limit``), then MNIST-FID on 10,000 samples against the MNIST test set.
- ``stacked``: plain DCGAN and the cures on Stacked MNIST for the same budget, then modes
  covered (of 1,000) and KL to uniform on 26,000 samples.

    python benchmarks/mode_collapse.py toys --root runs/lab --jobs 2
    python benchmarks/mode_collapse.py mnist --root runs/lab --time-limit 180 --jobs 2
    python benchmarks/mode_collapse.py stacked --root runs/lab --time-limit 240 --jobs 2

Each process trains with one thread, so two jobs on two cores give every run the same CPU.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

# The variants of the issue: each is a method (a preset where the paper gives a recipe) plus
# flags. The GAN-family variants without a recipe of their own share Adam 1e-3 on the toys.
TOY_VARIANTS: dict[str, dict] = {
    "GAN (minimax)": {"method": "gan", "loss": "minimax", "lr": 1e-3},
    "GAN (non-saturating)": {"method": "gan", "lr": 1e-3},
    "WGAN": {"method": "wgan"},
    "WGAN-GP": {"method": "wgan-gp"},
    "LSGAN": {"method": "lsgan"},
    "hinge + SN": {"method": "sngan"},
    "GAN + minibatch disc.": {"method": "gan", "lr": 1e-3, "minibatch_kernels": 5},
    # Issue #25's systems, on the same networks and optimiser as the GAN rows.
    "MRGAN": {"method": "mrgan", "lr": 1e-3},
    "D alone (Langevin)": {"method": "d-only"},
    **{f"f-GAN {d}": {"method": "gan", "lr": 1e-3, "loss": f"f:{d}"}
       for d in ("kl", "reverse-kl", "pearson", "hellinger", "js", "gan", "tv")},
}
# On MNIST every variant uses the DCGAN backbone (the SN preset's ResNet is for 32x32), each
# preset's own optimiser settings, and the DCGAN paper's for the rest.
MNIST_VARIANTS: dict[str, dict] = {
    "GAN (minimax)": {"method": "dcgan", "loss": "minimax"},
    "GAN (non-saturating)": {"method": "dcgan"},
    "WGAN": {"method": "wgan"},
    "WGAN-GP": {"method": "wgan-gp"},
    "LSGAN": {"method": "lsgan"},
    "hinge + SN": {"method": "sngan", "arch": "dcgan"},
    "GAN + minibatch disc.": {"method": "dcgan", "minibatch_kernels": 50},
}
STACKED_VARIANTS = {k: MNIST_VARIANTS[k] for k in (
    "GAN (non-saturating)", "GAN + minibatch disc.", "WGAN-GP", "LSGAN", "hinge + SN")}
TOYS = ("ring8", "grid25")
# Written into a run's folder when its loss became NaN or inf.
DIVERGED = "diverged.txt"


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def train(job: dict) -> str:
    """Train one run in this process with one thread; a finished run is left as it is."""
    import torch

    torch.set_num_threads(1)
    from ganforge.configure import configure
    from ganforge.errors import TrainingDiverged
    from ganforge.training import Trainer

    out = Path(job["out"])
    if (out / "samples.png").exists() or (out / DIVERGED).exists():
        return str(out)
    fields = dict(job["fields"])
    method = fields.pop("method")
    if (out / "checkpoint.safetensors").exists():  # interrupted: continue it
        trainer = Trainer.resume(out, time_limit=fields.get("time_limit"))
    else:
        trainer = Trainer(configure(method=method, out=str(out), device="cpu", **fields))
    try:
        trainer.fit()
    except TrainingDiverged as error:  # a result of the variant, not a failure of the lab
        out.mkdir(parents=True, exist_ok=True)
        (out / DIVERGED).write_text(str(error) + "\n")
    return str(out)


def run_all(jobs: list[dict], workers: int) -> None:
    todo = [j for j in jobs if not any((Path(j["out"]) / f).exists()
                                       for f in ("samples.png", DIVERGED))]
    print(f"{len(jobs) - len(todo)} runs done, {len(todo)} to train", flush=True)
    with ProcessPoolExecutor(workers) as pool:
        for out in pool.map(train, todo):
            print("finished", out, flush=True)


def last_row(path: Path) -> dict:
    return json.loads(path.read_text().splitlines()[-1])


def mean_sd(values: list[float], fmt: str) -> str:
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{format(statistics.mean(values), fmt)} ± {format(sd, fmt)}"


def chosen(variants: dict[str, dict], only: str | None) -> dict[str, dict]:
    if not only:
        return variants
    names = [n.strip() for n in only.split(",")]
    unknown = [n for n in names if n not in variants]
    if unknown:
        raise SystemExit(f"unknown variant {unknown[0]!r}; choose from: {', '.join(variants)}")
    return {n: variants[n] for n in names}


def toys(args) -> None:
    root = Path(args.root) / "toys"
    variants = chosen(TOY_VARIANTS, args.only)
    jobs = [{"out": str(root / toy / f"{slug(name)}-s{seed}"),
             "fields": {**fields, "dataset": toy, "steps": args.steps, "seed": seed}}
            for toy in TOYS for name, fields in variants.items() for seed in args.seeds]
    run_all(jobs, args.jobs)
    header = ["variant"] + [f"{toy} {m}" for toy in TOYS for m in ("modes", "high quality")]
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    results = {}
    for name in variants:
        cells = [name]
        for toy in TOYS:
            rows = [last_row(root / toy / f"{slug(name)}-s{s}" / "metrics.jsonl")
                    for s in args.seeds]
            results[f"{toy}/{name}"] = rows
            total = 8 if toy == "ring8" else 25
            cells += [mean_sd([r["modes"] for r in rows], ".1f") + f" / {total}",
                      mean_sd([100 * r["high_quality"] for r in rows], ".1f") + "%"]
        lines.append("| " + " | ".join(cells) + " |")
    print("\n".join(lines))
    (root / "results.json").write_text(json.dumps(results, indent=1))
    if args.picture:
        toy_picture(root, args.picture, args.seeds[0], variants)


def toy_picture(root: Path, path: str, seed: int, variants: dict[str, dict]) -> None:
    """Final samples of each variant (columns) on each toy (rows), one seed."""
    import numpy as np
    import torch
    from PIL import Image

    from ganforge.viz import save_image
    from ganforge.viz.annotate import labelled_grid

    tiles = []
    for toy in TOYS:
        for name in variants:
            with Image.open(root / toy / f"{slug(name)}-s{seed}" / "samples.png") as image:
                small = image.convert("RGB").resize((160, 160), Image.Resampling.LANCZOS)
            tiles.append(torch.from_numpy(np.array(small)).permute(2, 0, 1))
    labels = [n.replace("GAN + minibatch disc.", "minibatch").replace(" (non-saturating)", " NS")
              for n in variants]
    picture = labelled_grid(torch.stack(tiles), nrow=len(variants), row_labels=TOYS,
                            col_labels=labels, title=f"final samples, seed {seed}")
    print("wrote", save_image(picture, path))


def image_part(args, dataset: str, variants: dict[str, dict], metrics: str) -> None:
    import torch

    torch.set_num_threads(max(1, (os.cpu_count() or 1) // args.jobs))
    from ganforge.inference.sources import load_source
    from ganforge.metrics.evaluate import Evaluator

    root = Path(args.root) / dataset
    jobs = [{"out": str(root / slug(name)),
             "fields": {**fields, "dataset": dataset, "data_dir": args.data_dir,
                        "steps": 1_000_000, "time_limit": args.time_limit, "seed": 0,
                        "checkpoint_every": 1_000_000, "sample_every": 1_000_000}}
            for name, fields in variants.items()]
    run_all(jobs, args.jobs)
    evaluator = Evaluator(metrics, device=torch.device("cpu"))
    n = args.n or (10_000 if dataset == "mnist" else 26_000)
    real = (load_source(f"{dataset}:test", n, data_dir=args.data_dir)
            if evaluator.needs_real else None)
    for name in variants:
        run = root / slug(name)
        report = run / "lab_metrics.json"
        if not report.exists():
            fake = load_source(str(run), n, seed=0, device="cpu")
            values = evaluator(fake.images, real.images if real else None,
                               real.id if real else "")
            state = json.loads((run / "state.json").read_text())
            log = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
            report.write_text(json.dumps({"variant": name, "steps": state["step"],
                                          "images_per_s": statistics.median(
                                              r["images_per_s"] for r in log),
                                          **values}, indent=1))
        print(json.loads(report.read_text()), flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("part", choices=("toys", "mnist", "stacked"))
    p.add_argument("--root", default="runs/lab")
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--only", default=None, help="toys: comma-separated variants to run")
    p.add_argument("--steps", type=int, default=5000, help="toys: generator steps")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--picture", default=None, help="toys: PNG of the final samples")
    p.add_argument("--time-limit", type=float, default=180.0, help="images: seconds per run")
    p.add_argument("--data-dir", default=os.environ.get("GANFORGE_DATA"))
    p.add_argument("--n", type=int, default=None,
                   help="images: samples scored (default: 10,000 MNIST, 26,000 Stacked MNIST)")
    args = p.parse_args()
    if args.part == "toys":
        toys(args)
    elif args.part == "mnist":
        image_part(args, "mnist", MNIST_VARIANTS, "mnist-fid")
    else:
        image_part(args, "stacked-mnist", STACKED_VARIANTS, "stacked-modes")


if __name__ == "__main__":
    main()
