"""A trained run loaded for sampling: the networks rebuilt from config.json, the weights (the
EMA copy of G when the run kept one) from its checkpoint. What a model can do beyond sampling
its method declares (:mod:`ganforge.methods.capabilities`); the pictures that need it are in
:mod:`.pictures`, what it does with given images in :mod:`.given_images`."""

from __future__ import annotations

from pathlib import Path

import torch

from ganforge.config import TrainConfig
from ganforge.data import ToyMixture, to_uint8
from ganforge.devices import resolve_device
from ganforge.errors import GanforgeError
from ganforge.inference.given_images import Reconstructions, Translations
from ganforge.inference.pictures import LatentPictures, TextPictures
from ganforge.methods import METHODS, Method
from ganforge.methods.capabilities import Phased
from ganforge.runs import checkpoint as ckpt
from ganforge.runs.directory import read_run_config
from ganforge.viz import grid_scale, image_grid, save_image
from ganforge.viz.annotate import labelled_grid
from ganforge.viz.scatter import scatter_plot


class Model(LatentPictures, TextPictures, Reconstructions, Translations):
    """A trained generator ready to sample. Uses the EMA weights when the run kept them.

    Images come back as float [n, C, H, W] in [0, 1]; the picture methods (``class_grid``,
    ``latent_grid``, ``code_sweep``, ``interpolation``, ``walk``) return uint8 [C, H, W]
    pictures with labelled rows, ready for :func:`ganforge.viz.save_image`.
    """

    def __init__(self, method: Method, cfg: TrainConfig, run_dir: Path, step: int) -> None:
        self.method = method.eval()
        self.cfg = cfg
        self.run_dir = run_dir
        self.step = step

    @property
    def G(self) -> torch.nn.Module:
        return self.method.G

    @property
    def scale(self) -> int:
        return grid_scale(self.method.spec.img_size)

    @property
    def draws_points(self) -> bool:
        """Whether this run learned a toy 2-D mixture (points) rather than images."""
        return self.method.spec.kind == "points"

    @torch.no_grad()
    def _images(self, z: torch.Tensor, condition=None) -> torch.Tensor:
        if self.draws_points:
            raise GanforgeError(f"this run draws 2-D points ({self.cfg.dataset}), not images; "
                                "`ganforge sample RUN_DIR` draws their scatter plot")
        return self._unit_range(self.method.run_G(z.to(self.method.device), condition))

    @staticmethod
    def _unit_range(fakes: torch.Tensor) -> torch.Tensor:
        """Generator outputs in [-1, 1] as images in [0, 1]; an error, not a black picture,
        when they hold NaN or inf (a checkpoint with finite weights can still overflow)."""
        if not torch.isfinite(fakes).all():
            raise GanforgeError("the generator's outputs hold NaN or inf: the run diverged; "
                                "sample an earlier checkpoint or retrain with a lower --lr")
        return fakes.add(1.0).div_(2.0).clamp_(0.0, 1.0)

    @staticmethod
    def _generator(seed: int | None) -> torch.Generator | None:
        return torch.Generator().manual_seed(seed) if seed is not None else None

    @torch.no_grad()
    def sample(self, n: int, seed: int | None = None, classes=None,
               text: str | list[str] | None = None) -> torch.Tensor:
        """``n`` images (points [n, 2] for a toy-mixture run); ``classes`` (an int or n of them)
        fixes the class of a conditional model, ``text`` (a caption or n of them) what a
        text-to-image model draws; otherwise classes, codes or captions are drawn at random."""
        condition = None
        if classes is not None:
            classes = torch.as_tensor(classes).reshape(-1)
            condition = self.condition(classes.expand(n) if classes.numel() == 1 else classes)
            if len(condition) != n:
                raise GanforgeError(f"give one class or {n} of them, got {len(condition)}")
        if text is not None:
            condition = self.text_condition([text] if isinstance(text, str) else text)
            condition = condition.expand(n, -1) if len(condition) == 1 else condition
            if len(condition) != n:
                raise GanforgeError(f"give one caption or {n} of them, got {len(condition)}")
        generator = self._generator(seed)
        fakes = self.method.sample(n, generator, condition=condition)
        return fakes if self.draws_points else self._unit_range(fakes)

    def sample_filtered(self, n: int, rule: str = "drs", seed: int = 0,
                        real: torch.Tensor | None = None, classes=None):
        """``n`` images in [0, 1] that the run's D accepted (:mod:`.rejection`: ``drs``, or
        ``top:P%``), and the filter's report (candidates drawn, acceptance, calibration).
        ``real`` (uint8 images of the training data) calibrates D's scores first."""
        from ganforge.inference.rejection import DFilter, DiscriminatorFilter

        chooser = DiscriminatorFilter(self.method, DFilter.parse(rule), real=real)
        condition_for = None
        if classes is not None:
            condition_for = lambda k: self.condition(torch.as_tensor(classes).expand(k))  # noqa: E731
        images = chooser.sample(n, seed, condition_for)
        return self._unit_range(images), chooser.report

    def sample_ppgn(self, n: int, cls: int, settings=None, seed: int = 0, classifier=None,
                    keep_at=()) -> tuple[torch.Tensor, dict]:
        """``n`` images in [0, 1] of class ``cls`` by PPGN's chains in this unconditional
        model's latent space (:mod:`.ppgn`), started from noise; ``classifier`` (images in
        [0, 1] -> class logits) is the condition network, the packaged MNIST LeNet by default.
        The report holds log p(cls | image) along the chains and, with ``keep_at`` (step
        numbers, 0 the start), the images after those steps ([kept, n, C, H, W])."""
        from ganforge.inference.ppgn import PPGNSettings, ppgn_chains
        from ganforge.methods.capabilities import Conditional, TextConditioned

        if self.draws_points or self.translates or isinstance(
                self.method, (Conditional, TextConditioned)):
            raise GanforgeError(f"PPGN samples an unconditional image generator's latent space; "
                                f"a {self.cfg.method} run is conditional, translates or draws "
                                "points (train gan or dcgan on digit data for it)")
        if classifier is None:
            from ganforge.metrics.domain import load_mnist_classifier

            classifier = load_mnist_classifier(device=self.method.device).eval()
        settings = settings or PPGNSettings()
        generator = self._generator(seed)
        h = self.method.sample_latent(n, generator).to(self.method.device)
        y = torch.full((n,), int(cls), device=self.method.device)

        def render(h: torch.Tensor) -> torch.Tensor:
            return self.method.run_G(h).add(1.0).div(2.0).clamp(0.0, 1.0)

        h, kept, trace = ppgn_chains(h, y, render, classifier, settings, generator, keep_at)
        with torch.no_grad():
            images = self._unit_range(self.method.run_G(h))
            report = {"log_p": trace.cpu()}
            if kept:
                report["kept"] = torch.stack([render(k) for k in kept]).cpu()
        return images, report

    def ppgn_picture(self, cls: int, rows: int = 8, columns: int = 10, settings=None,
                     seed: int = 0) -> torch.Tensor:
        """``rows`` PPGN chains toward class ``cls``, each shown at ``columns`` points from its
        start (noise through G) to its last step."""
        from ganforge.inference.ppgn import PPGNSettings

        settings = settings or PPGNSettings()
        steps = sorted({round(i * settings.steps / max(1, columns - 1)) for i in range(columns)})
        _, report = self.sample_ppgn(rows, cls, settings, seed=seed, keep_at=steps)
        kept = report["kept"]  # [columns, rows, C, H, W]
        return self.picture(kept.transpose(0, 1).flatten(0, 1), nrow=len(kept),
                            cols=[str(t) for t in steps],
                            title=f"PPGN chains toward class {cls}, by step")

    @torch.no_grad()
    def generate(self, z: torch.Tensor, condition=None) -> torch.Tensor:
        """Images in [0, 1] for given latent vectors (and conditions, for conditional models)."""
        return self._images(z, condition)

    def picture(self, images: torch.Tensor, nrow: int, rows=(), cols=(),
                title: str = "") -> torch.Tensor:
        """A labelled grid of ``images`` in [0, 1], ``nrow`` to a row."""
        return labelled_grid(to_uint8(images * 2 - 1), nrow=nrow, row_labels=rows,
                             col_labels=cols, scale=self.scale, title=title)

    def save_grid(self, path: str | Path, n: int = 64, seed: int | None = 0,
                  nrow: int | None = None, classes=None) -> Path:
        """A grid of ``n`` samples, or for a toy-mixture run their scatter plot over the
        mixture's modes."""
        if self.draws_points:
            mixture = ToyMixture(self.cfg.dataset)
            picture = scatter_plot(self.sample(n, seed), mixture.centers, mixture.extent)
            return save_image(picture, path)
        return save_image(self.sample_picture(n, seed, nrow, classes), path)

    def sample_picture(self, n: int = 64, seed: int | None = 0, nrow: int | None = None,
                       classes=None) -> torch.Tensor:
        """``n`` samples as a picture, enlarged for small images; a method whose samples are
        laid out in columns (a translation's input | output, CoGAN's pairs) gets them
        labelled, as in its training pictures."""
        images = to_uint8(self.sample(n, seed, classes) * 2 - 1)
        columns = self.method.display_columns
        if columns:
            nrow = self.method.display_nrow
            return labelled_grid(images, nrow=nrow, col_labels=columns * (nrow // len(columns)),
                                 scale=self.scale, title=self.method.display_title)
        grid = image_grid(images, nrow=nrow)
        return grid.repeat_interleave(self.scale, 1).repeat_interleave(self.scale, 2)


def load(run_dir: str | Path, device: str = "auto") -> Model:
    """Load a run directory written by the Trainer for sampling."""
    run_dir = Path(run_dir)
    info = read_run_config(run_dir)
    cfg: TrainConfig = info["config"]
    path = run_dir / ckpt.CHECKPOINT
    tensors, state = ckpt.load_checkpoint(path)
    method = METHODS.get(cfg.method)(cfg, info["data_spec"])
    method.load_state_dict(ckpt.sampling_weights(path, tensors, method.state_dict(),
                                                 ema=bool(cfg.ema)))
    if isinstance(method, Phased):
        # A run stopped mid-way (progressive growing) samples from the phase it had reached.
        method.set_progress(max(state["step"] - 1, 0), state["total_steps"])
    return Model(method.to(resolve_device(device)), cfg, run_dir, state["step"])
