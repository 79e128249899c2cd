"""One optimiser per group of networks, and the learning-rate schedule."""

from __future__ import annotations

import torch

from ganforge.config import TrainConfig


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


class LinearDecay:
    """Both learning rates held until ``decay_from`` of the training, then falling linearly to 0
    at the last step (CycleGAN's schedule). A function of the step alone, so a resumed run
    decays exactly as an unbroken one."""

    def __init__(self, optimizers: dict[str, torch.optim.Optimizer], decay_from: float) -> None:
        self.optimizers = optimizers
        self.decay_from = decay_from
        self.base_lr = {g: [float(pg["lr"]) for pg in o.param_groups]
                        for g, o in optimizers.items()}

    def factor(self, step: int, total_steps: int) -> float:
        start = self.decay_from * total_steps
        if step < start:
            return 1.0
        return max(0.0, 1.0 - (step - start) / max(total_steps - start, 1))

    def apply(self, step: int, total_steps: int) -> None:
        factor = self.factor(step, total_steps)
        for name, optimizer in self.optimizers.items():
            for group, base in zip(optimizer.param_groups, self.base_lr[name], strict=True):
                if isinstance(group["lr"], torch.Tensor):
                    group["lr"].fill_(base * factor)  # in place: a CUDA graph reads this tensor
                else:
                    group["lr"] = base * factor
