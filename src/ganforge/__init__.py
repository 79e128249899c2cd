"""ganforge: generative adversarial networks in one clean PyTorch codebase."""

__version__ = "0.1.0"

from ganforge.config import TrainConfig, with_method_defaults  # noqa: E402
from ganforge.errors import GanforgeError, TrainingDiverged  # noqa: E402


def train(config: TrainConfig | dict | None = None, **overrides):
    """Train a model and return it loaded for sampling.

    ``config`` is a TrainConfig, or a dict / keyword arguments of its fields; fields not given
    take the method's defaults (``ganforge.train(method="gan", dataset="mnist", steps=2000)``).
    """
    from ganforge.inference import load
    from ganforge.training import Trainer

    if isinstance(config, TrainConfig):
        cfg = config.replace(**overrides) if overrides else config
    else:
        fields = {**(config or {}), **overrides}
        cfg = with_method_defaults(fields.pop("method", TrainConfig.method), **fields)
    run_dir = Trainer(cfg).fit()
    return load(run_dir, device=cfg.device)


def load(run_dir, device: str = "auto"):
    """Load a trained run directory; the result has ``.sample(n)``."""
    from ganforge.inference import load as load_run

    return load_run(run_dir, device=device)


__all__ = ["GanforgeError", "TrainConfig", "TrainingDiverged", "__version__", "load", "train"]
