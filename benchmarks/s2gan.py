"""S²-GAN beside DCGAN at the same CPU budget, and the consistency of its renderings with their
structures, with and without joint training.

Three runs, each given the same CPU seconds (its steps set from a measured cost per step, so
S²-GAN's phases, which are shares of the run, fall where they should): S²-GAN on
``edges2mnist`` with joint training over the second half, S²-GAN trained apart throughout
(``joint_from 1``), and DCGAN on the same padded 32 px digits. Figures, from 5,000 samples:

- **MNIST-FID** (the packaged LeNet's features) against the 10,000 MNIST test digits, samples
  cropped from 32 to MNIST's 28 px frame;
- **edge agreement** (S²-GAN): the F1 score, with a one-pixel tolerance, between the structure
  map the Style-GAN was given (thresholded at 0) and the edge map of the image it rendered
  (``edges2mnist``'s own edge operator); the same for real (edges, digit) pairs, 1 by
  construction, and for real edge maps against the wrong digit, the floor. Exact pixels, and
  with a one-pixel tolerance.

    python benchmarks/s2gan.py --seconds 600 --data-dir ../shared/data --out runs/s2gan-bench
    python benchmarks/s2gan.py --smoke --data-dir ../shared/data
    python benchmarks/s2gan.py --score RUN [RUN ...] --data-dir ../shared/data

``--score`` scores trained s2gan runs the same way, and also renders real structure maps of the
data with each run's Style-GAN ("style on real structures"): which of the two GANs limits the
samples.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from paper_dcgan import PAPER_DCGAN

import ganforge
from ganforge.configure import configure
from ganforge.data import ImageDataset, from_uint8, load_dataset
from ganforge.data.translation import edge_maps
from ganforge.metrics.domain import mnist_fid
from ganforge.training import Trainer
from ganforge.viz import save_image


def to_uint8(x: torch.Tensor) -> torch.Tensor:
    return x.add(1).mul(127.5).round().clamp(0, 255).to(torch.uint8)


def edge_f1(structure: torch.Tensor, image_uint8: torch.Tensor, tolerance: int = 0) -> float:
    """F1 of the rendered image's edges against the given structure map, each pixel counted
    as matched when the other map has an edge within ``tolerance`` pixels (a tolerance of 1
    let dense speckled maps score 0.96: the 3x3 neighbourhoods of both cover everything)."""
    given = (structure > 0).float()
    found = (edge_maps(image_uint8) > 127).float()
    k = 2 * tolerance + 1
    near = lambda x: F.max_pool2d(x, k, 1, tolerance)  # noqa: E731
    precision = (found * near(given)).sum() / found.sum().clamp_min(1)
    recall = (given * near(found)).sum() / given.sum().clamp_min(1)
    return (2 * precision * recall / (precision + recall).clamp_min(1e-8)).item()


def configs(data_dir: str, out: Path, seed: int) -> dict:
    common = dict(data_dir=data_dir, device="cpu", seed=seed, sample_every=10**9,
                  checkpoint_every=10**9)
    return {
        "s2gan joint": dict(method="s2gan", dataset="edges2mnist", out=str(out / "s2gan-joint"),
                            **common),
        "s2gan apart": dict(method="s2gan", dataset="edges2mnist", joint_from=1.0,
                            out=str(out / "s2gan-apart"), **common),
        # DCGAN's all-convolutional nets (S2-GAN's stages are built from them), without the
        # dense-layer nets, batch and EMA it takes on MNIST by default since 2026-12-06.
        "dcgan": dict(method="dcgan", dataset="mnist", image_size=32, width=32, **PAPER_DCGAN,
                      out=str(out / "dcgan"), **common),
    }


def padded_mnist(data_dir: str) -> ImageDataset:
    b = load_dataset("edges2mnist", data_dir=data_dir)
    return ImageDataset("mnist", b.b, b.b_labels, tuple(str(i) for i in range(10)))


def cost(fields: dict, data, steps: int = 20) -> float:
    cfg = configure(**{**fields, "steps": steps, "out": fields["out"] + "-cost"})
    started = time.perf_counter()
    Trainer(cfg, dataset=data).fit()
    return (time.perf_counter() - started) / steps


@torch.no_grad()
def score_runs(args) -> None:
    pairs = load_dataset("edges2mnist", data_dir=args.data_dir)
    test = load_dataset("mnist", data_dir=args.data_dir, split="test").images
    n = args.n
    for run in args.score:
        model = ganforge.load(run, device="cpu")
        generator = torch.Generator().manual_seed(args.seed)
        z = model.method.sample_latent(n, generator)
        structure, image = model.G.stages(z)
        real = from_uint8(pairs.a[torch.randperm(len(pairs.a), generator=generator)[:n]])
        rendered = model.G.style(real, z[:, model.G.structure_dim:])
        row = {"steps": model.step,
               "mnist_fid": mnist_fid(test[:n], to_uint8(image)[..., 2:30, 2:30]),
               "edge_f1": edge_f1(structure, to_uint8(image)),
               "style_on_real_structures_fid": mnist_fid(test[:n],
                                                         to_uint8(rendered)[..., 2:30, 2:30])}
        print(run, json.dumps({k: round(v, 3) if isinstance(v, float) else v
                               for k, v in row.items()}), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=600, help="CPU seconds per run")
    parser.add_argument("--data-dir", default=os.environ.get("GANFORGE_DATA"))
    parser.add_argument("--out", default="runs/s2gan-bench")
    parser.add_argument("--n", type=int, default=5000, help="samples scored")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--smoke", action="store_true", help="a few steps, 200 samples")
    parser.add_argument("--only", default=None, help="run only these, comma-separated")
    parser.add_argument("--score", nargs="+", metavar="RUN", help="score trained s2gan runs")
    args = parser.parse_args()
    if args.score:
        return score_runs(args)
    out = Path(args.out)
    n = 200 if args.smoke else args.n
    pairs = load_dataset("edges2mnist", data_dir=args.data_dir)
    data = {"s2gan joint": pairs, "s2gan apart": pairs, "dcgan": padded_mnist(args.data_dir)}
    test = load_dataset("mnist", data_dir=args.data_dir, split="test").images
    results = {}
    for name, fields in configs(args.data_dir, out, args.seed).items():
        if args.only and name not in args.only.split(","):
            continue
        per_step = cost(fields, data[name])
        steps = 6 if args.smoke else max(1, int(args.seconds / per_step))
        started = time.perf_counter()
        run = Trainer(configure(**{**fields, "steps": steps}), dataset=data[name]).fit()
        seconds = time.perf_counter() - started
        model = ganforge.load(run, device="cpu")
        generator = torch.Generator().manual_seed(args.seed)
        row = {"steps": steps, "seconds": round(seconds, 1), "s_per_step": round(per_step, 4)}
        with torch.no_grad():
            if name.startswith("s2gan"):
                z = model.method.sample_latent(n, generator)
                structure, image = model.G.stages(z)
                row["edge_f1"] = edge_f1(structure, to_uint8(image))
                row["edge_f1_1px"] = edge_f1(structure, to_uint8(image), 1)
                pictures = torch.stack([structure[:32], image[:32]], 1).flatten(0, 1)
                save_image(model.picture(pictures.add(1).div(2), nrow=16,
                                         title=f"{name}: structure, image"),
                           out / f"{name.replace(' ', '_')}.png")
            else:
                image = model.method.sample(n, generator)
            row["mnist_fid"] = mnist_fid(test[:n], to_uint8(image)[..., 2:30, 2:30])
        results[name] = row
        print(name, row, flush=True)
    a, b = pairs.a[:n], pairs.b[:n]
    for name, digits in (("real pairs", b), ("real edges, wrong digits", b.roll(1, 0))):
        results[name] = {"edge_f1": edge_f1(a.float() / 127.5 - 1, digits),
                         "edge_f1_1px": edge_f1(a.float() / 127.5 - 1, digits, 1)}
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    for name, row in results.items():
        print(f"{name:>26}: " + ", ".join(f"{k} {v}" for k, v in row.items()))


if __name__ == "__main__":
    main()
