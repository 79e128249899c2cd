"""What the encoder-learning methods learned.

- ``probe RUN``: a linear probe (multinomial logistic regression, scikit-learn) on the encoder's
  outputs for ``--train`` MNIST training images, scored on the 10,000 test images; the same for
  an encoder of the same architecture left at its random initialisation (the baseline: by
  default the trained encoder's own starting weights, drawn from the run's seed). Two layers
  are probed: the codes E(x) (what BiGAN's paper evaluates on MNIST) and the features beneath
  E's last linear map (``--layer`` picks one).
- ``compare RUN...``: MNIST-FID of 10,000 samples of each run against the MNIST test set, and a
  picture per run: a sample grid and a reconstruction grid of test images, and with several
  runs all of them side by side (e.g. ``vae_vs_vaegan.png``).

    python benchmarks/representations.py probe runs/bigan
    python benchmarks/representations.py compare runs/vae runs/vaegan --images docs/img/
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

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
    seed = model.cfg.seed if args.seed is None else args.seed
    torch.manual_seed(seed)  # the run's seed: the trained encoder's own starting weights
    random_init = METHODS.get(model.cfg.method)(model.cfg, model.method.spec).eval()
    outputs = {
        "codes": lambda method: lambda x: method.encode(from_uint8(x)),
        "features": lambda method: lambda x: method.E.backbone.features(from_uint8(x)),
    }
    results = {}
    for layer in ["codes", "features"] if args.layer == "both" else [args.layer]:
        for name, method in (("trained encoder", model.method.eval()),
                             ("random-init encoder", random_init)):
            encode = outputs[layer](method)
            train_out = codes(encode, train.images[subset]).flatten(1).numpy()
            test_out = codes(encode, test.images).flatten(1).numpy()
            key = f"{name}, {layer}"
            results[key] = linear_probe(train_out, train.labels[subset].numpy(), test_out,
                                        test.labels.numpy())
            print(f"{key} ({train_out.shape[1]} dims): linear-probe test accuracy "
                  f"{100 * results[key]:.2f}%", flush=True)
    print(json.dumps({"run": args.run, "step": model.step, "train_images": args.train,
                      "seed": seed, **results}))


def compare(args) -> None:
    from ganforge.data import to_uint8
    from ganforge.inference.sources import load_source
    from ganforge.metrics.evaluate import Evaluator
    from ganforge.viz import montage, save_image
    from ganforge.viz.annotate import labelled_grid

    evaluator = Evaluator("mnist-fid", device=torch.device("cpu"))
    samples, recons, methods = [], [], []
    for run in args.runs:
        model = ganforge.load(run, device="cpu")
        method = model.cfg.method
        size = model.method.spec.img_size
        real = load_source("mnist:test", 10_000, data_dir=args.data_dir, image_size=size)
        fake = load_source(run, 10_000, seed=0, device="cpu")
        values = evaluator(fake.images, real.images, real.id)
        print(json.dumps({"run": run, "method": method, "step": model.step, **values}),
              flush=True)
        if args.images:
            recons.append(model.reconstruction_grid(real.images[:32],
                                                    title=f"{method} reconstructions"))
            samples.append(labelled_grid(to_uint8(model.sample(64, seed=0) * 2 - 1), nrow=8,
                                         scale=model.scale, title=f"{method} samples"))
            methods.append(method)
    if not args.images:
        return
    # two runs of one method are told apart by their directories' names
    names = methods if len(set(methods)) == len(methods) else [Path(r).name for r in args.runs]
    folder = Path(args.images)
    for name, recon, sample in zip(names, recons, samples, strict=True):
        save_image(recon, folder / f"{name}_mnist_recon.png")
        save_image(sample, folder / f"{name}_mnist_samples.png")
    if len(names) > 1:  # the runs side by side: samples above, reconstructions below
        save_image(montage(samples + recons, ncol=len(names)), folder / f"{'_vs_'.join(names)}.png")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="part", required=True)
    a = sub.add_parser("probe")
    a.add_argument("run")
    a.add_argument("--train", type=int, default=10_000)
    a.add_argument("--layer", choices=["codes", "features", "both"], default="both")
    a.add_argument("--seed", type=int, default=None,
                   help="seed of the random-init encoder (default: the run's, so that it is the "
                        "trained encoder's starting point)")
    a.add_argument("--data-dir", default=None)
    b = sub.add_parser("compare")
    b.add_argument("runs", nargs="+")
    b.add_argument("--images", default=None, help="folder for the pictures")
    b.add_argument("--data-dir", default=None)
    args = p.parse_args()
    probe(args) if args.part == "probe" else compare(args)


if __name__ == "__main__":
    main()
