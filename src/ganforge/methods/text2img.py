"""Text-to-image synthesis: GAN-INT-CLS (Reed et al. 2016) with StackGAN's conditioning
augmentation and, optionally, its second stage (Zhang et al. 2017), the stages trained jointly
as in StackGAN++ (Zhang et al. 2018)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import torch
from torch import nn

from ganforge.config import setting
from ganforge.data.captions import tokenize
from ganforge.data.spec import DataSpec
from ganforge.errors import GanforgeError
from ganforge.methods.backbone import build_backbone
from ganforge.methods.base import DataNeeds, register_method
from ganforge.methods.capabilities import TextConditioned
from ganforge.methods.conditional import AuxiliaryClassifier
from ganforge.methods.game import (
    Attention,
    Augment,
    Backbone,
    DiscriminatorGame,
    HistoricalAveraging,
)
from ganforge.methods.gan import GAN
from ganforge.models.text import (
    ConditioningAugmentation,
    Refiner,
    SentenceEncoder,
    TextConditionedGenerator,
    TextProjectionDiscriminator,
)
from ganforge.nn.pyramid import pool_to

# GAN-INT interpolates halfway between two captions' embeddings (Reed et al. 2016, sec. 4.3).
INTERP_BETA = 0.5
# Width of the conditioning-augmented text code G sees.
CODE_DIM = 64


def mismatched(text: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
    """For each row i, the caption of the nearest earlier row (cyclically: i-1, i-2, ...) whose
    key differs from row i's: the rolled batch, skipping rows that would describe the image
    too. Keys are class labels [N] (Reed et al.'s wrong captions come from another class) or
    the token ids [N, L] themselves. A batch of one key falls back to the roll by one."""
    n = len(text)
    if n < 2:
        return text
    rows = torch.arange(n, device=text.device)
    shifts = torch.arange(1, n, device=text.device)
    sources = (rows[None, :] - shifts[:, None]) % n  # [n - 1, n]: row i rolled by each shift
    differ = keys[sources] != keys[rows][None]
    if differ.dim() == 3:
        differ = differ.any(-1)
    first = differ.long().argmax(0)  # the first differing shift; 0 (a roll by one) if none
    return text[sources[first, rows]]


def gan_cls_d_loss(adv_d: Callable[..., torch.Tensor], real: torch.Tensor, wrong: torch.Tensor,
                   fake: torch.Tensor) -> torch.Tensor:
    """GAN-CLS's matching-aware D loss (Reed et al. 2016, Algorithm 1): D must accept a real
    image with its caption and reject both the real image with a mismatched caption and a fake
    with the caption, the two rejections weighted 1/2. With the sigmoid loss,
    -[log D(x, t) + (log(1 - D(x, t^)) + log(1 - D(G(z, t), t))) / 2]; any objective of
    ADVERSARIAL_LOSSES enters as the mean of its D loss over the two negatives."""
    return 0.5 * (adv_d(real, wrong) + adv_d(real, fake))


@register_method("text2img")
class Text2Image(TextConditioned, GAN):
    """GAN-INT-CLS (Reed et al. 2016): G(z, t) draws what the caption t says.

    D learns to tell matching (image, caption) pairs from mismatched ones as well as from fakes
    (GAN-CLS); G's loss is also taken on captions interpolated halfway between two captions'
    embeddings, where D has no real image but can still judge the pair (GAN-INT). G sees the
    caption through conditioning augmentation (StackGAN), whose KL term joins G's loss. With
    ``--stages 2``, a StackGAN stage-II refiner draws the full-size image from the half-size
    stage-I image and the text code; each stage has its own D and the losses are summed.

    Captions come as token ids (``batch["caption"]``, see :mod:`ganforge.data.captions`); G and
    D each embed them with their own encoder (:mod:`ganforge.models.text`). Sample grids show
    the data set's example captions, one per row.
    """

    # The game's knobs but feature matching: its G is judged on (image, caption) pairs.
    @dataclass(frozen=True)
    class Settings(Augment, HistoricalAveraging, DiscriminatorGame, Attention, Backbone):
        ca_weight: float = setting(2.0, "weight of conditioning augmentation's KL term in G's "
                                   "loss (the KL averaged over the code's dimensions; 2.0 as "
                                   "StackGAN's code, stageI/cfg/birds.yml TRAIN.COEFF.KL; the "
                                   "paper gives lambda = 1)")
        interp_weight: float = setting(1.0, "weight of GAN-INT's G loss on captions "
                                       "interpolated halfway between two (0: off)")
        stages: int = setting(1, "1: one generator at full size; 2: StackGAN, a stage-II "
                              "refiner at full size over a half-size stage I, one D per stage",
                              choices=(1, 2))

    defaults = {"arch": "dcgan"}
    trains_on = DataNeeds(captions=True)

    def __init__(self, cfg, spec: DataSpec) -> None:
        super().__init__(cfg, spec)
        examples = spec.example_captions or (" ".join(spec.vocabulary[2:3]),)
        self.register_buffer("examples", self.tokens(examples), persistent=False)

    def build_networks(self):
        cfg, spec, vocab = self.cfg, self.spec, len(self.spec.vocabulary)
        two = self.settings.stages == 2
        if two and spec.img_size % 2:
            raise GanforgeError(f"--stages 2 draws stage I at half the image size; "
                                f"{spec.img_size} px does not halve: choose an even --image-size")
        first = replace(spec, img_size=spec.img_size // 2) if two else spec
        backbone, d_first = build_backbone(cfg, first, g_extra_inputs=CODE_DIM)
        encoder = SentenceEncoder(vocab)
        G = TextConditionedGenerator(
            backbone, encoder, ConditioningAugmentation(encoder.out_dim, CODE_DIM),
            Refiner(spec.img_channels, CODE_DIM, self.settings.width) if two else None)
        discriminators = [TextProjectionDiscriminator(d_first, SentenceEncoder(vocab))]
        if two:
            d_full = build_backbone(cfg, spec)[1]
            discriminators.append(TextProjectionDiscriminator(d_full, SentenceEncoder(vocab)))
        return G, nn.ModuleList(discriminators)

    @property
    def latent_width(self) -> int:
        """z and conditioning augmentation's eps, drawn together (see TextConditionedGenerator)."""
        return self.settings.latent_dim + CODE_DIM

    # ---- captions ----------------------------------------------------------------------------

    def tokens(self, captions) -> torch.Tensor:
        """Captions (str or list of str) as token ids [n, caption_length], on the CPU."""
        return tokenize(captions, self.spec.vocabulary, self.spec.caption_length)

    def text_condition(self, captions) -> torch.Tensor:
        """User-given captions as this method's condition; unknown words are a one-line
        error naming the word and the vocabulary."""
        return self.tokens(captions).to(self.examples.device)

    def embed_text(self, tokens: torch.Tensor, G: nn.Module | None = None) -> torch.Tensor:
        """G's sentence embeddings of token ids (GAN-INT walks between them)."""
        return (G or self.G).embed(tokens)

    def sample_condition(self, n, generator=None):
        """Random example captions: what G draws when no caption is given."""
        idx = torch.randint(len(self.examples), (n,), generator=generator)
        return self.examples[idx.to(self.examples.device)]

    def real_condition(self, batch):
        return batch["caption"]

    def display_condition(self, n):
        return self.examples[(torch.arange(n, device=self.examples.device) // self.display_nrow)
                             % len(self.examples)]

    @property
    def display_nrow(self) -> int:
        return max(1, self.cfg.n_samples // len(self.examples))

    # ---- D: the last (full-size) stage's discriminator serves penalties and metrics ------------

    def d_body(self, x, c=None):
        return self.D[-1].features(x)

    def d_logits(self, h, c=None):
        return self.D[-1].logits(h, c)

    # ---- losses ------------------------------------------------------------------------------

    def d_loss(self, batch):
        real, text = batch["x"], batch["caption"]
        wrong = mismatched(text, batch.get("label", text))
        with torch.no_grad():
            fakes, _ = self.G.stages(self.sample_latent(len(real)), text)
        loss = 0.0
        for D, fake in zip(self.D, fakes, strict=True):
            t, t_wrong = D.embed(torch.cat([text, wrong])).chunk(2)  # one encoder call
            h_real, h_fake = D.features(pool_to(real, fake.shape[-1])), D.features(fake)
            s_real, s_wrong = D.logits(h_real, t), D.logits(h_real, t_wrong)
            s_fake = D.logits(h_fake, t)
            loss = loss + gan_cls_d_loss(self.adv_d, s_real, s_wrong, s_fake)
            if self.uncond_weight:
                loss = loss + self.uncond_weight * self.adv_d(D.unconditional(h_real),
                                                               D.unconditional(h_fake))
        # Terms on the full-size D's features (TAC-GAN's class head); the fakes were drawn for
        # the real captions, so they share the real images' labels.
        label = batch.get("label")
        aux, aux_logs = self.aux_d_loss(h_real, label, h_fake, label)
        penalty, penalty_logs = self.penalties("D", real, text, fakes[-1])
        score = torch.sigmoid if self.objective.label_smoothing else (lambda x: x)
        logs = {"D(x,t)": score(s_real).mean(), "D(x,wrong t)": score(s_wrong).mean(),
                "D(G(z,t),t)": score(s_fake).mean(), **aux_logs, **penalty_logs}
        return loss + aux + penalty, logs

    def g_loss(self, batch):
        real, text = batch["x"], batch["caption"]
        n, weight = len(text), self.settings.interp_weight

        def with_interpolations(e: torch.Tensor) -> torch.Tensor:
            # GAN-INT: the batch again, each embedding halfway to the next row's caption's.
            if not weight:
                return e
            return torch.cat([e, INTERP_BETA * e + (1 - INTERP_BETA) * e.roll(1, 0)])

        # Without GAN-INT, G reads the tokens itself (AttnGAN's G needs the words).
        e = with_interpolations(self.G.embed(text)) if weight else text
        fakes, kl = self.G.stages(self.sample_latent(len(e)), e)
        adversarial, interpolated = 0.0, torch.zeros((), device=real.device)
        for D, fake in zip(self.D, fakes, strict=True):
            h = D.features(fake)
            s = D.logits(h, with_interpolations(D.embed(text)))
            real_logits = real_uncond = None
            if self.objective.g_needs_real:
                with torch.no_grad():
                    h_real = D.features(pool_to(real, fake.shape[-1]))
                    real_logits, real_uncond = D.logits(h_real, text), D.unconditional(h_real)
            adversarial = adversarial + self.objective.g(s[:n], real_logits)
            if self.uncond_weight:
                adversarial = adversarial + self.uncond_weight * self.objective.g(
                    D.unconditional(h[:n]), real_uncond)
            if weight:
                interpolated = interpolated + self.objective.g(s[n:], real_logits)
        # Interpolated captions have no class: class terms see the batch's own captions only.
        aux, aux_logs = self.aux_g_loss(h[:n], batch.get("label"))
        across, across_logs = self.across_scales(fakes, batch)
        penalty, logs = self.penalties("G", real, None, None)
        loss = (adversarial + weight * interpolated + self.settings.ca_weight * kl + aux
                + across + penalty)
        return loss, {"kl": kl, "g_int": interpolated, **aux_logs, **across_logs, **logs}

    # ---- hooks of the multi-scale variants (StackGAN++) ------------------------------------

    @property
    def uncond_weight(self) -> float:
        """Weight of each D's unconditional term (image alone), beside GAN-CLS's pairs."""
        return 0.0

    def across_scales(self, fakes: list[torch.Tensor],
                      batch: dict) -> tuple[torch.Tensor | float, dict]:
        """G's terms on its images of every scale (tying the scales together, matching the
        captions' words)."""
        return 0.0, {}


@register_method("tac-gan")
class TACGAN(AuxiliaryClassifier, Text2Image):
    """TAC-GAN (Dash et al. 2017): GAN-INT-CLS with ACGAN's auxiliary classifier on D. D also
    names the class of each real image (the digit of captioned MNIST), G is also rewarded when
    D's classifier reads its fakes as the class of their caption.

    The class head sits on the full-size D's features; with ``--stages 2`` stage I is judged
    by its own D without one. As for ACGAN (:class:`AuxiliaryClassifier`), D's classifier
    learns from real images unless ``--fake-class-weight`` is set (1: the paper's form)."""

    @dataclass(frozen=True)
    class Settings(Text2Image.Settings, AuxiliaryClassifier.ClassLoss):
        pass

    trains_on = DataNeeds(captions=True, labels=True, labelled="captioned-mnist")

    def build_networks(self):
        G, D = super().build_networks()
        self.build_classifier(D[-1].feature_dim)
        return G, D
