"""Get a trained generator out of ganforge: ONNX or TorchScript, with a dynamic batch size.

What is exported is what ``ganforge sample`` and ``translate`` run, wrapped so that the file
speaks in images in [0, 1]:

- image methods: ``images = G(z)``, z float [N, latent]; conditional ones take a second input,
  ``classes`` int64 [N] (cGAN, ACGAN) or ``codes`` float [N, k] (InfoGAN's codes);
- translation methods: ``output = G(input)``, images float [N, C, H, W] in [0, 1], one direction
  per file (``--direction``).

The sampling G is the EMA copy when the run kept one (``ganforge.load`` loads it). Methods whose
generation is not one network call on tensors are refused in one line naming why.
"""

from __future__ import annotations

import inspect
import warnings
from pathlib import Path

import torch
from torch import nn

from ganforge.errors import GanforgeError
from ganforge.methods.capabilities import CodeConditioned, Conditional, TextConditioned

FORMATS = ("onnx", "torchscript")
# Methods that draw through more than G(z[, c]): a sampling loop, a stage schedule or captions.
REFUSED = {
    "d-only": "it has no generator: its samples are Langevin chains on D",
    "stargan": "its translation also takes a target domain; export is for one-input translators",
    "progan": "its generator changes with the growth phase",
}


class SamplingGenerator(nn.Module):
    """G(z[, condition]) mapped from [-1, 1] to images in [0, 1]."""

    def __init__(self, method: nn.Module, conditional: bool) -> None:
        super().__init__()
        self.G, self.conditional = method.G, conditional

    def forward(self, z: torch.Tensor, condition: torch.Tensor | None = None) -> torch.Tensor:
        images = self.G(z, condition) if self.conditional else self.G(z)
        return images.add(1.0).div(2.0).clamp(0.0, 1.0)


class Translating(nn.Module):
    """A translator's one direction, images in [0, 1] in and out."""

    def __init__(self, method: nn.Module, direction: str) -> None:
        super().__init__()
        self.method, self.direction = method, direction

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        out = self.method.translate(images * 2.0 - 1.0, self.direction)
        return out.add(1.0).div(2.0).clamp(0.0, 1.0)


def export_module(model, direction: str = "AtoB", batch: int = 8, seed: int = 0):
    """(module in eval mode, example inputs, input names, output name) for ``model``."""
    method, name = model.method, model.cfg.method
    if name in REFUSED:
        raise GanforgeError(f"{name} cannot be exported: {REFUSED[name]}")
    if model.draws_points:
        raise GanforgeError(f"this {name} run draws 2-D points ({model.cfg.dataset}); export "
                            "is for image generators")
    if isinstance(method, TextConditioned):
        raise GanforgeError(f"{name} cannot be exported: it draws from captions through its "
                            "own tokenizer and vocabulary, which an exported file would lack")
    generator = torch.Generator().manual_seed(seed)
    if model.translates:
        method.check_direction(direction)
        channels = model.source_channels(direction)
        size = method.spec.img_size
        example = (torch.rand(batch, channels, size, size, generator=generator),)
        return Translating(method, direction).eval(), example, ["input"], "output"
    conditional = isinstance(method, (Conditional, CodeConditioned))
    z = method.sample_latent(batch, generator).cpu()
    if not conditional:
        return SamplingGenerator(method, False).eval(), (z,), ["z"], "images"
    condition = method.sample_condition(batch, generator).cpu()
    label = "classes" if not condition.is_floating_point() else "codes"
    return SamplingGenerator(method, True).eval(), (z, condition), ["z", label], "images"


def export(model, path: Path, fmt: str, direction: str = "AtoB") -> tuple[Path, list[str]]:
    """Write the model's sampling generator (or translator) to ``path`` as ``fmt``; returns the
    path and the input names."""
    if fmt not in FORMATS:
        raise GanforgeError(f"unknown export format {fmt!r}; choose one of: {', '.join(FORMATS)}")
    model.method.to("cpu")
    module, example, inputs, output = export_module(model, direction)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # both exporters are marked deprecated in new torch
        if fmt == "torchscript":
            torch.jit.trace(module, example, check_trace=False).save(str(tmp))
        else:
            try:
                import onnx  # noqa: F401
            except ImportError:
                raise GanforgeError('ONNX export needs the onnx package: pip install '
                                    '"ganforge[export]"') from None
            axes = {n: {0: "batch"} for n in [*inputs, output]}
            # The TorchScript-based exporter: torch 2.4's has no ``dynamo`` switch, newer ones
            # default to torch.export, which needs onnxscript.
            legacy = ({"dynamo": False}
                      if "dynamo" in inspect.signature(torch.onnx.export).parameters else {})
            try:
                torch.onnx.export(module, example, str(tmp), input_names=inputs,
                                  output_names=[output], dynamic_axes=axes, **legacy)
            except Exception as error:  # the exporter's own error types vary by torch version
                if "Unsupported" not in type(error).__name__:
                    raise
                tmp.unlink(missing_ok=True)
                op = str(error).split("'")[1] if "'" in str(error) else "an operator"
                raise GanforgeError(f"{model.cfg.method} cannot be exported to ONNX: its network "
                                    f"uses {op}, which the ONNX exporter lacks; use --format "
                                    "torchscript") from None
    tmp.replace(path)  # the exporters write a file of their own; the rename is atomic
    return path, inputs
