"""What a method can do beyond drawing samples, declared by deriving from these classes.

Inference and the command line ask ``isinstance(method, Encoder)``, never whether an attribute
happens to exist; the training loop asks the same of :class:`Phased` and
:class:`KeepsAverages`. Each class names the methods a subclass must provide.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass

import torch
from torch import nn


class Conditional:
    """G draws a chosen class on request: ``condition_for(classes)`` turns class indices into
    the method's condition (cGAN's labels, InfoGAN's first categorical code)."""

    num_classes: int
    spec: object

    def condition_for(self, classes) -> torch.Tensor:
        raise NotImplementedError

    def class_name(self, k: int) -> str:
        names = self.spec.class_names
        return names[k] if names else str(k)


class CodeConditioned(Conditional):
    """G takes latent codes whose meaning was learned (InfoGAN): ``codes`` says which; its
    classes are the values of the first categorical code."""

    codes: object

    def class_name(self, k: int) -> str:
        return f"c={k}"


class Encoder:
    """Images can be encoded to latent codes (``encode``) and reconstructed (``reconstruct``
    = G(encode(x))), images in [-1, 1]."""

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


class Translator:
    """Maps images of one domain to another (``direction`` AtoB or BtoA), images in [-1, 1]
    with ``source_channels(direction)`` channels."""

    spec: object

    def translate(self, x: torch.Tensor, direction: str = "AtoB",
                  G: nn.Module | None = None) -> torch.Tensor:
        raise NotImplementedError

    def source_channels(self, direction: str = "AtoB") -> int:
        return self.spec.b_channels if direction == "BtoA" else self.spec.img_channels


class DomainTranslator(Translator):
    """Translates to any of several named domains (StarGAN): ``translate(x, to_domain=...)``
    with a domain's name or index, ``domain(name)`` its index."""

    def domain(self, name: str | int) -> int:
        raise NotImplementedError

    def translate(self, x: torch.Tensor, direction: str = "AtoB", G: nn.Module | None = None,
                  to_domain: str | int | None = None) -> torch.Tensor:
        raise NotImplementedError


class TextConditioned:
    """G draws what a caption says: ``text_condition(captions)`` gives their token ids, and
    ``embed_text(tokens, G)`` G's sentence embeddings of them (to walk between captions)."""

    def text_condition(self, captions: list[str]) -> torch.Tensor:
        raise NotImplementedError

    def embed_text(self, tokens: torch.Tensor, G: nn.Module | None = None) -> torch.Tensor:
        raise NotImplementedError


class Staged:
    """G draws coarse to fine (LAPGAN's levels, ProGAN's resolutions): ``stage_pictures`` gives,
    for the ``n`` samples ``sample(n, generator)`` draws, (label, images in [-1, 1] at the full
    size) rows showing each stage."""

    def stage_pictures(self, n: int, generator: torch.Generator | None = None,
                       G: nn.Module | None = None) -> list[tuple[str, torch.Tensor]]:
        raise NotImplementedError


class Phased:
    """The networks change as training goes on (progressive growing). Before every step the
    training loop calls ``set_progress`` with the steps done and the run's total, so a resumed
    run is in the phase it left; where ``phase`` changes it clears the optimisers when
    ``restarts_optimizers`` says so. A step that changes with the host's phase cannot be replayed
    from a CUDA graph."""

    def set_progress(self, step: int, total_steps: int) -> None:
        raise NotImplementedError

    def phase(self, step: int, total_steps: int) -> Hashable:
        raise NotImplementedError

    @property
    def restarts_optimizers(self) -> bool:
        return False


@dataclass(frozen=True)
class AveragedCopy:
    """``copy`` follows ``source`` as a moving average, updated after every optimiser step of
    ``group``: parameters averaged with a decay ramping up to ``decay`` as (1 + t) / (10 + t)
    after ``t`` updates (counted in the buffer ``updates``), buffers copied."""

    source: nn.Module
    copy: nn.Module
    updates: torch.Tensor
    decay: float
    group: str


class KeepsAverages:
    """Some networks have averaged copies the training loop keeps (the semi-supervised GAN
    classifies with D's average)."""

    def averaged_copies(self) -> list[AveragedCopy]:
        raise NotImplementedError
