"""The one training loop every GAN method shares.

Algorithm 1 of Goodfellow et al. 2014: ``d_steps`` discriminator updates, then one generator
update. The Trainer owns everything around the method's two losses: optimisers, gradient
toggling, mixed precision, EMA, logging without per-step host syncs, sample grids with a fixed
noise batch, atomic checkpoints, exact resume and the NaN guard; with ``eval_every`` it also
computes metrics and keeps the best checkpoint (:mod:`ganforge.training.evaluation`). Under
``torchrun`` it trains data-parallel (:mod:`ganforge.training.distributed`): each process takes
its slice of every global batch, gradients are averaged before each step, and rank 0 alone
writes files.
"""

from __future__ import annotations

import contextlib
import math
import re
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

from ganforge import __version__
from ganforge.config import (
    DEFAULT_STEPS,
    TrainConfig,
    dataset_defaults,
    resolve_device,
    runnable,
    validate,
    write_json,
)
from ganforge.data import (
    Augment,
    Batcher,
    CaptionedImages,
    ImageDataset,
    PairBatcher,
    PointBatcher,
    ToyMixture,
    TranslationData,
    is_point_dataset,
    load_training_data,
    to_uint8,
)
from ganforge.errors import GanforgeError, TrainingDiverged
from ganforge.methods import METHODS, DataSpec, Method
from ganforge.nn import eval_mode
from ganforge.training import checkpoint as ckpt
from ganforge.training import distributed
from ganforge.training.ema import EMA
from ganforge.training.graphed import GraphedStep, capture_blocker
from ganforge.training.log import RunLog
from ganforge.training.progress import PROGRESS_SECONDS, Progress
from ganforge.training.run_dir import WEIGHT_FILES, RunLock, prepare
from ganforge.training.stop_signals import StopSignals
from ganforge.viz import image_grid, save_image
from ganforge.viz.annotate import stage_grid
from ganforge.viz.scatter import save_gif, scatter_plot

CONFIG_FILE = "config.json"


def resolve(cfg: TrainConfig) -> TrainConfig:
    """Fill fields left as None from the method's defaults (e.g. its backbone), and the
    method's options left unset from theirs."""
    method = METHODS.get(cfg.method)
    defaults = runnable({**method.defaults, **dataset_defaults(cfg.dataset)},
                        {"epochs": cfg.epochs, "steps": cfg.steps})
    filled = {k: v for k, v in defaults.items() if getattr(cfg, k, None) is None}
    # Written into the run's config.json, so a run resumed after a default changes goes on
    # as it started (an older run, saved without them, takes today's defaults).
    options = {o.name: o.default for o in method.options}
    if options.keys() - cfg.extra.keys():
        filled["extra"] = {**options, **cfg.extra}
    cfg = cfg.replace(**filled) if filled else cfg
    if cfg.eval_every is not None and cfg.eval_metrics is None:
        from ganforge.metrics.evaluate import default_metrics

        cfg = cfg.replace(eval_metrics="modes" if is_point_dataset(cfg.dataset)
                          else default_metrics(cfg.dataset))
    return cfg


def trainable_parameters(modules) -> list[torch.nn.Parameter]:
    """The parameters of ``modules`` that learn: those a network froze (the fixed gains of
    Improved GAN's D) stay out of the optimiser and out of gradient toggling."""
    return [p for m in modules for p in m.parameters() if p.requires_grad]


def make_optimizer(cfg: TrainConfig, group: str, modules, device: torch.device,
                   capturable: bool = False):
    """The group's optimiser. ``capturable``: Adam whose step counts and learning rate are
    device tensors, so a CUDA graph can replay its step (:mod:`ganforge.training.graphed`)."""
    params = trainable_parameters(modules)
    lr = cfg.g_lr if group == "G" else cfg.d_lr
    if capturable:
        return torch.optim.Adam(params, lr=torch.tensor(lr, device=device),
                                betas=(cfg.beta1, cfg.beta2), eps=cfg.adam_eps, fused=True,
                                capturable=True)
    if cfg.optimizer == "adam":
        # Fused Adam updates all parameters in one kernel, on GPUs and CPUs alike. On a CPU the
        # default per-parameter loop took a quarter of the MLP GAN's step (fused: 1.3x faster
        # steps there, benchmarks/README.md); it rounds a little differently (~1e-8 in the
        # weights over 200 steps).
        fused = {"fused": True} if device.type in ("cuda", "cpu") else {}
        return torch.optim.Adam(params, lr=lr, betas=(cfg.beta1, cfg.beta2), eps=cfg.adam_eps,
                                **fused)
    if cfg.optimizer == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr)
    return torch.optim.SGD(params, lr=lr, momentum=cfg.beta1)


def default_run_dir(cfg: TrainConfig) -> Path:
    dataset = re.sub(r"[^A-Za-z0-9_.-]+", "_", cfg.dataset.split("/")[-1] or "folder")
    return Path("runs") / f"{cfg.method}-{dataset}-{time.strftime('%Y%m%d-%H%M%S')}"


def grid_scale(img_size: int) -> int:
    return max(1, 64 // img_size)


TrainingData = ImageDataset | ToyMixture | TranslationData
# The animation of a run's sample pictures holds at most this many frames, evenly spaced.
GIF_FRAMES = 60


def data_spec(data: TrainingData) -> DataSpec:
    if isinstance(data, ToyMixture):
        return DataSpec(data.point_dim, 1, kind="points")
    if isinstance(data, TranslationData):
        a, b = data.channels
        return DataSpec(a, data.img_size, class_names=tuple(data.domain_names),
                        kind="translation", b_channels=b, paired=data.paired)
    if isinstance(data, CaptionedImages):
        return DataSpec(data.img_channels, data.img_size, data.num_classes,
                        tuple(data.class_names), vocabulary=tuple(data.vocabulary),
                        caption_length=data.caption_length,
                        example_captions=tuple(data.example_captions))
    return DataSpec(data.img_channels, data.img_size, data.num_classes, tuple(data.class_names))


def make_batcher(data: TrainingData, cfg: TrainConfig, device: torch.device,
                 shard: tuple[int, int] = (0, 1)):
    """The batcher of ``data``; ``shard`` (rank, world size) picks this process's slice of
    every global batch of ``cfg.batch_size``."""
    if isinstance(data, ToyMixture):
        if cfg.flip or cfg.jitter:
            raise GanforgeError(f"--flip and --jitter augment images; {cfg.dataset} holds 2-D "
                                "points")
        return PointBatcher(data, cfg.batch_size, device, seed=cfg.seed, shard=shard)
    augment = Augment(cfg.flip, cfg.jitter, cfg.seed)
    if isinstance(data, TranslationData):
        return PairBatcher(data, cfg.batch_size, device, seed=cfg.seed, augment=augment,
                           shard=shard)
    return Batcher(data, cfg.batch_size, device, seed=cfg.seed, augment=augment, shard=shard)


def progress_gif(run_dir: Path, duration_ms: int = 150) -> Path | None:
    """Animate the run's saved sample pictures (samples/step_*.png) into samples.gif."""
    from PIL import Image

    frames = sorted((run_dir / "samples").glob("step_*.png"))
    if not frames:
        return None
    if len(frames) > GIF_FRAMES:
        keep = torch.linspace(0, len(frames) - 1, GIF_FRAMES).round().long().unique().tolist()
        frames = [frames[i] for i in keep]
    pictures = []
    for path in frames:
        with Image.open(path) as image:
            pictures.append(torch.from_numpy(np.array(image.convert("RGB"))).permute(2, 0, 1))
    if len({p.shape for p in pictures}) > 1:
        return None  # pictures of different sizes: an older run's; nothing sensible to animate
    return save_gif(pictures, run_dir / "samples.gif", duration_ms=duration_ms)


class Trainer:
    def __init__(self, cfg: TrainConfig, dataset: TrainingData | None = None) -> None:
        cfg = validate(resolve(cfg))
        self.cfg = cfg
        # Under torchrun: this process's device, in the process group; else cfg.device.
        self.device = distributed.setup(cfg.device)
        self.is_main = distributed.is_main()
        if dataset is None:
            dataset = distributed.in_turn(lambda: load_training_data(
                cfg.dataset, data_dir=cfg.data_dir, image_size=cfg.image_size))
        if cfg.direction == "BtoA":
            if not isinstance(dataset, TranslationData):
                raise GanforgeError(f"--direction applies to two-domain data; {cfg.dataset} "
                                    "is not")
            dataset = dataset.swapped()
        self.data = dataset
        self.spec = data_spec(dataset)
        # Every rank is seeded alike: the generators stay in lockstep (see distributed).
        torch.manual_seed(cfg.seed)
        method = METHODS.get(cfg.method)(cfg, self.spec)
        if cfg.sync_bn:
            method = torch.nn.SyncBatchNorm.convert_sync_batchnorm(method)
        self.method: Method = method.to(self.device)
        self.method.shard = distributed.shard()
        self.method.bind_data(dataset)
        distributed.broadcast_from_main(self.method.state_dict().values())
        self.ema = EMA(self.method.G, cfg.ema) if cfg.ema else None
        self._ema_calibrated_at: int | None = None
        groups = self.method.groups()
        self.params = {g: trainable_parameters(mods) for g, mods in groups.items()}
        # CUDA graphs: on when asked for (--cuda-graphs) and by default on CUDA; a run that asked
        # is told why it cannot have them, a run on the default just trains eagerly.
        wants_graphs = (cfg.cuda_graphs if cfg.cuda_graphs is not None
                        else self.device.type == "cuda")
        graph_blocker = (capture_blocker(cfg, self.method, self.device, distributed.world_size())
                         if wants_graphs else None)
        if graph_blocker is not None and cfg.cuda_graphs and self.is_main:
            warnings.warn(f"--cuda-graphs: this run trains without graphs: {graph_blocker}",
                          stacklevel=2)
        capturable = wants_graphs and graph_blocker is None
        self.optimizers = {g: make_optimizer(cfg, g, mods, self.device, capturable)
                           for g, mods in groups.items()}
        use_scaler = cfg.precision == "fp16"
        self.scalers = {g: torch.amp.GradScaler(self.device.type, enabled=use_scaler)
                        for g in groups}
        self.batcher = make_batcher(dataset, cfg, self.device, distributed.shard())
        self.base_lr = {g: [float(pg["lr"]) for pg in o.param_groups]
                        for g, o in self.optimizers.items()}
        self.graphed_step = (GraphedStep(self._step_body, self.device,
                                         strict=bool(cfg.cuda_graphs))
                             if capturable else None)
        self.total_steps = self._total_steps(dataset)
        self.step = 0
        self.timed_out = False
        # The signal (SIGTERM or SIGINT) that stopped the last fit() before its end, if one did.
        self.stopped_by: int | None = None
        # The step of the checkpoint this trainer wrote or resumed from: None for a fresh run.
        self.last_checkpoint_step: int | None = None
        # The default name holds the time: rank 0's, lest the ranks straddle a second.
        self.run_dir = Path(cfg.out) if cfg.out else distributed.main_value(default_run_dir(cfg))
        self._lock = RunLock(self.run_dir)
        # Seconds between plain progress lines when stderr is not a terminal.
        self.progress_every = PROGRESS_SECONDS
        self.evaluation = None
        if cfg.eval_every is not None:
            # Imported here: the metrics stack (scipy, feature networks) is only needed for it.
            from ganforge.training.evaluation import PeriodicEvaluation, PointEvaluation

            evaluation = PointEvaluation if self.spec.kind == "points" else PeriodicEvaluation
            self.evaluation = evaluation(cfg, dataset, self.device)
        self._log: RunLog | None = None
        self._sums: dict[str, torch.Tensor] = {}
        self._finite = torch.ones((), dtype=torch.bool, device=self.device)
        self._reset_log_sums()

    def _total_steps(self, data: TrainingData) -> int:
        cfg = self.cfg
        if cfg.steps is not None:
            return cfg.steps
        if cfg.epochs is not None:  # validate() refused epochs of the endless toy data
            return max(1, math.ceil(cfg.epochs * len(data) / (cfg.batch_size * cfg.d_steps)))
        return DEFAULT_STEPS

    # ---- one step ---------------------------------------------------------------------------

    @property
    def replays_cuda_graph(self) -> bool:
        """Whether the training step is now replayed from a captured CUDA graph."""
        return self.graphed_step is not None and self.graphed_step.captured

    def autocast(self):
        if self.cfg.precision == "fp32":
            return contextlib.nullcontext()
        dtype = torch.bfloat16 if self.cfg.precision == "bf16" else torch.float16
        # A CUDA graph must not capture casts of autocast's cache, which is freed on exit.
        return torch.autocast(self.device.type, dtype=dtype,
                              cache_enabled=self.graphed_step is None)

    def _set_trainable(self, group: str) -> None:
        for name, params in self.params.items():
            for p in params:
                p.requires_grad_(name == group)

    def _update(self, group: str, loss: torch.Tensor) -> None:
        optimizer, scaler = self.optimizers[group], self.scalers[group]
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        distributed.average_gradients(self.params[group])
        scaler.step(optimizer)
        scaler.update()
        self.method.after_update(group)

    def train_step(self, batches: Iterator[dict[str, torch.Tensor]] | None = None) -> None:
        """``d_steps`` discriminator updates on fresh batches, then one generator update on the
        last of them (a method without a discriminator, such as the VAE, makes only the
        generator update), replayed from a CUDA graph under ``--cuda-graphs``."""
        batches = batches if batches is not None else self.batcher
        if self.cfg.lr_decay_from is not None:
            self._decay_learning_rates()
        self.method.set_progress(self.step, self.total_steps)
        if self.method.restarts_optimizers(self.step, self.total_steps):
            for optimizer in self.optimizers.values():
                optimizer.state.clear()
        count = self.cfg.d_steps if "D" in self.optimizers else 1
        step_batches = [next(batches) for _ in range(count)]
        if self.graphed_step is not None:
            self.graphed_step(step_batches)
        else:
            self._step_body(step_batches)
        self.step += 1
        self._count += 1

    def _step_body(self, batches: list[dict[str, torch.Tensor]]) -> None:
        """One step's device work, host state (step and log counters) left to the caller: the
        part a CUDA graph captures."""
        method = self.method
        logs: dict[str, torch.Tensor] = {}
        if "D" in self.optimizers:
            self._set_trainable("D")
            for batch in batches:
                with self.autocast():
                    d_loss, d_logs = method.d_loss(batch)
                self._update("D", d_loss)
            logs = {"d_loss": d_loss, **d_logs}
        self._set_trainable("G")
        with self.autocast():
            g_loss, g_logs = method.g_loss(batches[-1])
        self._update("G", g_loss)
        if self.ema is not None:
            self.ema.update()
        self._accumulate({**logs, "g_loss": g_loss, **g_logs})

    def lr_factor(self, step: int) -> float:
        """1 until ``lr_decay_from`` of the training, then falling linearly to 0 at the end.
        A function of the step alone, so a resumed run decays exactly as an unbroken one."""
        start = self.cfg.lr_decay_from * self.total_steps
        if step < start:
            return 1.0
        return max(0.0, 1.0 - (step - start) / max(self.total_steps - start, 1))

    def _decay_learning_rates(self) -> None:
        factor = self.lr_factor(self.step)
        for name, optimizer in self.optimizers.items():
            for group, base in zip(optimizer.param_groups, self.base_lr[name], strict=True):
                if isinstance(group["lr"], torch.Tensor):
                    group["lr"].fill_(base * factor)  # in place: a CUDA graph reads this tensor
                else:
                    group["lr"] = base * factor

    # ---- logs and the NaN guard ----------------------------------------------------------------

    def _reset_log_sums(self) -> None:
        # Zeroed in place, not replaced: a captured step adds into these very tensors.
        for total in self._sums.values():
            total.zero_()
        self._finite.fill_(True)
        self._count = 0
        self._interval_start = (time.perf_counter(), self.step)

    def _accumulate(self, logs: dict[str, torch.Tensor]) -> None:
        # Device-side sums: the host reads them once per log interval, not once per step.
        for key, value in logs.items():
            value = value.detach().float()
            if key in self._sums:
                self._sums[key].add_(value)
            else:  # the first step; a key's sum is zeroed, never dropped, at each flush
                if self.device.type == "cuda" and torch.cuda.is_current_stream_capturing():
                    # A capture would record this as an overwrite, replayed as one.
                    raise GanforgeError(f"log value {key!r} first appeared in a captured step; "
                                        "a method must log the same values every step")
                self._sums[key] = value.clone()
        for key in ("d_loss", "g_loss"):
            if key in logs:
                self._finite &= torch.isfinite(logs[key])

    def _weights_health(self) -> tuple[torch.Tensor, torch.Tensor]:
        """On the device, without a sync: the sum of |w| over every floating-point tensor of
        the networks (finite exactly when all are) and the largest |w|. The losses the guard
        reads were computed before the interval's last update, so the weights that update
        wrote are checked themselves."""
        modules = [self.method] + ([self.ema.module] if self.ema is not None else [])
        weights = [t for m in modules for t in m.state_dict().values()
                   if t.is_floating_point() and t.numel()]
        total = torch.stack([n.float() for n in torch._foreach_norm(weights, 1)]).sum()
        largest = torch.stack([n.float() for n in torch._foreach_norm(weights, math.inf)]).max()
        return total, largest

    def _diverged(self, what: str) -> TrainingDiverged:
        kept = (f"the last good checkpoint (step {self.last_checkpoint_step}) is kept in "
                f"{self.run_dir}" if self.last_checkpoint_step is not None
                else "no checkpoint had been written yet")
        return TrainingDiverged(f"{what}; training stopped and {kept}; try a lower --lr or "
                                "--precision fp32")

    def flush_logs(self) -> dict | None:
        """Read the interval's sums and the weights' health (one host sync), check them for
        NaN/inf and runaway weights, and write a row. Under torchrun the values are averaged
        over the ranks first (one all-reduce), so every rank's guard sees the same and all stop
        together."""
        if self._count == 0:
            return None
        keys = list(self._sums)
        weight_sum, largest = self._weights_health()
        values = torch.stack([self._sums[k] for k in keys]
                             + [self._finite.float(), weight_sum, largest])
        values = distributed.average(values).tolist()
        largest, weight_sum, finite = values.pop(), values.pop(), values.pop() == 1.0
        start_time, start_step = self._interval_start
        if not finite:
            raise self._diverged(f"a loss became NaN or inf between steps {start_step} and "
                                 f"{self.step}")
        if not math.isfinite(weight_sum) or not math.isfinite(largest):
            raise self._diverged(f"the weights became NaN or inf between steps {start_step} "
                                 f"and {self.step}")
        if largest > ckpt.WEIGHT_LIMIT:
            raise self._diverged(f"the weights ran away (|w| up to {largest:.3g}, beyond "
                                 f"{ckpt.WEIGHT_LIMIT:g}) between steps {start_step} and "
                                 f"{self.step}")
        elapsed = time.perf_counter() - start_time
        seen = (self.step - start_step) * self.cfg.batch_size * self.cfg.d_steps
        row = {"step": self.step,
               **({} if self.batcher.epoch is None else {"epoch": self.batcher.epoch}),
               **{k: v / self._count for k, v in zip(keys, values, strict=True)},
               f"{'points' if self.spec.kind == 'points' else 'images'}_per_s":
                   seen / max(elapsed, 1e-9)}
        if self._log is not None:
            self._log.write(row)
        self._reset_log_sums()
        return row

    # ---- samples -------------------------------------------------------------------------------

    @property
    def sampling_G(self) -> torch.nn.Module:
        """The generator samples come from: the EMA copy, if kept, with its batch-norm
        statistics measured for its weights of this step (once a step), else G itself."""
        if self.ema is None:
            return self.method.G
        if self._ema_calibrated_at != self.step:
            self.ema.calibrate(lambda n, generator, G: self.method.sample(n, generator, G=G),
                               seed=self.cfg.seed + 2)
            self._ema_calibrated_at = self.step
        return self.ema.module

    @torch.no_grad()
    def samples(self, n: int | None = None) -> torch.Tensor:
        """Samples from the fixed noise batch (the same at every call), EMA weights if any:
        uint8 images, or float points for the toy data sets."""
        n = n or self.cfg.n_samples
        G = self.sampling_G
        with eval_mode(G):
            fakes = self.method.sample(n, torch.Generator().manual_seed(self.cfg.seed + 1), G=G,
                                       condition=self.method.display_condition(n))
        return fakes if self.spec.kind == "points" else to_uint8(fakes)

    def save_samples(self, path: Path) -> Path:
        """A grid of images, or for point data a scatter plot over the mixture's modes on a
        fixed window, so successive pictures line up as frames of samples.gif."""
        if self.spec.kind == "points":
            picture = scatter_plot(self.samples(), self.data.centers, extent=self.data.extent)
            return save_image(picture, path)
        nrow = self.method.display_nrow or 8
        return save_image(image_grid(self.samples(), nrow=nrow), path,
                          grid_scale(self.spec.img_size))

    @torch.no_grad()
    def save_stages(self, path: Path, n: int = 10) -> Path | None:
        """For coarse-to-fine methods (LAPGAN's levels, ProGAN's resolutions): each stage of
        ``n`` samples from the fixed noise, one labelled row per stage."""
        G = self.sampling_G
        with eval_mode(G):
            rows = self.method.stage_pictures(
                n, torch.Generator().manual_seed(self.cfg.seed + 1), G=G)
        if rows is None:
            return None
        return save_image(stage_grid(rows, grid_scale(self.spec.img_size),
                                     title=f"{self.cfg.method}, step {self.step}"), path)

    # ---- checkpoints ---------------------------------------------------------------------------

    def state_tensors_and_json(self) -> tuple[dict[str, torch.Tensor], dict]:
        tensors = dict(self.method.state_dict())
        if self.ema is not None:
            tensors.update(ckpt.prefixed("G_ema", self.sampling_G.state_dict()))
            tensors["ema.updates"] = self.ema.updates
        optim_json = {}
        for name, optimizer in self.optimizers.items():
            t, rest = ckpt.flatten_optimizer(f"optim.{name}", optimizer.state_dict())
            tensors.update(t)
            optim_json[name] = rest
        batcher = {}
        for key, value in self.batcher.state_dict().items():
            if isinstance(value, torch.Tensor):
                tensors[f"batcher.{key}"] = value
            else:
                batcher[key] = value
        tensors["rng.cpu"] = torch.get_rng_state()
        if self.device.type == "cuda":
            tensors["rng.cuda"] = torch.cuda.get_rng_state(self.device)
        state = {
            "step": self.step,
            "total_steps": self.total_steps,
            "batcher": batcher,
            "optimizers": optim_json,
            "scalers": {g: s.state_dict() for g, s in self.scalers.items()},
            "ganforge_version": __version__,
        }
        if self.evaluation is not None:
            state["evaluation"] = self.evaluation.state_dict()
        return tensors, state

    def save(self) -> Path:
        """Write the checkpoint, then state.json (its readable copy). Under torchrun rank 0
        writes it: the ranks hold the same weights and counters."""
        path = self.run_dir / ckpt.CHECKPOINT
        if self.is_main:
            self._write_checkpoint(path, also_state_json=True)
        self.last_checkpoint_step = self.step
        return path

    def _write_checkpoint(self, path: Path, also_state_json: bool = False) -> None:
        """Write the training state to ``path`` atomically. Only called after the guard
        passed; :func:`ckpt.save_checkpoint` refuses non-finite or runaway weights all the
        same. A failed write (a full disk) leaves the previous file whole and stops the run."""
        tensors, state = self.state_tensors_and_json()
        try:
            ckpt.save_checkpoint(path, tensors, state)
            if also_state_json:
                write_json(self.run_dir / "state.json", state)
        except TrainingDiverged as e:
            raise self._diverged(f"at step {self.step}, {e}") from None
        except OSError as e:
            kept = (f"the checkpoint of step {self.last_checkpoint_step} is kept"
                    if self.last_checkpoint_step is not None else "no checkpoint was written")
            raise GanforgeError(f"could not write the checkpoint of step {self.step} to "
                                f"{e.filename or path} ({e.strerror or e}); {kept}: once the "
                                f"disk takes it again, continue with --resume {self.run_dir}"
                                ) from None

    def evaluate(self) -> dict:
        """Metrics of the sampling generator now (a row of metrics.jsonl); when ``best_metric``
        improved, the whole training state is also written to checkpoint-best.safetensors."""
        from ganforge.training.evaluation import BEST_CHECKPOINT

        row, improved = self.evaluation.run(self.step, self.method, self.sampling_G)
        if improved:
            self._write_checkpoint(self.run_dir / BEST_CHECKPOINT)
        return row

    def check_checkpoint(self, path: Path, tensors: dict[str, torch.Tensor], state: dict) -> None:
        """``tensors`` and ``state`` (read from ``path``) hold this run's training state: every
        tensor a checkpoint of it holds, with the same shapes and dtypes, and optimiser state
        that fits the parameters; a one-line error naming the file otherwise."""
        expected, _ = self.state_tensors_and_json()
        # The optimisers' state appears with their first step; CUDA's generator only on CUDA;
        # the batcher's permutation is empty until its first epoch begins. Checkpoints of
        # ganforge 0.1 kept the batcher's position in the state alone (see load_state), and
        # those before the EMA's warm-up count have none.
        optional = ("optim.", "rng.cuda", "ema.") + (() if "batcher" in state else ("batcher.",))
        ckpt.check_tensors(path, tensors, {k: v for k, v in expected.items()
                                           if not k.startswith(optional)},
                           others=optional, any_shape=("batcher.",))
        for name, params in self.params.items():
            ckpt.check_optimizer_tensors(path, tensors, f"optim.{name}", params)

    def load_state(self, tensors: dict[str, torch.Tensor], state: dict) -> None:
        method_keys = set(self.method.state_dict())
        self.method.load_state_dict({k: v for k, v in tensors.items() if k in method_keys})
        if self.ema is not None:
            self.ema.module.load_state_dict(ckpt.unprefixed("G_ema", tensors))
            # Checkpoints before the EMA's warm-up count: its ramp is long over by then.
            self.ema.updates.fill_(float(tensors.get("ema.updates", state["step"])))
            self._ema_calibrated_at = None
        for name, optimizer in self.optimizers.items():
            lr_tensors = [g["lr"] for g in optimizer.param_groups
                          if isinstance(g["lr"], torch.Tensor)]
            saved = ckpt.unflatten_optimizer(f"optim.{name}", tensors, state["optimizers"][name])
            # How the update is computed is this run's choice (a run captured on a GPU may go
            # on without graphs, or on a CPU), not the checkpoint's.
            for group, current in zip(saved["param_groups"], optimizer.param_groups,
                                      strict=True):
                group.update({k: current[k] for k in ("fused", "foreach", "capturable")
                              if k in current})
            optimizer.load_state_dict(saved)
            # The checkpoint holds learning rates as numbers; a capturable optimiser keeps them
            # in its own device tensors.
            for group, lr in zip(optimizer.param_groups, lr_tensors, strict=False):
                group["lr"] = lr.fill_(float(group["lr"]))
        if self.graphed_step is not None:  # its capture read the optimisers' old state tensors
            self.graphed_step = GraphedStep(self._step_body, self.device,
                                            strict=self.graphed_step.strict)
        for name, scaler in self.scalers.items():
            if state["scalers"].get(name):
                scaler.load_state_dict(state["scalers"][name])
        # Checkpoints of ganforge 0.1 kept the image batcher's position at the top level.
        batcher = (state["batcher"] if "batcher" in state
                   else {"epoch": state["epoch"], "cursor": state["cursor"]})
        self.batcher.load_state_dict({**batcher, **ckpt.unprefixed("batcher", tensors)})
        torch.set_rng_state(tensors["rng.cpu"])
        if self.device.type == "cuda" and "rng.cuda" in tensors:
            torch.cuda.set_rng_state(tensors["rng.cuda"], self.device)
        if self.evaluation is not None and "evaluation" in state:
            self.evaluation.load_state_dict(state["evaluation"])
        self.step = state["step"]
        self.last_checkpoint_step = self.step
        self._reset_log_sums()

    @classmethod
    def resume(cls, run_dir: str | Path, steps: int | None = None,
               dataset: ImageDataset | None = None, device: str | None = None,
               time_limit: float | None = None) -> Trainer:
        """Continue a run exactly where its checkpoint left it (``steps`` may raise the total;
        ``device`` may move it, e.g. from a GPU to a CPU; ``time_limit`` bounds this session)."""
        from ganforge.inference import read_run_config

        run_dir = Path(run_dir)
        cfg = read_run_config(run_dir)["config"]
        path = run_dir / ckpt.CHECKPOINT
        tensors, state = ckpt.load_checkpoint(path)
        if steps is not None and steps < state["step"]:
            # Training on would do nothing, and the run would look as if it had stopped there.
            raise GanforgeError(f"--steps is the run's new total and cannot be below the "
                                f"{state['step']} steps {run_dir} has trained, got {steps}")
        cfg = cfg.replace(out=str(run_dir))
        if steps is not None:
            cfg = cfg.replace(steps=steps, epochs=None)
        if device is not None:
            cfg = cfg.replace(device=device)
        # A time limit bounds one session of training; a resumed run has none unless given.
        cfg = cfg.replace(time_limit=time_limit)
        if cfg.cuda_graphs is not None and resolve_device(cfg.device).type != "cuda":
            if cfg.cuda_graphs:
                warnings.warn("this run was trained with --cuda-graphs; it continues on the "
                              f"{resolve_device(cfg.device).type} without them", stacklevel=2)
            cfg = cfg.replace(cuda_graphs=None)
        if cfg.sync_bn and resolve_device(cfg.device).type == "cpu":
            # SyncBatchNorm's weights are batch norm's: on CPUs the run goes on without it.
            warnings.warn("--sync-bn needs GPUs; this run continues on the CPU with each "
                          "process's own batch statistics", stacklevel=2)
            cfg = cfg.replace(sync_bn=False)
        trainer = cls(cfg, dataset=dataset)
        if steps is None:
            trainer.total_steps = state["total_steps"]
        trainer.check_checkpoint(path, tensors, state)
        try:
            trainer.load_state(tensors, state)
        except (KeyError, TypeError, ValueError, IndexError, RuntimeError) as e:
            # What check_checkpoint cannot see: the JSON state beside the tensors.
            reason = str(e).splitlines()[0] if str(e) else type(e).__name__
            raise GanforgeError(f"{path} holds a training state this run cannot take up "
                                f"({type(e).__name__}: {reason}); resume from another copy or "
                                "retrain") from None
        return trainer

    def _open_run_dir(self) -> None:
        """Lock the run directory (rank 0) and ready it: a fresh run refuses one that holds
        trained weights and clears an unfinished run's files; a run going on from a checkpoint
        checks that no other trainer moved it on since."""
        going_on = self.last_checkpoint_step is not None
        if not going_on:
            held = [name for name in WEIGHT_FILES if (self.run_dir / name).exists()]
            if held:
                raise GanforgeError(f"{self.run_dir} already holds a run ({held[0]}); continue "
                                    f"it with --resume {self.run_dir} or choose another --out")
        if not self.is_main:
            return  # rank 0 writes the run directory
        try:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            self._lock.acquire()
        except OSError as e:
            raise GanforgeError(f"cannot write the run directory {self.run_dir} "
                                f"({e.strerror or e}); choose another --out") from None
        try:
            if going_on:
                on_disk = ckpt.checkpoint_step(self.run_dir / ckpt.CHECKPOINT)
                if on_disk != self.last_checkpoint_step:
                    raise GanforgeError(f"{self.run_dir} moved on to step {on_disk} after this "
                                        f"trainer read its step-{self.last_checkpoint_step} "
                                        "checkpoint; resume it again")
            prepare(self.run_dir, resumed=going_on)
            write_json(self.run_dir / CONFIG_FILE, {
                "ganforge_version": __version__,
                "method": self.cfg.method,
                "config": self.cfg.to_dict(),
                "data_spec": vars(self.spec),
                "total_steps": self.total_steps,
            })
            if going_on:  # the readable copy may lag its checkpoint after a kill
                write_json(self.run_dir / "state.json", self.state_tensors_and_json()[1])
            resumed = self.step if going_on else None
            self._log = RunLog(self.run_dir / "log.jsonl", resume_step=resumed)
            if self.evaluation is not None:
                self.evaluation.open(self.run_dir, resumed)
        except BaseException:
            self._lock.release()
            raise

    # ---- the loop ------------------------------------------------------------------------------

    def fit(self, until: int | None = None) -> Path:
        """Train to ``total_steps`` (or stop early at ``until``); returns the run directory.

        SIGTERM or SIGINT stops it after the step under way, with a checkpoint of that step
        (``stopped_by`` names the signal); a second SIGINT stops it at once, and the last
        checkpoint stands."""
        end = min(until, self.total_steps) if until is not None else self.total_steps
        self._open_run_dir()
        try:
            # Under torchrun the ranks would stop at different steps and wait forever in a
            # collective: there Ctrl-C ends the run and the last periodic checkpoint stands.
            # From the first line on, a signal stops the run with a checkpoint.
            with StopSignals(active=distributed.world_size() == 1) as stop:
                self.method.train()
                name = f"{self.cfg.method} on {self.cfg.dataset}"
                unit = "points" if self.spec.kind == "points" else "images"
                progress = Progress(name, self.step, end,
                                    self.cfg.batch_size * self.cfg.d_steps, unit,
                                    enabled=self.is_main, every=self.progress_every)
                progress.announce(f"{name}: training steps {self.step + 1} to {end} into "
                                  f"{self.run_dir}")
                try:
                    self._loop(end, progress, stop)
                finally:
                    # A KeyboardInterrupt in the loop (a second Ctrl-C) saves nothing: the step
                    # under way is half done, and the last checkpoint stands.
                    progress.close()
                    if self._log is not None:
                        self._log.close()
            if self.is_main and self.stopped_by is None:
                self.save_samples(self.run_dir / "samples.png")
                self.save_stages(self.run_dir / "stages.png")
                progress_gif(self.run_dir)
        finally:
            self._lock.release()
        distributed.barrier()  # no rank returns before rank 0's files are complete
        return self.run_dir

    def _loop(self, end: int, progress: Progress, stop: StopSignals) -> None:
        cfg = self.cfg
        self._reset_log_sums()
        deadline = time.perf_counter() + cfg.time_limit if cfg.time_limit else math.inf
        self.timed_out = False
        self.stopped_by = None
        while self.step < end:
            self.train_step()
            if self.step < end and stop.requested is not None:
                # Stopped by a signal: this step becomes the last, with its checkpoint.
                end, self.stopped_by = self.step, stop.requested
            elif self.step < end and self._out_of_time(deadline):
                # Out of time: this step becomes the last, with its checkpoint and metrics.
                end, self.timed_out = self.step, True
            at_checkpoint = self.step % cfg.checkpoint_every == 0 or self.step == end
            at_eval = self.evaluation is not None and (
                self.evaluation.due(self.step, self.total_steps) or self.timed_out)
            # Checkpoints and evaluations come after the guard has read the losses and checked
            # the weights.
            row = None
            if self.step % cfg.log_every == 0 or at_checkpoint or at_eval:
                row = self.flush_logs()
            progress.update(self.step, row)
            # Rank 0 writes pictures and metrics; the others go on to the next step's all-reduce
            # and wait for it there.
            if self.is_main and self.step % cfg.sample_every == 0:
                self.save_samples(self.run_dir / "samples" / f"step_{self.step:06d}.png")
            if self.is_main and at_eval:
                self.evaluate()
            if at_checkpoint:
                self.save()

    def _out_of_time(self, deadline: float) -> bool:
        """Whether ``deadline`` has passed by rank 0's clock: the ranks must stop at the same
        step, or one would wait forever in a collective. No message without a time limit."""
        return deadline < math.inf and distributed.main_flag(time.perf_counter() >= deadline)
