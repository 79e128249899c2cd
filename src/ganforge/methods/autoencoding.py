"""Methods that learn an encoder beside the generator: the VAE (Kingma & Welling 2014), VAE-GAN
(Larsen et al. 2016) and BiGAN / ALI (Donahue et al. 2017; Dumoulin et al. 2017).

Each has ``encode(x)`` (images in [-1, 1] to latent codes; the posterior mean for the VAEs) and
``reconstruct(x)`` = G(encode(x)).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ganforge.config import setting
from ganforge.data.spec import DataSpec
from ganforge.errors import GanforgeError
from ganforge.losses import ADVERSARIAL_LOSSES
from ganforge.methods.backbone import build_backbone
from ganforge.methods.base import DataNeeds, Logs, Method, register_method
from ganforge.methods.capabilities import Encoder
from ganforge.methods.game import (
    Attention,
    Backbone,
    Clip,
    DiscriminatorGame,
    DNorm,
    Objective,
)
from ganforge.methods.gan import GAN, ConditionedD
from ganforge.models import ARCHITECTURES
from ganforge.models.encoder import Encoder as EncoderNetwork
from ganforge.models.encoder import JointDiscriminator
from ganforge.nn.layers import spectral_norm_all


def build_encoder(settings: Backbone, spec: DataSpec, out_features: int) -> EncoderNetwork:
    """An encoder on the feature layers of the configured backbone's discriminator."""
    arch = ARCHITECTURES.get(settings.arch)
    backbone = arch.discriminator(img_channels=spec.img_channels, img_size=spec.img_size,
                                  width=settings.width)
    return EncoderNetwork(backbone, out_features)


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, diag(exp(logvar))) || N(0, I)), summed over dimensions, averaged over the batch."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(1).mean()


def scale_gradient(x: torch.Tensor, scale: float) -> torch.Tensor:
    """x in the forward pass; its gradient multiplied by ``scale`` in the backward pass."""
    return x * scale + x.detach() * (1 - scale)


class Encoding(Encoder):
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

    # The backbone's knobs alone: the VAE has no discriminator and no adversarial game.
    @dataclass(frozen=True)
    class Settings(Attention, Backbone):
        kl_weight: float = setting(1.0, "weight of the KL term (1: the ELBO)", above=0)

    defaults = {"arch": "dcgan", "lr": 1e-3, "beta1": 0.9}
    players = ("G",)

    def __init__(self, cfg, spec: DataSpec) -> None:
        super().__init__(cfg, spec)
        # D is built and dropped: the encoder is a D-shaped network of its own, and building D
        # first keeps the random draws of the networks that stay.
        self.G, _ = build_backbone(cfg, spec)
        self.E = build_encoder(self.settings, spec, 2 * self.settings.latent_dim)

    def groups(self):
        return {"G": [self.E, self.G]}

    def g_loss(self, batch) -> tuple[torch.Tensor, Logs]:
        x = batch["x"]
        z, kl = self.draw_posterior(x)
        nll = bernoulli_nll(self.G(z), x)
        return nll + self.settings.kl_weight * kl, {"recon_nll": nll.detach(),
                                                    "kl": kl.detach()}


@register_method("vaegan")
class VAEGAN(Posterior, GAN):
    """Larsen et al. 2016: a VAE whose reconstruction error is measured in D's feature space,
    plus a GAN on the decoder. D separates real images from both reconstructions and prior
    samples. The encoder minimises KL + L_llike; the decoder gamma L_llike - L_GAN
    (``--recon-weight`` gamma); L_llike = 1/2 ||D_l(x) - D_l(G(z))||^2 with D_l D's features."""

    # The game's knobs but the generator terms, which the paper fixes, and augmentation: the
    # feature reconstruction compares D's features of an image and of its reconstruction,
    # which augmentation would transform apart.
    @dataclass(frozen=True)
    class Settings(DiscriminatorGame, Attention, Backbone):
        kl_weight: float = setting(1.0, "weight of the KL term", above=0)
        recon_weight: float = setting(0.01, "gamma: weight of the feature-space reconstruction "
                                      "error in the decoder's loss (the encoder's weight is 1); "
                                      "the summed error over D's thousands of features drowns "
                                      "the GAN term at gamma 1", above=0)

        def check(self, warn: bool = True) -> None:
            super().check(warn)
            if ADVERSARIAL_LOSSES.get(self.loss).g_needs_real:
                raise GanforgeError(f"--loss {self.loss} compares fakes with real images in G's "
                                    "loss, which vaegan's decoder loss does not; choose gan, "
                                    "minimax, wasserstein, least-squares or hinge")

    defaults = {"arch": "dcgan", "lr": 3e-4}
    trains_on = DataNeeds()

    def __init__(self, cfg, spec: DataSpec) -> None:
        super().__init__(cfg, spec)
        self.E = build_encoder(self.settings, spec, 2 * self.settings.latent_dim)

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
        gamma = self.settings.recon_weight
        # The decoder gets gamma x the feature error; the encoder gets it with weight 1.
        recon = self.G(scale_gradient(z, 1 / gamma))
        with torch.no_grad():
            h_real = self.d_features(x)
        llike = 0.5 * (self.d_features(recon) - h_real).pow(2).sum(1).mean()
        # L_GAN trains the decoder only, on reconstructions and on prior samples.
        fakes = torch.cat([self.G(z.detach()), self.generate(len(x))])
        adversarial = self.objective.g(self.discriminate(fakes), None)
        loss = self.settings.kl_weight * kl + gamma * llike + adversarial
        return loss, {"kl": kl.detach(), "feature_recon": llike.detach()}


@register_method("bigan")
class BiGAN(Encoding, ConditionedD, GAN):
    """Donahue et al. 2017 (= ALI, Dumoulin et al. 2017): an encoder E learned with G; D judges
    pairs, (x, E(x)) for data and (G(z), z) for fakes. E and G are trained together to make D
    mistake each kind of pair for the other (its loss with the labels swapped)."""

    # Of the game's knobs those its discriminator of (image, code) pairs can take.
    @dataclass(frozen=True)
    class Settings(Clip, Objective, DNorm, Attention, Backbone):
        pass

    defaults = {"arch": "dcgan", "beta1": 0.5}
    trains_on = DataNeeds()

    def __init__(self, cfg, spec: DataSpec) -> None:
        super().__init__(cfg, spec)
        self.E = build_encoder(self.settings, spec, self.settings.latent_dim)

    def build_networks(self):
        G, D = build_backbone(self.cfg, self.spec)
        D = JointDiscriminator(D, self.settings.latent_dim)
        if self.settings.d_norm == "spectral":  # the layers that join x and z, too
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
