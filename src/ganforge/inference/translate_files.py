"""Translating image files with a loaded translation model: every image of a folder (or one
file) into ``OUT/STEM.png``, and a grid of inputs beside their outputs."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from ganforge.data import to_uint8
from ganforge.data.translation import read_image_files
from ganforge.errors import GanforgeError
from ganforge.inference.model import Model
from ganforge.viz import save_image, side_by_side
from ganforge.viz.annotate import labelled_grid

TRANSLATION_GRID = "grid.png"
# Inputs (and their outputs) shown in the grid.
GRID_IMAGES = 32


def translation_targets(files: list[Path], out: Path,
                        overwrite: bool = False) -> tuple[list[Path], Path]:
    """Where the translations of ``files`` go (``out``/STEM.png) and the comparison grid; a
    one-line error, before any work, when two outputs would share a name, an output would
    replace an input, or (without ``overwrite``) replace a file."""
    grid = out / TRANSLATION_GRID
    by_target = defaultdict(list)
    for f in files:
        by_target[out / f"{f.stem}.png"].append(f)
    for target, sources in by_target.items():
        if len(sources) > 1:
            raise GanforgeError(f"{' and '.join(s.name for s in sources)} would both be "
                                f"translated into {target}; rename one of them")
    if grid in by_target:
        raise GanforgeError(f"{by_target[grid][0]} would be translated into {grid}, where the "
                            "comparison grid goes; rename it")
    inputs = {f.resolve() for f in files}
    for target in [*by_target, grid]:
        if target.resolve() in inputs:
            raise GanforgeError(f"{target} is one of the input images, which translating would "
                                "overwrite; give an --out folder apart from the inputs")
    existing = [t for t in [*by_target, grid] if t.exists()]
    if existing and not overwrite:
        raise GanforgeError(f"{out} already holds {', '.join(t.name for t in existing[:3])}"
                            f"{f' ({len(existing)} files in all)' if len(existing) > 3 else ''} "
                            "that this translation would replace; give --overwrite to replace "
                            "them, or another --out")
    return list(by_target), grid


def translate_files(model: Model, source: Path, out: Path, direction: str = "AtoB",
                    to_domain: str | None = None, overwrite: bool = False
                    ) -> tuple[list[Path], Path]:
    """Translate the image file or folder ``source`` into ``out``; returns the inputs and the
    grid written."""
    if not model.translates:
        raise GanforgeError(f"{model.run_dir} is a {model.cfg.method} run, which does not "
                            "translate; train pix2pix, cyclegan, dualgan, discogan, unit or "
                            "stargan")
    channels = model.source_channels(direction)
    files, images = read_image_files(source, model.method.spec.img_size, channels)
    targets, grid = translation_targets(files, out, overwrite)
    outputs = to_uint8(model.translate(images, direction, to_domain) * 2 - 1)
    out.mkdir(parents=True, exist_ok=True)
    for target, image in zip(targets, outputs, strict=True):
        save_image(image, target)
    shown = side_by_side(images[:GRID_IMAGES], outputs[:GRID_IMAGES])
    names = model.method.spec.class_names or ("A", "B")
    target = to_domain if to_domain is not None else names[direction == "AtoB"]
    source = names[direction != "AtoB"] if to_domain is None else "its domain"
    save_image(labelled_grid(shown, nrow=8, col_labels=("input", "output") * 4,
                             scale=model.scale, title=f"{source} -> {target}"), grid)
    return files, grid
