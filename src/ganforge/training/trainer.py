"""The one training loop every GAN method shares.

Algorithm 1 of Goodfellow et al. 2014: ``d_steps`` discriminator updates, then one generator
update. The Trainer owns everything around the method's two losses: optimisers, gradient
toggling, mixed precision, EMA and any averages the method declares, optimiser restarts and
the phase of methods that change as they train, logging without per-step host syncs and the NaN
guard (:mod:`.guard`), sample pictures (:mod:`.pictures`), atomic checkpoints and exact resume
(:mod:`.state`, :mod:`.session`); with ``eval_every`` it also computes metrics and keeps the
best checkpoint (:mod:`.evaluation`). Under ``torchrun`` it trains data-parallel
(:mod:`.distributed`): each process takes its slice of every global batch, gradients are
averaged before each step, and rank 0 alone writes files.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import torch

from ganforge.config import DEFAULT_STEPS, TrainConfig
from ganforge.data import (
    ImageDataset,
    TrainingData,
    batcher_for,
    data_spec,
    load_training_data,
)
from ganforge.data.translation import TranslationData
from ganforge.devices import native_bf16, resolve_precision
from ganforge.errors import GanforgeError, TrainingDiverged
from ganforge.methods import METHODS, Method
from ganforge.methods.capabilities import KeepsAverages, Phased
from ganforge.runs.directory import default_run_dir
from ganforge.training import distributed
from ganforge.training.ema import EMA, update_average
from ganforge.training.graphed import GraphedStep, capture_blocker
from ganforge.training.guard import LossLog
from ganforge.training.log import RunLog
from ganforge.training.optimizers import LinearDecay, make_optimizer, trainable_parameters
from ganforge.training.pictures import RunPictures
from ganforge.training.progress import PROGRESS_SECONDS, Progress
from ganforge.training.session import RunSession
from ganforge.training.state import Checkpointing
from ganforge.training.stop_signals import StopSignals


class Trainer(Checkpointing, RunSession):
    def __init__(self, cfg: TrainConfig, dataset: TrainingData | None = None) -> None:
        """``cfg`` as :func:`ganforge.configure.configure` made it; ``dataset`` the training
        data when it is already loaded (else it is loaded by name)."""
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
        self.cfg = cfg = fit_batch(cfg, dataset)
        requested = cfg.precision
        # The run records the precision it trained in, so a resume repeats it.
        self.cfg = cfg = dataclasses.replace(
            cfg, precision=resolve_precision(requested, self.device))
        self.precision_note = precision_note(requested, cfg.precision, self.device, self.is_main)
        self.spec = data_spec(dataset)
        # Every rank is seeded alike: the generators stay in lockstep (see distributed).
        torch.manual_seed(cfg.seed)
        method = METHODS.get(cfg.method)(cfg, self.spec)
        if cfg.sync_bn:
            method = torch.nn.SyncBatchNorm.convert_sync_batchnorm(method)
        self.method: Method = method.to(self.device)
        self.method.bind_data(dataset)
        distributed.broadcast_from_main(self.method.state_dict().values())
        self.averages = (self.method.averaged_copies()
                         if isinstance(self.method, KeepsAverages) else [])
        self.ema = EMA(self.method.G, cfg.ema) if cfg.ema else None
        self.pictures = RunPictures(cfg, self.method, self.spec, dataset, self.ema)
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
        self.batcher = batcher_for(dataset, cfg.batch_size, self.device, seed=cfg.seed,
                                   flip=cfg.flip, jitter=cfg.jitter, shard=distributed.shard())
        self.lr_decay = (LinearDecay(self.optimizers, cfg.lr_decay_from)
                         if cfg.lr_decay_from is not None else None)
        self.graphed_step = (GraphedStep(self.step_body, self.device,
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
        # Seconds between plain progress lines when stderr is not a terminal.
        self.progress_every = PROGRESS_SECONDS
        self.evaluation = None
        if cfg.eval_every is not None:
            # Imported here: the metrics stack (scipy, feature networks) is only needed for it.
            from ganforge.training.evaluation import PeriodicEvaluation, PointEvaluation

            evaluation = PointEvaluation if self.spec.kind == "points" else PeriodicEvaluation
            self.evaluation = evaluation(cfg, dataset, self.device)
        self.log: RunLog | None = None
        self.losses = LossLog(self.device)

    def _total_steps(self, data: TrainingData) -> int:
        cfg = self.cfg
        if cfg.steps is not None:
            return cfg.steps
        if cfg.epochs is not None:  # validation refused epochs of the endless toy data
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
        for average in self.averages:
            if average.group == group:
                update_average(average)

    def _start_step(self) -> None:
        """What changes with the step on the host, before its device work: the learning rates,
        and the phase of a method that changes as it trains (its optimisers cleared where a
        new phase begins, if it says so: a pure function of the step, so a resumed run restarts
        where the unbroken one did)."""
        if self.lr_decay is not None:
            self.lr_decay.apply(self.step, self.total_steps)
        if isinstance(self.method, Phased):
            self.method.set_progress(self.step, self.total_steps)
            if self.step > 0 and self.method.restarts_optimizers and (
                    self.method.phase(self.step, self.total_steps)
                    != self.method.phase(self.step - 1, self.total_steps)):
                for optimizer in self.optimizers.values():
                    optimizer.state.clear()

    def train_step(self, batches: Iterator[dict[str, torch.Tensor]] | None = None) -> None:
        """``d_steps`` discriminator updates on fresh batches, then one generator update on the
        last of them (a method without a discriminator, such as the VAE, makes only the
        generator update), replayed from a CUDA graph under ``--cuda-graphs``."""
        batches = batches if batches is not None else self.batcher
        self._start_step()
        count = self.cfg.d_steps if "D" in self.optimizers else 1
        step_batches = [next(batches) for _ in range(count)]
        if self.graphed_step is not None:
            self.graphed_step(step_batches)
        else:
            self.step_body(step_batches)
        self.step += 1
        self.losses.count += 1

    def step_body(self, batches: list[dict[str, torch.Tensor]]) -> None:
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
        if "G" in self.optimizers:  # a method of D alone has no G step
            self._set_trainable("G")
            with self.autocast():
                g_loss, g_logs = method.g_loss(batches[-1])
            self._update("G", g_loss)
            logs = {**logs, "g_loss": g_loss, **g_logs}
        if self.ema is not None:
            self.ema.update()
        self.losses.accumulate(logs)

    # ---- logs and the NaN guard ----------------------------------------------------------------

    def _diverged(self, what: str) -> TrainingDiverged:
        kept = (f"the last good checkpoint (step {self.last_checkpoint_step}) is kept in "
                f"{self.run_dir}" if self.last_checkpoint_step is not None
                else "no checkpoint had been written yet")
        return TrainingDiverged(f"{what}; training stopped and {kept}; try a lower --lr or "
                                "--precision fp32")

    def flush_logs(self) -> dict | None:
        """Read the interval's values past the guard (:class:`.guard.LossLog`), write them as a
        row of log.jsonl and start the next interval. The guard also reads the weights that
        the interval's last update wrote."""
        modules = [self.method] + ([self.ema.module] if self.ema is not None else [])
        read = self.losses.read(self.step, modules, self._diverged)
        if read is None:
            return None
        means, seconds = read
        seen = (self.step - self.losses.start[1]) * self.cfg.batch_size * self.cfg.d_steps
        unit = "points" if self.spec.kind == "points" else "images"
        row = {"step": self.step,
               **({} if self.batcher.epoch is None else {"epoch": self.batcher.epoch}),
               **means, f"{unit}_per_s": seen / max(seconds, 1e-9)}
        if self.log is not None:
            self.log.write(row)
        self.losses.reset(self.step)
        return row

    # ---- samples --------------------------------------------------------------------------------

    @property
    def sampling_G(self) -> torch.nn.Module:
        """The generator samples come from: the EMA copy, if kept (its statistics measured for
        this step's weights), else G itself."""
        return self.pictures.sampling_G(self.step)

    def samples(self, n: int | None = None) -> torch.Tensor:
        """Samples from the fixed noise batch: uint8 images, or float points (toy data)."""
        return self.pictures.samples(self.step, n)

    # ---- the loop ------------------------------------------------------------------------------

    def fit(self, until: int | None = None) -> Path:
        """Train to ``total_steps`` (or stop early at ``until``); returns the run directory.

        SIGTERM or SIGINT stops it after the step under way, with a checkpoint of that step
        (``stopped_by`` names the signal); a second SIGINT stops it at once, and the last
        checkpoint stands."""
        end = min(until, self.total_steps) if until is not None else self.total_steps
        lock = self.open_run_dir()
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
                                  f"{self.run_dir}{self.precision_note}")
                try:
                    self._loop(end, progress, stop)
                finally:
                    # A KeyboardInterrupt in the loop (a second Ctrl-C) saves nothing: the step
                    # under way is half done, and the last checkpoint stands.
                    progress.close()
                    if self.log is not None:
                        self.log.close()
            if self.is_main and self.stopped_by is None:
                self.write_final_pictures()
        finally:
            lock.release()
        distributed.barrier()  # no rank returns before rank 0's files are complete
        return self.run_dir

    def _loop(self, end: int, progress: Progress, stop: StopSignals) -> None:
        cfg = self.cfg
        self.losses.reset(self.step)
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
                self.pictures.save_samples(
                    self.run_dir / "samples" / f"step_{self.step:06d}.png", self.step)
            if self.is_main and at_eval:
                self.evaluate()
            if at_checkpoint:
                self.save()

    def _out_of_time(self, deadline: float) -> bool:
        """Whether ``deadline`` has passed by rank 0's clock: the ranks must stop at the same
        step, or one would wait forever in a collective. No message without a time limit."""
        return deadline < math.inf and distributed.main_flag(time.perf_counter() >= deadline)


def fit_batch(cfg: TrainConfig, dataset: TrainingData) -> TrainConfig:
    """A folder of fewer images than the batch trains with the largest power of two it holds
    (said in a warning, and recorded in config.json), rather than stopping."""
    if not isinstance(dataset, ImageDataset) or cfg.batch_size <= len(dataset) or (
            distributed.world_size() > 1):
        return cfg  # the batcher's one-line error stands
    if len(dataset) < 2:
        raise GanforgeError(f"{cfg.dataset} holds {len(dataset)} image; a GAN needs at least 2")
    batch = 1 << (len(dataset).bit_length() - 1)
    warnings.warn(f"{cfg.dataset} holds {len(dataset)} images, fewer than --batch-size "
                  f"{cfg.batch_size}: training with batches of {batch}", stacklevel=3)
    return dataclasses.replace(cfg, batch_size=batch)


def precision_note(requested: str, resolved: str, device: torch.device, warn: bool) -> str:
    """What the start line says of a precision the device decided; bf16 asked for on a CPU
    that only emulates it is warned about, since it makes the run several times slower."""
    if requested == "auto":
        why = "" if resolved == "bf16" else f", no native bf16 on this {device.type}"
        return f" (--precision auto: {resolved}{why})"
    if requested == "bf16" and device.type == "cpu" and not native_bf16(device) and warn:
        warnings.warn("--precision bf16: this CPU has no AVX512-BF16 or AMX, so bf16 is "
                      "emulated and trains several times slower than fp32; use --precision "
                      "auto (bf16 only where native) or fp32", stacklevel=3)
    return ""
