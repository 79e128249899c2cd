"""The configuration pipeline: declarations, method defaults, refusals naming the fix, and the
config.json of runs written before the methods declared their settings."""

import json
import re
import warnings

import pytest

from ganforge.config import TrainConfig
from ganforge.configure import configure, configure_saved
from ganforge.errors import GanforgeError
from ganforge.inference import load
from ganforge.training import Trainer


def test_a_method_has_its_declared_settings_with_its_defaults():
    cfg = configure(method="wgan-gp", width=8)
    assert cfg.settings.loss == "wasserstein" and cfg.settings.gp_weight == 10.0
    assert cfg.lr == 1e-4 and cfg.d_steps == 5 and cfg.settings.width == 8
    vae = configure(method="vae").settings
    assert not hasattr(vae, "loss") and vae.kl_weight == 1.0 and vae.arch == "dcgan"


@pytest.mark.parametrize("fields,message", [
    ({"method": "vae", "loss": "hinge"},
     "--loss does not apply to vae (it is a setting of acgan, attngan, bigan, "),
    ({"method": "vae", "d_steps": 3}, "--d-steps does not apply to vae: it has no discriminator"),
    ({"method": "cyclegan", "d_norm": "layer"},
     "--d-norm layer does not apply to cyclegan (it does to acgan, "),
    ({"method": "cyclegan", "loss": "relativistic"}, "--loss relativistic does not apply to "),
    ({"method": "pix2pix", "eval_every": 10}, "--eval-every does not apply to pix2pix"),
    ({"method": "gan", "nosuch": 1}, "--nosuch does not apply to gan (unknown option); gan takes"),
    ({"ema": 1.5}, "--ema is a decay (0: none) in [0, 1), e.g. 0.999; got 1.5"),
    ({"lr_decay_from": 1.0}, "--lr-decay-from is the fraction of training after which the "
                             "learning rate decays, in [0, 1), e.g. 0.5; got 1.0"),
    ({"label_smoothing": 0.5}, "--label-smoothing is the amount taken off the real target, "
                               "in [0, 0.5), e.g. 0.1; got 0.5"),
    ({"time_limit": 0}, "--time-limit is in seconds and must be positive, got 0"),
    ({"width": 0}, "--width must be at least 1, got 0"),
    ({"method": "progan", "drift": -1.0}, "--drift must be 0 or more, got -1.0"),
    ({"method": "cgan", "d_cond": "sum"}, "unknown --d-cond 'sum'; choose one of: concat, "),
    ({"method": "gan", "clip": 0.01, "gp_weight": 10.0, "d_norm": "layer"},
     "--clip and --gp-weight both enforce"),
])
def test_bad_settings_are_refused_in_one_line(fields, message):
    with pytest.raises(GanforgeError, match=re.escape(message)) as info:
        configure(device="cpu", **fields)
    assert "\n" not in str(info.value)


def test_a_config_is_resolved_once_and_resolving_again_changes_nothing():
    cfg = configure(method="sngan", dataset="ring8")
    assert cfg.settings.arch == "toy" and cfg.eval_metrics == "modes"
    assert configure(cfg.to_dict()) == cfg
    assert configure_saved(cfg.to_dict()) == cfg


def test_a_gan_run_saved_before_shared_fakes_keeps_fresh_noise():
    cfg = configure(method="gan")
    assert cfg.settings.shared_fakes is True  # gan's default for new runs
    saved = cfg.to_dict()
    assert configure_saved(saved) == cfg
    del saved["shared_fakes"]
    assert configure_saved(saved).settings.shared_fakes is False


def test_the_config_json_of_an_older_run_loads_and_resumes(tmp_path, digits):
    """Every field at the top, the method's options in "extra", and the knobs of the GAN game
    in every run, those the method lacks at their neutral values."""
    cfg = configure(method="vae", dataset="digits", image_size=16, width=8, latent_dim=8,
                    batch_size=16, steps=2, device="cpu", out=str(tmp_path / "vae"))
    run = Trainer(cfg, dataset=digits).fit()
    path = run / "config.json"
    saved = json.loads(path.read_text())
    old = {k: v for k, v in saved["config"].items() if k != "kl_weight"}
    old.update(loss="gan", d_norm="batch", gp_weight=None, r1_weight=None, clip=None,
               label_smoothing=0.0, feature_matching=False, minibatch_kernels=0, augment=None,
               history_weight=None, extra={"kl_weight": 0.5})
    path.write_text(json.dumps({**saved, "config": old}))
    model = load(run, device="cpu")
    assert model.cfg.settings.kl_weight == 0.5 and model.sample(2).shape == (2, 1, 16, 16)
    resumed = Trainer.resume(run, steps=3, dataset=digits)
    assert resumed.cfg.settings.kl_weight == 0.5
    resumed.fit()
    assert resumed.step == 3 and "extra" not in json.loads(path.read_text())["config"]


def test_a_bare_train_config_is_configured_by_the_python_api(tmp_path):
    import ganforge

    model = ganforge.train(TrainConfig(method="gan", dataset="digits", image_size=8, steps=1,
                                       batch_size=8, device="cpu", out=str(tmp_path / "bare")),
                           width=8)
    assert model.cfg.settings.arch == "mlp" and model.cfg.settings.width == 8


def test_a_methods_default_steps_yield_to_epochs_given_by_the_user():
    from ganforge.config import GAN_STEPS

    assert configure(method="gan").steps == GAN_STEPS
    by_epochs = configure(method="gan", epochs=2.0)
    assert by_epochs.steps is None and by_epochs.epochs == 2.0
    assert configure(method="gan", steps=7).steps == 7


def test_dcgan_on_mnist_takes_its_measured_recipe_in_independent_units():
    def picked(**given):
        cfg = configure(method="dcgan", dataset="mnist", **given).to_dict()
        return (cfg["arch"], cfg["width"], cfg["lr_g"], cfg["lr_d"], cfg["batch_size"],
                cfg["ema"], cfg["shared_fakes"])

    assert picked() == ("infogan", 32, 2e-3, 4e-4, 128, 0.999, True)
    # The nets, their width and their rates are one unit: naming the paper's nets gives the
    # paper's width and rates too.
    assert picked(arch="dcgan") == ("dcgan", 64, None, None, 128, 0.999, True)
    assert picked(lr_g=2e-4) == ("dcgan", 64, 2e-4, None, 128, 0.999, True)
    assert picked(width=64) == ("dcgan", 64, None, None, 128, 0.999, True)
    # The batch, the EMA and one G forward a step are units of their own.
    assert picked(batch_size=512, ema=0.0) == ("infogan", 32, 2e-3, 4e-4, 512, 0.0, True)
    assert picked(shared_fakes=False) == ("infogan", 32, 2e-3, 4e-4, 128, 0.999, False)
    # Elsewhere, and for the methods built on DCGAN's class, nothing of it applies.
    assert configure(method="dcgan", dataset="digits").to_dict()["arch"] == "dcgan"
    assert not configure(method="dcgan", dataset="digits").settings.shared_fakes
    assert configure(method="wgan-gp", dataset="mnist").to_dict()["arch"] == "dcgan"


def test_choosing_part_of_a_recipe_unit_says_what_else_it_drops():
    # One rate given alone also gives back the paper's nets and G rate: a surprise worth a line.
    with pytest.warns(UserWarning, match=r"--lr-d replaces part of dcgan's mnist recipe.*"
                                         r"drops --arch infogan, --width 32, --lr-g 0.002"):
        configure(method="dcgan", dataset="mnist", lr_d=8e-4)
    # A unit given whole, or left alone, says nothing.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        configure(method="dcgan", dataset="mnist", ema=0.0, batch_size=64)
        configure(method="dcgan", dataset="mnist", arch="infogan", width=64, lr_g=1e-3,
                  lr_d=4e-4)


def test_infogan_on_mnist_reads_its_codes_through_digit_preserving_transforms_at_width_32():
    cfg = configure(method="infogan", dataset="mnist")
    assert (cfg.settings.width, cfg.settings.code_augment) == (32, "affine,stroke,translation")
    assert configure(method="infogan", dataset="mnist", code_augment="none").settings.width == 32
    elsewhere = configure(method="infogan", dataset="digits").settings
    assert (elsewhere.width, elsewhere.code_augment) == (64, None)
