"""The pictures a loaded model draws from its latent space: class grids, latent grids, code
sweeps, interpolations, walks and the stages of coarse-to-fine methods (:class:`LatentPictures`),
and from captions (:class:`TextPictures`); each needs what the method declares it can do."""

from __future__ import annotations

import torch

from ganforge.data import to_uint8
from ganforge.errors import GanforgeError
from ganforge.methods.capabilities import CodeConditioned, Conditional, Staged, TextConditioned
from ganforge.nn import eval_mode
from ganforge.viz.annotate import labelled_grid, stage_grid
from ganforge.viz.latent import even_grid, interpolate, loop_through


class LatentPictures:
    """Pictures of the latent space; mixed into :class:`ganforge.inference.Model`."""

    @property
    def num_classes(self) -> int:
        """Classes a condition can name: labels of cGAN/ACGAN, values of InfoGAN's first
        categorical code; 0 for an unconditional generator."""
        return self.method.num_classes if isinstance(self.method, Conditional) else 0

    def condition(self, classes) -> torch.Tensor:
        """The method's condition for these class indices (or categorical code values)."""
        if self.reads_text:
            raise GanforgeError("a text2img run draws what a caption says, not a class: give "
                                "--text CAPTION (text=... in Python)")
        if not isinstance(self.method, Conditional):
            raise GanforgeError(
                f"choosing a class needs a conditional model (cgan, acgan, cc-lapgan, or "
                f"infogan's categorical code); this run is {self.cfg.method}")
        return self.method.condition_for(classes)

    @torch.no_grad()
    def stage_picture(self, n: int = 10, seed: int = 0) -> torch.Tensor:
        """Coarse-to-fine methods (lapgan, progan): a labelled row per stage of ``n`` samples."""
        if not isinstance(self.method, Staged):
            raise GanforgeError(f"--stages shows the stages of coarse-to-fine methods (lapgan, "
                                f"progan); {self.cfg.method} draws in one stage")
        G = self.G
        with eval_mode(G):
            rows = self.method.stage_pictures(n, self._generator(seed), G=G)
        return stage_grid(rows, self.scale, title=f"{self.cfg.method}, step {self.step}")

    def class_grid(self, per_class: int = 10, classes=None, seed: int = 0) -> torch.Tensor:
        """One row per class (all classes unless ``classes`` names some), ``per_class`` samples
        each; column j of every row shares its noise, so columns show one style across
        classes."""
        if not self.num_classes:
            self.condition([0])  # raises: not a conditional model
        classes = list(range(self.num_classes)) if classes is None else [int(c) for c in classes]
        z = self.method.sample_latent(per_class, self._generator(seed)).repeat(len(classes), 1)
        labels = torch.tensor(classes).repeat_interleave(per_class)
        images = self._images(z, self.condition(labels))
        return self.picture(images, per_class, rows=[self.method.class_name(k) for k in classes])

    def latent_grid(self, n: int = 20, extent: float = 2.5, seed: int = 0,
                    cls: int | None = None) -> torch.Tensor:
        """The even n x n grid over a 2-D latent space (seed 000's manifold figure): z itself
        when latent_dim is 2, else InfoGAN's first two continuous codes (noise fixed)."""
        points = even_grid(n, extent).to(self.method.device)
        codes = self.method.codes if isinstance(self.method, CodeConditioned) else None
        if codes is not None and codes.continuous >= 2:
            z = self.method.sample_latent(1, self._generator(seed)).expand(n * n, -1)
            cont = torch.zeros(n * n, codes.continuous, device=self.method.device)
            cont[:, :2] = points
            condition = self.method.condition_for(torch.full((n * n,), cls or 0), cont)
            title = f"continuous codes 0 (x) and 1 (y) over [-{extent}, {extent}]"
        elif (width := self.method.sample_latent(1, self._generator(seed)).shape[1]) == 2:
            z = points
            condition = None
            if self.num_classes:
                condition = self.condition(torch.full((n * n,), cls or 0))
            title = f"z over [-{extent}, {extent}]^2"
        else:
            raise GanforgeError(
                f"--latent-grid needs a 2-D latent space: train with --latent-dim 2 (or InfoGAN "
                f"with two continuous codes); this run's G takes {width} noise values per "
                f"sample (latent_dim {self.method.settings.latent_dim}"
                + (")" if width == self.method.settings.latent_dim
                   else ", with its other noise)"))
        return self.picture(self._images(z, condition), n, title=title)

    def code_sweep(self, code: str = "cont:0", steps: int = 10, extent: float = 2.0,
                   seed: int = 0) -> torch.Tensor:
        """InfoGAN's figure 2: ``cont:I`` sweeps continuous code I from -extent to extent
        across the columns, one row per value of the first categorical code, the noise and the
        other codes fixed; ``cat:I`` puts the values of categorical code I across the columns,
        one row per noise sample."""
        if not isinstance(self.method, CodeConditioned):
            raise GanforgeError(f"--sweep needs an InfoGAN run; this run is {self.cfg.method}")
        codes = self.method.codes
        kind, _, index = code.partition(":")
        count = codes.continuous if kind == "cont" else len(codes.categorical)
        if kind not in ("cat", "cont") or not index.isdigit() or int(index) >= count:
            raise GanforgeError(
                f"unknown code {code!r}; this model has "
                + ", ".join([f"cat:{i}" for i in range(len(codes.categorical))]
                            + [f"cont:{i}" for i in range(codes.continuous)]))
        i, device = int(index), self.method.device
        generator = self._generator(seed)
        if kind == "cont":
            values = torch.linspace(-extent, extent, steps)
            if codes.categorical:
                rows = codes.categorical[0]
                z = self.method.sample_latent(1, generator).expand(rows * steps, -1)
            else:  # no categorical rows: vary the noise by row instead
                rows = 8
                z = self.method.sample_latent(rows, generator).repeat_interleave(steps, 0)
            cat = torch.zeros(rows * steps, len(codes.categorical), dtype=torch.long)
            if codes.categorical:
                cat[:, 0] = torch.arange(rows).repeat_interleave(steps)
            cont = torch.zeros(rows * steps, codes.continuous)
            cont[:, i] = values.repeat(rows)
            row_labels = [f"c={r}" for r in range(rows)] if codes.categorical else []
            col_labels = [f"{v:+.1f}" for v in values.tolist()]
        else:
            rows, steps = 8, codes.categorical[i]
            z = self.method.sample_latent(rows, generator).repeat_interleave(steps, 0)
            cat = torch.zeros(rows * steps, len(codes.categorical), dtype=torch.long)
            cat[:, i] = torch.arange(steps).repeat(rows)
            cont = torch.zeros(rows * steps, codes.continuous)
            row_labels, col_labels = [], [str(v) for v in range(steps)]
        condition = codes.encode(cat.to(device), cont.to(device))
        return self.picture(self._images(z, condition), steps, rows=row_labels,
                             cols=col_labels, title=f"sweep of {code}")

    def interpolation(self, rows: int = 8, steps: int = 10, mode: str = "slerp",
                      seed: int = 0) -> torch.Tensor:
        """Each row walks from one random latent to another in ``steps`` (linear or spherical);
        a conditional model keeps the row's class or codes fixed."""
        generator = self._generator(seed)
        a, b = (self.method.sample_latent(rows, generator) for _ in range(2))
        path = interpolate(a, b, steps, mode).transpose(0, 1).reshape(rows * steps, -1)
        condition = self.method.sample_condition(rows, generator)
        if condition is not None:
            condition = condition.repeat_interleave(steps, 0)
        return self.picture(self._images(path, condition), steps, title=f"{mode} interpolation")

    def walk(self, keyframes: int = 6, steps: int = 12, panels: int = 4, mode: str = "slerp",
             seed: int = 0) -> list[torch.Tensor]:
        """Frames of a looping walk: a panels x panels grid, each panel travelling through
        ``keyframes`` random latents (its class or codes fixed), ``steps`` frames per leg."""
        if keyframes < 2 or steps < 1 or panels < 1:
            raise GanforgeError("a walk needs at least 2 keyframes, 1 step and 1 panel")
        generator = self._generator(seed)
        k = panels * panels
        keys = self.method.sample_latent(keyframes * k, generator).view(keyframes, k, -1)
        path = loop_through(keys, steps, mode)  # [frames, k, dim]
        condition = self.method.sample_condition(k, generator)
        frames = []
        for z in path:
            images = to_uint8(self._images(z, condition) * 2 - 1)
            frames.append(labelled_grid(images, nrow=panels, scale=self.scale))
        return frames


class TextPictures:
    """Pictures from captions, for text-conditioned models (text2img)."""

    @property
    def reads_text(self) -> bool:
        """Whether this run draws from captions (text2img)."""
        return isinstance(self.method, TextConditioned)

    def text_condition(self, captions: list[str]) -> torch.Tensor:
        """Captions as the condition of a text-to-image run (token ids); a one-line error for
        another method or an unknown word."""
        if not self.reads_text:
            raise GanforgeError(f"captions need a text-to-image run (text2img); this run is "
                                f"{self.cfg.method}")
        return self.method.text_condition(list(captions))

    def text_grid(self, captions: list[str], per_caption: int = 8, seed: int = 0) -> torch.Tensor:
        """One labelled row per caption, ``per_caption`` samples each; column j of every row
        shares its noise, so a column shows one style across captions."""
        tokens = self.text_condition(captions).repeat_interleave(per_caption, 0)
        z = self.method.sample_latent(per_caption, self._generator(seed)).repeat(len(captions), 1)
        return self.picture(self._images(z, tokens), per_caption, rows=list(captions))

    @torch.no_grad()
    def text_interpolation(self, caption_a: str, caption_b: str, steps: int = 8, rows: int = 4,
                           seed: int = 0) -> torch.Tensor:
        """Rows of ``steps`` images whose sentence embedding moves linearly from caption_a's to
        caption_b's (GAN-INT's interpolation), the noise fixed along each row."""
        if steps < 2:
            raise GanforgeError("a text interpolation needs at least 2 steps")
        a, b = self.method.embed_text(self.text_condition([caption_a, caption_b]))
        beta = torch.linspace(0, 1, steps, device=a.device)[:, None]
        path = ((1 - beta) * a + beta * b).repeat(rows, 1)
        z = self.method.sample_latent(rows, self._generator(seed)).repeat_interleave(steps, 0)
        return self.picture(self._images(z, path), steps,
                             title=f"'{caption_a}' -> '{caption_b}'")
