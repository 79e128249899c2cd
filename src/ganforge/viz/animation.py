"""A run's sample pictures animated: samples/step_*.png into samples.gif."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ganforge.viz.scatter import save_gif

# The animation of a run's sample pictures holds at most this many frames, evenly spaced.
GIF_FRAMES = 60


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
