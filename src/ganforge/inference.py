"""Sampling from a trained run: rebuild the networks from config.json, load the weights."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from ganforge.config import TrainConfig, resolve_device, validate
from ganforge.data import ToyMixture, to_uint8
from ganforge.errors import GanforgeError
from ganforge.methods import METHODS, DataSpec, Method
from ganforge.nn import eval_mode
from ganforge.training import checkpoint as ckpt
from ganforge.training.trainer import CONFIG_FILE, grid_scale
from ganforge.viz import image_grid, save_image
from ganforge.viz.annotate import labelled_grid, stage_grid
from ganforge.viz.latent import even_grid, interpolate, loop_through
from ganforge.viz.scatter import scatter_plot


def read_run_config(run_dir: Path) -> dict:
    """config.json of a run, with ``config`` as a TrainConfig and ``data_spec`` as a DataSpec."""
    path = Path(run_dir) / CONFIG_FILE
    if Path(run_dir).is_file():
        parent = Path(run_dir).parent
        hint = (f"; give the run directory that holds it ({parent})"
                if (parent / CONFIG_FILE).exists() else "")
        raise GanforgeError(f"{run_dir} is a file, not a ganforge run directory{hint}")
    if not Path(run_dir).is_dir():
        raise GanforgeError(f"run directory {run_dir} does not exist")
    if not path.exists():
        raise GanforgeError(f"{path} not found; is {run_dir} a ganforge run directory?")
    try:
        raw = json.loads(path.read_text())
        # Checked before anything is built from it: a damaged or hand-edited file must fail
        # here in one line, not by asking for terabytes (latent_dim 10^9) or deep in torch.
        cfg = validate(TrainConfig.from_dict(raw["config"]), saved_run=True)
        return {**raw, "config": cfg, "data_spec": DataSpec.from_dict(raw["data_spec"])}
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError, AttributeError,
            GanforgeError) as e:
        reason = f"no {e} entry" if isinstance(e, KeyError) else str(e)
        raise GanforgeError(f"{path} is not a valid ganforge config ({reason}); restore the "
                            "run's own config.json") from None


class Model:
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
    def num_classes(self) -> int:
        """Classes a condition can name: labels of cGAN/ACGAN, values of InfoGAN's first
        categorical code; 0 for an unconditional generator."""
        return getattr(self.method, "num_classes", 0)

    def condition(self, classes) -> torch.Tensor:
        """The method's condition for these class indices (or categorical code values)."""
        if self.reads_text:
            raise GanforgeError("a text2img run draws what a caption says, not a class: give "
                                "--text CAPTION (text=... in Python)")
        if not hasattr(self.method, "condition_for"):
            raise GanforgeError(
                f"choosing a class needs a conditional model (cgan, acgan, cc-lapgan, or "
                f"infogan's categorical code); this run is {self.cfg.method}")
        return self.method.condition_for(classes)

    def class_name(self, k: int) -> str:
        if hasattr(self.method, "codes"):
            return f"c={k}"
        names = self.method.spec.class_names
        return names[k] if names else str(k)

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

    @torch.no_grad()
    def generate(self, z: torch.Tensor, condition=None) -> torch.Tensor:
        """Images in [0, 1] for given latent vectors (and conditions, for conditional models)."""
        return self._images(z, condition)

    def _picture(self, images: torch.Tensor, nrow: int, rows=(), cols=(), title="") -> torch.Tensor:
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
        images = to_uint8(self.sample(n, seed, classes) * 2 - 1)
        if self.translates:  # inputs beside their translations, as the training pictures
            nrow = nrow or self.method.display_nrow
        return save_image(image_grid(images, nrow=nrow), path, self.scale)

    @torch.no_grad()
    def stage_picture(self, n: int = 10, seed: int = 0) -> torch.Tensor:
        """Coarse-to-fine methods (lapgan, progan): a labelled row per stage of ``n`` samples."""
        G = self.G
        with eval_mode(G):
            rows = self.method.stage_pictures(n, self._generator(seed), G=G)
        if rows is None:
            raise GanforgeError(f"--stages shows the stages of coarse-to-fine methods (lapgan, "
                                f"progan); {self.cfg.method} draws in one stage")
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
        return self._picture(images, per_class, rows=[self.class_name(k) for k in classes])

    def latent_grid(self, n: int = 20, extent: float = 2.5, seed: int = 0,
                    cls: int | None = None) -> torch.Tensor:
        """The even n x n grid over a 2-D latent space (seed 000's manifold figure): z itself
        when latent_dim is 2, else InfoGAN's first two continuous codes (noise fixed)."""
        points = even_grid(n, extent).to(self.method.device)
        codes = getattr(self.method, "codes", None)
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
                f"sample (latent_dim {self.cfg.latent_dim}"
                + (")" if width == self.cfg.latent_dim else ", with its other noise)"))
        return self._picture(self._images(z, condition), n, title=title)

    def code_sweep(self, code: str = "cont:0", steps: int = 10, extent: float = 2.0,
                   seed: int = 0) -> torch.Tensor:
        """InfoGAN's figure 2: ``cont:I`` sweeps continuous code I from -extent to extent
        across the columns, one row per value of the first categorical code, the noise and the
        other codes fixed; ``cat:I`` puts the values of categorical code I across the columns,
        one row per noise sample."""
        codes = getattr(self.method, "codes", None)
        if codes is None:
            raise GanforgeError(f"--sweep needs an InfoGAN run; this run is {self.cfg.method}")
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
        return self._picture(self._images(z, condition), steps, rows=row_labels,
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
        return self._picture(self._images(path, condition), steps, title=f"{mode} interpolation")

    # ---- text-to-image runs -------------------------------------------------------------------

    @property
    def reads_text(self) -> bool:
        """Whether this run draws from captions (text2img)."""
        return hasattr(self.method, "text_condition")

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
        return self._picture(self._images(z, tokens), per_caption, rows=list(captions))

    @torch.no_grad()
    def text_interpolation(self, caption_a: str, caption_b: str, steps: int = 8, rows: int = 4,
                           seed: int = 0) -> torch.Tensor:
        """Rows of ``steps`` images whose sentence embedding moves linearly from caption_a's to
        caption_b's (GAN-INT's interpolation), the noise fixed along each row."""
        if steps < 2:
            raise GanforgeError("a text interpolation needs at least 2 steps")
        a, b = self.method.G.embed(self.text_condition([caption_a, caption_b]))
        beta = torch.linspace(0, 1, steps, device=a.device)[:, None]
        path = ((1 - beta) * a + beta * b).repeat(rows, 1)
        z = self.method.sample_latent(rows, self._generator(seed)).repeat_interleave(steps, 0)
        return self._picture(self._images(z, path), steps,
                             title=f"'{caption_a}' -> '{caption_b}'")

    # ---- methods with an encoder (vae, vaegan, bigan) ---------------------------------------

    def check_encoder(self):
        """The method, if it has an encoder; a clear error otherwise."""
        if not hasattr(self.method, "encode"):
            raise GanforgeError(f"this run ({self.cfg.method}) has no encoder; encoding and "
                                "reconstruction need a vae, vaegan or bigan run")
        return self.method

    def _check_images(self, images: torch.Tensor, channels: int | None = None,
                      taker: str = "this model") -> torch.Tensor:
        """Images (float in [0, 1] or uint8) of the run's size and ``channels`` (default: the
        data's) as float [-1, 1] on the model's device; a one-line error otherwise."""
        spec = self.method.spec
        expected = (channels or spec.img_channels, spec.img_size, spec.img_size)
        if images.dim() != 4 or tuple(images.shape[1:]) != expected:
            kind = {1: "grey-level", 3: "RGB"}.get(expected[0], f"{expected[0]}-channel")
            wrong_channels = images.dim() == 4 and images.shape[1] != expected[0]
            fixes = [f"give {kind} images"] if wrong_channels else []
            if images.dim() != 4:
                fixes.append("give a batch [N, C, H, W] (one image: images[None])")
            elif tuple(images.shape[2:]) != expected[1:]:
                fixes.append(f"resize them to {spec.img_size}px")
            fix = " and ".join(fixes)
            raise GanforgeError(f"{taker} takes images [N, {', '.join(map(str, expected))}], "
                                f"got {list(images.shape)}; {fix}")
        if images.dtype == torch.uint8:
            images = images.float() / 255
        return images.to(self.method.device).mul(2).sub(1)

    @torch.no_grad()
    def encode(self, images: torch.Tensor, batch: int = 500) -> torch.Tensor:
        """Latent codes [N, latent_dim] of images (float in [0, 1] or uint8): the posterior
        mean for vae/vaegan, E(x) for bigan."""
        method, x = self.check_encoder(), self._check_images(images)
        return torch.cat([method.encode(x[i : i + batch]) for i in range(0, len(x), batch)])

    @torch.no_grad()
    def reconstruct(self, images: torch.Tensor) -> torch.Tensor:
        """G(encode(x)) in [0, 1] for images (float in [0, 1] or uint8)."""
        return self._unit_range(self.method.run_G(self.encode(images)))

    def reconstruction_grid(self, images: torch.Tensor, per_row: int = 8,
                            title: str = "reconstructions") -> torch.Tensor:
        """Pairs of rows: up to ``per_row`` inputs, then their reconstructions beneath them; a
        last row that is not full is left blank at its end, so every image given is shown."""
        x = self._check_images(images).add(1).div(2)
        if not len(x):
            raise GanforgeError("give at least one image to reconstruct")
        if per_row < 1:
            raise GanforgeError(f"images per row must be at least 1, got {per_row}")
        per_row = min(per_row, len(x))
        blank = x.new_zeros((-len(x)) % per_row, *x.shape[1:])
        x, recon = (torch.cat([t, blank]).unflatten(0, (-1, per_row))
                    for t in (x, self.reconstruct(x)))
        rows = torch.stack([x, recon], 1).flatten(0, 2)
        labels = ["data", "recon"] * (len(rows) // (2 * per_row))
        return self._picture(rows, per_row, rows=labels, title=title)

    # ---- translation runs ---------------------------------------------------------------------

    @property
    def translates(self) -> bool:
        """Whether this run is an image-to-image translator (pix2pix, cyclegan, stargan, ...)."""
        return hasattr(self.method, "translate")

    def source_channels(self, direction: str = "AtoB") -> int:
        spec = self.method.spec
        return spec.b_channels if direction == "BtoA" else spec.img_channels

    @torch.no_grad()
    def translate(self, images: torch.Tensor, direction: str = "AtoB",
                  to_domain: str | int | None = None, batch: int = 64) -> torch.Tensor:
        """Images (float in [0, 1] or uint8, [N, C, H, W] at the run's size and the source
        domain's channels) translated A -> B (``direction`` AtoB), B -> A (BtoA), or for StarGAN
        to the domain ``to_domain``; float in [0, 1]."""
        if not self.translates:
            raise GanforgeError(f"this run ({self.cfg.method}) does not translate images; "
                                "translation needs a pix2pix, cyclegan, dualgan, discogan, unit "
                                "or stargan run")
        spec = self.method.spec
        to_domains = hasattr(self.method, "domain")  # stargan
        if to_domains and direction != "AtoB":
            raise GanforgeError(f"a {self.cfg.method} run translates to a domain: give "
                                f"--to-domain ({', '.join(spec.class_names)}), not --direction")
        if to_domain is not None and not to_domains:
            raise GanforgeError(f"--to-domain applies to stargan runs; this {self.cfg.method} "
                                "run translates --direction AtoB or BtoA")
        x = self._check_images(images, self.source_channels(direction), taker=direction)
        options = {"to_domain": to_domain} if to_domain is not None else {}
        out = [self.method.translate(x[i : i + batch], direction, G=self.G, **options)
               for i in range(0, len(x), batch)]
        return self._unit_range(torch.cat(out))

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


def load(run_dir: str | Path, device: str = "auto") -> Model:
    """Load a run directory written by the Trainer for sampling."""
    run_dir = Path(run_dir)
    info = read_run_config(run_dir)
    cfg: TrainConfig = info["config"]
    path = run_dir / ckpt.CHECKPOINT
    tensors, state = ckpt.load_checkpoint(path)
    method = METHODS.get(cfg.method)(cfg, info["data_spec"])
    expected = method.state_dict()
    if cfg.ema:  # 0 or None: no average was kept
        expected.update(ckpt.prefixed("G_ema", method.G.state_dict()))
    ckpt.check_tensors(path, tensors, expected, others=ckpt.OTHER_PREFIXES)
    weights = {k: v for k, v in tensors.items() if k in method.state_dict()}
    ema = ckpt.unprefixed("G_ema", tensors)
    if ema:
        weights.update(ckpt.prefixed("G", ema))
    method.load_state_dict(weights)
    # A run stopped mid-way (progressive growing) samples from the phase it had reached.
    method.set_progress(max(state["step"] - 1, 0), state["total_steps"])
    return Model(method.to(resolve_device(device)), cfg, run_dir, state["step"])
