"""`ganforge train`: train a method, or resume a run, into a run directory."""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path

from ganforge.cli.flags import add_config_flags
from ganforge.config import flag_of
from ganforge.configure import configure
from ganforge.errors import GanforgeError
from ganforge.training import Trainer, distributed


def add_parser(sub) -> None:
    p = sub.add_parser(
        "train", help="train a GAN and write a run directory",
        description="Train a GAN. Options left out take the method's defaults "
                    "(gan: MLP backbone; dcgan: DCGAN backbone).",
    )
    add_config_flags(p)
    p.add_argument("--resume", metavar="RUN_DIR", default=argparse.SUPPRESS,
                   help="continue RUN_DIR exactly where it stopped (with --steps: to that total)")
    p.add_argument("--config", metavar="FILE", default=argparse.SUPPRESS,
                   help="start from the settings of a run's config.json (or a JSON object of "
                   "flat fields) and change the options given beside it; a new run folder "
                   "unless --out is given")
    p.add_argument("--dry-run", action="store_true",
                   help="print the resolved configuration and exit")


def what_will_run(cfg) -> dict:
    """The configuration with the values left to later filled in as they will be: the data
    set's own image size and folder, the device, the run directory (epochs become steps only
    when the data is loaded, so they stay as given)."""
    from ganforge.data import DEFAULT_IMAGE_SIZE
    from ganforge.data.image_sets import default_data_dir
    from ganforge.devices import resolve_device
    from ganforge.runs.directory import default_run_dir

    shown = cfg.to_dict()
    if shown.get("image_size") is None and cfg.dataset in DEFAULT_IMAGE_SIZE:
        shown["image_size"] = DEFAULT_IMAGE_SIZE[cfg.dataset]
    if shown.get("data_dir") is None:
        shown["data_dir"] = str(default_data_dir())
    if shown.get("steps") is None and shown.get("epochs") is None:
        from ganforge.config import DEFAULT_STEPS

        shown["steps"] = DEFAULT_STEPS
    shown["device"] = str(resolve_device(cfg.device))
    if shown.get("out") is None:
        shown["out"] = str(default_run_dir(cfg))
    return shown


def saved_fields(path: str, method: str | None) -> dict:
    """The flat fields of a run's config.json (or of a JSON object of fields), without its run
    folder: what ``--config`` starts from."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError) as error:
        raise GanforgeError(f"--config {path}: cannot read it as JSON "
                            f"({error.__class__.__name__}); give a run's config.json") from None
    fields = data.get("config", data) if isinstance(data, dict) else None
    if not isinstance(fields, dict):
        raise GanforgeError(f"--config {path}: not a JSON object of settings")
    if method is not None and method != fields.get("method", method):
        raise GanforgeError(f"--config {path} is a {fields['method']} run; its settings are not "
                            f"{method}'s: leave out --method, or start {method} from its "
                            "defaults")
    return {k: v for k, v in fields.items() if k != "out" and v is not None}


def run(args: argparse.Namespace) -> int:
    """Under ``torchrun`` every process runs this; each leaves the process group at the end."""
    try:
        return train(args)
    finally:
        distributed.teardown()


def train(args: argparse.Namespace) -> int:
    fields = {k: v for k, v in vars(args).items()
              if k not in ("command", "dry_run", "resume", "config")}
    if "config" in vars(args):
        fields = {**saved_fields(args.config, fields.get("method")), **fields}
    if "resume" in vars(args):
        changeable = {"steps", "device", "time_limit"}
        others = sorted(set(fields) - changeable)
        if others:
            raise GanforgeError(
                f"--resume continues a run with its own config; only --steps, --device and "
                f"--time-limit may change, not {flag_of(others[0])}"
            )
        trainer = Trainer.resume(args.resume, steps=fields.get("steps"),
                                 device=fields.get("device"),
                                 time_limit=fields.get("time_limit"))
    else:
        cfg = configure(fields)
        if args.dry_run:
            print(json.dumps(what_will_run(cfg), indent=2))
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
    write_curves(run_dir)
    return 0


def write_curves(run_dir: Path) -> None:
    """curves.png beside the samples; a run without matplotlib says how to get it, once."""
    from ganforge.viz.curves import plot_runs

    try:
        print(f"curves: {plot_runs([run_dir], run_dir / 'curves.png')}")
    except GanforgeError as e:
        print(f"curves not drawn: {e}", file=sys.stderr)


def print_sample_quality(trainer) -> None:
    """On digit data: how the samples read to the packaged classifier, beside the real test
    digits (ganforge.metrics.summary)."""
    from ganforge.inference.sources import load_source
    from ganforge.metrics.summary import sample_quality

    cfg, device = trainer.cfg, str(trainer.device)
    quality = sample_quality(
        lambda n: load_source(trainer.run_dir, n, seed=0, device=device).images, cfg.dataset,
        data_dir=cfg.data_dir, image_size=trainer.spec.img_size, device=device)
    if quality is not None:
        print("\n".join(quality.lines()))
