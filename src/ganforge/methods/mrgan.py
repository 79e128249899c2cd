"""Mode-regularised GAN (Che et al. 2017): an encoder pulls G towards every mode of the data.

Beside G and D an encoder E maps data to latent codes, and G is asked to reconstruct every data
point, so no region of the data can be left without a z that reaches it (sec. 3.1):

- the geometric regulariser λ1 d(x, G(E(x))), d the mean squared error;
- the mode regulariser λ2 on G(E(x)) scored by D as fakes are: G's adversarial loss on the
  reconstructions, so a reconstruction of a rarely drawn mode is pulled to where D accepts it
  (the paper's "log D(G(E(x)))" term, written with ganforge's objectives).

E and G minimise both regularisers with G's adversarial loss; D plays the ordinary game against
G(z). The two-step manifold-diffusion variant (MDGAN) is not built.
"""

from __future__ import annotations

from dataclasses import dataclass

from ganforge.config import setting
from ganforge.data.spec import DataSpec
from ganforge.errors import GanforgeError
from ganforge.losses import ADVERSARIAL_LOSSES
from ganforge.methods.autoencoding import Encoding, build_encoder
from ganforge.methods.base import DataNeeds, register_method
from ganforge.methods.game import OwnStepGameSettings
from ganforge.methods.gan import GAN


@register_method("mrgan")
class MRGAN(Encoding, GAN):
    """Che et al. 2017's regularised GAN on the chosen backbone (DCGAN for images, the toy MLP
    for points); E is a D-shaped network of its own."""

    @dataclass(frozen=True)
    class Settings(OwnStepGameSettings):
        geometric_weight: float = setting(0.2, "lambda1: weight of d(x, G(E(x)))", at_least=0)
        mode_weight: float = setting(0.4, "lambda2: weight of the adversarial loss of G(E(x))",
                                     at_least=0)

        def check(self, warn: bool = True) -> None:
            super().check(warn)
            if ADVERSARIAL_LOSSES.get(self.loss).g_needs_real:
                raise GanforgeError(f"mrgan scores G(E(x)) with G's loss alone; --loss "
                                    f"{self.loss} needs D's scores of real data as well: "
                                    "choose another --loss")

    defaults = {"arch": "dcgan"}
    trains_on = DataNeeds(kinds=("image", "points"))

    def __init__(self, cfg, spec: DataSpec) -> None:
        super().__init__(cfg, spec)
        self.E = build_encoder(self.settings, spec, self.settings.latent_dim)

    def groups(self):
        return {"D": [self.D], "G": [self.G, self.E]}

    def g_loss(self, batch):
        loss, logs = super().g_loss(batch)
        x = batch["x"]
        reconstruction = self.G(self.E(x))
        geometric = (reconstruction - x).pow(2).mean()
        mode = self.objective.g(self.discriminate(reconstruction))
        s = self.settings
        total = loss + s.geometric_weight * geometric + s.mode_weight * mode
        return total, {**logs, "geometric": geometric.detach(), "mode": mode.detach()}
