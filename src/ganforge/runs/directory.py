"""A run directory: its files, its config.json, and one trainer at a time writing it.

``config.json`` holds the resolved config (flat: the run's fields and its method's settings),
the method's name, the data spec the networks are built from, the total steps and the ganforge
version (:func:`write_run_config`, :func:`read_run_config`); the checkpoint beside it is
:mod:`ganforge.runs.checkpoint`'s.

:class:`RunLock` is an exclusive ``flock`` on ``RUN_DIR/.lock``, held while a trainer writes
there: a second trainer on the same directory stops at once with a one-line error instead of
interleaving its log rows and checkpoints with the first's. The kernel drops the lock when its
process ends, however it ends (kill -9, a crash, a reboot), so a lock file left by a dead
process is stale by construction and the next trainer simply takes it over; the pid written
into the file only helps a person find the live holder. Where ``fcntl`` is missing (Windows)
runs go unlocked.

:func:`prepare` readies the directory for a fresh or a resumed run once the lock is held:
leftovers of writes that a killed process never finished are removed, and a fresh run never
appends to an earlier run's files (see its docstring for why it clears them rather than refuse).
"""

from __future__ import annotations

import json
import os
import re
import socket
import time
import warnings
from pathlib import Path
from typing import Any

from ganforge.config import TrainConfig
from ganforge.configure import configure_saved
from ganforge.data.spec import DataSpec
from ganforge.errors import GanforgeError
from ganforge.files import TMP_SUFFIX, write_json
from ganforge.version import __version__

try:
    import fcntl
except ImportError:  # Windows: no flock
    fcntl = None

LOCK_FILE = ".lock"
CONFIG_FILE = "config.json"
# What a run writes at the top of its directory, and the folders it fills.
RUN_FILES = ("config.json", "state.json", "log.jsonl", "metrics.jsonl", "metrics.json",
             "samples.png", "samples.gif", "stages.png")
RUN_FOLDERS = {"samples": "step_*.png", "tensorboard": "events.out.tfevents.*"}
# Files that hold trained weights: a directory with one holds a run that is not thrown away.
WEIGHT_FILES = ("checkpoint.safetensors", "checkpoint-best.safetensors")
# The temporary files of safetensors' own save_file (.tmpXXXXXX), which ganforge 0.1 used; with
# those of ganforge.files.atomic_write (NAME.tmp) they are what kill -9 leaves behind.
_SAFETENSORS_TEMPORARY = re.compile(r"\.tmp[A-Za-z0-9_]{6}")


class RunLock:
    """An exclusive lock on a run directory, held from :meth:`acquire` to :meth:`release`."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = Path(run_dir)
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        if self._fd is not None or fcntl is None:
            return
        path = self.run_dir / LOCK_FILE
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.read(fd, 200).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise GanforgeError(f"{self.run_dir} is in use by another trainer ({holder}); wait "
                                "for it to finish or stop it, or choose another --out") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()} on {socket.gethostname()}\n".encode())
        self._fd = fd

    def release(self) -> None:
        # The file stays: removing it would let a third trainer lock a new file while a second
        # still waits on the old one.
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor releases the flock
            self._fd = None


def remove_temporary_files(run_dir: Path) -> None:
    """Delete the temporary files of writes that never finished; only safe under the lock."""
    ours = {name + TMP_SUFFIX for name in (*RUN_FILES, *WEIGHT_FILES)}
    leftovers = [p for p in run_dir.iterdir()
                 if p.name in ours or _SAFETENSORS_TEMPORARY.fullmatch(p.name)]
    if (run_dir / "samples").is_dir():
        leftovers += (run_dir / "samples").glob("*.png" + TMP_SUFFIX)
    for path in leftovers:
        if path.is_file():
            path.unlink()


def prepare(run_dir: Path, resumed: bool) -> None:
    """Ready ``run_dir`` (locked by the caller) for a run.

    A fresh run refuses a directory holding trained weights (resume it, or choose another
    directory). Files of an earlier run that wrote no checkpoint (it was killed or failed within
    its first checkpoint interval) are removed, not appended to: nothing in them can be resumed,
    the usual next step after such a failure is to run the same command again, and refusing
    would only make the user delete the same files by hand. Only the files ganforge itself
    writes are removed, never anything else in the directory, and a warning names them.
    """
    remove_temporary_files(run_dir)
    if resumed:
        return
    held = [name for name in WEIGHT_FILES if (run_dir / name).exists()]
    if held:
        raise GanforgeError(f"{run_dir} already holds a run ({held[0]}); continue it with "
                            f"--resume {run_dir} or choose another --out")
    stale = [run_dir / name for name in RUN_FILES if (run_dir / name).is_file()]
    for folder, pattern in RUN_FOLDERS.items():
        if (run_dir / folder).is_dir():
            stale += sorted((run_dir / folder).glob(pattern))
    if stale:
        for path in stale:
            path.unlink()
        names = sorted({p.relative_to(run_dir).parts[0] for p in stale})
        warnings.warn(f"{run_dir} held files of an earlier run that wrote no checkpoint "
                      f"({', '.join(names)}); they were removed and this run starts afresh",
                      stacklevel=3)


def default_run_dir(cfg: TrainConfig) -> Path:
    """runs/METHOD-DATASET-TIME, the data set's name made safe for a folder name."""
    dataset = re.sub(r"[^A-Za-z0-9_.-]+", "_", cfg.dataset.split("/")[-1] or "folder")
    return Path("runs") / f"{cfg.method}-{dataset}-{time.strftime('%Y%m%d-%H%M%S')}"


def write_run_config(run_dir: Path, cfg: TrainConfig, spec: DataSpec, total_steps: int) -> None:
    write_json(run_dir / CONFIG_FILE, {
        "ganforge_version": __version__,
        "method": cfg.method,
        "config": cfg.to_dict(),
        "data_spec": vars(spec),
        "total_steps": total_steps,
    })


def read_run_config(run_dir: str | Path, **changes: Any) -> dict[str, Any]:
    """config.json of a run, with ``config`` as a validated TrainConfig (with ``changes`` to
    its fields, validated with it) and ``data_spec`` as a DataSpec; a one-line error naming the
    file and what is wrong otherwise."""
    run_dir = Path(run_dir)
    path = run_dir / CONFIG_FILE
    if run_dir.is_file():
        hint = (f"; give the run directory that holds it ({run_dir.parent})"
                if (run_dir.parent / CONFIG_FILE).exists() else "")
        raise GanforgeError(f"{run_dir} is a file, not a ganforge run directory{hint}")
    if not run_dir.is_dir():
        raise GanforgeError(f"run directory {run_dir} does not exist")
    if not path.exists():
        raise GanforgeError(f"{path} not found; is {run_dir} a ganforge run directory?")
    try:
        raw = json.loads(path.read_text())
        # Checked before anything is built from it: a damaged or hand-edited file must fail
        # here in one line, not by asking for terabytes (latent_dim 10^9) or deep in torch.
        cfg = configure_saved(raw["config"], **changes)
        return {**raw, "config": cfg, "data_spec": DataSpec.from_dict(raw["data_spec"])}
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError, AttributeError,
            GanforgeError) as e:
        reason = f"no {e} entry" if isinstance(e, KeyError) else str(e)
        raise GanforgeError(f"{path} is not a valid ganforge config ({reason}); restore the "
                            "run's own config.json") from None
