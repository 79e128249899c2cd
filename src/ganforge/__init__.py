"""ganforge: generative adversarial networks in one clean PyTorch codebase."""

from ganforge.config import TrainConfig
from ganforge.errors import GanforgeError, TrainingDiverged
from ganforge.version import __version__


def train(config: TrainConfig | dict | None = None, **overrides):
    """Train a model and return it loaded for sampling.

    ``config`` is a TrainConfig, or a dict / keyword arguments of its fields and the method's
    settings; fields not given take the method's defaults (``ganforge.train(method="gan",
    dataset="mnist", steps=2000)``). The configuration is made once, here
    (:func:`ganforge.configure.configure`).
    """
    from ganforge.configure import configure
    from ganforge.inference import load
    from ganforge.training import Trainer

    fields = config.to_dict() if isinstance(config, TrainConfig) else dict(config or {})
    cfg = configure(fields, **overrides)
    run_dir = Trainer(cfg).fit()
    return load(run_dir, device=cfg.device)


def load(run_dir, device: str = "auto"):
    """Load a trained run directory; the result has ``.sample(n)``."""
    from ganforge.inference import load as load_run

    return load_run(run_dir, device=device)


__all__ = ["GanforgeError", "TrainConfig", "TrainingDiverged", "__version__", "load", "train"]
