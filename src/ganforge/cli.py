"""The ``ganforge`` command: train, sample, eval, translate, bench."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

from ganforge.config import (
    DEFAULT_STEPS,
    DEVICES,
    GAN_STEPS,
    OPTIMIZERS,
    PRECISIONS,
    TrainConfig,
)

_D = TrainConfig()


def _add_train(sub) -> None:
    from ganforge.config import D_NORMS, G_NORMS
    from ganforge.data import dataset_names
    from ganforge.losses import ADVERSARIAL_LOSSES
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
                   help=f"generator steps to train (default: {DEFAULT_STEPS}; gan: "
                   f"{GAN_STEPS})")
    p.add_argument("--epochs", type=float, default=S, help="train this many passes over the "
                   "data instead of --steps")
    p.add_argument("--time-limit", type=float, default=S, metavar="SECONDS",
                   help="stop after this much training time, checkpoint written (default: off)")
    p.add_argument("--batch-size", type=int, default=S, help=f"(default: {_D.batch_size})")
    p.add_argument("--optimizer", default=S,
                   help=f"one of: {', '.join(OPTIMIZERS)} (default: {_D.optimizer})")
    p.add_argument("--lr", type=float, default=S,
                   help=f"learning rate of G and D (default: {_D.lr})")
    p.add_argument("--lr-g", type=float, default=S, help="G's learning rate (default: --lr)")
    p.add_argument("--lr-d", type=float, default=S, help="D's learning rate (default: --lr)")
    p.add_argument("--beta1", type=float, default=S, help=f"Adam beta1 (default: {_D.beta1})")
    p.add_argument("--beta2", type=float, default=S, help=f"Adam beta2 (default: {_D.beta2})")
    p.add_argument("--adam-eps", type=float, default=S,
                   help=f"Adam epsilon (default: {_D.adam_eps}; ssgan: 1e-4, as the released "
                   "Improved-GAN code's Adam behaves)")
    p.add_argument("--lr-decay-from", type=float, default=S, metavar="FRACTION",
                   help="decay both learning rates linearly to 0 from this fraction of training "
                   "on, e.g. 0.5 as CycleGAN (default: constant)")
    p.add_argument("--flip", action="store_true", default=S,
                   help="augment with random horizontal flips (the same flip for both images "
                   "of a pair)")
    p.add_argument("--direction", default=S, choices=("AtoB", "BtoA"),
                   help="two-domain data: learn A -> B or B -> A (default: AtoB)")
    p.add_argument("--jitter", type=int, default=S, metavar="PIXELS",
                   help="augment with random crops moving up to PIXELS (pix2pix: 15 at 256 px; "
                   "default: 0)")
    p.add_argument("--d-steps", type=int, default=S, help="discriminator steps per generator "
                   f"step, k of Algorithm 1 (default: {_D.d_steps})")
    stable = p.add_argument_group("objective and stabilisers (any image method)")
    stable.add_argument("--loss", default=S, help=f"adversarial objective, one of: "
                        f"{', '.join(ADVERSARIAL_LOSSES)}; gan is the non-saturating loss, "
                        f"minimax eq. 1 of Goodfellow et al. (default: {_D.loss})")
    stable.add_argument("--d-norm", default=S, help=f"D's normalisation: {', '.join(D_NORMS)} "
                        "(batch: the backbone's own; spectral: Miyato et al. 2018, replacing "
                        f"batch norm) (default: {_D.d_norm})")
    stable.add_argument("--gp-weight", type=float, default=S, metavar="LAMBDA",
                        help="WGAN-GP gradient penalty on interpolates, e.g. 10 (default: off)")
    stable.add_argument("--r1-weight", type=float, default=S, metavar="GAMMA",
                        help="R1 penalty gamma/2 E||grad D(x)||^2 on real data (default: off)")
    stable.add_argument("--clip", type=float, default=S, metavar="C",
                        help="WGAN weight clipping of D to [-C, C], e.g. 0.01 (default: off)")
    stable.add_argument("--label-smoothing", type=float, default=S, metavar="S",
                        help="one-sided label smoothing: real target 1 - S, e.g. 0.1 "
                        "(default: 0)")
    stable.add_argument("--feature-matching", action="store_true", default=S,
                        help="G matches the mean of D's features on real data (Salimans et al. "
                        "2016) instead of the adversarial G loss")
    stable.add_argument("--minibatch-kernels", type=int, default=S, metavar="B",
                        help="minibatch discrimination with B kernels before D's head, e.g. 50 "
                        "(default: 0, off)")
    stable.add_argument("--augment", default=S, metavar="LIST",
                        help="differentiable augmentation of every image D sees, real and fake "
                        "(DiffAugment): comma-separated, of color, translation, cutout "
                        "(default: off)")
    stable.add_argument("--history-weight", type=float, default=S, metavar="W",
                        help="historical averaging penalty W ||theta - mean theta||^2 on both "
                        "players (default: off)")
    stable.add_argument("--g-norm", default=S, help=f"G's normalisation: {', '.join(G_NORMS)} "
                        f"(virtual: virtual batch norm) (default: {_D.g_norm})")
    stable.add_argument("--attention", type=int, default=S, metavar="RES",
                        help="a SAGAN self-attention block in G and D at the RES x RES feature "
                        "map (dcgan and resnet backbones; default: off)")
    p.add_argument("--ema", type=float, default=S,
                   help="keep an EMA of G with this decay, e.g. 0.999; 0: none (default: 0.999 "
                   "for gan, else none)")
    p.add_argument("--seed", type=int, default=S, help=f"(default: {_D.seed})")
    p.add_argument("--device", default=S, help=f"one of: {', '.join(DEVICES)} "
                   f"(default: {_D.device})")
    p.add_argument("--precision", default=S, help=f"one of: {', '.join(PRECISIONS)} "
                   f"(default: {_D.precision})")
    p.add_argument("--cuda-graphs", action=argparse.BooleanOptionalAction, default=S,
                   help="capture the whole training step in one CUDA graph and replay it: "
                   "several times faster for small models at small batches (default: on "
                   "CUDA wherever the step can be captured; --cuda-graphs says why when it "
                   "cannot, --no-cuda-graphs turns it off)")
    p.add_argument("--sync-bn", action="store_true", default=S,
                   help="under torchrun on GPUs: batch norm over the global batch "
                   "(SyncBatchNorm) instead of each process's slice (default: off)")
    p.add_argument("--out", default=S, help="run directory (default: runs/METHOD-DATASET-TIME)")
    p.add_argument("--log-every", type=int, default=S, help=f"(default: {_D.log_every})")
    p.add_argument("--sample-every", type=int, default=S, help=f"(default: {_D.sample_every})")
    p.add_argument("--checkpoint-every", type=int, default=S,
                   help=f"(default: {_D.checkpoint_every})")
    p.add_argument("--eval-every", type=int, default=S, metavar="N",
                   help="compute --eval-metrics every N steps (and at the end) on samples of the "
                   "sampling generator (EMA if kept); rows go to metrics.jsonl (default: off)")
    p.add_argument("--eval-metrics", default=S, metavar="LIST",
                   help="comma-separated metric names (see `ganforge eval --help`; default: "
                   "mnist-fid,mnist-is for digit data sets, stacked-modes for stacked-mnist, "
                   "else fid)")
    p.add_argument("--eval-n", type=int, default=S,
                   help=f"images generated per evaluation (default: {_D.eval_n})")
    p.add_argument("--best-metric", default=S, metavar="VALUE",
                   help="keep checkpoint-best.safetensors by this value, e.g. mnist_fid (lower "
                   "is better) or stacked_modes (higher is better) (default: off)")
    p.add_argument("--resume", metavar="RUN_DIR", default=S,
                   help="continue RUN_DIR exactly where it stopped (with --steps: to that total)")
    p.add_argument("--dry-run", action="store_true",
                   help="print the resolved configuration and exit")
    _add_method_options(p, METHODS)


OPTION_PREFIX = "option:"


def _add_method_options(p: argparse.ArgumentParser, methods) -> None:
    """Each method's own options (Method.options) as flags, stored into TrainConfig.extra."""
    group = p.add_argument_group("method options (only the methods named take them)")
    declared: dict[str, list[tuple[str, object]]] = {}
    for name, method in methods.items():
        for option in method.options:
            declared.setdefault(option.name, []).append((name, option))
    for name, pairs in declared.items():
        option = pairs[0][1]
        if any((o.type, o.choices) != (option.type, option.choices) for _, o in pairs):
            raise TypeError(f"methods declare option {name!r} with different types or choices")
        # Methods share a flag but not always its meaning or default (--kl-weight is 0.01 in
        # unit, 1 in vae): each distinct text and default is shown with the methods it belongs to.
        helps = _by_value(pairs, lambda o: o.help)
        help_text = (helps[0][1] if len(helps) == 1
                     else "; ".join(f"{owners}: {text}" for owners, text in helps))
        notes = [f"one of: {', '.join(map(str, option.choices))}"] if option.choices else []
        defaults = _by_value(pairs, lambda o: o.default)
        if len(defaults) == 1:
            if option.default is not None:  # a None default is described in the help itself
                notes.append(f"default: {option.default}")
        else:
            notes.append("default: " + "; ".join(f"{d} for {owners}" for owners, d in defaults
                                                 if d is not None))
        notes_text = f" ({'; '.join(notes)})" if notes else ""
        group.add_argument(option.flag, dest=OPTION_PREFIX + name, type=option.type,
                           default=argparse.SUPPRESS, metavar=name.split("_")[-1].upper(),
                           help=f"[{', '.join(m for m, _ in pairs)}] {help_text}{notes_text}")


def _by_value(pairs, key) -> list[tuple[str, object]]:
    """The distinct values of key(option), in first-declared order, each with its methods."""
    groups: dict[str, tuple[list[str], object]] = {}
    for method, option in pairs:
        value = key(option)
        groups.setdefault(repr(value), ([], value))[0].append(method)
    return [(", ".join(methods), value) for methods, value in groups.values()]


def _add_sample(sub) -> None:
    p = sub.add_parser(
        "sample", help="draw samples, class grids, latent grids, code sweeps, interpolations",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description="Draw pictures from a trained run. Without a picture option: a grid of --n "
                    "random samples. The picture options are exclusive.")
    p.add_argument("run_dir", help="a run directory written by `ganforge train`")
    p.add_argument("--n", type=int, default=None,
                   help="number of samples (default: 64 images, or 2500 points of a toy run)")
    p.add_argument("--out", default=None,
                   help="PNG file to write (default: samples.png; --walk: a GIF, walk.gif)")
    p.add_argument("--seed", type=int, default=0, help="seed of the noise")
    p.add_argument("--nrow", type=int, default=None, help="images per row (default: square)")
    p.add_argument("--device", default="auto", help=f"one of: {', '.join(DEVICES)}")
    p.add_argument("--class", dest="cls", type=int, default=None, metavar="K",
                   help="conditional models: draw --n samples of class K (InfoGAN: value K of "
                   "the categorical code)")
    pictures = p.add_mutually_exclusive_group()
    pictures.add_argument("--per-class", type=int, default=None, metavar="N",
                          help="conditional models: one labelled row per class, N samples each")
    pictures.add_argument("--latent-grid", type=int, default=None, metavar="N",
                          help="an even N x N grid over a 2-D latent space (a run trained with "
                          "--latent-dim 2, or InfoGAN's two continuous codes) spanning --range")
    pictures.add_argument("--sweep", default=None, metavar="CODE",
                          help="InfoGAN: cont:I sweeps continuous code I over --range across "
                          "columns, one row per categorical value; cat:I shows the values of "
                          "categorical code I across columns")
    pictures.add_argument("--interpolate", type=int, default=None, metavar="STEPS",
                          help="rows of STEPS-image walks between random latents")
    pictures.add_argument("--reconstruct", default=None, metavar="SPEC",
                          help="vae, vaegan, bigan: --n images from SPEC (a data set NAME[:SPLIT], "
                          "image folder or .npz) above their reconstructions G(E(x))")
    pictures.add_argument("--stages", type=int, default=None, metavar="N",
                          help="lapgan, progan: N samples shown at every stage, coarse to fine "
                          "(a row per pyramid level or resolution)")
    pictures.add_argument("--walk", type=int, default=None, metavar="KEYFRAMES",
                          help="an animated GIF of a looping walk through KEYFRAMES latents")
    p.add_argument("--text", action="append", default=None, metavar="CAPTION",
                   help="text2img: one labelled row of --nrow samples (default 8) per caption, "
                   "the noise shared down each column; repeat it for more rows")
    p.add_argument("--interpolate-text", default=None, metavar="CAPTION",
                   help="text2img, with one --text A: --rows rows of --steps images whose "
                   "sentence embedding moves from A to CAPTION, the noise fixed along each row")
    p.add_argument("--range", dest="extent", type=float, default=None,
                   help="half-width of --latent-grid (default 2.5) or --sweep (default 2)")
    p.add_argument("--steps", type=int, default=10,
                   help="columns of --sweep and --interpolate-text; frames per leg of --walk")
    p.add_argument("--rows", type=int, default=8,
                   help="rows of --interpolate and --interpolate-text")
    p.add_argument("--mode", default="slerp", help="interpolation: linear or slerp")


def _add_translate(sub) -> None:
    p = sub.add_parser(
        "translate", help="translate images with a pix2pix, cyclegan, unit or stargan run",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description="Translate an image file, or every image in a folder, with a trained "
                    "image-to-image run; outputs keep the input file names (as PNG), and "
                    "grid.png shows inputs beside outputs.")
    p.add_argument("run_dir", help="a run directory written by `ganforge train`")
    p.add_argument("--input", required=True, metavar="PATH", help="an image file or a folder")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for the outputs")
    p.add_argument("--direction", default="AtoB", choices=("AtoB", "BtoA"),
                   help="two-domain runs: which way to translate")
    p.add_argument("--to-domain", default=None, metavar="NAME",
                   help="stargan: the target domain (a name of the run's data set or an index)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace outputs already in --out (inputs are never replaced)")
    p.add_argument("--device", default="auto", help=f"one of: {', '.join(DEVICES)}")


def _add_bench(sub) -> None:
    from ganforge.training.bench import WINDOW_SECONDS

    p = sub.add_parser(
        "bench", help="measure training throughput (images/s) and model FLOPs per image",
        description="Time Trainer.train_step() end to end for each method and batch size on "
                    "this device and print images/s, ms/step, the model FLOPs per image (one "
                    "training step's matrix products and convolutions, forward and backward, "
                    "counted by torch.utils.flop_counter) and the GFLOP/s achieved. One image "
                    "is one real image consumed by a discriminator step. Nothing is written "
                    "unless --json is given.")
    p.add_argument("--methods", default="gan,dcgan,cgan,wgan-gp", metavar="LIST",
                   help="comma-separated method names (default: gan,dcgan,cgan,wgan-gp)")
    p.add_argument("--batch-sizes", default="64,256", metavar="LIST",
                   help="comma-separated batch sizes (default: 64,256)")
    p.add_argument("--dataset", default="fake",
                   help="data set to draw batches from (fake: 512 random 28x28 images, MNIST's "
                   "shape, nothing to download; the default)")
    p.add_argument("--data-dir", default=None,
                   help="folder holding the data sets (default: $GANFORGE_DATA or "
                   "~/.cache/ganforge/data)")
    p.add_argument("--image-size", type=int, default=None,
                   help="resize images to this size (default: the data set's)")
    p.add_argument("--device", default="auto", help=f"one of: {', '.join(DEVICES)} (default: auto)")
    p.add_argument("--precision", default="fp32",
                   help=f"one of: {', '.join(PRECISIONS)} (default: fp32)")
    p.add_argument("--steps", type=int, default=None,
                   help=f"timed steps per window (default: as many as take about "
                   f"{WINDOW_SECONDS:g} s, judged from the warmup)")
    p.add_argument("--warmup", type=int, default=5, help="untimed steps before timing (default: 5)")
    p.add_argument("--cuda-graphs", action=argparse.BooleanOptionalAction, default=None,
                   help="time replays of the whole step captured in a CUDA graph, as `ganforge "
                   "train` trains on CUDA by default (methods that cannot be captured are timed "
                   "eagerly, marked so in the table; --no-cuda-graphs times every step eagerly)")
    p.add_argument("--threads", type=int, default=None,
                   help="torch.set_num_threads for the run (default: torch's own choice)")
    p.add_argument("--repeats", type=int, default=3,
                   help="timed windows per method and batch size; the median is reported "
                   "(default: 3)")
    p.add_argument("--json", default=None, metavar="PATH", help="also write the results here")


def _metric_help() -> str:
    from ganforge.metrics import METRICS

    lines = ["metrics (and the values they report; --best-metric takes one of those):"]
    for name in sorted(METRICS):
        metric = METRICS[name]
        values = ", ".join(f"{k} ({v} is better)" for k, v in metric.better.items())
        lines += [f"  {name:<14} {metric.description}", f"  {'':<14} -> {values}"]
    return "\n".join(lines)


def _add_eval(sub) -> None:
    p = sub.add_parser(
        "eval", help="compute metrics of a trained run or of image files",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Compute metrics of generated images against real ones, print a table and\n"
                    "write metrics.json. Images come from a run directory (RUN_DIR or --fake), an\n"
                    "image folder, an .npz file (key images or arr_0; NHWC or NCHW, uint8 or\n"
                    "float in [0, 1]) or a data set NAME[:SPLIT] (mnist, mnist:test, digits,\n"
                    "stacked-mnist, ...).",
        epilog=_metric_help(),
    )
    p.add_argument("run_dir", nargs="?", default=None, metavar="RUN_DIR",
                   help="a run directory written by `ganforge train`: n images are generated "
                   "(EMA weights when kept) and compared with its training data")
    p.add_argument("--fake", default=None, metavar="PATH",
                   help="generated images: a run directory, image folder, .npz or data set")
    p.add_argument("--real", default=None, metavar="SPEC",
                   help="real images: image folder, .npz or data set NAME[:SPLIT] (default with "
                   "RUN_DIR: the run's data set, train split, at the run's image size)")
    p.add_argument("--metrics", default=None, metavar="LIST",
                   help="comma-separated metric names (default: mnist-fid,mnist-is for digit "
                   "data sets, stacked-modes for stacked-mnist, else fid)")
    p.add_argument("--n", type=int, default=None,
                   help="images per side; real sets smaller than this are used whole "
                   "(default: 10000; 2500 points for a toy-mixture run, as in training)")
    p.add_argument("--data-dir", default=None,
                   help="where data sets live (default: the run's, else $GANFORGE_DATA)")
    p.add_argument("--device", default="auto",
                   help=f"one of: {', '.join(DEVICES)} (default: auto)")
    p.add_argument("--seed", type=int, default=0, help="seed of the generated noise (default: 0)")
    p.add_argument("--out", default=None,
                   help="JSON file to write (default: RUN_DIR/metrics.json, else metrics.json)")
    p.add_argument("--cache-dir", default=None,
                   help="real-data statistics cache (default: ~/.cache/ganforge/stats)")


def build_parser() -> argparse.ArgumentParser:
    from ganforge import __version__

    parser = argparse.ArgumentParser(
        prog="ganforge", description="Train and sample generative adversarial networks.")
    parser.add_argument("--version", action="version", version=f"ganforge {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_train(sub)
    _add_sample(sub)
    _add_eval(sub)
    _add_translate(sub)
    _add_bench(sub)
    return parser


def cmd_train(args: argparse.Namespace) -> int:
    """Under ``torchrun`` every process runs this; each leaves the process group at the end."""
    from ganforge.training import distributed

    try:
        return train(args)
    finally:
        distributed.teardown()


def train(args: argparse.Namespace) -> int:
    from ganforge.config import validate, with_method_defaults
    from ganforge.training import Trainer, distributed, resolve

    fields = {k: v for k, v in vars(args).items() if k not in ("command", "dry_run", "resume")}
    if hasattr(args, "resume"):
        changeable = {"steps", "device", "time_limit"}
        extra = sorted(k.removeprefix(OPTION_PREFIX) for k in set(fields) - changeable)
        if extra:
            from ganforge.errors import GanforgeError

            raise GanforgeError(
                f"--resume continues a run with its own config; only --steps, --device and "
                f"--time-limit may change, not --{extra[0].replace('_', '-')}"
            )
        trainer = Trainer.resume(args.resume, steps=fields.get("steps"),
                                 device=fields.get("device"),
                                 time_limit=fields.get("time_limit"))
    else:
        options = {k.removeprefix(OPTION_PREFIX): fields.pop(k) for k in list(fields)
                   if k.startswith(OPTION_PREFIX)}
        if options:
            fields["extra"] = options
        cfg = validate(resolve(with_method_defaults(fields.pop("method", _D.method), **fields)))
        if args.dry_run:
            print(json.dumps(cfg.to_dict(), indent=2))
            return 0
        trainer = Trainer(cfg)
    resume_hint = f"continue with `ganforge train --resume {trainer.run_dir}`"
    if trainer.step >= trainer.total_steps and distributed.is_main():
        print(f"ganforge: {trainer.run_dir} has trained all its {trainer.total_steps} steps; "
              f"give --steps N above {trainer.total_steps} to train it further", file=sys.stderr)
    try:
        run_dir = trainer.fit()
    except KeyboardInterrupt:
        # A second Ctrl-C (or any under torchrun, whose ranks stop at different points): the
        # step under way is half done, so the last periodic checkpoint stands.
        saved = trainer.last_checkpoint_step
        if distributed.is_main():
            print(f"ganforge: interrupted at step {trainer.step}; " + (
                  f"the checkpoint of step {saved} stands; {resume_hint}" if saved is not None
                  else "no checkpoint was written"), file=sys.stderr)
        return 130
    if not distributed.is_main():
        return 0
    if trainer.stopped_by is not None:
        name = signal.Signals(trainer.stopped_by).name
        print(f"ganforge: {name} received: stopped after step {trainer.step} of "
              f"{trainer.total_steps}, checkpoint saved; {resume_hint}", file=sys.stderr)
        return 128 + trainer.stopped_by
    if trainer.timed_out:
        print(f"--time-limit reached at step {trainer.step} of {trainer.total_steps}; continue "
              f"with `ganforge train --resume {run_dir}`", file=sys.stderr)
    print(f"trained {trainer.step} steps; samples: {run_dir / 'samples.png'}; "
          f"log: {run_dir / 'log.jsonl'}; checkpoint: {run_dir / 'checkpoint.safetensors'}")
    print_sample_quality(trainer)
    return 0


def print_sample_quality(trainer) -> None:
    """On digit data: how the samples read to the packaged classifier, beside the real test
    digits (ganforge.metrics.summary)."""
    from ganforge.metrics.summary import sample_quality

    cfg = trainer.cfg
    quality = sample_quality(trainer.run_dir, cfg.dataset, data_dir=cfg.data_dir,
                             image_size=trainer.spec.img_size, device=str(trainer.device))
    if quality is not None:
        print("\n".join(quality.lines()))


def cmd_sample(args: argparse.Namespace) -> int:
    from ganforge.errors import GanforgeError
    from ganforge.inference import load
    from ganforge.viz import save_image
    from ganforge.viz.grid import check_suffix

    for name in ("n", "steps", "rows"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            raise GanforgeError(f"--{name} must be at least 1, got {getattr(args, name)}")
    # Before any work: a GIF written into a .png (or a PNG into a .gif) shows as broken.
    default, suffix, kind = (("walk.gif", ".gif", "an animated GIF") if args.walk is not None
                             else ("samples.png", ".png", "PNG"))
    args.out = check_suffix(args.out or default, suffix, kind)
    model = load(args.run_dir, device=args.device)
    if args.n is None:
        args.n = 2500 if model.draws_points else 32 if args.reconstruct else 64
    latent_pictures = ("walk", "per_class", "latent_grid", "sweep", "interpolate", "reconstruct",
                       "stages")
    chosen = [n for n in latent_pictures if getattr(args, n) is not None]
    if model.translates and chosen:
        raise GanforgeError(f"--{chosen[0].replace('_', '-')} does not apply to a "
                            f"{model.cfg.method} run, which translates given images: use "
                            "`ganforge translate`, or no picture option for its input/output grid")
    if args.interpolate_text is not None and len(args.text or ()) != 1:
        raise GanforgeError("--interpolate-text B walks from one caption to another: give "
                            "exactly one --text A with it")
    if args.text is not None and (chosen or args.cls is not None):
        other = chosen[0].replace("_", "-") if chosen else "class"
        raise GanforgeError(f"--text picks the captions of the picture; it does not combine "
                            f"with --{other}")
    if args.interpolate_text is not None:
        picture = model.text_interpolation(args.text[0], args.interpolate_text, steps=args.steps,
                                           rows=args.rows, seed=args.seed)
        path = save_image(picture, args.out)
        what = f"{args.rows} interpolations from {args.text[0]!r} to {args.interpolate_text!r}"
    elif args.text is not None:
        per_caption = args.nrow or 8
        path = save_image(model.text_grid(args.text, per_caption, seed=args.seed), args.out)
        what = f"{per_caption} samples for each of {len(args.text)} captions"
    elif args.walk is not None:
        from ganforge.viz.scatter import save_gif

        frames = model.walk(keyframes=args.walk, steps=args.steps, mode=args.mode, seed=args.seed)
        path = save_gif(frames, args.out)
        what = f"a {len(frames)}-frame walk through {args.walk} keyframes"
    elif args.reconstruct is not None:
        from ganforge.metrics.sources import load_source

        model.check_encoder()
        source = load_source(args.reconstruct, args.n, seed=args.seed,
                             data_dir=model.cfg.data_dir, image_size=model.method.spec.img_size)
        path = save_image(model.reconstruction_grid(source.images, per_row=args.nrow or 8),
                          args.out)
        what = f"reconstructions of {len(source.images)} images of {args.reconstruct}"
    elif args.stages is not None:
        path = save_image(model.stage_picture(args.stages, seed=args.seed), args.out)
        what = f"{args.stages} samples at every stage"
    elif args.per_class is not None:
        classes = [args.cls] if args.cls is not None else None
        path = save_image(model.class_grid(args.per_class, classes, seed=args.seed), args.out)
        what = f"{args.per_class} samples per class"
    elif args.latent_grid is not None:
        extent = args.extent if args.extent is not None else 2.5
        picture = model.latent_grid(args.latent_grid, extent, seed=args.seed, cls=args.cls)
        path = save_image(picture, args.out)
        what = f"a {args.latent_grid}x{args.latent_grid} latent grid over +-{extent}"
    elif args.sweep is not None:
        extent = args.extent if args.extent is not None else 2.0
        picture = model.code_sweep(args.sweep, steps=args.steps, extent=extent, seed=args.seed)
        path = save_image(picture, args.out)
        what = f"a sweep of {args.sweep}"
    elif args.interpolate is not None:
        picture = model.interpolation(args.rows, args.interpolate, args.mode, seed=args.seed)
        path = save_image(picture, args.out)
        what = f"{args.rows} {args.mode} interpolations"
    else:
        path = model.save_grid(args.out, n=args.n, seed=args.seed, nrow=args.nrow,
                               classes=args.cls)
        what = f"{args.n} samples" + (f" of class {args.cls}" if args.cls is not None else "")
        if model.translates:
            what = "the run's display inputs beside their translations"
    print(f"wrote {what} from step {model.step} to {path}")
    return 0


def format_table(values: dict) -> str:
    """An aligned two-column table of metric values (lists, such as histograms, on one line)."""
    from ganforge.metrics.registry import metric_direction

    def show(v) -> str:
        if isinstance(v, float):
            return f"{v:.4f}" if abs(v) < 1e5 else f"{v:.6g}"
        if isinstance(v, list):
            return " ".join(str(x) for x in v)
        return str(v)

    rows = [("metric", "value", "better")] + [
        (k, show(v), metric_direction(k) or "") for k, v in values.items()]
    name_width = max(len(r[0]) for r in rows)
    # Numbers are right-aligned on the widest number; a histogram simply runs on.
    value_width = max(len(show(v)) for v in [*values.values(), "value"] if not isinstance(v, list))
    return "\n".join(f"{k:<{name_width}}  {v:>{value_width}}  {b}".rstrip() for k, v, b in rows)


def cmd_eval(args: argparse.Namespace) -> int:
    from ganforge import __version__
    from ganforge.config import resolve_device, write_json
    from ganforge.data import is_point_dataset
    from ganforge.errors import GanforgeError
    from ganforge.metrics.evaluate import Evaluator, default_metrics
    from ganforge.metrics.sources import load_source, run_data, source_kind

    if (args.run_dir is None) == (args.fake is None):
        raise GanforgeError("give a RUN_DIR or --fake PATH (one of them)")
    if args.n is not None and args.n < 1:
        raise GanforgeError(f"--n must be at least 1, got {args.n}")
    fake_spec = args.run_dir or args.fake
    run = run_data(fake_spec) if source_kind(fake_spec) == "run" else None
    if run is not None and is_point_dataset(run["dataset"]):
        args.n = args.n or 2500
        return eval_points(args, fake_spec, run["dataset"])
    args.n = args.n or 10_000
    if args.real is not None:
        source_kind(args.real)
    data_dir = args.data_dir or (run["data_dir"] if run else None)
    image_size = run["image_size"] if run else None
    real_spec = args.real or (run["dataset"] if run else None)
    evaluator = Evaluator(args.metrics or default_metrics(run["dataset"] if run else None),
                          device=resolve_device(args.device), cache_dir=args.cache_dir)
    evaluator.check_sample_counts(args.n, args.n)
    if evaluator.needs_real and real_spec is None:
        needs = ", ".join(m.name for m in evaluator.metrics if m.needs_real)
        raise GanforgeError(f"{needs} compare with real images; give --real PATH")
    extractors = evaluator.extractor_hashes()  # loads the networks: missing weights fail here
    fake = load_source(fake_spec, args.n, seed=args.seed, device=args.device, data_dir=data_dir,
                       image_size=image_size)
    real = (load_source(real_spec, args.n, data_dir=data_dir, image_size=image_size)
            if evaluator.needs_real else None)
    values = evaluator(fake.images, real.images if real else None, real.id if real else "")
    report = {
        "metrics": values,
        "fake": {**fake.info, "num_images": len(fake.images)},
        "real": {**real.info, "id": real.id, "num_images": len(real.images)} if real else None,
        "extractors": extractors,
        "ganforge_version": __version__,
    }
    out = Path(args.out) if args.out else Path(args.run_dir or ".") / "metrics.json"
    write_json(out, report)
    print(f"fake: {fake_spec} ({len(fake.images)} images)"
          + (f"; real: {real_spec} ({len(real.images)} images)" if real else ""))
    print(format_table(values))
    print(f"wrote {out}")
    return 0


def eval_points(args: argparse.Namespace, run_dir: str, dataset: str) -> int:
    """``ganforge eval`` of a toy-mixture run: modes covered and high-quality share."""
    from ganforge import __version__
    from ganforge.config import write_json
    from ganforge.data import ToyMixture
    from ganforge.errors import GanforgeError
    from ganforge.inference import load
    from ganforge.training.evaluation import point_metrics

    if args.metrics not in (None, "modes") or args.real is not None:
        raise GanforgeError(f"{run_dir} learned the 2-D mixture {dataset}; it is evaluated "
                            "with its modes (no --metrics or --real)")
    points = load(run_dir, device=args.device).sample(args.n, seed=args.seed)
    values = point_metrics(points, ToyMixture(dataset))
    out = Path(args.out) if args.out else Path(run_dir) / "metrics.json"
    write_json(out, {"metrics": values, "fake": {"run": run_dir, "num_points": args.n},
                     "real": {"mixture": dataset}, "ganforge_version": __version__})
    print(f"fake: {run_dir} ({args.n} points); real: the {dataset} mixture")
    print(format_table(values))
    print(f"wrote {out}")
    return 0


def cmd_translate(args: argparse.Namespace) -> int:
    from ganforge.data import to_uint8
    from ganforge.data.translation import read_image_files
    from ganforge.errors import GanforgeError
    from ganforge.inference import load
    from ganforge.methods.translation import side_by_side
    from ganforge.viz import image_grid, save_image

    model = load(args.run_dir, device=args.device)
    if not model.translates:
        raise GanforgeError(f"{args.run_dir} is a {model.cfg.method} run, which does not "
                            "translate; train pix2pix, cyclegan, dualgan, discogan, unit or "
                            "stargan")
    channels = model.source_channels(args.direction)
    files, images = read_image_files(Path(args.input), model.method.spec.img_size, channels)
    out = Path(args.out)
    targets, grid = translation_targets(files, out, args.overwrite)
    outputs = to_uint8(model.translate(images, args.direction, args.to_domain) * 2 - 1)
    out.mkdir(parents=True, exist_ok=True)
    for target, image in zip(targets, outputs, strict=True):
        save_image(image, target)
    shown = side_by_side(images[:32], outputs[:32])
    save_image(image_grid(shown, nrow=8), grid, model.scale)
    target = args.to_domain if args.to_domain is not None else args.direction
    print(f"translated {len(files)} images ({target}) into {out}; inputs beside outputs: "
          f"{grid}")
    return 0


TRANSLATION_GRID = "grid.png"


def translation_targets(files: list[Path], out: Path,
                        overwrite: bool = False) -> tuple[list[Path], Path]:
    """Where ``ganforge translate`` writes the translations of ``files`` (``out``/STEM.png) and
    its comparison grid; a one-line error, before any work, when two outputs would share a
    name, an output would replace an input, or (without ``overwrite``) replace a file."""
    from collections import defaultdict

    from ganforge.errors import GanforgeError

    grid = out / TRANSLATION_GRID
    by_target = defaultdict(list)
    for f in files:
        by_target[out / f"{f.stem}.png"].append(f)
    for target, sources in by_target.items():
        if len(sources) > 1:
            raise GanforgeError(f"{' and '.join(s.name for s in sources)} would both be "
                                f"translated into {target}; rename one of them")
    if grid in by_target:
        raise GanforgeError(f"{by_target[grid][0]} would be translated into {grid}, where the "
                            "comparison grid goes; rename it")
    inputs = {f.resolve() for f in files}
    for target in [*by_target, grid]:
        if target.resolve() in inputs:
            raise GanforgeError(f"{target} is one of the input images, which translating would "
                                "overwrite; give an --out folder apart from the inputs")
    existing = [t for t in [*by_target, grid] if t.exists()]
    if existing and not overwrite:
        raise GanforgeError(f"{out} already holds {', '.join(t.name for t in existing[:3])}"
                            f"{f' ({len(existing)} files in all)' if len(existing) > 3 else ''} "
                            "that this translation would replace; give --overwrite to replace "
                            "them, or another --out")
    return list(by_target), grid


def _comma_list(flag: str, text: str, kind=str) -> list:
    from ganforge.errors import GanforgeError

    try:
        values = [kind(x.strip()) for x in text.split(",") if x.strip()]
    except ValueError:
        raise GanforgeError(f"{flag} takes a comma-separated list, got {text!r}") from None
    if not values:
        raise GanforgeError(f"{flag} is empty")
    return values


def cmd_bench(args: argparse.Namespace) -> int:
    from ganforge.training.bench import run_benchmarks

    run_benchmarks(
        _comma_list("--methods", args.methods), _comma_list("--batch-sizes", args.batch_sizes, int),
        dataset=args.dataset, data_dir=args.data_dir, image_size=args.image_size,
        device=args.device, precision=args.precision, steps=args.steps, warmup=args.warmup,
        repeats=args.repeats, threads=args.threads, json_path=args.json,
        cuda_graphs=args.cuda_graphs)
    return 0


COMMANDS = {"train": cmd_train, "sample": cmd_sample, "eval": cmd_eval,
            "translate": cmd_translate, "bench": cmd_bench}


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"ganforge: warning: {message}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run a command. Every failure a user can cause or meet ends in one line on stderr and a
    non-zero exit code: 2 for an error, 130 for Ctrl-C (128 + the signal, as shells report
    it), 141 when the reader of stdout went away (`ganforge ... | head`)."""
    from ganforge.errors import GanforgeError

    try:
        with warnings.catch_warnings():
            warnings.showwarning = _one_line_warning
            args = build_parser().parse_args(argv)
            return COMMANDS[args.command](args)
    except GanforgeError as e:
        print(f"ganforge: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("ganforge: interrupted (Ctrl-C)", file=sys.stderr)
        return 128 + signal.SIGINT
    except BrokenPipeError:
        # Python would complain again when it flushes stdout at exit; point it at nothing.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + signal.SIGPIPE
    except OSError as e:
        # The machine's limits (a full disk, a read-only folder, a path through a file): the
        # file and the reason, not a traceback.
        where = f"{e.filename}: " if e.filename else ""
        print(f"ganforge: error: {where}{e.strerror or e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
