"""The ``ganforge`` command: train, sample."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from ganforge.config import DEFAULT_STEPS, DEVICES, OPTIMIZERS, PRECISIONS, TrainConfig

_D = TrainConfig()


def _add_train(sub) -> None:
    from ganforge.data import dataset_names
    from ganforge.losses import G_LOSSES
    from ganforge.methods import METHODS
    from ganforge.models import ARCHITECTURES

    p = sub.add_parser(
        "train", help="train a GAN and write a run directory",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description="Train a GAN. Options left out take the method's defaults "
                    "(gan: MLP backbone; dcgan: DCGAN backbone).",
    )
    # SUPPRESS keeps unset options out of the namespace so method defaults apply to them.
    S = argparse.SUPPRESS
    p.add_argument("--method", default=S, help=f"one of: {', '.join(METHODS.names())} "
                   f"(default: {_D.method})")
    p.add_argument("--dataset", default=S, help=f"one of: {', '.join(dataset_names())} "
                   f"(default: {_D.dataset})")
    p.add_argument("--data-dir", default=S, help="folder holding the data sets (default: "
                   "$GANFORGE_DATA or ~/.cache/ganforge/data; downloads go there)")
    p.add_argument("--image-size", type=int, default=S,
                   help="resize images to this size (default: the data set's: digits 16, "
                   "mnist/fashion-mnist 28, cifar10 32, folder 64)")
    p.add_argument("--arch", default=S, help=f"backbone, one of: {', '.join(ARCHITECTURES)} "
                   "(default: the method's)")
    p.add_argument("--width", type=int, default=S, help=f"DCGAN base channel width "
                   f"(default: {_D.width})")
    p.add_argument("--latent-dim", type=int, default=S,
                   help=f"size of z (default: {_D.latent_dim})")
    p.add_argument("--steps", type=int, default=S,
                   help=f"generator steps to train (default: {DEFAULT_STEPS})")
    p.add_argument("--epochs", type=float, default=S, help="train this many passes over the "
                   "data instead of --steps")
    p.add_argument("--batch-size", type=int, default=S, help=f"(default: {_D.batch_size})")
    p.add_argument("--optimizer", default=S,
                   help=f"one of: {', '.join(OPTIMIZERS)} (default: {_D.optimizer})")
    p.add_argument("--lr", type=float, default=S,
                   help=f"learning rate of G and D (default: {_D.lr})")
    p.add_argument("--lr-g", type=float, default=S, help="G's learning rate (default: --lr)")
    p.add_argument("--lr-d", type=float, default=S, help="D's learning rate (default: --lr)")
    p.add_argument("--beta1", type=float, default=S, help=f"Adam beta1 (default: {_D.beta1})")
    p.add_argument("--beta2", type=float, default=S, help=f"Adam beta2 (default: {_D.beta2})")
    p.add_argument("--d-steps", type=int, default=S, help="discriminator steps per generator "
                   f"step, k of Algorithm 1 (default: {_D.d_steps})")
    p.add_argument("--g-loss", default=S, help=f"one of: {', '.join(G_LOSSES)} "
                   f"(default: {_D.g_loss})")
    p.add_argument("--ema", type=float, default=S,
                   help="keep an EMA of G with this decay, e.g. 0.999 (default: off)")
    p.add_argument("--seed", type=int, default=S, help=f"(default: {_D.seed})")
    p.add_argument("--device", default=S, help=f"one of: {', '.join(DEVICES)} "
                   f"(default: {_D.device})")
    p.add_argument("--precision", default=S, help=f"one of: {', '.join(PRECISIONS)} "
                   f"(default: {_D.precision})")
    p.add_argument("--out", default=S, help="run directory (default: runs/METHOD-DATASET-TIME)")
    p.add_argument("--log-every", type=int, default=S, help=f"(default: {_D.log_every})")
    p.add_argument("--sample-every", type=int, default=S, help=f"(default: {_D.sample_every})")
    p.add_argument("--checkpoint-every", type=int, default=S,
                   help=f"(default: {_D.checkpoint_every})")
    p.add_argument("--resume", metavar="RUN_DIR", default=S,
                   help="continue RUN_DIR exactly where it stopped (with --steps: to that total)")
    p.add_argument("--dry-run", action="store_true",
                   help="print the resolved configuration and exit")


def _add_sample(sub) -> None:
    p = sub.add_parser("sample", help="draw a grid of samples from a trained run",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("run_dir", help="a run directory written by `ganforge train`")
    p.add_argument("--n", type=int, default=64, help="number of samples")
    p.add_argument("--out", default="samples.png", help="PNG file to write")
    p.add_argument("--seed", type=int, default=0, help="seed of the noise")
    p.add_argument("--nrow", type=int, default=None, help="images per row (default: square)")
    p.add_argument("--device", default="auto", help=f"one of: {', '.join(DEVICES)}")


def build_parser() -> argparse.ArgumentParser:
    from ganforge import __version__

    parser = argparse.ArgumentParser(
        prog="ganforge", description="Train and sample generative adversarial networks.")
    parser.add_argument("--version", action="version", version=f"ganforge {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_train(sub)
    _add_sample(sub)
    return parser


def cmd_train(args: argparse.Namespace) -> int:
    from ganforge.config import validate, with_method_defaults
    from ganforge.training import Trainer, resolve

    fields = {k: v for k, v in vars(args).items() if k not in ("command", "dry_run", "resume")}
    if hasattr(args, "resume"):
        extra = sorted(set(fields) - {"steps", "device"})
        if extra:
            from ganforge.errors import GanforgeError

            raise GanforgeError(
                f"--resume continues a run with its own config; only --steps may change, "
                f"not --{extra[0].replace('_', '-')}"
            )
        trainer = Trainer.resume(args.resume, steps=fields.get("steps"))
    else:
        cfg = validate(resolve(with_method_defaults(fields.pop("method", _D.method), **fields)))
        if args.dry_run:
            print(json.dumps(cfg.to_dict(), indent=2))
            return 0
        trainer = Trainer(cfg)
    try:
        run_dir = trainer.fit()
    except KeyboardInterrupt:
        print(f"\ninterrupted at step {trainer.step}; checkpoint saved; continue with "
              f"`ganforge train --resume {trainer.run_dir}`", file=sys.stderr)
        return 130
    print(f"trained {trainer.step} steps; samples: {run_dir / 'samples.png'}; "
          f"log: {run_dir / 'log.jsonl'}; checkpoint: {run_dir / 'checkpoint.safetensors'}")
    return 0


def cmd_sample(args: argparse.Namespace) -> int:
    from ganforge.errors import GanforgeError
    from ganforge.inference import load

    if args.n < 1:
        raise GanforgeError(f"--n must be at least 1, got {args.n}")
    model = load(args.run_dir, device=args.device)
    path = model.save_grid(args.out, n=args.n, seed=args.seed, nrow=args.nrow)
    print(f"wrote {args.n} samples from step {model.step} to {path}")
    return 0


COMMANDS = {"train": cmd_train, "sample": cmd_sample}


def main(argv: Sequence[str] | None = None) -> int:
    from ganforge.errors import GanforgeError

    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except GanforgeError as e:
        print(f"ganforge: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
