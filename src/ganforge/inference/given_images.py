"""What a loaded model does with given images: encode and reconstruct them (methods with an
encoder) or translate them (image-to-image methods)."""

from __future__ import annotations

import torch

from ganforge.errors import GanforgeError
from ganforge.methods.capabilities import DomainTranslator, Encoder, Translator


class Reconstructions:
    """Encoding and reconstruction; mixed into :class:`ganforge.inference.Model`."""

    def check_encoder(self):
        """The method, if it has an encoder; a clear error otherwise."""
        if not isinstance(self.method, Encoder):
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
        return self.picture(rows, per_row, rows=labels, title=title)


class Translations:
    """Translation of given images; mixed into :class:`ganforge.inference.Model`."""

    @property
    def translates(self) -> bool:
        """Whether this run is an image-to-image translator (pix2pix, cyclegan, stargan, ...)."""
        return isinstance(self.method, Translator)

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
        to_domains = isinstance(self.method, DomainTranslator)
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
