"""CoGAN's digit tasks (issue #25): does each generated pair show one digit in both domains?

Trains CoGAN on ``mnist-edges`` and ``mnist-negative`` for ``--seconds`` each (one thread), draws
``--n`` pairs (G1(z), G2(z)) and measures how often B is the edge map (resp. the negative) of A:

- negatives: B agrees with 255 - A pixel by pixel, mean |B - (255 - A)| / 255 <= 0.1, and the
  packaged MNIST classifier reads the same digit in A and in the negated B;
- edges: the intersection over union of the ink of B and of the edge map computed from A
  (``edge_maps``, the function that made the data set) is >= 0.5.

The thresholds are checked against real images: a digit with its own negative / edge map
agrees by construction (100%), and a digit with the view of another test digit is the chance
level, both printed beside the figure. The share is what the paper claims qualitatively (>= 90%).

    python benchmarks/cogan.py --seconds 420 --root runs/cogan
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from ganforge.configure import configure
from ganforge.data import load_dataset, to_uint8
from ganforge.data.translation import crop_to, edge_maps
from ganforge.metrics.domain import load_mnist_classifier
from ganforge.nn import eval_mode
from ganforge.training import Trainer
from ganforge.viz import image_grid, save_image, side_by_side


def agreement(task: str, a: torch.Tensor, b: torch.Tensor, lenet) -> dict:
    """Per-pair agreement of uint8 pairs, as the module's doc defines it."""
    if task == "negative":
        gap = (b.float() - (255 - a.float())).abs().mean(dim=(1, 2, 3)) / 255
        with torch.no_grad():
            same = lenet(crop_to(a, 28)).argmax(1) == lenet(crop_to(255 - b, 28)).argmax(1)
        ok = (gap <= 0.1) & same
        return {"pairs_agreeing": ok.float().mean().item(), "pixel_gap": gap.mean().item(),
                "same_digit": same.float().mean().item()}
    edges, ink = edge_maps(a) > 127, b > 127
    iou = ((edges & ink).flatten(1).sum(1) / (edges | ink).flatten(1).sum(1).clamp_min(1))
    return {"pairs_agreeing": (iou >= 0.5).float().mean().item(), "mean_iou": iou.mean().item()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=float, default=420)
    p.add_argument("--tasks", default="negative,edges")
    p.add_argument("--n", type=int, default=2000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--root", default="runs/cogan")
    p.add_argument("--data-dir", default=None)
    args = p.parse_args()
    torch.set_num_threads(1)
    lenet = load_mnist_classifier()
    results = {}
    for task in args.tasks.split(","):
        test = load_dataset(f"mnist-{task}", data_dir=args.data_dir, split="test")
        own = edge_maps(test.a) if task == "edges" else 255 - test.a
        cfg = configure(method="cogan", dataset=f"mnist-{task}", data_dir=args.data_dir,
                        steps=10**7, time_limit=args.seconds, seed=args.seed, device="cpu",
                        out=str(Path(args.root) / task), checkpoint_every=10**9)
        trainer = Trainer(cfg)
        trainer.fit()
        with eval_mode(trainer.method), torch.no_grad():
            a, b = trainer.method.sample_pairs(args.n, torch.Generator().manual_seed(1),
                                               trainer.sampling_G)
        a, b = to_uint8(a), to_uint8(b)
        n = min(len(test.b), len(test.a))
        results[task] = {
            "steps": trainer.step,
            "generated": agreement(task, a, b, lenet),
            "real_own_view": agreement(task, test.a[:n], own[:n], lenet),
            "real_other_digit": agreement(task, test.a[:n], test.b[:n], lenet),
        }
        print(task, json.dumps(results[task]), flush=True)
        save_image(image_grid(side_by_side(a[:32], b[:32]), nrow=16),
                   Path(args.root) / f"cogan-mnist-{task}.png", 2)
    (Path(args.root) / "cogan.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
