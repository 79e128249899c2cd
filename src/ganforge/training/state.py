"""A Trainer's whole training state as a checkpoint holds it: the method's networks (with G's
average), the optimisers, the loss scalers, the batcher's position and the random states; the
format itself is :mod:`ganforge.runs.checkpoint`'s.

Tensors go into the safetensors file under prefixes (``optim.G.3.exp_avg``, ``batcher.perm``,
``rng.cpu``, ``G_ema.``), everything else into its JSON ``state``.
"""

from __future__ import annotations

from pathlib import Path

import torch

from ganforge.runs import checkpoint as ckpt
from ganforge.training.graphed import GraphedStep
from ganforge.version import __version__


class Checkpointing:
    """The Trainer's state in and out of a checkpoint; mixed into
    :class:`ganforge.training.Trainer`, whose attributes it reads and sets."""

    def state_tensors_and_json(self) -> tuple[dict[str, torch.Tensor], dict]:
        """The trainer's state as (tensors, JSON state)."""
        tensors = dict(self.method.state_dict())
        if self.ema is not None:
            tensors.update(ckpt.prefixed(ckpt.EMA_PREFIX, self.sampling_G.state_dict()))
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


    def check_checkpoint(self, path: Path, tensors: dict[str, torch.Tensor], state: dict) -> None:
        """``tensors`` and ``state`` (read from ``path``) hold this run's training state: every
        tensor a checkpoint of it holds, with the same shapes and dtypes, and optimiser state that
        fits the parameters; a one-line error naming the file otherwise."""
        expected, _ = self.state_tensors_and_json()
        # The optimisers' state appears with their first step; CUDA's generator only on CUDA;
        # the batcher's permutation is empty until its first epoch begins. Checkpoints of
        # ganforge 0.1 kept the batcher's position in the state alone (see load_state), and those
        # before the EMA's warm-up count have none.
        optional = ("optim.", "rng.cuda", "ema.") + (() if "batcher" in state else ("batcher.",))
        ckpt.check_tensors(path, tensors, {k: v for k, v in expected.items()
                                           if not k.startswith(optional)},
                           others=optional, any_shape=("batcher.",))
        for name, params in self.params.items():
            ckpt.check_optimizer_tensors(path, tensors, f"optim.{name}", params)


    def load_state(self, tensors: dict[str, torch.Tensor], state: dict) -> None:
        """Take up the state of a checkpoint (checked by :meth:`check_checkpoint`)."""
        method_keys = set(self.method.state_dict())
        self.method.load_state_dict({k: v for k, v in tensors.items() if k in method_keys})
        if self.ema is not None:
            self.ema.module.load_state_dict(ckpt.unprefixed(ckpt.EMA_PREFIX, tensors))
            # Checkpoints before the EMA's warm-up count: its ramp is long over by then.
            self.ema.updates.fill_(float(tensors.get("ema.updates", state["step"])))
            self.pictures.forget_calibration()
        for name, optimizer in self.optimizers.items():
            lr_tensors = [g["lr"] for g in optimizer.param_groups
                          if isinstance(g["lr"], torch.Tensor)]
            saved = ckpt.unflatten_optimizer(f"optim.{name}", tensors, state["optimizers"][name])
            # How the update is computed is this run's choice (a run captured on a GPU may go on
            # without graphs, or on a CPU), not the checkpoint's.
            for group, current in zip(saved["param_groups"], optimizer.param_groups, strict=True):
                group.update({k: current[k] for k in ("fused", "foreach", "capturable")
                              if k in current})
            optimizer.load_state_dict(saved)
            # The checkpoint holds learning rates as numbers; a capturable optimiser keeps them in
            # its own device tensors.
            for group, lr in zip(optimizer.param_groups, lr_tensors, strict=False):
                group["lr"] = lr.fill_(float(group["lr"]))
        if self.graphed_step is not None:  # its capture read the optimisers' old state tensors
            self.graphed_step = GraphedStep(self.step_body, self.device,
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
        self.losses.reset(self.step)
