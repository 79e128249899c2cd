"""Methods that learn an encoder beside the generator: the VAE (Kingma & Welling 2014), VAE-GAN
(Larsen et al. 2016) and BiGAN / ALI (Donahue et al. 2017; Dumoulin et al. 2017).

Each has ``encode(x)`` (images in [-1, 1] to latent codes; the posterior mean for the VAEs) and
``reconstruct(x)`` = G(encode(x)).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ganforge.config import TrainConfig
from ganforge.errors import GanforgeError
from ganforge.methods.base import (
    DataSpec,
    Logs,
    Method,
    Option,
    build_backbone,
    register_method,
)
from ganforge.methods.gan import GAN
from ganforge.models import ARCHITECTURES
from ganforge.models.encoder import Encoder, JointDiscriminator
from ganforge.nn.layers import spectral_norm_all

# Config fields (and their neutral values) that only some of these methods honour.
_GAN_TERMS = {"gp_weight": None, "r1_weight": None, "clip": None, "history_weight": None,
              "feature_matching": False, "minibatch_kernels": 0, "label_smoothing": 0.0,
              "loss": "gan", "d_norm": "batch", "d_steps": 1, "augment": None}


def refuse(cfg: TrainConfig, spec: DataSpec, names: tuple[str, ...], why: str) -> None:
    """One line naming the first of ``names`` set away from its neutral value, or the data if it
    is not images; and the method's weights must be positive."""
    if spec.kind != "image":
        raise GanforgeError(f"{cfg.method} encodes images; {cfg.dataset} holds 2-D points")
    for name in names:
        if getattr(cfg, name) != _GAN_TERMS[name]:
            raise GanforgeError(f"--{name.replace('_', '-')} does not apply to {cfg.method}: {why}")
    for name in ("kl_weight", "recon_weight"):
        if name in cfg.extra and not cfg.extra[name] > 0:
            raise GanforgeError(f"--{name.replace('_', '-')} must be positive, got "
                                f"{cfg.extra[name]}")


def build_encoder(cfg, spec: DataSpec, out_features: int) -> Encoder:
    """An encoder on the feature layers of the configured backbone's discriminator."""
    arch = ARCHITECTURES.get(cfg.arch)
    backbone = arch.discriminator(img_channels=spec.img_channels, img_size=spec.img_size,
                                  width=cfg.width)
    return Encoder(backbone, out_features)


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, diag(exp(logvar))) || N(0, I)), summed over dimensions, averaged over the batch."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(1).mean()


def scale_gradient(x: torch.Tensor, scale: float) -> torch.Tensor:
    """x in the forward pass; its gradient multiplied by ``scale`` in the backward pass."""
    return x * scale + x.detach() * (1 - scale)


class Encoding:
    """``encode`` / ``reconstruct`` for methods with an encoder ``E``."""

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.E(x)

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        return self.G(self.encode(x))


class Posterior(Encoding):
    """An encoder that outputs the mean and log-variance of q(z | x)."""

    def posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self.E(x).chunk(2, dim=1)
        return mu, logvar.clamp(-20.0, 10.0)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.posterior(x)[0]

    def draw_posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """A reparameterised draw z ~ q(z | x) and the KL of q from the prior."""
        mu, logvar = self.posterior(x)
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
        return z, gaussian_kl(mu, logvar)


def bernoulli_nll(recon: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """-log p(x | z) of pixels in [-1, 1] read as Bernoulli probabilities in [0, 1], summed over
    pixels and averaged over the batch (the VAE paper's MNIST likelihood)."""
    p = recon.add(1).div(2).clamp(1e-6, 1 - 1e-6)
    target = x.add(1).div(2)
    return F.binary_cross_entropy(p, target, reduction="sum") / len(x)


@register_method("vae")
class VAE(Posterior, Method):
    """Kingma & Welling 2014: encoder q(z | x) (the backbone's D layers), decoder = G, loss
    -log p(x | z) (Bernoulli) + ``--kl-weight`` x KL(q || N(0, I)); no discriminator. Seed 000's
    baseline against which a GAN's sharpness is judged."""

    defaults = {"arch": "dcgan", "lr": 1e-3, "beta1": 0.9}
    options = (Option("kl_weight", 1.0, "weight of the KL term (1: the ELBO)", float),)

    def __init__(self, cfg, spec: DataSpec) -> None:
        refuse(cfg, spec, tuple(_GAN_TERMS), "the VAE has no discriminator")
        super().__init__(cfg, spec)
        self.G, _ = build_backbone(cfg, spec)
        self.E = build_encoder(cfg, spec, 2 * cfg.latent_dim)

    def groups(self):
        return {"G": [self.E, self.G]}

    def g_loss(self, batch) -> tuple[torch.Tensor, Logs]:
        x = batch["x"]
        z, kl = self.draw_posterior(x)
        nll = bernoulli_nll(self.G(z), x)
        return nll + self.option("kl_weight") * kl, {"recon_nll": nll.detach(), "kl": kl.detach()}


@register_method("vaegan")
class VAEGAN(Posterior, GAN):
    """Larsen et al. 2016: a VAE whose reconstruction error is measured in D's feature space,
    plus a GAN on the decoder. D separates real images from both reconstructions and prior
    samples. The encoder minimises KL + L_llike; the decoder gamma L_llike - L_GAN
    (``--recon-weight`` gamma); L_llike = 1/2 ||D_l(x) - D_l(G(z))||^2 with D_l D's features."""

    defaults = {"arch": "dcgan", "lr": 3e-4}
    options = (
        Option("kl_weight", 1.0, "weight of the KL term", float),
        Option("recon_weight", 0.01, "gamma: weight of the feature-space reconstruction error "
               "in the decoder's loss (the encoder's weight is 1); the summed error over D's "
               "thousands of features drowns the GAN term at gamma 1", float),
    )

    def __init__(self, cfg, spec: DataSpec) -> None:
        refuse(cfg, spec, ("feature_matching", "history_weight", "augment"),
               "its generator terms are fixed by the paper (and its feature reconstruction "
               "compares D's features of an image and its reconstruction, which augmentation "
               "would transform apart)")
        super().__init__(cfg, spec)
        if self.objective.g_needs_real:
            raise GanforgeError(f"--loss {cfg.loss} compares fakes with real images in G's loss, "
                                "which vaegan's decoder loss does not; choose gan, minimax, "
                                "wasserstein, least-squares or hinge")
        self.E = build_encoder(cfg, spec, 2 * cfg.latent_dim)

    def groups(self):
        return {"D": [self.D], "G": [self.E, self.G]}

    def d_loss(self, batch):
        x = batch["x"]
        with torch.no_grad():
            recon = self.G(self.draw_posterior(x)[0])
            prior = self.generate(len(x))
        real = self.discriminate(x)
        fakes = self.discriminate(torch.cat([recon, prior]))
        penalty, logs = self.penalties("D", x, None, prior)
        return self.adv_d(real, fakes) + penalty, {
            "D(x)": torch.sigmoid(real).mean().detach(),
            "D(G(z))": torch.sigmoid(fakes).mean().detach(), **logs}

    def g_loss(self, batch):
        x = batch["x"]
        z, kl = self.draw_posterior(x)
        gamma = self.option("recon_weight")
        # The decoder gets gamma x the feature error; the encoder gets it with weight 1.
        recon = self.G(scale_gradient(z, 1 / gamma))
        with torch.no_grad():
            h_real = self.d_features(x)
        llike = 0.5 * (self.d_features(recon) - h_real).pow(2).sum(1).mean()
        # L_GAN trains the decoder only, on reconstructions and on prior samples.
        fakes = torch.cat([self.G(z.detach()), self.generate(len(x))])
        adversarial = self.objective.g(self.discriminate(fakes), None)
        loss = self.option("kl_weight") * kl + gamma * llike + adversarial
        return loss, {"kl": kl.detach(), "feature_recon": llike.detach()}


@register_method("bigan")
class BiGAN(Encoding, GAN):
    """Donahue et al. 2017 (= ALI, Dumoulin et al. 2017): an encoder E learned with G; D judges
    pairs, (x, E(x)) for data and (G(z), z) for fakes. E and G are trained together to make D
    mistake each kind of pair for the other (its loss with the labels swapped)."""

    defaults = {"arch": "dcgan", "beta1": 0.5}
    d_conditioned = True

    def __init__(self, cfg, spec: DataSpec) -> None:
        refuse(cfg, spec, ("gp_weight", "r1_weight", "feature_matching", "history_weight",
                           "minibatch_kernels", "augment"),
               "its discriminator judges (image, code) pairs, which these terms do not handle")
        super().__init__(cfg, spec)
        self.E = build_encoder(cfg, spec, cfg.latent_dim)

    def build_networks(self):
        G, D = build_backbone(self.cfg, self.spec)
        D = JointDiscriminator(D, self.cfg.latent_dim)
        if self.cfg.d_norm == "spectral":  # the layers that join x and z, too
            spectral_norm_all(D)
        return G, D

    def groups(self):
        return {"D": [self.D], "G": [self.G, self.E]}

    def pair_logits(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """D's logits of the data pairs (x, E(x)) and of as many fake pairs (G(z), z)."""
        z = self.sample_latent(len(x))
        return self.discriminate(x, self.E(x)), self.discriminate(self.G(z), z)

    def d_loss(self, batch):
        real, fake = self.pair_logits(batch["x"])
        return self.adv_d(real, fake), {"D(x,E(x))": torch.sigmoid(real).mean().detach(),
                                        "D(G(z),z)": torch.sigmoid(fake).mean().detach()}

    def g_loss(self, batch):
        real, fake = self.pair_logits(batch["x"])
        return self.objective.d(fake, real), {}
