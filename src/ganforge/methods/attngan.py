"""AttnGAN (Xu et al. 2018): StackGAN++'s tree whose refinement stages attend to the caption's
words, and the DAMSM loss, which scores how well the final image matches the caption word by
region and sentence by image."""

from __future__ import annotations

from dataclasses import dataclass

from ganforge.config import setting
from ganforge.losses.damsm import sentence_level_loss, word_level_loss
from ganforge.methods.base import register_method
from ganforge.methods.capabilities import Phased
from ganforge.methods.stackganpp import StackGANpp
from ganforge.models.attngan import AttnTreeGenerator, DAMSMImageEncoder
from ganforge.models.text import SentenceEncoder

# Pairs of a batch compared word by region (see AttnGAN.damsm).
WORD_BATCH = 32


@register_method("attngan")
class AttnGAN(Phased, StackGANpp):
    """The DAMSM encoders (a text encoder of the words and the sentence, an image encoder of
    regions and the whole) learn the matching loss from real (image, caption) pairs in D's
    step, so they never learn from G's images. The paper pretrains them and then freezes them;
    here they are trained alone for the first ``damsm_from`` of the run (G's DAMSM term is off)
    and go on learning from real pairs after, which costs a few percent of a step. G keeps its
    own text encoder, as text2img's does; GAN-INT is off (the attention needs words, which an
    interpolated sentence has not)."""

    @dataclass(frozen=True)
    class Settings(StackGANpp.Settings):
        damsm_weight: float = setting(5.0, "lambda: weight of the DAMSM loss in G's (5 as the "
                                      "paper's birds)", at_least=0)
        damsm_from: float = setting(0.25, "share of the run before G's DAMSM term starts, the "
                                    "DAMSM encoders learning from real pairs meanwhile",
                                    at_least=0, at_most=1)

    defaults = {**StackGANpp.defaults, "interp_weight": 0.0}
    generator_class = AttnTreeGenerator

    def build_networks(self):
        G, D = super().build_networks()
        self.damsm_text = SentenceEncoder(len(self.spec.vocabulary))
        self.damsm_image = DAMSMImageEncoder(self.spec.img_channels, self.damsm_text.out_dim)
        self.damsm_on = False
        return G, D

    def groups(self):
        return {"D": [self.D, self.damsm_text, self.damsm_image], "G": [self.G]}

    def phase(self, step: int, total_steps: int) -> str:
        return "damsm" if step >= self.settings.damsm_from * total_steps else "encoders"

    def set_progress(self, step: int, total_steps: int) -> None:
        self.damsm_on = self.phase(step, total_steps) == "damsm"

    def damsm(self, images, tokens):
        """(word-level, sentence-level) DAMSM losses of images in [-1, 1] and their captions.
        The word level compares every image with every caption, word by region: over the
        first ``WORD_BATCH`` pairs only, which cut its cost 4x at batch 64 (the paper trains
        DAMSM at batch 48)."""
        words, sentence = self.damsm_text.encode(tokens)
        regions, whole = self.damsm_image(images)
        k = WORD_BATCH
        return (word_level_loss(regions[:k], words[:k], tokens[:k] != 0),
                sentence_level_loss(whole, sentence))

    def d_loss(self, batch):
        loss, logs = super().d_loss(batch)
        words, sentence = self.damsm(batch["x"], batch["caption"])
        return loss + words + sentence, {**logs, "damsm_words": words, "damsm_sentence": sentence}

    def across_scales(self, fakes, batch):
        loss, logs = super().across_scales(fakes, batch)
        if not self.damsm_on or not self.settings.damsm_weight:
            return loss, logs
        words, sentence = self.damsm(fakes[-1][: len(batch["caption"])], batch["caption"])
        return (loss + self.settings.damsm_weight * (words + sentence),
                {**logs, "g_damsm": words + sentence})
