"""ADA's adaptive augmentation probability (Karras et al. 2020): p rises while D is sure of the
reals, falls when it is not, stays in [0, 1], gates each transform per image, is saved with the
checkpoint, and is refused where it cannot work."""

import pytest
import torch

from ganforge.configure import configure
from ganforge.errors import GanforgeError
from ganforge.nn.augment import DiffAugment
from ganforge.runs import checkpoint as ckpt
from ganforge.training import Trainer
from tests.methods.test_methods import tiny_config, tiny_data


def test_p_follows_the_overfitting_heuristic():
    ada = DiffAugment("translation,cutout", target=0.6, speed=100)
    assert float(ada.p) == 0.0
    sure = torch.ones(10)  # every real scored real: r_t = 1 > 0.6
    for _ in range(3):
        assert float(ada.observe(sure)) == 1.0
    assert float(ada.p) == pytest.approx(0.3)
    for _ in range(20):
        ada.observe(sure)
    assert float(ada.p) == 1.0  # clamped
    unsure = torch.tensor([1.0, -1.0, -1.0, 1.0])  # r_t = 0 < 0.6
    ada.observe(unsure)
    assert float(ada.p) == pytest.approx(0.96)


def test_p_gates_each_transform_per_image():
    torch.manual_seed(0)
    x = torch.rand(400, 1, 8, 8) * 2 - 1
    ada = DiffAugment("cutout", target=0.6)
    assert torch.equal(ada(x), x)  # p = 0: nothing changes
    ada.p.fill_(0.5)
    changed = (ada(x) != x).flatten(1).any(1).float().mean()
    assert 0.4 < float(changed) < 0.6
    ada.p.fill_(1.0)
    assert bool((ada(x) != x).flatten(1).any(1).all())


def test_a_run_adapts_p_logs_it_and_resumes_with_it(tmp_path):
    data, _ = tiny_data("image")
    cfg = tiny_config("dcgan", tmp_path, augment="translation", ada_target=0.6, ada_speed=64,
                      steps=4)
    run = Trainer(cfg, dataset=data).fit()
    tensors, _ = ckpt.load_checkpoint(run / ckpt.CHECKPOINT)
    p = [v for k, v in tensors.items() if k.endswith("augment.p")]
    assert len(p) == 1 and 0.0 < float(p[0]) <= 1.0
    resumed = Trainer.resume(run, steps=4)
    assert float(resumed.method.augment.p) == float(p[0])
    log = (run / "log.jsonl").read_text()
    assert '"ada_p"' in log and '"ada_rt"' in log


def test_refused_without_a_policy_or_where_d_steps_its_own_way(tmp_path):
    with pytest.raises(GanforgeError, match="give --augment too"):
        configure(method="dcgan", dataset="digits", ada_target=0.6)
    cfg = tiny_config("progan", tmp_path, augment="cutout", ada_target=0.6)
    with pytest.raises(GanforgeError, match="--ada-target is not available for progan"):
        Trainer(cfg, dataset=tiny_data("image")[0])
    assert not (tmp_path / "progan").exists()


def test_dcgan_on_the_embedded_digits_takes_ada_by_default_as_a_whole():
    cfg = configure(method="dcgan")  # the default data set: the 1,500 embedded digits
    assert (cfg.settings.augment, cfg.settings.ada_target) == ("translation,cutout", 0.6)
    off = configure(method="dcgan", augment="none")
    assert (off.settings.augment, off.settings.ada_target) == ("none", None)
    older = configure(method="dcgan", augment=None)  # a config.json from before the default
    assert (older.settings.augment, older.settings.ada_target) == (None, None)
    fixed = configure(method="dcgan", augment="color")
    assert (fixed.settings.augment, fixed.settings.ada_target) == ("color", None)
    for other in (configure(method="dcgan", dataset="mnist"), configure(method="wgan-gp"),
                  configure(method="gan")):
        assert (other.settings.augment, other.settings.ada_target) == (None, None)
    with pytest.raises(GanforgeError, match="give --augment too"):
        configure(method="dcgan", ada_target=0.7)


def test_none_turns_augmentation_off():
    ada = DiffAugment("none")
    x = torch.rand(4, 1, 8, 8)
    assert ada.policy == () and torch.equal(ada(x), x)
