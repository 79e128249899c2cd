"""The truncation trick on a trained run: does drawing z nearer the centre trade diversity for
sharper digits (issue #22)?

BigGAN (Brock et al. 2019) samples z from a normal truncated at ``|z_i| <= t`` (values beyond
redrawn) and reports higher precision for lower diversity as ``t`` falls. This scores a run's
sampling G (its EMA when it has one) at each threshold: 10,000 samples against the 10,000 MNIST
test digits with the packaged MNIST classifier (MNIST-FID, confident share, class KL), the same
seed's noise at every threshold::

    python benchmarks/truncation.py runs/dcgan-mnist-... --thresholds none,2,1.5,1,0.75,0.5

The result on DCGAN's MNIST default is in RESULTS.md ("The truncation trick"): the confident
share barely moves while the class histogram collapses, so ganforge has no truncation option.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))


def truncated_latents(n: int, width: int, threshold: float | None, seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    z = torch.empty(n, width)
    if threshold is None:
        return z.normal_(generator=generator)
    return torch.nn.init.trunc_normal_(z, 0.0, 1.0, -threshold, threshold, generator=generator)


def main() -> None:
    from time_to_quality import Score

    import ganforge
    from ganforge.data import to_uint8

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("run", help="a run directory of an unconditional MNIST model")
    p.add_argument("--thresholds", default="none,2,1.5,1,0.75,0.5")
    p.add_argument("--n", type=int, default=10_000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data-dir", default="data")
    p.add_argument("--out", default=None, help="append the rows to this .jsonl")
    args = p.parse_args()

    model = ganforge.load(args.run)
    method = model.method
    score = Score(args.data_dir, 10_000)
    for word in args.thresholds.split(","):
        threshold = None if word == "none" else float(word)
        z = truncated_latents(args.n, method.latent_width, threshold, args.seed)
        with torch.no_grad():
            images = torch.cat([to_uint8(method.run_G(part.to(method.device)))
                                for part in z.split(1000)])
        row = {"run": args.run, "threshold": threshold, **score(images)}
        print(json.dumps(row), flush=True)
        if args.out:
            with open(args.out, "a") as f:
                f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
