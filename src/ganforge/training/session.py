"""A Trainer's dealings with its run directory: opening it (locked, readied, config.json
written), checkpoints written and read back, evaluations with the best checkpoint, the pictures
at the end, and resuming a run from its directory (:mod:`ganforge.runs`)."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from ganforge.devices import resolve_device
from ganforge.errors import GanforgeError, TrainingDiverged
from ganforge.files import write_json
from ganforge.runs import checkpoint as ckpt
from ganforge.runs.directory import (
    WEIGHT_FILES,
    RunLock,
    prepare,
    read_run_config,
    write_run_config,
)
from ganforge.training.card import write_card
from ganforge.training.log import RunLog
from ganforge.viz.animation import progress_gif

if TYPE_CHECKING:
    from ganforge.data import TrainingData


class RunSession:
    """The Trainer's run directory; mixed into :class:`ganforge.training.Trainer`, whose
    attributes it reads and sets."""

    def open_run_dir(self) -> RunLock:
        """Lock the run directory (rank 0) and ready it: a fresh run refuses one that holds trained
        weights and clears an unfinished run's files; a run going on from a checkpoint checks that
        no other self moved it on since. The lock is the caller's to release."""
        run_dir, going_on = self.run_dir, self.last_checkpoint_step is not None
        lock = RunLock(run_dir)
        if not going_on:
            held = [name for name in WEIGHT_FILES if (run_dir / name).exists()]
            if held:
                raise GanforgeError(f"{run_dir} already holds a run ({held[0]}); continue it with "
                                    f"--resume {run_dir} or choose another --out")
        if not self.is_main:
            return lock  # rank 0 writes the run directory
        try:
            run_dir.mkdir(parents=True, exist_ok=True)
            lock.acquire()
        except OSError as e:
            raise GanforgeError(f"cannot write the run directory {run_dir} ({e.strerror or e}); "
                                "choose another --out") from None
        try:
            if going_on:
                on_disk = ckpt.checkpoint_step(run_dir / ckpt.CHECKPOINT)
                if on_disk != self.last_checkpoint_step:
                    raise GanforgeError(f"{run_dir} moved on to step {on_disk} after this trainer "
                                        f"read its step-{self.last_checkpoint_step} checkpoint; "
                                        "resume it again")
            prepare(run_dir, resumed=going_on)
            write_run_config(run_dir, self.cfg, self.spec, self.total_steps)
            if going_on:  # the readable copy may lag its checkpoint after a kill
                write_json(run_dir / "state.json", self.state_tensors_and_json()[1])
            resumed = self.step if going_on else None
            self.log = RunLog(run_dir / "log.jsonl", resume_step=resumed)
            if self.evaluation is not None:
                self.evaluation.open(run_dir, resumed)
        except BaseException:
            lock.release()
            raise
        return lock


    def save(self) -> Path:
        """Write the checkpoint, then state.json (its readable copy). Under torchrun rank 0
        writes it: the ranks hold the same weights and counters."""
        path = self.run_dir / ckpt.CHECKPOINT
        if self.is_main:
            self.write_checkpoint(path, also_state_json=True)
        self.last_checkpoint_step = self.step
        if self.is_main:
            write_card(self)
        return path


    def write_checkpoint(self, path: Path, also_state_json: bool = False) -> None:
        """Write the training state to ``path`` atomically. Only called after the guard passed;
        :func:`ckpt.save_checkpoint` refuses non-finite or runaway weights all the same. A failed
        write (a full disk) leaves the previous file whole and stops the run."""
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
                                f"{e.filename or path} ({e.strerror or e}); {kept}: once the disk "
                                f"takes it again, continue with --resume {self.run_dir}") from None


    def evaluate(self) -> dict:
        """Metrics of the sampling generator now (a row of metrics.jsonl); when ``best_metric``
        improved, the whole training state is also written to checkpoint-best.safetensors."""
        from ganforge.training.evaluation import BEST_CHECKPOINT

        row, improved = self.evaluation.run(self.step, self.method, self.sampling_G)
        if improved:
            self.write_checkpoint(self.run_dir / BEST_CHECKPOINT)
        return row


    def write_final_pictures(self) -> None:
        """samples.png, stages.png (coarse-to-fine methods) and samples.gif of a finished run."""
        self.pictures.save_samples(self.run_dir / "samples.png", self.step)
        self.pictures.save_stages(self.run_dir / "stages.png", self.step)
        progress_gif(self.run_dir)
        write_card(self)  # now with the final samples.png


    @classmethod
    def resume(cls, run_dir: str | Path, steps: int | None = None,
               dataset: TrainingData | None = None, device: str | None = None,
               time_limit: float | None = None):
        """Continue a run exactly where its checkpoint left it (``steps`` may raise the total;
        ``device`` may move it, e.g. from a GPU to a CPU; ``time_limit`` bounds this session)."""
        run_dir = Path(run_dir)
        # A time limit bounds one session of training; a resumed run has none unless given.
        changes = {"out": str(run_dir), "time_limit": time_limit,
                   **({"steps": steps, "epochs": None} if steps is not None else {}),
                   **({"device": device} if device is not None else {})}
        cfg = read_run_config(run_dir, **changes)["config"]
        path = run_dir / ckpt.CHECKPOINT
        tensors, state = ckpt.load_checkpoint(path)
        if steps is not None and steps < state["step"]:
            # Training on would do nothing, and the run would look as if it had stopped there.
            raise GanforgeError(f"--steps is the run's new total and cannot be below the "
                                f"{state['step']} steps {run_dir} has trained, got {steps}")
        on = resolve_device(cfg.device).type
        if cfg.cuda_graphs is not None and on != "cuda":
            if cfg.cuda_graphs:
                warnings.warn("this run was trained with --cuda-graphs; it continues on the "
                              f"{on} without them", stacklevel=3)
            cfg = cfg.replace(cuda_graphs=None)
        if cfg.sync_bn and on == "cpu":
            # SyncBatchNorm's weights are batch norm's: on CPUs the run goes on without it.
            warnings.warn("--sync-bn needs GPUs; this run continues on the CPU with each process's "
                          "own batch statistics", stacklevel=3)
            cfg = cfg.replace(sync_bn=False)
        trainer = cls(cfg, dataset=dataset)
        if steps is None:
            trainer.total_steps = state["total_steps"]
        trainer.check_checkpoint(path, tensors, state)
        try:
            trainer.load_state(tensors, state)
        except (KeyError, TypeError, ValueError, IndexError, RuntimeError) as e:
            # What the check cannot see: the JSON state beside the tensors.
            reason = str(e).splitlines()[0] if str(e) else type(e).__name__
            raise GanforgeError(f"{path} holds a training state this run cannot take up "
                                f"({type(e).__name__}: {reason}); resume from another copy or "
                                "retrain") from None
        return trainer
