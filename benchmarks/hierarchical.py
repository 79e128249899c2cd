"""Coarse-to-fine generation against DCGAN at the same CPU budget: MNIST-FID of each run and a
picture of every stage.

Train the runs first, each on one thread with the same time limit and started together so the
machine's load falls on all alike (progan grows on a step schedule: give it ``--steps`` that fit
the budget, so the time limit does not stop it mid-growth)::

    for m in dcgan lapgan; do OMP_NUM_THREADS=1 ganforge train --method $m --dataset mnist \\
        --time-limit 600 --out runs/hier/$m & done
    OMP_NUM_THREADS=1 ganforge train --method progan --dataset mnist --steps 1500 --lr 3e-3 \\
        --time-limit 600 --out runs/hier/progan &
    wait
    python benchmarks/hierarchical.py runs/hier/dcgan runs/hier/lapgan runs/hier/progan \\
        --images docs/img/

For each run: steps trained, MNIST-FID of 10,000 samples (the EMA G where the run has one)
against the 10,000 MNIST test images, a sample grid and, for lapgan and progan, the stage picture
(``ganforge sample RUN --stages N``: each pyramid level / resolution of the same samples).
"""

from __future__ import annotations

import argparse
import json

import torch

import ganforge


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("runs", nargs="+")
    p.add_argument("--images", default=None, help="folder for the pictures")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--n", type=int, default=10_000, help="samples for the FID")
    args = p.parse_args()
    from ganforge.inference.sources import load_source
    from ganforge.metrics.evaluate import Evaluator
    from ganforge.viz import save_image

    evaluator = Evaluator("mnist-fid", device=torch.device("cpu"))
    real = load_source("mnist:test", 10_000, data_dir=args.data_dir, image_size=28)
    for run in args.runs:
        model = ganforge.load(run, device="cpu")
        fake = load_source(run, args.n, seed=0, device="cpu")
        values = evaluator(fake.images, real.images, real.id)
        print(json.dumps({"run": run, "method": model.cfg.method, "step": model.step,
                          **values}), flush=True)
        if args.images:
            name = f"{args.images.rstrip('/')}/{model.cfg.method}_mnist_budget"
            model.save_grid(f"{name}_samples.png", n=64, seed=0)
            if model.method.stage_pictures(1) is not None:
                save_image(model.stage_picture(10, seed=0), f"{name}_stages.png")


if __name__ == "__main__":
    main()
