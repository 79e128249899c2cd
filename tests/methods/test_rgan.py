"""The relativistic GAN: its losses against their formulas, its average form against the GAN
family's --loss relativistic, and the objective it brings in place of --loss."""

import pytest
import torch

from ganforge.errors import GanforgeError
from ganforge.methods.rgan import relativistic_d, relativistic_g
from ganforge.training import Trainer
from tests.methods.test_methods import tiny_config


def test_paired_losses_are_the_papers_formulas():
    real, fake = torch.randn(7), torch.randn(7)
    assert relativistic_d(real, fake).item() == pytest.approx(
        -torch.log(torch.sigmoid(real - fake)).mean().item(), rel=1e-6)
    assert relativistic_g(fake, real).item() == pytest.approx(
        -torch.log(torch.sigmoid(fake - real)).mean().item(), rel=1e-6)
    # Equal scores: D cannot tell which of the two is real, log 2 either way.
    assert relativistic_d(real, real).item() == pytest.approx(torch.log(torch.tensor(2.0)))


def test_the_average_form_trains_as_the_gan_familys_relativistic_loss(tmp_path, digits):
    def weights(method, **kw):
        trainer = Trainer(tiny_config(method, tmp_path, **kw), dataset=digits)
        trainer.fit()
        return trainer.method.state_dict()

    rgan = weights("rgan", relativism="average")
    dcgan = weights("dcgan", loss="relativistic", augment="none")  # no digits-only ADA
    assert rgan.keys() == dcgan.keys() and all(torch.equal(rgan[k], dcgan[k]) for k in rgan)
    paired = weights("rgan", relativism="paired", out=str(tmp_path / "paired"))
    assert not all(torch.equal(paired[k], rgan[k]) for k in rgan)


def test_its_objective_takes_the_place_of_loss(tmp_path):
    with pytest.raises(GanforgeError, match="--loss does not apply to rgan"):
        tiny_config("rgan", tmp_path, loss="hinge")
    with pytest.raises(GanforgeError, match="--relativism does not apply to dcgan"):
        tiny_config("dcgan", tmp_path, relativism="average")
