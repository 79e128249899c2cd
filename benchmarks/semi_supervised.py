"""Semi-supervised MNIST with 100 labels: the K+1 GAN's discriminator as a classifier, against
the same network trained on the labelled examples alone.

For each seed: ``ganforge``'s ``ssgan`` (Salimans et al. 2016) trains for ``--epochs`` passes
over the 60,000 training images (every one used unlabelled; ``--labels-per-class`` of each class
labelled, chosen by the seed), and D's argmax over its 10 class logits is scored on the 10,000
test images after every epoch. The baseline trains the same network (noise layers, weight norm,
data-dependent init, Adam 3e-3 with the same epsilon) on the same labelled images only, for as
many updates (or ``--baseline-steps``).

    python benchmarks/semi_supervised.py --seeds 0 1 2 --epochs 10 --root runs/ssgan
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from ganforge.data import from_uint8


@torch.no_grad()
def test_error(classify, images: torch.Tensor, labels: torch.Tensor) -> float:
    wrong = 0
    for i in range(0, len(images), 1000):
        x = from_uint8(images[i : i + 1000])
        wrong += int((classify(x).argmax(1) != labels[i : i + 1000]).sum())
    return wrong / len(images)


def run_ssgan(seed: int, args, test) -> dict:
    from ganforge.configure import configure
    from ganforge.training import Trainer

    out = Path(args.root) / f"ssgan-s{seed}"
    cfg = configure(method="ssgan", dataset="mnist", data_dir=args.data_dir, seed=seed,
                    epochs=args.epochs, out=str(out), device=args.device,
                    sample_every=10**9, checkpoint_every=3000,
                    lr_decay_from=args.lr_decay_from, labels_per_class=args.labels_per_class,
                    classifier_decay=args.classifier_decay, labels_seed=args.labels_seed)
    errors, start = [], time.perf_counter()
    if (out / "checkpoint.safetensors").exists():
        # A shorter run of this seed: train on from its last epoch to --epochs.
        trainer = Trainer(cfg)
        per_epoch = len(trainer.batcher)
        trainer = Trainer.resume(out, steps=round(args.epochs * per_epoch))
        previous = out.parent / f"errors-s{seed}.json"
        errors = json.loads(previous.read_text()) if previous.exists() else []
        # an interrupted run scored epochs after its last checkpoint: they are trained again
        errors = errors[: trainer.step // per_epoch]
    else:
        trainer = Trainer(cfg)
    per_epoch = len(trainer.batcher)
    while trainer.step < trainer.total_steps:
        trainer.fit(until=trainer.step + per_epoch)
        trainer.method.eval()
        errors.append(test_error(trainer.method.classify, *test))
        trainer.method.train()
        (out.parent / f"errors-s{seed}.json").write_text(json.dumps(errors))
        print(f"ssgan seed {seed} epoch {trainer.step // per_epoch}: test error "
              f"{100 * errors[-1]:.2f}% ({time.perf_counter() - start:.0f} s)", flush=True)
    baseline = run_supervised_only(trainer, args, test)
    return {"seed": seed, "steps": trainer.step, "seconds": time.perf_counter() - start,
            "test_error_by_epoch": errors, "supervised_only_test_error": baseline}


def run_supervised_only(trainer, args, test) -> float:
    """The ssgan's D architecture, freshly initialised the same way, trained with cross-entropy on
    the ssgan run's labelled subset alone for as many updates as the ssgan made."""
    from ganforge.methods import METHODS

    torch.manual_seed(trainer.cfg.seed)  # the same initial weights as the ssgan run's
    method = METHODS.get("ssgan")(trainer.cfg, trainer.spec).to(trainer.device)
    method.bind_data(trainer.data)
    optimizer = torch.optim.Adam([p for p in method.D.parameters() if p.requires_grad],
                                 lr=trainer.cfg.lr, betas=(0.5, 0.999), eps=trainer.cfg.adam_eps)
    method.train()
    for _ in range(args.baseline_steps or trainer.step):
        images, labels = method.labelled_batch(trainer.cfg.batch_size)
        loss = F.cross_entropy(method.classify(images, averaged=False), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        method.after_update("D")  # the same weight average classifies
    method.eval()
    error = test_error(method.classify, *test)
    print(f"supervised only, seed {trainer.cfg.seed}: test error {100 * error:.2f}%", flush=True)
    return error


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--epochs", type=float, default=10)
    p.add_argument("--labels-per-class", type=int, default=10)
    p.add_argument("--labels-seed", type=int, default=None,
                   help="seed of the labelled subset, the same for every --seeds run (default: "
                        "each run's seed; the released code fixes it, --seed_data 1)")
    p.add_argument("--lr-decay-from", type=float, default=None,
                   help="fraction of training after which the learning rate falls linearly "
                        "to 0 (default: constant, as in the released code)")
    p.add_argument("--baseline-steps", type=int, default=None,
                   help="updates of the labels-only baseline (default: as many as the ssgan's)")
    p.add_argument("--classifier-decay", type=float, default=0.999)
    p.add_argument("--root", default="runs/ssgan")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--device", default="auto")
    args = p.parse_args()
    from ganforge.data import load_dataset

    test_set = load_dataset("mnist", data_dir=args.data_dir, split="test")
    results = [run_ssgan(seed, args, (test_set.images, test_set.labels)) for seed in args.seeds]
    final = [r["test_error_by_epoch"][-1] for r in results]
    alone = [r["supervised_only_test_error"] for r in results]
    spread = statistics.stdev if len(final) > 1 else (lambda _: 0.0)
    print(f"ssgan test error {100 * statistics.mean(final):.2f} ± {100 * spread(final):.2f}% "
          f"over seeds {args.seeds}; supervised only {100 * statistics.mean(alone):.2f} ± "
          f"{100 * spread(alone):.2f}%")
    Path(args.root).mkdir(parents=True, exist_ok=True)
    name = "results-s" + "-".join(map(str, args.seeds)) + ".json"
    (Path(args.root) / name).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
