"""TAC-GAN: GAN-INT-CLS's losses plus ACGAN's class terms, each against its formula."""

import dataclasses

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from ganforge.data import DataSpec
from ganforge.errors import GanforgeError
from ganforge.methods import METHODS
from tests.methods.test_methods import tiny_config
from tests.methods.test_text2img import StubD, StubG


def tac_gan(tmp_path, **settings):
    cfg = tiny_config("tac-gan", tmp_path, dataset="captioned-digits", image_size=8,
                      batch_size=4, steps=3, **settings)
    spec = DataSpec(1, 8, num_classes=3, vocabulary=tuple(f"w{i}" for i in range(10)),
                    caption_length=2)
    method = METHODS.get("tac-gan")(cfg, spec)
    method.G, method.D = StubG(), nn.ModuleList([StubD()])
    method.classifier = nn.Linear(1, 3)
    with torch.no_grad():
        method.classifier.weight.copy_(torch.tensor([[1.0], [-2.0], [0.5]]))
        method.classifier.bias.copy_(torch.tensor([0.1, 0.0, -0.3]))
    return method


BATCH = {"x": torch.tensor([0.2, -0.4, 0.6, 0.8]).view(4, 1, 1, 1).expand(4, 1, 8, 8),
         "caption": torch.tensor([[1, 0], [2, 3], [4, 0], [5, 1]]),
         "label": torch.tensor([0, 0, 1, 2])}


@pytest.mark.parametrize("fake_weight", [0.0, 1.0])
def test_d_loss_is_gan_cls_plus_the_class_loss_of_real_and_optionally_fake(tmp_path,
                                                                        fake_weight):
    method = tac_gan(tmp_path, class_weight=2.0, fake_class_weight=fake_weight)
    plain = METHODS.get("text2img")(tiny_config("text2img", tmp_path / "p",
                                                dataset="captioned-digits", image_size=8),
                                    method.spec)
    plain.G, plain.D = method.G, method.D
    labels = BATCH["label"]
    h_real = BATCH["x"].flatten(1).mean(1, keepdim=True)
    h_fake = torch.full((4, 1), 0.5)  # StubG draws 0.5 everywhere
    real_class = F.cross_entropy(method.classifier(h_real), labels)
    fake_class = F.cross_entropy(method.classifier(h_fake), labels)
    loss, logs = method.d_loss(BATCH)
    expected = plain.d_loss(BATCH)[0] + 2.0 * (real_class + fake_weight * fake_class)
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)
    assert logs["class_loss"].item() == pytest.approx(
        (real_class + fake_weight * fake_class).item(), rel=1e-5)
    # G: text2img's loss plus the class loss of its fakes for their captions' digits; the
    # GAN-INT rows (interpolated captions) carry no class.
    torch.manual_seed(0)
    g_plain = plain.g_loss(BATCH)[0]
    torch.manual_seed(0)
    g_loss, g_logs = method.g_loss(BATCH)
    assert g_loss.item() == pytest.approx((g_plain + 2.0 * fake_class).item(), rel=1e-5)
    assert g_logs["g_class_loss"].item() == pytest.approx(fake_class.item(), rel=1e-5)


def test_the_class_head_trains_with_d_and_needs_labels(tmp_path):
    method = tac_gan(tmp_path)
    assert any(p is method.classifier.weight for m in method.groups()["D"]
               for p in m.parameters())
    cfg = tiny_config("tac-gan", tmp_path / "n", dataset="captioned-digits", image_size=8)
    unlabelled = dataclasses.replace(method.spec, num_classes=0)
    with pytest.raises(GanforgeError, match="tac-gan"):
        METHODS.get("tac-gan").trains_on.check("tac-gan", "captions:x", unlabelled)
    assert cfg.method == "tac-gan"
