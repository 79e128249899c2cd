"""Quality against CPU seconds: how fast a run gets good (issue #22).

Each contender trains on MNIST while the clock runs; every ``--every`` seconds of training the
clock stops, 10,000 samples are scored against the 10,000 MNIST test digits by the packaged
MNIST classifier (MNIST-FID, confident share, class KL), and training resumes. The clock is the
process's CPU time (``time.process_time``), not the wall clock, so contenders run side by side
or on a loaded machine are measured alike; with ``--threads 1`` it is seconds of one core.
Contenders:

* ``dcgan``: `ganforge train --method dcgan --dataset mnist --precision auto`, the README's
  first training line: DCGAN's MNIST defaults since 2026-12-07 (InfoGAN's networks at width
  32, Adam 2e-3 for G and 4e-4 for D, batch 128, an EMA of G at 0.999, one G forward a step)
  with bf16 autocast where the CPU has AVX512-BF16 or AMX and fp32 elsewhere. Rows say which
  ran;
* ``dcgan-w64``: the same at width 64, DCGAN's MNIST defaults from 2026-12-06 to 2026-12-07
  (rows before 2026-12-07 named it ``dcgan``; those before late on 2026-12-06 ran G twice a
  step, and those without a ``precision`` field ran bf16 on a CPU with AVX512-BF16, 1.6x the
  images per CPU-second there);
* ``dcgan-allconv``: `... --arch dcgan --ema 0 --batch-size 64`, the paper's all-convolutional
  nets and rates: DCGAN as shipped on MNIST until 2026-12-06;
* ``dcgan-ema``: the same with ``--ema 0.999``;
* ``dcgan-infogan-nets``: the same without EMA on InfoGAN's networks (``--arch infogan``), which
  add a dense 1,024-unit layer to each of G and D;
* ``dcgan-tuned``: those networks with InfoGAN's G learning rate (1e-3), an EMA of G at 0.99
  and bf16 autocast at batch 64: the README's 5-minute line before the defaults changed;
* ``infogan-tuned``: `ganforge train --method infogan` (the same networks and learning rates,
  with InfoGAN's information term on a 10-way categorical and two continuous codes) with the
  EMA of G at 0.99 and ``--precision auto``, at width 64 with Q reading the fakes as drawn:
  the README's InfoGAN line until 2026-12-07;
* ``infogan``: `ganforge train --method infogan --precision auto` as shipped: on MNIST width 32
  and ``--code-augment affine,stroke,translation`` (the README's InfoGAN line, at 6,000 steps,
  since 2026-12-07);
* ``gan``: `ganforge train --method gan --dataset mnist` as shipped (the quick start's MLP GAN
  with its EMA of G);
* ``reference``: PyTorch-GAN's ``dcgan.py`` as :mod:`reference_dcgan` runs it (its samples are
  drawn the way its own sample pictures are, G in training mode, and resized from 32 to 28 px
  by the classifier's input path).

Writes ``time_to_quality.jsonl`` (one row per score, appended, so contenders can run in
separate processes at once) and a picture of the curves::

    python benchmarks/time_to_quality.py --contenders dcgan --budget 1800 --every 150 &
    python benchmarks/time_to_quality.py --contenders gan,reference --budget 600 &
    wait; python benchmarks/time_to_quality.py --plot-only
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from paper_dcgan import PAPER_DCGAN  # noqa: E402

# Each ganforge contender: its method and what it changes from the method's defaults.
# Those of DCGAN before its MNIST defaults changed (2026-12-06) are that recipe, changed.
CONTENDERS = {"dcgan": ("dcgan", {"precision": "auto"}),
              "dcgan-w64": ("dcgan", {"precision": "auto", "arch": "infogan", "width": 64,
                                      "lr_g": 2e-3, "lr_d": 4e-4}),
              "dcgan-allconv": ("dcgan", PAPER_DCGAN),
              "dcgan-ema": ("dcgan", {**PAPER_DCGAN, "ema": 0.999}),
              "dcgan-infogan-nets": ("dcgan", {**PAPER_DCGAN, "arch": "infogan"}),
              "dcgan-tuned": ("dcgan", {**PAPER_DCGAN, "arch": "infogan", "lr_g": 1e-3,
                                        "ema": 0.99, "precision": "bf16"}),
              "infogan-tuned": ("infogan", {"ema": 0.99, "precision": "auto", "width": 64,
                                            "code_augment": "none"}),
              "infogan": ("infogan", {"precision": "auto"}),
              "gan": ("gan", {})}


class Score:
    def __init__(self, data_dir: str, n: int) -> None:
        from ganforge.inference.sources import load_source
        from ganforge.metrics.evaluate import Evaluator

        self.n = n
        self.evaluator = Evaluator("mnist-fid,mnist-classes")
        self.real = load_source("mnist:test", n, data_dir=data_dir, image_size=28)
        self.features = self.evaluator.real_features(self.real.images, self.real.id)

    def __call__(self, images: torch.Tensor) -> dict:
        values = self.evaluator.compute(images, self.features)
        return {"mnist_fid": values["mnist_fid"],
                "confident_share": values["mnist_confident_share"],
                "kl_uniform": values["mnist_kl_uniform"]}


class GanforgeContender:
    def __init__(self, name: str, data_dir: str, seed: int) -> None:
        from ganforge.configure import configure
        from ganforge.training import Trainer

        self.name = name
        method, overrides = CONTENDERS[name]
        cfg = configure(method=method, dataset="mnist", data_dir=data_dir, device="cpu",
                        seed=seed, steps=10**7, **overrides)
        self.trainer = Trainer(cfg)
        self.trainer.method.train()

    def train_for(self, seconds: float) -> None:
        end = time.process_time() + seconds
        while time.process_time() < end:
            self.trainer.train_step()
            if self.trainer.step % 50 == 0:
                self.trainer.flush_logs()

    @torch.no_grad()
    def samples(self, n: int) -> torch.Tensor:
        from ganforge.metrics.sources import sample_uint8
        from ganforge.nn import eval_mode

        G = self.trainer.sampling_G
        with eval_mode(G):
            images = sample_uint8(self.trainer.method, n, seed=0, G=G)
        self.trainer.method.train()
        return images

    @property
    def images_seen(self) -> int:
        return self.trainer.step * self.trainer.cfg.batch_size

    @property
    def precision(self) -> str:
        return self.trainer.cfg.precision  # resolved: what ran, never "auto"


class ReferenceContender:
    name = "reference"
    precision = "fp32"

    def __init__(self, data_dir: str, seed: int) -> None:
        import numpy as np
        import reference_dcgan

        torch.manual_seed(seed)
        np.random.seed(seed)
        opt = reference_dcgan.parser.parse_args(["--data-dir", str(Path(data_dir) / "mnist")])
        self.opt = opt
        self.loop = reference_dcgan.ReferenceLoop(opt, opt.data_dir,
                                                  log=open(os.devnull, "w"))  # noqa: SIM115
        self.batches = self.loop.batches()
        self.seen = 0

    def train_for(self, seconds: float) -> None:
        end = time.process_time() + seconds
        while time.process_time() < end:
            self.seen += next(self.batches)

    @torch.no_grad()
    def samples(self, n: int) -> torch.Tensor:
        from ganforge.data import to_uint8

        generator = torch.Generator().manual_seed(0)
        out = []
        for start in range(0, n, 64):
            z = torch.randn(min(64, n - start), self.opt.latent_dim, generator=generator)
            out.append(to_uint8(self.loop.generator(z)).cpu())
        return torch.cat(out)

    @property
    def images_seen(self) -> int:
        return self.seen


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", default=str(HERE.parent.parent / "shared" / "data"))
    p.add_argument("--budget", type=float, default=1800, help="training seconds per contender")
    p.add_argument("--every", type=float, default=150, help="seconds between scores")
    p.add_argument("--contenders", default="dcgan,gan,reference",
                   help=f"comma-separated, of: {', '.join([*CONTENDERS, 'reference'])}")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--n", type=int, default=10_000)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", default="benchmarks/results")
    p.add_argument("--picture", default="docs/img/time_to_quality.png")
    p.add_argument("--plot-only", action="store_true", help="draw the picture from the rows")
    p.add_argument("--cpu-name", default=None,
                   help="a name for this CPU, kept in each row and shown in the picture's legend "
                        "(a CPU-minute of one machine is not one of another)")
    args = p.parse_args()
    out = Path(args.out)
    rows_path = out / "time_to_quality.jsonl"
    if args.plot_only:
        plot(rows_path, Path(args.picture), args.threads)
        return
    names = args.contenders.split(",")
    unknown = [n for n in names if n not in CONTENDERS and n != "reference"]
    if unknown:
        raise SystemExit(f"unknown contender {unknown[0]!r}; choose from: "
                         f"{', '.join([*CONTENDERS, 'reference'])}")
    torch.set_num_threads(args.threads)
    out.mkdir(parents=True, exist_ok=True)
    score = Score(args.data_dir, args.n)
    for name in names:
        contender = (ReferenceContender(args.data_dir, args.seed) if name == "reference" else
                     GanforgeContender(name, args.data_dir, args.seed))
        trained = 0.0
        while trained < args.budget - 1e-6:
            chunk = min(args.every, args.budget - trained)
            contender.train_for(chunk)
            trained += chunk
            row = {"contender": name, "seed": args.seed, "threads": args.threads,
                   "cpu_seconds": trained, "precision": contender.precision,
                   "images": contender.images_seen, **score(contender.samples(args.n)),
                   **({"cpu": args.cpu_name} if args.cpu_name else {})}
            print(json.dumps(row), flush=True)
            with open(rows_path, "a") as f:
                f.write(json.dumps(row) + "\n")
    plot(rows_path, Path(args.picture), args.threads)


def plot(rows_path: Path, picture: Path, threads: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [json.loads(line) for line in rows_path.read_text().splitlines()]
    names = list(dict.fromkeys(r["contender"] for r in rows))
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    panels = (("mnist_fid", "MNIST-FID (lower is better)", 50, "log"),
              ("confident_share", "confident share (higher is better)", 0.90, "linear"),
              ("kl_uniform", "class KL to uniform (lower is better)", 0.02, "log"))
    for ax, (key, label, goal, scale) in zip(axes, panels, strict=True):
        for name in names:
            mine = [r for r in rows if r["contender"] == name]
            # Rows from another CPU (its name recorded with them) are minutes of that CPU.
            legend = f"{name} ({mine[0]['cpu']})" if "cpu" in mine[0] else name
            ax.plot([r["cpu_seconds"] / 60 for r in mine], [r[key] for r in mine], marker="o",
                    markersize=3, label=legend)
        ax.axhline(goal, color="grey", linestyle=":", linewidth=1)
        ax.axvline(5, color="grey", linestyle="--", linewidth=0.8)
        ax.set_yscale(scale)
        ax.set_xlabel(f"training CPU minutes ({threads} thread{'s' * (threads > 1)})")
        ax.set_title(label, fontsize=10)
    axes[0].legend(fontsize=8)
    fig.suptitle("MNIST: quality against CPU time (dotted: issue #22's goal for DCGAN; dashed: "
                 "5 CPU-minutes)", fontsize=10)
    fig.tight_layout()
    fig.savefig(picture, dpi=110)
    print(f"wrote {picture}")


if __name__ == "__main__":
    main()
