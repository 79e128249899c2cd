"""Does filtering G's samples by the run's own D make them better? (issue #25)

For a trained MNIST run: 10,000 samples drawn plainly, then 10,000 kept by discriminator
rejection sampling (``drs``, D calibrated on 1,000 MNIST training digits) and by ``top:P%``;
each set scored against the 10,000 MNIST test digits by the packaged MNIST classifier
(MNIST-FID, confident share, class KL), with the filter's acceptance rate. One JSON line per
rule::

    ganforge train --method dcgan --dataset mnist --steps 2500 --out runs/dcgan
    python benchmarks/d_filter.py runs/dcgan --rules none,drs,top:20% --seeds 0,1,2
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run_dir")
    p.add_argument("--rules", default="none,drs,top:20%")
    p.add_argument("--seeds", default="0")
    p.add_argument("--n", type=int, default=10_000)
    p.add_argument("--data-dir", default=str(HERE.parent.parent / "shared" / "data"))
    p.add_argument("--out", default=None, help="append the rows to this JSON-lines file")
    args = p.parse_args()

    import ganforge
    from ganforge.data import to_uint8
    from ganforge.inference.sources import load_source
    from ganforge.metrics.evaluate import Evaluator
    from ganforge.metrics.sources import load_images

    model = ganforge.load(args.run_dir, device="cpu")
    evaluator = Evaluator("mnist-fid,mnist-classes")
    real = load_source("mnist:test", args.n, data_dir=args.data_dir, image_size=28)
    features = evaluator.real_features(real.images, real.id)
    size = model.method.spec.img_size
    calibration = load_images("mnist", 1000, seed=123, data_dir=args.data_dir,
                              image_size=size).images
    for seed in map(int, args.seeds.split(",")):
        for rule in args.rules.split(","):
            start = time.process_time()
            if rule == "none":
                images, acceptance = model.sample(args.n, seed=seed), 1.0
            else:
                images, report = model.sample_filtered(args.n, rule, seed=seed,
                                                       real=calibration)
                acceptance = report.acceptance
            seconds = time.process_time() - start
            values = evaluator.compute(to_uint8(images * 2 - 1), features)
            row = {"run": str(args.run_dir), "step": model.step, "rule": rule, "seed": seed,
                   "acceptance": round(acceptance, 4), "cpu_seconds": round(seconds, 1),
                   "mnist_fid": values["mnist_fid"],
                   "confident_share": values["mnist_confident_share"],
                   "kl_uniform": values["mnist_kl_uniform"]}
            print(json.dumps(row), flush=True)
            if args.out:
                with open(args.out, "a") as f:
                    f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    torch.set_num_threads(1)
    main()
