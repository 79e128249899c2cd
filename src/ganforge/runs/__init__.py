"""Run directories: what a run writes (config.json, checkpoints, logs), read back by the same
module that wrote it, so training and inference share one format and never each other."""

from ganforge.runs.checkpoint import CHECKPOINT, load_checkpoint
from ganforge.runs.directory import CONFIG_FILE, read_run_config

__all__ = ["CHECKPOINT", "CONFIG_FILE", "load_checkpoint", "read_run_config"]
