"""What the encoder-learning methods learned.

- ``probe RUN``: a linear probe (multinomial logistic regression, scikit-learn) on the encoder's
  codes of ``--train`` MNIST training images, scored on the 10,000 test images; the same for an
  encoder of the same architecture left at its random initialisation (the baseline).
- ``compare RUN...``: MNIST-FID of 10,000 samples of each run against the MNIST test set, and a
  picture per run: a sample grid and a reconstruction grid of test images.

    python benchmarks/representations.py probe runs/bigan
    python benchmarks/representations.py compare runs/vae runs/vaegan --images docs/img/
"""

from __future__ import annotations

import argparse
import json

import torch

import ganforge


@torch.no_grad()
def codes(encode, images: torch.Tensor) -> torch.Tensor:
    return torch.cat([encode(images[i : i + 1000]) for i in range(0, len(images), 1000)])


def linear_probe(train_x, train_y, test_x, test_y) -> float:
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(train_x)
    probe = LogisticRegression(max_iter=2000).fit(scaler.transform(train_x), train_y)
    return float(probe.score(scaler.transform(test_x), test_y))


def probe(args) -> None:
    from ganforge.data import from_uint8, load_dataset
    from ganforge.methods import METHODS

    model = ganforge.load(args.run, device="cpu")
    size = model.method.spec.img_size
    train = load_dataset("mnist", data_dir=args.data_dir, image_size=size)
    test = load_dataset("mnist", data_dir=args.data_dir, split="test", image_size=size)
    subset = torch.randperm(len(train), generator=torch.Generator().manual_seed(0))[:args.train]
    results = {}
    random_init = METHODS.get(model.cfg.method)(model.cfg, model.method.spec).eval()
    for name, encode in (("trained encoder", model.encode),
                         ("random-init encoder",
                          lambda x: random_init.encode(from_uint8(x)))):
        train_codes = codes(encode, train.images[subset]).numpy()
        test_codes = codes(encode, test.images).numpy()
        results[name] = linear_probe(train_codes, train.labels[subset].numpy(), test_codes,
                                     test.labels.numpy())
        print(f"{name}: linear-probe test accuracy {100 * results[name]:.2f}%", flush=True)
    print(json.dumps({"run": args.run, "step": model.step, "train_images": args.train,
                      **results}))


def compare(args) -> None:
    from ganforge.metrics.evaluate import Evaluator
    from ganforge.metrics.sources import load_source
    from ganforge.viz import save_image

    evaluator = Evaluator("mnist-fid", device=torch.device("cpu"))
    for run in args.runs:
        model = ganforge.load(run, device="cpu")
        size = model.method.spec.img_size
        real = load_source("mnist:test", 10_000, data_dir=args.data_dir, image_size=size)
        fake = load_source(run, 10_000, seed=0, device="cpu")
        values = evaluator(fake.images, real.images, real.id)
        print(json.dumps({"run": run, "method": model.cfg.method, "step": model.step,
                          **values}), flush=True)
        if args.images:
            name = f"{args.images.rstrip('/')}/{model.cfg.method}_mnist"
            save_image(model.reconstruction_grid(real.images[:32]), f"{name}_recon.png")
            model.save_grid(f"{name}_samples.png", n=64, seed=0)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="part", required=True)
    a = sub.add_parser("probe")
    a.add_argument("run")
    a.add_argument("--train", type=int, default=10_000)
    a.add_argument("--data-dir", default=None)
    b = sub.add_parser("compare")
    b.add_argument("runs", nargs="+")
    b.add_argument("--images", default=None, help="folder for the pictures")
    b.add_argument("--data-dir", default=None)
    args = p.parse_args()
    probe(args) if args.part == "probe" else compare(args)


if __name__ == "__main__":
    main()
