"""Metrics during training: every ``eval_every`` steps, and the best checkpoint by one of them.

The Trainer calls :meth:`PeriodicEvaluation.run` at evaluation steps. It draws ``eval_n``
images from the sampling generator (the EMA copy when there is one) in eval mode with a fixed
noise seed, so successive rows compare the same latent vectors; computes the chosen metrics
against the training data's statistics (cached on disk, see :mod:`ganforge.metrics.cache`);
appends ``{"step", values...}`` to ``metrics.jsonl``; and says whether ``best_metric`` improved.
All of it runs inside ``torch.random.fork_rng``, so evaluating never changes the training's random
stream: a run with evaluation trains the same weights as one without, and resumes bit-exactly.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch

from ganforge.config import TrainConfig
from ganforge.data import ImageDataset, ToyMixture
from ganforge.files import json_line, rewrite_jsonl
from ganforge.metrics.cache import default_cache_dir
from ganforge.metrics.evaluate import Evaluator, check_sample_counts, default_metrics, parse_metrics
from ganforge.metrics.modes import POINT_METRICS, point_metrics
from ganforge.metrics.registry import metric_direction
from ganforge.metrics.sources import sample_uint8, take
from ganforge.nn import eval_mode

METRICS_LOG = "metrics.jsonl"
BEST_CHECKPOINT = "checkpoint-best.safetensors"
# Offset from the run's seed of the evaluation noise (seed + 1 is the sample grid's).
_NOISE_SEED_OFFSET = 2


class _EvaluationLog:
    """What every periodic evaluation shares: its schedule, metrics.jsonl and the best value."""

    def __init__(self, cfg: TrainConfig, lower_is_better: bool) -> None:
        assert cfg.eval_every is not None
        self.every = cfg.eval_every
        self.n = cfg.eval_n
        self.seed = cfg.seed + _NOISE_SEED_OFFSET
        self.best_metric = cfg.best_metric
        self.lower_is_better = lower_is_better
        self.best_value: float | None = None
        self.best_step: int | None = None
        self._log_path: Path | None = None

    def due(self, step: int, total_steps: int) -> bool:
        return step % self.every == 0 or step == total_steps

    def open(self, run_dir: Path, resume_step: int | None) -> None:
        """Use ``run_dir/metrics.jsonl``; on resume drop rows of steps that will be redone."""
        self._log_path = run_dir / METRICS_LOG
        rewrite_jsonl(self._log_path, resume_step)

    def _record(self, step: int, values: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        row = {"step": step, **values}
        if self._log_path is not None:
            with open(self._log_path, "a") as f:
                f.write(json_line(row))
        return row, self._update_best(step, values)

    def _update_best(self, step: int, values: dict[str, Any]) -> bool:
        if self.best_metric is None:
            return False
        value = float(values[self.best_metric])
        if math.isnan(value):
            return False
        better = (self.best_value is None
                  or (value < self.best_value if self.lower_is_better else value > self.best_value))
        if better:
            self.best_value, self.best_step = value, step
        return better

    def state_dict(self) -> dict[str, Any]:
        return {"best_metric": self.best_metric, "best_value": self.best_value,
                "best_step": self.best_step}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("best_metric") == self.best_metric:
            self.best_value, self.best_step = state["best_value"], state["best_step"]


class PeriodicEvaluation(_EvaluationLog):
    """The evaluation of an image run: metrics, real statistics, the best value so far."""

    def __init__(
        self, cfg: TrainConfig, dataset: ImageDataset, device: torch.device,
        cache_dir: str | Path | None = None,
    ) -> None:
        super().__init__(cfg, metric_direction(cfg.best_metric or "") == "lower")
        metrics = parse_metrics(cfg.eval_metrics or default_metrics(cfg.dataset))
        self.metric_names = [m.name for m in metrics]
        self.real = take(dataset.images, self.n, seed=0)
        check_sample_counts(metrics, self.n, len(self.real))
        self.real_id = f"{cfg.dataset}:train:{dataset.img_size}px"
        self.device = device
        self.cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        self._evaluator: Evaluator | None = None
        self._real_features: dict | None = None

    def _sampling_device(self) -> list[int]:
        return [self.device.index or 0] if self.device.type == "cuda" else []

    def run(self, step: int, method: Any, G: torch.nn.Module) -> tuple[dict[str, Any], bool]:
        """Evaluate ``G`` (put in eval mode for the draw); returns (row, best_metric improved)."""
        with torch.random.fork_rng(devices=self._sampling_device()):
            if self._evaluator is None:
                self._evaluator = Evaluator(self.metric_names, self.device, self.cache_dir)
                self._real_features = (self._evaluator.real_features(self.real, self.real_id)
                                       if self._evaluator.needs_real else None)
            with eval_mode(G):
                fake = sample_uint8(method, self.n, self.seed, G=G)
            values = self._evaluator.compute(fake, self._real_features)
        return self._record(step, values)


class PointEvaluation(_EvaluationLog):
    """The evaluation of a toy-mixture run on ``eval_n`` points (VEEGAN's 2,500 by default) from
    fixed noise: modes covered, high-quality share (:func:`ganforge.data.mode_metrics`) and the
    KL divergence from uniform of the high-quality points' mode histogram."""

    def __init__(self, cfg: TrainConfig, mixture: ToyMixture, device: torch.device) -> None:
        super().__init__(cfg, POINT_METRICS.get(cfg.best_metric or "") == "lower")
        self.mixture = mixture

    @torch.no_grad()
    def run(self, step: int, method: Any, G: torch.nn.Module) -> tuple[dict[str, Any], bool]:
        with eval_mode(G):
            points = method.sample(self.n, torch.Generator().manual_seed(self.seed), G=G)
        return self._record(step, point_metrics(points, self.mixture))
