"""The model card: README.md in every run directory, rewritten at each checkpoint, so a killed
run's card shows its last checkpoint's figures. What the run is (method and paper, data), how
far it got, the command that reproduces it, its latest metrics with the protocol they were
measured under, and its sample grid."""

from __future__ import annotations

import json
import time
from pathlib import Path

from ganforge.files import atomic_write

EXTRACTORS = {"inception": "Inception v3 pool features (FID's standard network)",
              "mnist-lenet": "the packaged MNIST LeNet's penultimate features and classes",
              "digits-lenet": "the packaged digits LeNet's penultimate features and classes",
              "mnist-lenet-channels": "the MNIST LeNet on each channel"}


def _last_row(path: Path) -> dict:
    try:
        lines = path.read_text().strip().splitlines()
        return json.loads(lines[-1]) if lines else {}
    except (OSError, ValueError):
        return {}


def card_text(trainer) -> str:
    cfg, run_dir, method = trainer.cfg, trainer.run_dir, trainer.method
    doc = " ".join((type(method).__doc__ or "").strip().split("\n\n")[0].split())
    started = (run_dir / "config.json").stat().st_mtime if (run_dir / "config.json").exists() \
        else time.time()
    seconds = time.time() - started
    lines = [f"# {run_dir.name}: {cfg.method} on {cfg.dataset}", "",
             f"**Method.** `{cfg.method}`: {doc}", "",
             f"**Data.** `{cfg.dataset}`, {trainer.spec.img_channels} channel(s) at "
             f"{trainer.spec.img_size} px" if trainer.spec.kind == "image" else
             f"**Data.** `{cfg.dataset}` (2-D points)", "",
             f"**Progress.** step {trainer.step} of {trainer.total_steps}, checkpoint of step "
             f"{trainer.last_checkpoint_step}, {seconds / 60:.1f} minutes since the run began "
             f"(this card was written at the checkpoint; a killed run keeps it).", "",
             "**Reproduce.** `ganforge train --config " + str(run_dir / "config.json") +
             " --out NEW_FOLDER` (the same settings and seed); continue this run with "
             f"`ganforge train --resume {run_dir}`.", ""]
    metrics = _last_row(run_dir / "metrics.jsonl")
    evaluation = getattr(trainer, "evaluation", None)
    if metrics and evaluation is not None:
        from ganforge.metrics.registry import METRICS

        lines += [f"**Metrics** at step {metrics.get('step')}:", "",
                  "| metric | value | features |", "| --- | --- | --- |"]
        for key, value in metrics.items():
            if key == "step":
                continue
            # Rows name a metric's values with underscores (digits_fid, digits_kl_uniform).
            metric = next((m for n, m in sorted(METRICS.items(), key=lambda kv: -len(kv[0]))
                           if key.replace("_", "-").startswith(n.replace("classes", ""))), None)
            extractor = EXTRACTORS.get(metric.extractor, metric.extractor) if metric else ""
            shown = f"{value:.4g}" if isinstance(value, float) else value
            lines.append(f"| {key} | {shown} | {extractor} |")
        n, real = getattr(evaluation, "n", "?"), getattr(evaluation, "real_id", None)
        reference = (f"the first {n} images of `{real}`, seed 0" if real else
                     "the mixture's modes")  # a toy run's points
        lines += ["", f"Protocol: {n} samples of the sampling generator (the EMA copy when "
                  f"kept) against {reference}; FID-type figures depend on the sample count and "
                  "the feature network, so compare only figures measured alike.", ""]
    else:
        lines += ["**Metrics.** None logged yet (`--eval-every N` measures them during "
                  "training; `ganforge eval RUN` after).", ""]
    if (run_dir / "samples.png").exists():
        lines += ["**Samples** (the last picture written):", "", "![samples](samples.png)", ""]
    return "\n".join(lines)


def write_card(trainer) -> Path:
    path = trainer.run_dir / "README.md"
    atomic_write(path, card_text(trainer))
    return path
