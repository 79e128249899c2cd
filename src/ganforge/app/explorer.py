"""What the browser explorer shows, without the web: the trained runs it serves, what each can
be asked (:meth:`Explorer.describe`), and the picture for a request (:meth:`Explorer.render`),
a PNG. The server (:mod:`.server`) only moves these over HTTP, so everything here is tested
without a browser."""

from __future__ import annotations

import io
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from PIL import Image, UnidentifiedImageError

from ganforge.data import ToyMixture
from ganforge.errors import GanforgeError
from ganforge.inference import Model, load
from ganforge.methods import Method
from ganforge.methods.capabilities import (
    CodeConditioned,
    Conditional,
    DomainTranslator,
    Staged,
    TextConditioned,
    Translator,
)
from ganforge.viz.grid import png_bytes, side_by_side
from ganforge.viz.scatter import scatter_plot

GRID_SIZES = (1, 4, 16, 64)
SLIDER_RANGE = 3.0  # latent sliders span [-3, 3]: N(0, 1) noise is almost always inside
CODE_RANGE = 2.0  # InfoGAN's continuous codes are trained on [-1, 1]; twice that shows the trend
MAX_UPLOAD_BYTES = 8 * 1024 * 1024


def kind_of(model: Model) -> str:
    """What the page offers for a run: the one control set that fits its method."""
    method = model.method
    if model.draws_points:
        return "points"
    if isinstance(method, DomainTranslator):
        return "domains"
    if isinstance(method, Translator):
        return "translation"
    if isinstance(method, TextConditioned):
        return "text"
    if isinstance(method, CodeConditioned):
        return "codes"
    if isinstance(method, Conditional):
        return "conditional"
    if type(method).sample is not Method.sample or latent_width(method) is None:
        # Its pictures are not G(z) of one latent (CoGAN's pairs, d-only's Langevin chains):
        # the page shows its samples as `ganforge sample` does, without latent controls.
        return "samples"
    return "unconditional"


def latent_width(method: Method) -> int | None:
    """Columns of the latent a seed draws for this method; None if it draws no latent."""
    try:
        return method.latent_width
    except AttributeError:  # no latent_dim among its settings (translators, d-only)
        return None


@dataclass
class Request:
    """One picture asked for by the page; fields a view does not use are ignored."""

    run: str
    view: str = "samples"
    seed: int = 0
    n: int = 16
    cls: int | None = None  # a class (conditional) or the first categorical code (InfoGAN)
    latent: dict[int, float] = field(default_factory=dict)  # dims fixed by sliders
    categorical: list[int] = field(default_factory=list)  # InfoGAN: every categorical code
    continuous: list[float | None] = field(default_factory=list)  # InfoGAN: None = random
    seed_b: int = 1
    steps: int = 8
    code: str = "cont:0"  # the code an InfoGAN sweep varies
    caption: str = ""
    direction: str = "AtoB"
    to_domain: str | None = None
    image: bytes | None = None  # an uploaded picture to translate

    def __post_init__(self) -> None:
        # JSON gives dict keys as strings and numbers as whatever the page sent.
        try:
            self.latent = {int(k): float(v) for k, v in dict(self.latent).items()}
            self.seed, self.n = int(self.seed), int(self.n)
            self.seed_b, self.steps = int(self.seed_b), int(self.steps)
            self.cls = None if self.cls is None else int(self.cls)
            self.categorical = [int(v) for v in self.categorical]
            self.continuous = [None if v is None else float(v) for v in self.continuous]
        except (TypeError, ValueError) as error:
            raise GanforgeError(f"bad request value: {error}") from None

    @classmethod
    def from_json(cls, data: dict) -> Request:
        """A request from the page's JSON; a one-line error for anything malformed."""
        if not isinstance(data, dict) or not isinstance(data.get("run"), str):
            raise GanforgeError("a request is a JSON object naming its run: {\"run\": NAME, ...}")
        known = set(cls.__dataclass_fields__) - {"image"}
        unknown = sorted(set(data) - known - {"image_base64"})
        if unknown:
            raise GanforgeError(f"unknown request field {unknown[0]!r}; known: "
                                f"{', '.join(sorted(known))}")
        fields = {k: v for k, v in data.items() if k in known}
        request = cls(**fields)
        if data.get("image_base64"):
            import base64
            import binascii

            text = str(data["image_base64"]).split(",", 1)[-1]  # a data: URL or bare base64
            try:
                request.image = base64.b64decode(text, validate=True)
            except (binascii.Error, ValueError):
                raise GanforgeError("the uploaded image is not valid base64") from None
        return request


class Explorer:
    """Trained runs by name, and the pictures the page asks of them. One lock: torch runs one
    request at a time, so concurrent clicks queue instead of fighting over the cores."""

    def __init__(self, models: dict[str, Model]) -> None:
        if not models:
            raise GanforgeError("give at least one run directory to explore")
        self.models = models
        self._lock = threading.Lock()

    @classmethod
    def open(cls, run_dirs: Sequence[str | Path], device: str = "auto") -> Explorer:
        """Load each run (by its folder name; a repeated name gets its parent's too)."""
        models: dict[str, Model] = {}
        for run_dir in run_dirs:
            path = Path(run_dir)
            name = path.name if path.name not in models else f"{path.parent.name}/{path.name}"
            models[name] = load(path, device=device)
        return cls(models)

    # ---- what each run offers ---------------------------------------------------------------

    def describe(self) -> list[dict]:
        return [self._describe(name, model) for name, model in self.models.items()]

    def _describe(self, name: str, model: Model) -> dict:
        method, cfg = model.method, model.cfg
        kind = kind_of(model)
        info = {"name": name, "method": cfg.method, "dataset": cfg.dataset, "step": model.step,
                "kind": kind, "ema": bool(cfg.ema), "staged": isinstance(method, Staged),
                "grid_sizes": list(GRID_SIZES), "slider_range": SLIDER_RANGE}
        if kind in ("unconditional", "conditional", "codes", "text"):
            info["latent_dim"] = latent_width(method)
        if kind in ("conditional", "codes"):
            info["classes"] = [method.class_name(k) for k in range(method.num_classes)]
        if kind == "codes":
            info["codes"] = ([f"cat:{i}" for i in range(len(method.codes.categorical))]
                             + [f"cont:{i}" for i in range(method.codes.continuous)])
            info["categorical"] = list(method.codes.categorical)
            info["continuous"] = method.codes.continuous
            info["code_range"] = CODE_RANGE
        if kind == "text":
            info["captions"] = list(method.spec.example_captions or ())
        if kind == "translation":
            names = list(method.spec.class_names or ("A", "B"))
            info["domains"] = names
            info["directions"] = ["AtoB"] if method.spec.paired else ["AtoB", "BtoA"]
        if kind == "domains":
            info["domains"] = list(method.spec.class_names)
        info["views"] = self._views(kind, info["staged"])
        return info

    @staticmethod
    def _views(kind: str, staged: bool) -> list[str]:
        if kind in ("translation", "domains"):
            return ["translate"]
        if kind in ("points", "samples"):
            return ["samples"]
        views = ["text", "interpolate"] if kind == "text" else ["samples", "interpolate"]
        return views + (["sweep"] if kind == "codes" else []) + (["stages"] if staged else [])

    # ---- pictures ----------------------------------------------------------------------------

    def render(self, request: Request) -> bytes:
        """The PNG the page shows for ``request``."""
        model = self.models.get(request.run)
        if model is None:
            raise GanforgeError(f"unknown run {request.run!r}; this explorer serves: "
                                f"{', '.join(self.models)}")
        kind = kind_of(model)
        views = self._views(kind, isinstance(model.method, Staged))
        if request.view not in views:
            raise GanforgeError(f"a {model.cfg.method} run shows {', '.join(views)}, not "
                                f"{request.view!r}")
        if request.n not in GRID_SIZES:
            raise GanforgeError(f"n must be one of {', '.join(map(str, GRID_SIZES))}, got "
                                f"{request.n}")
        if not 2 <= request.steps <= 16:
            raise GanforgeError(f"an interpolation takes 2 to 16 steps, got {request.steps}")
        with self._lock, torch.no_grad():
            picture = getattr(self, f"_{request.view}")(model, request)
        return png_bytes(picture)  # model.picture has enlarged small images already

    def _samples(self, model: Model, request: Request, title: str = "") -> torch.Tensor:
        if model.draws_points:
            mixture = ToyMixture(model.cfg.dataset)
            return scatter_plot(model.sample(1000, request.seed), mixture.centers,
                                mixture.extent)
        if kind_of(model) == "samples":
            return model.sample_picture(request.n, request.seed)
        n = request.n
        z = self._latent(model, request, n)
        images = model.generate(z, self._condition(model, request, n))
        return model.picture(images, nrow=max(1, round(n ** 0.5)), title=title)

    def _interpolate(self, model: Model, request: Request) -> torch.Tensor:
        """From seed's latent to seed_b's in ``steps``, the condition fixed, one row."""
        from ganforge.viz.latent import interpolate

        a = self._latent(model, request, 1)
        b = self._latent(model, Request(**{**request.__dict__, "seed": request.seed_b}), 1)
        path = interpolate(a, b, request.steps, "slerp")[:, 0]  # [steps, latent]
        condition = self._condition(model, request, 1)
        if condition is not None:
            condition = condition.expand(request.steps, *condition.shape[1:])
        return model.picture(model.generate(path, condition), nrow=request.steps,
                             cols=[f"seed {request.seed}"] + [""] * (request.steps - 2)
                             + [f"seed {request.seed_b}"])

    def _sweep(self, model: Model, request: Request) -> torch.Tensor:
        """InfoGAN's figure: one code varied across the columns, the noise fixed."""
        return model.code_sweep(request.code, steps=request.steps, extent=CODE_RANGE,
                                seed=request.seed)

    def _stages(self, model: Model, request: Request) -> torch.Tensor:
        return model.stage_picture(n=min(request.n, 10), seed=request.seed)

    def _text(self, model: Model, request: Request) -> torch.Tensor:
        return self._samples(model, request, title=self._caption(model, request))

    def _translate(self, model: Model, request: Request) -> torch.Tensor:
        method = model.method
        domains = isinstance(method, DomainTranslator)
        direction = "AtoB" if domains else request.direction
        channels = model.source_channels(direction)
        if request.image is not None:
            x = decode_upload(request.image, channels, method.spec.img_size)
        else:  # the inputs the run kept for its training pictures
            shown = method.display_b if direction == "BtoA" else method.display_a
            x = shown[: min(request.n, 8)].cpu()
        if domains:
            targets = ([request.to_domain] if request.to_domain
                       else list(method.spec.class_names))
            outputs = [model.translate(x, to_domain=t) for t in targets]
            columns, title = ["input", *(f">{t}" for t in targets)], "to each domain"
        else:
            outputs = [model.translate(x, direction=direction)]
            names = list(method.spec.class_names or ("A", "B"))
            source, target = names if direction == "AtoB" else names[::-1]
            columns, title = ["input", "output"], f"{source} -> {target}"
            if request.image is None and method.spec.paired:  # the run's own pairs
                outputs.append(method.display_b[: len(x)].cpu().float() / 255)
                columns.append("target")
        return model.picture(side_by_side(x.float() / 255, *outputs), nrow=len(columns),
                             cols=columns, title=title)

    # ---- latents and conditions ----------------------------------------------------------------

    @staticmethod
    def _caption(model: Model, request: Request) -> str:
        examples = model.method.spec.example_captions or ("",)
        return request.caption.strip() or examples[0]

    @staticmethod
    def _latent(model: Model, request: Request, n: int) -> torch.Tensor:
        """``n`` latents drawn from the seed, with the slider-fixed dimensions set in all."""
        z = model.method.sample_latent(n, torch.Generator().manual_seed(request.seed))
        width = z.shape[1]
        for dim, value in request.latent.items():
            if not 0 <= dim < width:
                raise GanforgeError(f"latent dimension {dim} does not exist: this G takes "
                                    f"{width}, 0 to {width - 1}")
            z[:, dim] = max(-SLIDER_RANGE, min(SLIDER_RANGE, value))
        return z

    @staticmethod
    def _condition(model: Model, request: Request, n: int):
        """The class, codes or caption every sample of the picture shares (random per sample
        where the page leaves them open)."""
        method = model.method
        generator = torch.Generator().manual_seed(request.seed + 1_000_003)
        if isinstance(method, TextConditioned):
            return model.text_condition([Explorer._caption(model, request)]).expand(n, -1)
        if isinstance(method, CodeConditioned):
            codes = method.codes
            cat, cont = codes.sample(n, generator)
            for i, value in enumerate(request.categorical[: len(codes.categorical)]):
                if not 0 <= value < codes.categorical[i]:
                    raise GanforgeError(f"categorical code {i} takes 0 to "
                                        f"{codes.categorical[i] - 1}, got {value}")
                cat[:, i] = value
            if request.cls is not None and codes.categorical:
                cat[:, 0] = request.cls
            for i, value in enumerate(request.continuous[: codes.continuous]):
                if value is not None:
                    cont[:, i] = max(-CODE_RANGE, min(CODE_RANGE, value))
            return codes.encode(cat.to(method.device), cont.to(method.device))
        if isinstance(method, Conditional):
            if request.cls is None:
                classes = torch.randint(method.num_classes, (n,), generator=generator)
            elif not 0 <= request.cls < method.num_classes:
                raise GanforgeError(f"class {request.cls} does not exist: this model draws "
                                    f"0 to {method.num_classes - 1}")
            else:
                classes = torch.full((n,), request.cls)
            return model.condition(classes)
        return None


def decode_upload(data: bytes, channels: int, size: int) -> torch.Tensor:
    """An uploaded picture as uint8 [1, channels, size, size] (converted and resized as the
    run's data was); a one-line error for what is not a picture."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise GanforgeError(f"the uploaded file is {len(data) // 1024} KB; give a picture "
                            f"under {MAX_UPLOAD_BYTES // 2**20} MB")
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except (UnidentifiedImageError, OSError, ValueError):
        raise GanforgeError("the uploaded file is not a picture PIL can read (PNG, JPEG, ...)"
                            ) from None
    image = image.convert("L" if channels == 1 else "RGB")
    image = image.resize((size, size), Image.Resampling.BILINEAR)
    x = torch.frombuffer(bytearray(image.tobytes()), dtype=torch.uint8)
    return x.view(size, size, channels).permute(2, 0, 1)[None].contiguous()
