"""Image-to-image translation on the built-in digit tasks, scored on held-out test images.

- ``pix2pix``: pix2pix (U-Net + PatchGAN, L1 weight 100) against the same U-Net trained with L1
  alone, on ``edges2mnist``: test L1, PSNR, SSIM, the share of outputs the MNIST classifier
  labels as the source digit, and MNIST-FID of the outputs against the real test digits (blur
  shows up there: the seed's point is that the adversarial term makes outputs sharper).
- ``cyclegan``: CycleGAN (or ``--method dualgan/discogan/unit``) on ``digits2mnist``: label
  preservation both ways (the MNIST classifier on A->B outputs; a classifier fitted to the
  scikit-learn digits on B->A outputs), cycle reconstruction L1, and MNIST-FID of A->B outputs.
- ``stargan``: StarGAN on ``mnist-styles``: per target style, label preservation (a digit
  classifier fitted to real styled digits) and domain-classification accuracy (a style
  classifier fitted to real styled digits).

Every run trains for ``--seconds`` of wall-clock time on the same budget and writes
``RESULTS/translation-*.json`` and a picture beside it.

    python benchmarks/translation.py pix2pix --seconds 300 --root runs/translation
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ganforge.configure import configure
from ganforge.data import from_uint8, load_dataset, to_uint8
from ganforge.data.translation import crop_to
from ganforge.metrics.domain import load_mnist_classifier, mnist_fid
from ganforge.metrics.image_quality import l1_error, psnr, ssim
from ganforge.nn import eval_mode
from ganforge.training import Trainer
from ganforge.viz import image_grid, save_image, side_by_side


def train(method: str, dataset: str, args, name: str, **fields) -> Trainer:
    cfg = configure(method=method, dataset=dataset, data_dir=args.data_dir, steps=10**7,
                               time_limit=args.seconds, out=str(Path(args.root) / name),
                               device=args.device, seed=args.seed, sample_every=500,
                               checkpoint_every=10**9, **fields)
    trainer = Trainer(cfg)
    start = time.perf_counter()
    trainer.fit()
    print(f"{name}: {trainer.step} steps in {time.perf_counter() - start:.0f} s", flush=True)
    return trainer


@torch.no_grad()
def translate(trainer: Trainer, x: torch.Tensor, direction: str = "AtoB", **kw) -> torch.Tensor:
    """uint8 images translated in batches by the run's sampling generator, in eval mode."""
    method, G = trainer.method, trainer.sampling_G
    out = []
    with eval_mode(method):
        for i in range(0, len(x), 500):
            batch = from_uint8(x[i : i + 500].to(trainer.device))
            out.append(to_uint8(method.translate(batch, direction, G=G, **kw)).cpu())
    return torch.cat(out)


@torch.no_grad()
def accuracy(classify, images: torch.Tensor, labels: torch.Tensor) -> float:
    hits = 0
    for i in range(0, len(images), 1000):
        hits += int((classify(images[i : i + 1000]).argmax(1) == labels[i : i + 1000]).sum())
    return hits / len(images)


def mnist_view(images: torch.Tensor) -> torch.Tensor:
    """32 px task images as the MNIST classifier's 28 px inputs (the padding cropped off)."""
    return crop_to(images, 28)


def fit_classifier(images: torch.Tensor, labels: torch.Tensor, classes: int, epochs: int = 2,
                   seed: int = 0) -> nn.Module:
    """A small CNN fitted to real images (uint8), for scoring translations into their domain."""
    torch.manual_seed(seed)
    c = images.shape[1]
    net = nn.Sequential(
        nn.Conv2d(c, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * (images.shape[-1] // 4) ** 2, 128), nn.ReLU(),
        nn.Linear(128, classes))
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    for _ in range(epochs):
        for idx in torch.randperm(len(images)).split(64):
            loss = F.cross_entropy(net(from_uint8(images[idx])), labels[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    net.eval()
    return lambda x: net(from_uint8(x))


def pix2pix(args) -> dict:
    test = load_dataset("edges2mnist", data_dir=args.data_dir, split="test")
    a, b, digits = test.a[: args.n], test.b[: args.n], test.a_labels[: args.n]
    lenet = load_mnist_classifier()
    results, columns = {}, [a[:16]]
    for name, extra in (("pix2pix", {}), ("l1-only", {"adversarial_weight": 0.0})):
        trainer = train("pix2pix", "edges2mnist", args, f"pix2pix-{name}", batch_size=32,
                        width=args.width, **{"patch": args.patch, **extra})
        out = translate(trainer, a)
        x, y = from_uint8(out), from_uint8(b)
        results[name] = {
            "steps": trainer.step,
            "test_l1": float(l1_error(x, y).mean()),
            "psnr_db": float(psnr(x, y).mean()),
            "ssim": float(ssim(x, y).mean()),
            "label_preserved": accuracy(lenet, mnist_view(out), digits),
            "mnist_fid": mnist_fid(mnist_view(b), mnist_view(out)),
        }
        print(name, results[name], flush=True)
        columns.append(out[:16])
    columns.append(b[:16])
    save_image(image_grid(side_by_side(*columns), nrow=2 * len(columns)),
               Path(args.root) / "pix2pix-vs-l1.png", 2)
    return results


def cyclegan(args) -> dict:
    test = load_dataset("digits2mnist", data_dir=args.data_dir, split="test")
    train_digits = load_dataset("digits2mnist", data_dir=args.data_dir, split="train")
    n = min(args.n, len(test.b))
    a, a_labels = test.a, test.a_labels
    b, b_labels = test.b[:n], test.b_labels[:n]
    lenet = load_mnist_classifier()
    digits_classifier = fit_classifier(train_digits.a, train_digits.a_labels, 10, epochs=10)
    # DTN's D is a three-way classifier, not a PatchGAN.
    patch = {} if args.method == "dtn" else {"patch": args.patch}
    if args.generator:
        patch["generator"] = args.generator
    trainer = train(args.method, "digits2mnist", args, args.method, batch_size=args.batch_size,
                    width=args.width, **patch)
    ab = translate(trainer, a, "AtoB")
    result = {
        "steps": trainer.step,
        "digits_classifier_on_real_test": accuracy(digits_classifier, a, a_labels),
        "label_preserved_AtoB": accuracy(lenet, mnist_view(ab), a_labels),
        "mnist_fid_AtoB": mnist_fid(mnist_view(b), mnist_view(ab)),
        "mnist_fid_A_untranslated": mnist_fid(mnist_view(b), mnist_view(a)),
    }
    columns = [a[:16], ab[:16], b[:16]]
    # One-sided translators (DistanceGAN without the cycle, DTN) have no B -> A.
    if not getattr(trainer.method, "one_sided", False):
        ba = translate(trainer, b, "BtoA")
        aba, bab = translate(trainer, ab, "BtoA"), translate(trainer, ba, "AtoB")
        result.update({
            "label_preserved_BtoA": accuracy(digits_classifier, ba, b_labels),
            "cycle_l1_A": float(l1_error(from_uint8(aba), from_uint8(a)).mean()),
            "cycle_l1_B": float(l1_error(from_uint8(bab), from_uint8(b)).mean())})
        columns.append(ba[:16])
    print(result, flush=True)
    picture = side_by_side(*columns)
    save_image(image_grid(picture, nrow=2 * len(columns)),
               Path(args.root) / f"{args.method}-digits2mnist.png",
               2)
    return {args.method: result}


def stargan(args) -> dict:
    train_set = load_dataset("mnist-styles", data_dir=args.data_dir, split="train")
    test = load_dataset("mnist-styles", data_dir=args.data_dir, split="test")
    x, digits = test.images[: args.n], test.digits[: args.n]
    names = test.class_names
    digit_classifier = fit_classifier(train_set.images, train_set.digits, 10)
    style_classifier = fit_classifier(train_set.images, train_set.labels, len(names))
    trainer = train("stargan", "mnist-styles", args, "stargan", width=args.width)
    per_domain, rows = {}, [x[:8]]
    for k, name in enumerate(names):
        out = translate(trainer, x, to_domain=k)
        per_domain[name] = {
            "label_preserved": accuracy(digit_classifier, out, digits),
            "domain_accuracy": accuracy(style_classifier, out, torch.full_like(digits, k)),
        }
        rows.append(out[:8])
    result = {"steps": trainer.step, "per_target_domain": per_domain,
              "classifiers_on_real_test": {
                  "digit": accuracy(digit_classifier, x, digits),
                  "style": accuracy(style_classifier, x, test.labels[: args.n])}}
    print(json.dumps(result, indent=1), flush=True)
    save_image(image_grid(side_by_side(*rows), nrow=len(rows)),
               Path(args.root) / "stargan-mnist-styles.png", 2)
    return {"stargan": result}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("task", choices=("pix2pix", "cyclegan", "stargan"))
    p.add_argument("--seconds", type=float, default=300, help="training budget per run")
    p.add_argument("--method", default="cyclegan",
                   help="cyclegan task: cyclegan, dualgan, discogan, unit, distancegan or dtn")
    p.add_argument("--width", type=int, default=32)
    p.add_argument("--generator", default=None, help="cyclegan task: G's architecture "
                   "(default: the method's)")
    p.add_argument("--patch", type=int, default=34, help="PatchGAN receptive field")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--n", type=int, default=2000, help="test images scored")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--root", default="runs/translation")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--device", default="auto")
    args = p.parse_args()
    Path(args.root).mkdir(parents=True, exist_ok=True)
    results = {"pix2pix": pix2pix, "cyclegan": cyclegan, "stargan": stargan}[args.task](args)
    name = args.method if args.task == "cyclegan" else args.task
    name += f"-{args.generator}" if args.generator else ""
    (Path(args.root) / f"translation-{name}.json").write_text(json.dumps(
        {"seconds": args.seconds, "width": args.width, "patch": args.patch, **results},
        indent=1))


if __name__ == "__main__":
    main()
