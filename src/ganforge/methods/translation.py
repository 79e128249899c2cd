"""Image-to-image translation: pix2pix (Isola et al. 2017), CycleGAN (Zhu et al. 2017) with
DualGAN (Yi et al. 2017) and DiscoGAN (Kim et al. 2017) as presets of it, UNIT (Liu et al.
2017) and StarGAN (Choi et al. 2018).

Batches are {"a", "b"} (two domains, paired or not) or, for StarGAN, {"x", "label"} with the
label naming each image's domain. Every method has ``translate(x, direction)`` and draws its
training pictures from a fixed set of input images kept with the run (``display_a/_b``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ganforge.data import ImageDataset, TranslationData, from_uint8
from ganforge.errors import GanforgeError
from ganforge.losses import ADVERSARIAL_LOSSES, clip_weights_, gradient_penalty
from ganforge.losses.translation import ImagePool, cycle_loss, identity_loss, l1_reconstruction
from ganforge.methods.base import DataSpec, Logs, Method, Option, register_method
from ganforge.models.translation import (
    PATCH_SIZES,
    PatchDiscriminator,
    ResnetGenerator,
    StarDiscriminator,
    StarGenerator,
    UNetGenerator,
    UNITDecoders,
    UNITEncoders,
    patch_layers_for,
)

DIRECTIONS = ("AtoB", "BtoA")
# Examples shown in training pictures; two make a row.
_SHOWN = 16
# Config fields of the unconditional GAN game that mean nothing to these methods, with the
# values that say "unused".
_UNUSED = {"feature_matching": False, "minibatch_kernels": 0, "history_weight": None,
           "label_smoothing": 0.0, "r1_weight": None, "attention": None, "arch": None,
           "eval_every": None, "gp_weight": None, "g_norm": "batch", "augment": None}
# What D's --d-norm can choose here: the method's own normalisation, or spectral norm.
_D_NORMS = ("batch", "spectral")


def first(images: torch.Tensor, n: int) -> torch.Tensor:
    """The first ``n`` images, repeated when there are fewer."""
    return images[torch.arange(n) % len(images)]


def as_rgb(*images: torch.Tensor) -> list[torch.Tensor]:
    """Gray images repeated to three channels when they are shown beside colour ones."""
    channels = max(x.shape[1] for x in images)
    return [x.expand(-1, channels, -1, -1) if x.shape[1] == 1 else x for x in images]


def side_by_side(*columns: torch.Tensor) -> torch.Tensor:
    """Images of each column interleaved row by row: [a0, b0, c0, a1, b1, c1, ...]."""
    columns = as_rgb(*columns)
    return torch.stack(columns, dim=1).flatten(0, 1)


class Translation(Method):
    """What the translation methods share: data checks, the adversarial objective, weight
    clipping, the fixed display inputs and pictures of their translations."""

    defaults = {"lr": 2e-4, "beta1": 0.5, "loss": "gan"}
    # pix2pix needs A[i] and B[i] to belong together; the others learn from unpaired domains.
    needs_pairs = False
    # Config fields this method ignores, with the values that say so.
    unused = _UNUSED
    # D's normalisation in the papers: CycleGAN and UNIT use instance norm whatever the batch.
    patch_norm = "batch"

    def __init__(self, cfg, spec: DataSpec) -> None:
        self.check_data(cfg, spec)
        for name, unused in self.unused.items():
            if getattr(cfg, name) != unused:
                why = ("it chooses its own networks (see --generator)" if name == "arch" else
                       "score translations with benchmarks/translation.py" if name == "eval_every"
                       else "it is a stabiliser of the unconditional GAN game")
                raise GanforgeError(f"--{name.replace('_', '-')} does not apply to {cfg.method}: "
                                    f"{why}")
        if cfg.d_norm not in _D_NORMS:
            raise GanforgeError(f"--d-norm {cfg.d_norm} does not apply to {cfg.method}: its D "
                                "keeps the paper's normalisation, or takes --d-norm spectral")
        super().__init__(cfg, spec)
        self.objective = ADVERSARIAL_LOSSES.get(cfg.loss)
        if self.objective.g_needs_real:
            raise GanforgeError(f"--loss {cfg.loss} is not offered for translation; choose gan, "
                                "minimax, least-squares, wasserstein or hinge")
        # ganforge's least-squares G loss is Mao et al.'s 1/2 E[(D - 1)^2]; the translation
        # papers' code weighs E[(D - 1)^2] against its cycle and reconstruction terms.
        self.g_scale = 2.0 if cfg.loss == "least-squares" else 1.0
        channels_b = spec.b_channels or spec.img_channels
        shape = (spec.img_size, spec.img_size)
        self.register_buffer("display_a", torch.zeros(_SHOWN, spec.img_channels, *shape,
                                                      dtype=torch.uint8))
        self.register_buffer("display_b", torch.zeros(_SHOWN, channels_b, *shape,
                                                      dtype=torch.uint8))

    @classmethod
    def check_data(cls, cfg, spec: DataSpec) -> None:
        if spec.kind != "translation":
            raise GanforgeError(f"{cfg.method} translates between two image domains; use "
                                "--dataset edges2mnist, digits2mnist, paired:PATH or "
                                "unpaired:PATH")
        if cls.needs_pairs and not spec.paired:
            raise GanforgeError(f"{cfg.method} learns from paired images (A[i] with B[i]); "
                                f"{cfg.dataset} is unpaired: use cyclegan or unit")

    def bind_data(self, data) -> None:
        if isinstance(data, TranslationData):
            self.display_a.copy_(first(data.a, _SHOWN))
            self.display_b.copy_(first(data.b, _SHOWN))

    def adv_d(self, real_logits, fake_logits) -> torch.Tensor:
        # pix2pix and CycleGAN halve D's objective "to slow down the rate at which D learns".
        return 0.5 * self.objective.d(real_logits, fake_logits)

    def adv_g(self, fake_logits) -> torch.Tensor:
        return self.g_scale * self.objective.g(fake_logits)

    def after_update(self, group: str) -> None:
        if group == "D" and self.cfg.clip is not None:
            clip_weights_(self.D.parameters(), self.cfg.clip)

    def translate(self, x: torch.Tensor, direction: str = "AtoB",
                  G: nn.Module | None = None) -> torch.Tensor:
        """Images of one domain in [-1, 1] mapped to the other."""
        raise NotImplementedError

    def check_direction(self, direction: str) -> None:
        if direction not in DIRECTIONS:
            raise GanforgeError(f"unknown direction {direction!r}; choose AtoB or BtoA")

    @property
    def display_nrow(self) -> int:
        return 2 * (3 if self.spec.paired else 4)

    def sample(self, n: int, generator=None, G=None, condition=None) -> torch.Tensor:
        """The training picture: for paired data input | translation | target, else
        A | A->B | B | B->A, for the fixed display inputs (``n`` is not used)."""
        a, b = from_uint8(self.display_a), from_uint8(self.display_b)
        if self.spec.paired:
            return side_by_side(a, self.translate(a, "AtoB", G), b)
        return side_by_side(a, self.translate(a, "AtoB", G), b, self.translate(b, "BtoA", G))


def with_defaults(options: tuple[Option, ...], **defaults) -> tuple[Option, ...]:
    """The same options with some defaults changed (a preset of another method)."""
    return tuple(Option(o.name, defaults.get(o.name, o.default), o.help, o.type, o.choices)
                 for o in options)


def patch_discriminator(cfg, spec: DataSpec, channels: int, receptive_field: int,
                        norm: str = "batch") -> PatchDiscriminator:
    """A PatchGAN seeing ``receptive_field`` pixels; batch norm over a batch of one is instance
    norm (pix2pix's note), so that is what it becomes there."""
    n_layers = patch_layers_for(receptive_field)
    if spec.img_size // 2**n_layers < 3:
        fits = [r for r, n in PATCH_SIZES.items() if spec.img_size // 2**n >= 3]
        raise GanforgeError(f"--patch {receptive_field} needs images of at least "
                            f"{3 * 2**n_layers} px; at {spec.img_size} px choose "
                            f"{' or '.join(map(str, fits)) or 'a larger --image-size'}")
    if cfg.d_norm == "spectral":
        norm = "spectral"
    elif norm == "batch" and cfg.batch_size == 1:
        norm = "instance"
    return PatchDiscriminator(channels, width=cfg.width, n_layers=n_layers, norm=norm)


def generator(kind: str, cfg, spec: DataSpec, channels_in: int, channels_out: int) -> nn.Module:
    norm = "instance" if cfg.batch_size == 1 else "batch"
    if kind == "resnet" and spec.img_size % 4:
        raise GanforgeError(f"the ResNet generator halves the image twice; --image-size "
                            f"{spec.img_size} is not a multiple of 4")
    if kind == "resnet":
        blocks = 9 if spec.img_size >= 256 else 6
        return ResnetGenerator(channels_in, channels_out, width=cfg.width, n_blocks=blocks,
                               norm="instance")
    # DiscoGAN's encoder-decoder has no dropout; pix2pix's U-Net uses it as its noise.
    return UNetGenerator(channels_in, channels_out, spec.img_size, width=cfg.width, norm=norm,
                         skips=kind == "unet", dropout=0.5 if kind == "unet" else 0.0)


GENERATORS = ("unet", "resnet", "encoder-decoder")
_PATCH = Option("patch", 70, "receptive field of the PatchGAN discriminator in pixels: 16, 34, "
                "70 (the papers'), 142 or 286", int, (16, 34, 70, 142, 286))


@register_method("pix2pix")
class Pix2Pix(Translation):
    """Isola et al. 2017: a U-Net G(a) (dropout as its noise) against a PatchGAN D(a, b) that
    judges each 70x70 patch of the pair; G's loss is the adversarial term + lambda L1(G(a), b),
    lambda 100; Adam 2e-4, beta1 0.5. ``--adversarial-weight 0`` trains the same U-Net on L1
    alone (the paper's baseline: blurrier outputs)."""

    needs_pairs = True
    options = (
        Option("l1_weight", 100.0, "lambda: weight of the L1 distance to the target", float),
        Option("adversarial_weight", 1.0, "weight of the adversarial term (0: L1 alone, no D)",
               float),
        Option("generator", "unet", "G's architecture", str, GENERATORS),
        _PATCH,
    )

    def __init__(self, cfg, spec: DataSpec) -> None:
        super().__init__(cfg, spec)
        if self.option("l1_weight") < 0 or self.option("adversarial_weight") < 0:
            raise GanforgeError("--l1-weight and --adversarial-weight must be 0 or more")
        self.G = generator(self.option("generator"), cfg, spec, spec.img_channels,
                           spec.b_channels)
        if self.option("adversarial_weight") > 0:
            self.D = patch_discriminator(cfg, spec, spec.img_channels + spec.b_channels,
                                         self.option("patch"))

    def groups(self):
        return {"D": [self.D], "G": [self.G]} if hasattr(self, "D") else {"G": [self.G]}

    def translate(self, x, direction="AtoB", G=None):
        self.check_direction(direction)
        if direction == "BtoA":
            raise GanforgeError("pix2pix learns A -> B only; for B -> A train a run with "
                                "--direction BtoA")
        return (G or self.G)(x)

    def d_loss(self, batch) -> tuple[torch.Tensor, Logs]:
        a, b = batch["a"], batch["b"]
        with torch.no_grad():
            fake = self.G(a)
        real_logits = self.D(torch.cat([a, b], 1))
        fake_logits = self.D(torch.cat([a, fake], 1))
        return self.adv_d(real_logits, fake_logits), {}

    def g_loss(self, batch) -> tuple[torch.Tensor, Logs]:
        a, b = batch["a"], batch["b"]
        fake = self.G(a)
        l1 = l1_reconstruction(fake, b)
        loss = self.option("l1_weight") * l1
        logs = {"l1": l1.detach()}
        if hasattr(self, "D"):
            adversarial = self.adv_g(self.D(torch.cat([a, fake], 1)))
            loss = loss + self.option("adversarial_weight") * adversarial
            logs["g_adv"] = adversarial.detach()
        return loss, logs


@register_method("cyclegan")
class CycleGAN(Translation):
    """Zhu et al. 2017: two generators G: A -> B and F: B -> A (ResNet, instance norm) and two
    PatchGAN discriminators, least-squares losses, cycle consistency ||F(G(a)) - a||_1 +
    ||G(F(b)) - b||_1 with lambda 10, the identity loss (weight 0.5 lambda) when the domains
    have the same channels, discriminators fed from a history of 50 generated images, Adam 2e-4
    beta1 0.5, batch 1, learning rates decaying linearly to 0 over the second half."""

    defaults = {**Translation.defaults, "loss": "least-squares", "batch_size": 1,
                "lr_decay_from": 0.5}
    patch_norm = "instance"
    options = (
        Option("cycle_weight", 10.0, "lambda: weight of the cycle-consistency loss", float),
        Option("identity_weight", 0.5, "weight of the identity loss, as a fraction of lambda "
               "(0: off)", float),
        Option("pool_size", 50, "generated images kept in each discriminator's history "
               "(0: none)", int),
        Option("generator", "resnet", "G's architecture", str, GENERATORS),
        Option("recon_loss", "l1", "distance of the cycle reconstruction", str, ("l1", "l2")),
        _PATCH,
    )

    def __init__(self, cfg, spec: DataSpec) -> None:
        super().__init__(cfg, spec)
        for name in ("cycle_weight", "identity_weight", "pool_size"):
            if self.option(name) < 0:
                raise GanforgeError(f"--{name.replace('_', '-')} must be 0 or more")
        ca, cb = spec.img_channels, spec.b_channels
        kind = self.option("generator")
        self.G = nn.ModuleDict({"ab": generator(kind, cfg, spec, ca, cb),
                                "ba": generator(kind, cfg, spec, cb, ca)})
        self.D = nn.ModuleDict({
            side: patch_discriminator(cfg, spec, ch, self.option("patch"), self.patch_norm)
            for side, ch in (("a", ca), ("b", cb))})
        size = (spec.img_size, spec.img_size)
        self.pool_a = ImagePool((ca, *size), self.option("pool_size"))
        self.pool_b = ImagePool((cb, *size), self.option("pool_size"))

    def translate(self, x, direction="AtoB", G=None):
        self.check_direction(direction)
        return (G or self.G)["ab" if direction == "AtoB" else "ba"](x)

    def distance(self, x, y) -> torch.Tensor:
        return cycle_loss(x, y) if self.option("recon_loss") == "l1" else F.mse_loss(y, x)

    def d_loss(self, batch) -> tuple[torch.Tensor, Logs]:
        a, b = batch["a"], batch["b"]
        with torch.no_grad():
            fake_b, fake_a = self.pool_b.query(self.G["ab"](a)), self.pool_a.query(self.G["ba"](b))
        loss_a = self.adv_d(self.D["a"](a), self.D["a"](fake_a))
        loss_b = self.adv_d(self.D["b"](b), self.D["b"](fake_b))
        return loss_a + loss_b, {"d_a": loss_a.detach(), "d_b": loss_b.detach()}

    def g_loss(self, batch) -> tuple[torch.Tensor, Logs]:
        a, b = batch["a"], batch["b"]
        fake_b, fake_a = self.G["ab"](a), self.G["ba"](b)
        adversarial = self.adv_g(self.D["b"](fake_b)) + self.adv_g(self.D["a"](fake_a))
        cycle = self.distance(a, self.G["ba"](fake_b)) + self.distance(b, self.G["ab"](fake_a))
        loss = adversarial + self.option("cycle_weight") * cycle
        logs = {"g_adv": adversarial.detach(), "cycle": cycle.detach()}
        weight = self.option("identity_weight") * self.option("cycle_weight")
        if weight > 0 and self.spec.img_channels == self.spec.b_channels:
            identity = identity_loss(b, self.G["ab"](b)) + identity_loss(a, self.G["ba"](a))
            loss = loss + weight * identity
            logs["identity"] = identity.detach()
        return loss, logs


@register_method("dualgan")
class DualGAN(CycleGAN):
    """Yi et al. 2017: CycleGAN's two translators with U-Net generators and PatchGAN critics
    trained by the Wasserstein loss with clipped weights (RMSprop 5e-5), reconstruction
    weight 1000 (the paper uses 100 to 1000), no identity loss and no image history."""

    defaults = {**Translation.defaults, "loss": "wasserstein", "clip": 0.01,
                "optimizer": "rmsprop", "lr": 5e-5, "batch_size": 1}
    options = with_defaults(CycleGAN.options, cycle_weight=1000.0, identity_weight=0.0,
                            pool_size=0, generator="unet")
    patch_norm = "batch"

    def adv_d(self, real_logits, fake_logits) -> torch.Tensor:
        return self.objective.d(real_logits, fake_logits)


@register_method("discogan")
class DiscoGAN(CycleGAN):
    """Kim et al. 2017: CycleGAN's two translators as plain encoder-decoders (no skips), the
    non-saturating GAN loss, the reconstruction measured by squared error with weight 1, no
    identity loss and no image history; Adam 2e-4, betas (0.5, 0.999)."""

    defaults = {**Translation.defaults, "batch_size": 64}
    options = with_defaults(CycleGAN.options, cycle_weight=1.0, identity_weight=0.0,
                            pool_size=0, generator="encoder-decoder", recon_loss="l2")
    patch_norm = "batch"

    def adv_d(self, real_logits, fake_logits) -> torch.Tensor:
        return self.objective.d(real_logits, fake_logits)


@register_method("unit")
class UNIT(Translation):
    """Liu et al. 2017: a shared latent space. Encoders E_a, E_b whose last layers are one
    module, decoders G_a, G_b whose first layers are one module; q(z | x) = N(E(x), I), whose KL
    from N(0, I) is ||E(x)||^2 / 2 up to a constant (the released code penalises the mean of
    E(x)^2, and so does this). Losses (weights of the released code): adversarial on
    G_b(E_a(a)) and G_a(E_b(b)) (least squares, 1), within-domain reconstruction (L1, 10), KL
    (0.01), cycle reconstruction a -> b -> a (L1, 10) with its KL (0.01). Adam 1e-4,
    betas (0.5, 0.999)."""

    defaults = {**Translation.defaults, "loss": "least-squares", "lr": 1e-4, "batch_size": 1}
    patch_norm = "instance"
    options = (
        Option("recon_weight", 10.0, "weight of the within-domain and cycle reconstructions",
               float),
        Option("kl_weight", 0.01, "weight of the KL terms", float),
        Option("shared_blocks", 1, "residual blocks shared by the two encoders (and by the two "
               "decoders)", int),
        _PATCH,
    )

    def __init__(self, cfg, spec: DataSpec) -> None:
        super().__init__(cfg, spec)
        ca, cb, shared = spec.img_channels, spec.b_channels, self.option("shared_blocks")
        if not 0 <= shared <= 3:
            raise GanforgeError(f"--shared-blocks is 0 to 3, got {shared}")
        self.G = nn.ModuleDict({
            "encoders": UNITEncoders(ca, cb, width=cfg.width, shared_blocks=shared),
            "decoders": UNITDecoders(ca, cb, width=cfg.width, shared_blocks=shared)})
        self.D = nn.ModuleDict({
            side: patch_discriminator(cfg, spec, ch, self.option("patch"), self.patch_norm)
            for side, ch in (("a", ca), ("b", cb))})

    def translate(self, x, direction="AtoB", G=None):
        self.check_direction(direction)
        G = G or self.G
        if direction == "AtoB":
            return G["decoders"].decode_b(G["encoders"].encode_a(x))
        return G["decoders"].decode_a(G["encoders"].encode_b(x))

    @staticmethod
    def draw(mu: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """z ~ N(mu, I) and the KL term of q(z | x) = N(mu, I) against N(0, I)."""
        return mu + torch.randn_like(mu), mu.pow(2).mean()

    def d_loss(self, batch) -> tuple[torch.Tensor, Logs]:
        a, b = batch["a"], batch["b"]
        enc, dec = self.G["encoders"], self.G["decoders"]
        with torch.no_grad():  # fakes from sampled codes, as in G's step
            fake_b = dec.decode_b(self.draw(enc.encode_a(a))[0])
            fake_a = dec.decode_a(self.draw(enc.encode_b(b))[0])
        loss_a = self.adv_d(self.D["a"](a), self.D["a"](fake_a))
        loss_b = self.adv_d(self.D["b"](b), self.D["b"](fake_b))
        return loss_a + loss_b, {"d_a": loss_a.detach(), "d_b": loss_b.detach()}

    def g_loss(self, batch) -> tuple[torch.Tensor, Logs]:
        a, b = batch["a"], batch["b"]
        enc, dec = self.G["encoders"], self.G["decoders"]
        z_a, kl_a = self.draw(enc.encode_a(a))
        z_b, kl_b = self.draw(enc.encode_b(b))
        fake_b, fake_a = dec.decode_b(z_a), dec.decode_a(z_b)
        recon = l1_reconstruction(dec.decode_a(z_a), a) + l1_reconstruction(dec.decode_b(z_b), b)
        z_ab, kl_ab = self.draw(enc.encode_b(fake_b))
        z_ba, kl_ba = self.draw(enc.encode_a(fake_a))
        cycle = l1_reconstruction(dec.decode_a(z_ab), a) + l1_reconstruction(dec.decode_b(z_ba), b)
        adversarial = self.adv_g(self.D["b"](fake_b)) + self.adv_g(self.D["a"](fake_a))
        kl = kl_a + kl_b + kl_ab + kl_ba
        loss = (adversarial + self.option("recon_weight") * (recon + cycle)
                + self.option("kl_weight") * kl)
        return loss, {"g_adv": adversarial.detach(), "recon": recon.detach(),
                      "cycle": cycle.detach(), "kl": kl.detach()}


@register_method("stargan")
class StarGAN(Translation):
    """Choi et al. 2018: one generator G(x, c) for every pair of domains, c the target domain
    as a one-hot vector tiled over the image; D has a PatchGAN real/fake head and a domain
    classification head. D: WGAN-GP adversarial loss + lambda_cls CE(D_cls(x), c_x); G:
    adversarial + lambda_cls CE(D_cls(G(x, c)), c) + lambda_rec ||x - G(G(x, c), c_x)||_1;
    lambda_cls 1, lambda_rec 10, lambda_gp 10, 5 critic steps, Adam 1e-4 betas (0.5, 0.999).
    Trains on a labelled image data set whose classes are the domains (``mnist-styles``, or a
    ``folder:PATH`` with one subfolder per domain)."""

    unused = {k: v for k, v in _UNUSED.items() if k != "gp_weight"}
    defaults = {"loss": "wasserstein", "gp_weight": 10.0, "d_steps": 5, "lr": 1e-4,
                "lr_decay_from": 0.5,
                "beta1": 0.5, "batch_size": 16}
    options = (
        Option("cls_weight", 1.0, "lambda_cls: weight of the domain classification losses",
               float),
        Option("rec_weight", 10.0, "lambda_rec: weight of the reconstruction loss", float),
    )

    @classmethod
    def check_data(cls, cfg, spec: DataSpec) -> None:
        if spec.kind != "image" or spec.num_classes < 2:
            raise GanforgeError(f"stargan translates among the domains of a labelled image data "
                                f"set; {cfg.dataset} has none: use --dataset mnist-styles or "
                                "folder:PATH with one subfolder per domain")

    def __init__(self, cfg, spec: DataSpec) -> None:
        super().__init__(cfg, spec)
        self.num_domains = spec.num_classes
        self.G = StarGenerator(spec.img_channels, self.num_domains, width=cfg.width)
        self.D = StarDiscriminator(spec.img_channels, spec.img_size, self.num_domains,
                                   width=cfg.width)
        if cfg.d_norm == "spectral":
            from ganforge.nn.layers import spectral_norm_all

            spectral_norm_all(self.D)

    def bind_data(self, data) -> None:
        if isinstance(data, ImageDataset):
            self.display_a.copy_(first(data.images, _SHOWN))

    def domain(self, name: str | int) -> int:
        """A domain's index from its name or index."""
        names = list(self.spec.class_names)
        if isinstance(name, int) or str(name).isdigit():
            index = int(name)
            if 0 <= index < len(names):
                return index
        elif name in names:
            return names.index(name)
        raise GanforgeError(f"unknown domain {name!r}; choose one of: {', '.join(names)}")

    def one_hot(self, domains: torch.Tensor) -> torch.Tensor:
        return F.one_hot(domains, self.num_domains).float()

    def translate(self, x, direction="AtoB", G=None, to_domain: str | int | None = None):
        if to_domain is None:
            raise GanforgeError("stargan translates to a domain: give --to-domain, one of: "
                                f"{', '.join(self.spec.class_names)}")
        target = torch.full((len(x),), self.domain(to_domain), device=x.device)
        return (G or self.G)(x, self.one_hot(target))

    @property
    def display_nrow(self) -> int:
        return self.num_domains + 1

    def sample(self, n, generator=None, G=None, condition=None) -> torch.Tensor:
        """Each display input followed by its translation to every domain."""
        x = from_uint8(self.display_a[: _SHOWN // 2])
        outputs = [self.translate(x, G=G, to_domain=k) for k in range(self.num_domains)]
        return side_by_side(x, *outputs)

    def d_loss(self, batch) -> tuple[torch.Tensor, Logs]:
        x, source = batch["x"], batch["label"]
        target = torch.randint_like(source, self.num_domains)
        with torch.no_grad():
            fake = self.G(x, self.one_hot(target))
        real_src, real_cls = self.D(x)
        fake_src, _ = self.D(fake)
        classification = F.cross_entropy(real_cls, source)
        loss = self.objective.d(real_src, fake_src) + self.option("cls_weight") * classification
        logs = {"d_cls": classification.detach(),
                "d_cls_acc": (real_cls.detach().argmax(1) == source).float().mean()}
        if self.cfg.gp_weight is not None:
            logs["gp"] = gradient_penalty(lambda y: self.D(y)[0], x, fake)
            loss = loss + self.cfg.gp_weight * logs["gp"]
        return loss, logs

    def g_loss(self, batch) -> tuple[torch.Tensor, Logs]:
        x, source = batch["x"], batch["label"]
        target = torch.randint_like(source, self.num_domains)
        fake = self.G(x, self.one_hot(target))
        fake_src, fake_cls = self.D(fake)
        classification = F.cross_entropy(fake_cls, target)
        rec = l1_reconstruction(self.G(fake, self.one_hot(source)), x)
        loss = (self.adv_g(fake_src) + self.option("cls_weight") * classification
                + self.option("rec_weight") * rec)
        return loss, {"g_cls": classification.detach(), "rec": rec.detach()}
