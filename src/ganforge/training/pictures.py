"""The pictures a run draws as it trains: sample grids from a fixed noise batch (or scatter plots
of the toy mixtures), the stages of coarse-to-fine methods, from the sampling generator."""

from __future__ import annotations

from pathlib import Path

import torch

from ganforge.config import TrainConfig
from ganforge.data import TrainingData, to_uint8
from ganforge.data.spec import DataSpec
from ganforge.methods import Method
from ganforge.methods.capabilities import Staged
from ganforge.nn import eval_mode
from ganforge.training.ema import EMA
from ganforge.viz import grid_scale, image_grid, save_image
from ganforge.viz.annotate import labelled_grid, stage_grid
from ganforge.viz.scatter import scatter_plot

# Offsets from the run's seed of the noise the pictures and the EMA's statistics are drawn from.
PICTURE_SEED, CALIBRATION_SEED = 1, 2


class RunPictures:
    """Draws from the sampling generator: the EMA copy, if kept, with its batch-norm statistics
    measured for its weights of the step (once a step), else G itself."""

    def __init__(self, cfg: TrainConfig, method: Method, spec: DataSpec, data: TrainingData,
                 ema: EMA | None) -> None:
        self.cfg, self.method, self.spec, self.data, self.ema = cfg, method, spec, data, ema
        self._calibrated_at: int | None = None

    def forget_calibration(self) -> None:
        """The EMA's weights were replaced (a checkpoint was loaded)."""
        self._calibrated_at = None

    def sampling_G(self, step: int) -> torch.nn.Module:
        if self.ema is None:
            return self.method.G
        if self._calibrated_at != step:
            self.ema.calibrate(lambda n, generator, G: self.method.sample(n, generator, G=G),
                               seed=self.cfg.seed + CALIBRATION_SEED)
            self._calibrated_at = step
        return self.ema.module

    def _noise(self) -> torch.Generator:
        return torch.Generator().manual_seed(self.cfg.seed + PICTURE_SEED)

    @torch.no_grad()
    def samples(self, step: int, n: int | None = None) -> torch.Tensor:
        """Samples from the fixed noise batch (the same at every call): uint8 images, or float
        points for the toy data sets."""
        n = n or self.cfg.n_samples
        G = self.sampling_G(step)
        with eval_mode(G):
            fakes = self.method.sample(n, self._noise(), G=G,
                                       condition=self.method.display_condition(n))
        return fakes if self.spec.kind == "points" else to_uint8(fakes)

    def save_samples(self, path: Path, step: int) -> Path:
        """A grid of images, or for point data a scatter plot over the mixture's modes on a
        fixed window, so successive pictures line up as frames of samples.gif."""
        if self.spec.kind == "points":
            picture = scatter_plot(self.samples(step), self.data.centers,
                                   extent=self.data.extent)
            return save_image(picture, path)
        nrow = self.method.display_nrow or 8
        columns = self.method.display_columns
        if columns:
            picture = labelled_grid(self.samples(step), nrow=nrow,
                                    col_labels=columns * (nrow // len(columns)),
                                    scale=grid_scale(self.spec.img_size),
                                    title=self.method.display_title)
            return save_image(picture, path)
        return save_image(image_grid(self.samples(step), nrow=nrow), path,
                          grid_scale(self.spec.img_size))

    @torch.no_grad()
    def save_stages(self, path: Path, step: int, n: int = 10) -> Path | None:
        """For coarse-to-fine methods (LAPGAN's levels, ProGAN's resolutions): each stage of
        ``n`` samples from the fixed noise, one labelled row per stage."""
        if not isinstance(self.method, Staged):
            return None
        G = self.sampling_G(step)
        with eval_mode(G):
            rows = self.method.stage_pictures(n, self._noise(), G=G)
        return save_image(stage_grid(rows, grid_scale(self.spec.img_size),
                                     title=f"{self.cfg.method}, step {step}"), path)
