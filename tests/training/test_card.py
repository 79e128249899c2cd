"""The model card: README.md in the run directory, written at every checkpoint."""

from ganforge.training import Trainer
from tests.methods.test_methods import tiny_config


def test_every_checkpoint_writes_a_card_with_metrics_protocol_and_command(tmp_path):
    cfg = tiny_config("dcgan", tmp_path, steps=4, checkpoint_every=2, eval_every=2,
                      eval_metrics="digits-fid", eval_n=50)
    trainer = Trainer(cfg)
    run = trainer.fit()
    card = (run / "README.md").read_text()
    assert card.startswith(f"# {run.name}: dcgan on digits")
    assert "Radford et al. 2016" in card and "step 4 of 4" in card
    assert f"ganforge train --config {run / 'config.json'}" in card
    assert "| digits_fid |" in card and "digits LeNet" in card
    assert "50 samples of the sampling generator" in card and "digits:train" in card
    assert "![samples](samples.png)" in card
    # A run killed after a checkpoint keeps that checkpoint's card.
    (run / "README.md").unlink()
    trainer.step = 3
    trainer.save()
    assert "checkpoint of step 3" in (run / "README.md").read_text()
