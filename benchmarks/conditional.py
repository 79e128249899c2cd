"""How well do cGAN, ACGAN and InfoGAN runs draw what they are asked for?

For cGAN/ACGAN runs: ``--n`` samples split evenly over the classes, classified by the packaged
MNIST LeNet (99.5% on the MNIST test set); the figure is the share classified as the class that
was asked for. For InfoGAN runs: ``--n`` samples with random codes; the first categorical code's
values are matched one-to-one to the classifier's classes (Hungarian algorithm) and the
agreement is counted. Also writes the pictures of the run (class grid, sweeps, latent grid).

    ganforge train --method acgan --dataset mnist --steps 3000 --out runs/acgan
    python benchmarks/conditional.py runs/acgan --images docs/img/acgan
    python benchmarks/conditional.py runs/sgan --data-dir ../shared/data   # + 3-NN, MNIST-FID
"""

from __future__ import annotations

import argparse
import json
import time

import torch

import ganforge
from ganforge.metrics.conditional import conditional_accuracy, matched_accuracy
from ganforge.metrics.domain import load_mnist_classifier
from ganforge.viz import save_image


@torch.no_grad()
def classify(classifier, images: torch.Tensor, batch: int = 1000) -> torch.Tensor:
    return torch.cat([classifier(images[i : i + batch]).argmax(1)
                      for i in range(0, len(images), batch)])


def knn_judge(data_dir: str, n: int = 20000):
    """A second opinion that shares nothing with the LeNet (which some methods train against,
    as stacked-gan's conditional losses do): 3 nearest neighbours on the pixels of ``n`` MNIST
    training digits (97% on the test digits)."""
    from sklearn.neighbors import KNeighborsClassifier

    from ganforge.data import load_dataset

    train = load_dataset("mnist", data_dir=data_dir)
    pixels = train.images[:n].flatten(1).float().div(255).numpy()
    return KNeighborsClassifier(3).fit(pixels, train.labels[:n].numpy())


def knn_classify(judge, images: torch.Tensor) -> torch.Tensor:
    x = torch.nn.functional.interpolate(images, size=28, mode="bilinear", antialias=True)
    return torch.as_tensor(judge.predict(x.flatten(1).clamp(0, 1).numpy()))


@torch.no_grad()
def evaluate(run_dir: str, n: int, seed: int, device: str, data_dir: str | None = None) -> dict:
    model = ganforge.load(run_dir, device=device)
    classifier = load_mnist_classifier(device=device)
    method = model.method
    generator = torch.Generator().manual_seed(seed)
    if hasattr(method, "codes"):
        condition = method.sample_condition(n, generator)
        codes = method.codes.split(condition)[0][:, 0]
        z = method.sample_latent(n, generator)
        images = torch.cat([model.generate(z[i : i + 1000], condition[i : i + 1000])
                            for i in range(0, n, 1000)])
        result = matched_accuracy(codes, classify(classifier, images), 10)
        kind = "infogan categorical code vs classifier, matched"
    else:
        k = model.num_classes
        requested = torch.arange(k).repeat_interleave(n // k)
        images = torch.cat([model.sample(len(chunk), seed=seed + i, classes=chunk)
                            for i, chunk in enumerate(requested.split(1000))])
        result = conditional_accuracy(requested, classify(classifier, images), k)
        kind = "requested class vs classifier"
        if data_dir:
            from ganforge.data import load_dataset
            from ganforge.metrics.domain import mnist_fid

            knn = conditional_accuracy(requested, knn_classify(knn_judge(data_dir), images), k)
            result["knn_accuracy"] = knn["accuracy"]
            test = load_dataset("mnist", data_dir=data_dir, split="test").images
            result["mnist_fid"] = mnist_fid(test[:n], images)
    return {"run": run_dir, "method": model.cfg.method, "step": model.step, "n": n,
            "measure": kind, **result}


def pictures(run_dir: str, prefix: str, device: str) -> list[str]:
    model = ganforge.load(run_dir, device=device)
    written = [save_image(model.class_grid(per_class=10), f"{prefix}_classes.png")]
    if hasattr(model.method, "codes"):
        for i in range(model.method.codes.continuous):
            written.append(save_image(model.code_sweep(f"cont:{i}", steps=9),
                                      f"{prefix}_sweep_cont{i}.png"))
        if model.method.codes.continuous >= 2:
            written.append(save_image(model.latent_grid(12, 2.0), f"{prefix}_code_grid.png"))
    written.append(save_image(model.interpolation(6, 10), f"{prefix}_interpolation.png"))
    return [str(p) for p in written]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", help="run directories of cgan, acgan or infogan")
    parser.add_argument("--n", type=int, default=10_000, help="samples per run")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--images", default=None, metavar="PREFIX",
                        help="write PREFIX_classes.png etc. (first run only)")
    parser.add_argument("--json", default=None, help="append results to this JSON-lines file")
    parser.add_argument("--data-dir", default=None,
                        help="folder holding mnist/: adds a 3-NN judge's accuracy and MNIST-FID")
    args = parser.parse_args()
    for i, run in enumerate(args.runs):
        start = time.perf_counter()
        result = evaluate(run, args.n, args.seed, args.device, args.data_dir)
        result["seconds"] = round(time.perf_counter() - start, 1)
        print(json.dumps(result))
        if args.json:
            with open(args.json, "a") as f:
                f.write(json.dumps(result) + "\n")
        if args.images and i == 0:
            print("wrote", ", ".join(pictures(run, args.images, args.device)))


if __name__ == "__main__":
    main()
