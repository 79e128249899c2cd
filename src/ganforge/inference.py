"""Sampling from a trained run: rebuild the networks from config.json, load the weights."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from ganforge.config import TrainConfig, resolve_device
from ganforge.data import to_uint8
from ganforge.errors import GanforgeError
from ganforge.methods import METHODS, DataSpec, Method
from ganforge.training import checkpoint as ckpt
from ganforge.training.trainer import CONFIG_FILE, grid_scale
from ganforge.viz import image_grid, save_image


def read_run_config(run_dir: Path) -> dict:
    """config.json of a run, with ``config`` as a TrainConfig and ``data_spec`` as a DataSpec."""
    path = Path(run_dir) / CONFIG_FILE
    if not Path(run_dir).is_dir():
        raise GanforgeError(f"run directory {run_dir} does not exist")
    if not path.exists():
        raise GanforgeError(f"{path} not found; is {run_dir} a ganforge run directory?")
    try:
        raw = json.loads(path.read_text())
        return {**raw, "config": TrainConfig.from_dict(raw["config"]),
                "data_spec": DataSpec(**raw["data_spec"])}
    except (json.JSONDecodeError, KeyError, TypeError) as e:
        raise GanforgeError(f"{path} is not a valid ganforge config ({e})") from None


class Model:
    """A trained generator ready to sample. Uses the EMA weights when the run kept them."""

    def __init__(self, method: Method, cfg: TrainConfig, run_dir: Path, step: int) -> None:
        self.method = method.eval()
        self.cfg = cfg
        self.run_dir = run_dir
        self.step = step

    @property
    def G(self) -> torch.nn.Module:
        return self.method.G

    @torch.no_grad()
    def sample(self, n: int, seed: int | None = None) -> torch.Tensor:
        """``n`` images as float [n, C, H, W] in [0, 1]."""
        generator = torch.Generator().manual_seed(seed) if seed is not None else None
        return self.method.sample(n, generator).add(1.0).div_(2.0).clamp_(0.0, 1.0)

    @torch.no_grad()
    def generate(self, z: torch.Tensor) -> torch.Tensor:
        """Images in [0, 1] for given latent vectors."""
        return self.G(z.to(self.method.device)).add(1.0).div_(2.0).clamp_(0.0, 1.0)

    def save_grid(self, path: str | Path, n: int = 64, seed: int | None = 0,
                  nrow: int | None = None) -> Path:
        images = to_uint8(self.sample(n, seed) * 2 - 1)
        return save_image(image_grid(images, nrow=nrow), path,
                          grid_scale(self.method.spec.img_size))


def load(run_dir: str | Path, device: str = "auto") -> Model:
    """Load a run directory written by the Trainer for sampling."""
    run_dir = Path(run_dir)
    info = read_run_config(run_dir)
    cfg: TrainConfig = info["config"]
    tensors, state = ckpt.load_checkpoint(run_dir / ckpt.CHECKPOINT)
    method = METHODS.get(cfg.method)(cfg, info["data_spec"])
    weights = {k: v for k, v in tensors.items() if k in method.state_dict()}
    ema = ckpt.unprefixed("G_ema", tensors)
    if ema:
        weights.update(ckpt.prefixed("G", ema))
    method.load_state_dict(weights)
    return Model(method.to(resolve_device(device)), cfg, run_dir, state["step"])
