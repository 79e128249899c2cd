"""How well do cGAN, ACGAN and InfoGAN runs draw what they are asked for?

For cGAN/ACGAN runs: ``--n`` samples split evenly over the classes, classified by the packaged
MNIST LeNet (99.5% on the MNIST test set); the figure is the share classified as the class that
was asked for. For InfoGAN runs: ``--n`` samples with random codes; the first categorical code's
values are matched one-to-one to the classifier's classes (Hungarian algorithm) and the
agreement is counted. Also writes the pictures of the run (class grid, sweeps, latent grid).

    ganforge train --method acgan --dataset mnist --steps 3000 --out runs/acgan
    python benchmarks/conditional.py runs/acgan --images docs/img/acgan
    python benchmarks/conditional.py runs/sgan --data-dir ../shared/data   # + 3-NN, MNIST-FID
    python benchmarks/conditional.py runs/infogan --data-dir ../shared/data --raw-g   # G, no EMA
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from time_to_quality import Score

import ganforge
from ganforge.data import to_uint8
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


def use_raw_generator(model, run_dir: str) -> None:
    """Put the run's own G, not its EMA copy, in the model: the pair then differs only in the
    averaging, trained together."""
    from ganforge.runs import CHECKPOINT, load_checkpoint
    from ganforge.runs.checkpoint import unprefixed

    tensors, _ = load_checkpoint(Path(run_dir) / CHECKPOINT)
    model.method.G.load_state_dict(unprefixed("G", tensors))


@torch.no_grad()
def conditioned_samples(model, n: int, seed: int):
    """``n`` images in [0, 1] from a loaded cgan/acgan/infogan run, the function that scores a
    classifier's predictions of them (``{"accuracy": ...}``: against the requested classes, or
    against InfoGAN's first categorical code after matching) and what that measures."""
    method = model.method
    generator = torch.Generator().manual_seed(seed)
    if hasattr(method, "codes"):
        condition = method.sample_condition(n, generator)
        codes = method.codes.split(condition)[0][:, 0]
        z = method.sample_latent(n, generator)
        images = torch.cat([model.generate(z[i : i + 1000], condition[i : i + 1000])
                            for i in range(0, n, 1000)])
        def agreement(predicted):
            return matched_accuracy(codes, predicted, 10)
        return images, agreement, "infogan categorical code vs classifier, matched"
    k = model.num_classes
    requested = torch.arange(k).repeat_interleave(n // k)
    images = torch.cat([model.sample(len(chunk), seed=seed + i, classes=chunk)
                        for i, chunk in enumerate(requested.split(1000))])
    def agreement(predicted):
        return conditional_accuracy(requested, predicted, k)
    return images, agreement, "requested class vs classifier"


@torch.no_grad()
def evaluate(run_dir: str, n: int, seed: int, device: str, data_dir: str | None = None,
             raw_g: bool = False) -> dict:
    model = ganforge.load(run_dir, device=device)
    if raw_g:
        use_raw_generator(model, run_dir)
    classifier = load_mnist_classifier(device=device)
    images, agreement, kind = conditioned_samples(model, n, seed)
    result = agreement(classify(classifier, images))
    if data_dir:
        result["knn_accuracy"] = agreement(knn_classify(knn_judge(data_dir), images))["accuracy"]
        # MNIST-FID, confident share and class KL against the first n MNIST test digits.
        result.update(Score(data_dir, n)(to_uint8(images * 2 - 1)))
    return {"run": run_dir, "method": model.cfg.method, "step": model.step, "n": n,
            "G": "raw" if raw_g else "as sampled", "measure": kind, **result}


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
                        help="folder holding mnist/: adds a 3-NN judge's accuracy, MNIST-FID, "
                        "the confident share and the class KL against the MNIST test digits")
    parser.add_argument("--raw-g", action="store_true",
                        help="score the run's own G, not its EMA copy (runs trained with --ema)")
    args = parser.parse_args()
    for i, run in enumerate(args.runs):
        start = time.perf_counter()
        result = evaluate(run, args.n, args.seed, args.device, args.data_dir, args.raw_g)
        result["seconds"] = round(time.perf_counter() - start, 1)
        print(json.dumps(result))
        if args.json:
            with open(args.json, "a") as f:
                f.write(json.dumps(result) + "\n")
        if args.images and i == 0:
            print("wrote", ", ".join(pictures(run, args.images, args.device)))


if __name__ == "__main__":
    main()
