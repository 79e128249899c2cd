"""PPGN's chains in a trained GAN's latent space, per digit class: do they draw the class, and
how varied are they? For each class K, chains started from noise (``Model.sample_ppgn``) are
scored beside the simplest alternative, G's plain samples that the condition network reads as
K (rejection), and beside the real test digits of K:

- **class accuracy** under the condition network (the packaged MNIST LeNet, which the chains
  climb, so it flatters them) and under an independent judge, a 3-nearest-neighbour classifier
  on the pixels of 20,000 MNIST training digits (97% on the test digits);
- **class-conditional MNIST-FID**: the LeNet-feature FID of K's samples to as many real test
  digits of K, averaged over the classes;
- **diversity**: the mean pairwise LeNet-feature distance of K's samples over that of the real
  digits of K (1: the data's variety).

It also writes a picture of chains' steps for a few classes::

    python benchmarks/ppgn.py RUN --data-dir ../shared/data --out runs/ppgn-bench
    python benchmarks/ppgn.py RUN --set 0.02,0.3,0.14 --set 0.1,1,0.31 --per-class 100
    python benchmarks/ppgn.py RUN --smoke
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.neighbors import KNeighborsClassifier

import ganforge
from ganforge.data import load_dataset
from ganforge.inference.ppgn import PPGNSettings
from ganforge.metrics.domain import load_mnist_classifier, mnist_fid
from ganforge.viz import save_image


def knn_judge(data_dir: str, n: int) -> KNeighborsClassifier:
    train = load_dataset("mnist", data_dir=data_dir)
    x = train.images[:n].flatten(1).float().div(255).numpy()
    return KNeighborsClassifier(3).fit(x, train.labels[:n].numpy())


def pixels(images: torch.Tensor) -> np.ndarray:
    """Images in [0, 1] as the judge's 28 x 28 pixel rows."""
    x = torch.nn.functional.interpolate(images, size=28, mode="bilinear", antialias=True)
    return x.flatten(1).clamp(0, 1).numpy()


@torch.no_grad()
def spread(lenet, images: torch.Tensor) -> float:
    f = lenet.features(images)
    return torch.cdist(f, f).sum().item() / (len(f) * (len(f) - 1))


@torch.no_grad()
def rejection(model, lenet, cls: int, n: int, seed: int) -> torch.Tensor:
    """``n`` of G's plain samples that the LeNet reads as ``cls`` (drawn in rounds)."""
    found, round_ = [], 0
    while sum(len(f) for f in found) < n and round_ < 50:
        x = model.sample(1000, seed=seed * 1000 + round_)
        found.append(x[lenet(x).argmax(1) == cls])
        round_ += 1
    return torch.cat(found)[:n]


def score(name: str, per_class: dict, lenet, judge, real: dict) -> dict:
    rows = {"sampler": name}
    acc, knn, fids, div = [], [], [], []
    for k, x in per_class.items():
        with torch.no_grad():
            acc.append((lenet(x).argmax(1) == k).float().mean().item())
        knn.append(float((judge.predict(pixels(x)) == k).mean()))
        fids.append(mnist_fid(real[k][: len(x)], x))
        div.append(spread(lenet, x) / spread(lenet, real[k][: len(x)].float() / 255))
    rows.update(lenet_accuracy=float(np.mean(acc)), knn_accuracy=float(np.mean(knn)),
                class_fid=float(np.mean(fids)), diversity=float(np.mean(div)),
                knn_per_class=[round(a, 3) for a in knn])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", help="a run of an unconditional GAN on MNIST")
    parser.add_argument("--data-dir", default=os.environ.get("GANFORGE_DATA"))
    parser.add_argument("--out", default="runs/ppgn-bench")
    parser.add_argument("--set", action="append", default=None, metavar="EPS1,EPS2,EPS3",
                        help="step sizes to try (repeatable; default: PPGNSettings')")
    parser.add_argument("--steps", type=int, default=200, help="steps of each chain")
    parser.add_argument("--per-class", type=int, default=100, help="chains per class")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--smoke", action="store_true", help="2 classes, 4 chains, 3 steps")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    classes = [3, 7] if args.smoke else list(range(10))
    per_class, steps = (8, 3) if args.smoke else (args.per_class, args.steps)
    model = ganforge.load(args.run, device="cpu")
    lenet = load_mnist_classifier().eval()
    judge = knn_judge(args.data_dir, 2000 if args.smoke else 20000)
    test = load_dataset("mnist", data_dir=args.data_dir, split="test")
    real = {k: test.images[test.labels == k][:per_class] for k in classes}
    default = PPGNSettings()
    settings = [PPGNSettings(steps, *map(float, s.split(","))) for s in args.set] if args.set \
        else [PPGNSettings(steps, default.eps1, default.eps2, default.eps3)]
    results = [score("rejection", {k: rejection(model, lenet, k, per_class, args.seed)
                                   for k in classes}, lenet, judge, real)]
    for s in settings:
        started = time.perf_counter()
        samples = {k: model.sample_ppgn(per_class, k, s, seed=args.seed + k)[0] for k in classes}
        row = score(f"ppgn eps {s.eps1:g}/{s.eps2:g}/{s.eps3:g}, {s.steps} steps", samples,
                    lenet, judge, real)
        results.append({**row, "seconds": round(time.perf_counter() - started, 1)})
    for r in results:
        print(f"{r['sampler']:>36}: LeNet {r['lenet_accuracy']:.1%}, 3-NN {r['knn_accuracy']:.1%},"
              f" class MNIST-FID {r['class_fid']:.1f}, diversity {r['diversity']:.2f}")
    best = settings[0]
    for k in classes[:3]:
        save_image(model.ppgn_picture(k, rows=4, columns=9, settings=best, seed=args.seed),
                   out / f"chains_{k}.png")
    record = {"run": str(args.run), "step": model.step, "per_class": per_class,
              "classes": classes, "results": results}
    (out / "results.json").write_text(json.dumps(record, indent=2) + "\n")
    print(f"figures: {out / 'results.json'}; pictures: {out}/chains_*.png")


if __name__ == "__main__":
    main()
