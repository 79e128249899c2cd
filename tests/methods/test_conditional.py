"""cGAN, ACGAN and InfoGAN: conditioning shapes, label checks, codes, the information term."""

import math

import pytest
import torch

import ganforge
from ganforge.data import DataSpec, ImageDataset
from ganforge.errors import GanforgeError
from ganforge.methods import METHODS
from ganforge.methods.infogan import LatentCodes
from ganforge.nn.augment import DiffAugment
from ganforge.training import Trainer
from ganforge.training.log import read_log
from tests.methods.test_methods import tiny_config

SPEC = DataSpec(img_channels=1, img_size=16, num_classes=10)


def build(method, tmp_path, **kw):
    cfg = tiny_config(method, tmp_path, **kw)
    return METHODS.get(method)(cfg, SPEC)


@pytest.mark.parametrize("d_cond", ["concat", "projection"])
def test_cgan_conditions_both_networks(d_cond, tmp_path):
    method = build("cgan", tmp_path, **{"d_cond": d_cond})
    z, y = torch.randn(6, 8), torch.tensor([0, 1, 2, 3, 4, 9])
    images = method.G(z, y)
    assert images.shape == (6, 1, 16, 16)
    assert not torch.allclose(images, method.G(z, torch.tensor([5, 5, 5, 5, 5, 5])))
    logits = method.D(images, y)
    assert logits.shape == (6,)
    assert not torch.allclose(logits, method.D(images, (y + 1) % 10))


def test_two_head_d_scores_realism_without_the_label_and_the_match_with_it(tmp_path):
    method = build("cgan", tmp_path, d_cond="two-head")
    x, y = torch.randn(6, 1, 16, 16), torch.tensor([0, 1, 2, 3, 4, 9])
    h = method.D.features(x, y)
    # The realism head does not read the label; the match head does.
    assert torch.equal(method.D.logits(h, y), method.D.logits(h, (y + 1) % 10))
    assert method.D.match(h, y).shape == (6,)
    assert not torch.allclose(method.D.match(h, y), method.D.match(h, (y + 1) % 10))
    assert any(p is method.D.match_head[0].weight for p in method.D.parameters())


def test_two_head_match_loss_takes_real_images_with_their_label_and_with_a_wrong_one(tmp_path):
    method = build("cgan", tmp_path, d_cond="two-head", match_weight=2.0)
    seen = []
    match = method.D.match
    method.D.match = lambda h, y: seen.append(y.clone()) or match(h, y)
    h_real, y = torch.randn(64, method.D.feature_dim), torch.arange(64) % 10
    loss, logs = method.aux_d_loss(h_real, y, None, None)
    matched, mismatched = seen
    assert torch.equal(matched, y) and (mismatched != y).all()
    assert ((mismatched >= 0) & (mismatched < 10)).all()
    expected = (torch.nn.functional.softplus(-match(h_real, matched)).mean()
                + torch.nn.functional.softplus(match(h_real, mismatched)).mean())
    assert torch.allclose(loss, 2.0 * expected) and 0 <= logs["match_acc"] <= 1
    # G wants its fakes read as showing the requested class.
    g_loss, _ = method.aux_g_loss(h_real, y)
    assert torch.allclose(g_loss, 2.0 * torch.nn.functional.softplus(-match(h_real, y)).mean())


def test_two_head_cgan_learns_to_tell_matched_from_mismatched_pairs(tmp_path, digits):
    cfg = tiny_config("cgan", tmp_path, d_cond="two-head", steps=30, log_every=1,
                      sample_every=30, checkpoint_every=30, lr_d=1e-3)
    rows = read_log(Trainer(cfg, dataset=digits).fit() / "log.jsonl")
    first = sum(r["match_loss"] for r in rows[:5]) / 5
    last = sum(r["match_loss"] for r in rows[-5:]) / 5
    assert last < first - 0.2 and rows[-1]["match_acc"] > 0.6


def test_acgan_classifies_on_ds_features(tmp_path):
    method = build("acgan", tmp_path)
    h = method.D.features(torch.randn(4, 1, 16, 16))
    assert method.classifier(h).shape == (4, 10)
    assert method.classifier in method.groups()["D"]
    loss, logs = method.aux_d_loss(h, torch.tensor([1, 2, 3, 4]), h, torch.tensor([0, 0, 0, 0]))
    assert loss > 0 and 0 <= logs["real_acc"] <= 1


def test_conditional_methods_need_labels(tmp_path):
    unlabelled = ImageDataset("blank", torch.zeros(32, 1, 16, 16, dtype=torch.uint8))
    for method in ("cgan", "acgan"):
        with pytest.raises(GanforgeError, match="needs a labelled data set"):
            Trainer(tiny_config(method, tmp_path), dataset=unlabelled)
    # InfoGAN learns its codes without labels.
    Trainer(tiny_config("infogan", tmp_path), dataset=unlabelled)


def test_method_options_are_checked(tmp_path, digits):
    with pytest.raises(GanforgeError, match="--d-cond does not apply to dcgan.*setting of cgan"):
        Trainer(tiny_config("dcgan", tmp_path, **{"d_cond": "projection"}), dataset=digits)
    with pytest.raises(GanforgeError, match="unknown --d-cond 'sum'; choose one of: concat"):
        Trainer(tiny_config("cgan", tmp_path, **{"d_cond": "sum"}), dataset=digits)


def test_latent_codes_parse_sample_and_round_trip():
    codes = LatentCodes.parse("cat:10,cat:3, cont:2")
    assert codes == LatentCodes((10, 3), 2) and codes.width == 15
    cat, cont = codes.sample(2000, torch.Generator().manual_seed(0))
    assert cat.shape == (2000, 2) and cont.shape == (2000, 2)
    assert cat[:, 0].max() == 9 and cat[:, 1].max() == 2 and cat.min() == 0
    assert -1 <= cont.min() < -0.9 and 0.9 < cont.max() <= 1
    encoded = codes.encode(cat, cont)
    assert encoded.shape == (2000, 15) and encoded[:, :13].sum(1).eq(2).all()
    back_cat, back_cont = codes.split(encoded)
    assert torch.equal(back_cat, cat) and torch.equal(back_cont, cont)
    assert LatentCodes.parse("cont:3") == LatentCodes((), 3)
    for bad in ("cat:1", "dog:3", "cat:x", "", "cont:0"):
        with pytest.raises(GanforgeError, match="--codes"):
            LatentCodes.parse(bad)


def test_infogan_information_term_decreases(tmp_path, digits):
    cfg = tiny_config("infogan", tmp_path, steps=40, log_every=10, checkpoint_every=40,
                      sample_every=40)
    Trainer(cfg, dataset=digits).fit()
    rows = read_log(tmp_path / "infogan" / "log.jsonl")
    first, last = rows[0], rows[-1]
    assert first["info_cat"] > last["info_cat"] + 0.3, (first, last)
    assert last["mi_cat"] > first["mi_cat"] and last["mi_cat"] <= math.log(10) + 1e-6


@pytest.fixture(scope="module")
def trained(tmp_path_factory, digits):
    out = tmp_path_factory.mktemp("runs")
    return {m: ganforge.load(Trainer(tiny_config(m, out, steps=2), dataset=digits).fit(),
                             device="cpu")
            for m in ("cgan", "infogan", "dcgan")}


def test_sampling_a_class_checks_the_index(trained):
    model = trained["cgan"]
    assert model.sample(3, seed=0, classes=7).shape == (3, 1, 16, 16)
    assert model.sample(3, seed=0, classes=[1, 2, 3]).shape == (3, 1, 16, 16)
    with pytest.raises(GanforgeError, match="class 12 does not exist.*10 classes, 0 to 9"):
        model.sample(3, classes=12)
    with pytest.raises(GanforgeError, match="class -1 does not exist"):
        model.sample(2, classes=[-1, 0])
    with pytest.raises(GanforgeError, match="class labels must be integers"):
        model.sample(1, classes=1.5)
    with pytest.raises(GanforgeError, match="needs a conditional model.*dcgan"):
        trained["dcgan"].sample(3, classes=1)
    with pytest.raises(GanforgeError, match="code value 10 does not exist"):
        trained["infogan"].sample(3, classes=10)


def grid_size(rows, cols, size=16, padding=2, scale=4):
    return (rows * (size + padding) + padding) * scale, (cols * (size + padding) + padding) * scale


def test_class_grid_has_a_labelled_row_per_class(trained):
    picture = trained["cgan"].class_grid(per_class=5)
    height, width = grid_size(10, 5)
    assert picture.dtype == torch.uint8 and picture.shape[1] == height
    assert picture.shape[2] > width  # the row labels' margin
    one = trained["cgan"].class_grid(per_class=5, classes=[7])
    assert one.shape[1] == grid_size(1, 5)[0]
    with pytest.raises(GanforgeError, match="needs a conditional model"):
        trained["dcgan"].class_grid()


def test_code_sweep_and_latent_grid_layouts(trained):
    model = trained["infogan"]
    sweep = model.code_sweep("cont:1", steps=7)
    height, width = grid_size(10, 7)
    assert sweep.shape[1] > height and sweep.shape[2] > width  # title, column and row labels
    assert sweep.shape[1] < height + 60 and sweep.shape[2] < width + 80
    cat = model.code_sweep("cat:0")
    assert cat.shape[2] == grid_size(8, 10)[1]
    grid = model.latent_grid(6, 2.0)
    assert grid.shape[2] == grid_size(6, 6)[1]
    with pytest.raises(GanforgeError, match="unknown code 'cont:2'.*cat:0, cont:0, cont:1"):
        model.code_sweep("cont:2")
    with pytest.raises(GanforgeError, match="--sweep needs an InfoGAN run"):
        trained["cgan"].code_sweep()
    with pytest.raises(GanforgeError, match="--latent-grid needs a 2-D latent space"):
        trained["dcgan"].latent_grid()


def test_interpolation_and_walk_layouts(trained):
    model = trained["dcgan"]
    picture = model.interpolation(rows=3, steps=5, mode="linear")
    assert picture.shape[2] == grid_size(3, 5)[1]
    frames = model.walk(keyframes=3, steps=2, panels=2)
    assert len(frames) == 6 and frames[0].shape == frames[-1].shape
    assert not torch.equal(frames[0], frames[1])


def test_infogan_code_augment_has_q_read_the_codes_from_transformed_fakes(tmp_path):
    model = build("infogan", tmp_path, code_augment="affine,stroke")
    torch.manual_seed(0)
    fake, c = model.fakes_for_g(8)
    h = model.d_features(fake)
    h_q = model.features_for_q(h)
    assert h_q.shape == h.shape and not torch.allclose(h_q, h)
    # Through the identity in place of the transforms, Q would read D's features as they are.
    model.code_augment = torch.nn.Identity()
    model._fakes_for_q = fake
    assert torch.allclose(model.features_for_q(h), h, atol=1e-5)
    # G learns through the transforms: the information term reaches G's weights.
    model.code_augment = DiffAugment("affine,stroke")
    fake, c = model.fakes_for_g(8)
    loss, _ = model.aux_g_loss(model.d_features(fake), c)
    loss.backward()
    assert all(p.grad is not None for p in model.G.parameters() if p.requires_grad)
    assert build("infogan", tmp_path).code_augment is None
    with pytest.raises(GanforgeError, match="in --code-augment"):
        build("infogan", tmp_path, code_augment="affine,spin")
    with pytest.raises(GanforgeError, match="--code-augment transforms images; .* 2-D points"):
        METHODS.get("infogan")(tiny_config("infogan", tmp_path, code_augment="stroke"),
                               DataSpec(2, 1, kind="points"))


def test_infogan_cont_weight_scales_only_the_continuous_codes_term(tmp_path):
    torch.manual_seed(0)
    model = build("infogan", tmp_path)
    torch.manual_seed(0)
    weighed = build("infogan", tmp_path, cont_weight=0.25)
    fake, c = model.fakes_for_g(8)
    h = model.d_features(fake).detach()
    full, logs = model.information_loss(h, c)
    assert float(logs["info_cont"]) > 0
    quarter, _ = weighed.information_loss(h, c)
    expected = logs["info_cat"] + 0.25 * logs["info_cont"]
    assert torch.allclose(quarter, expected) and not torch.allclose(quarter, full)
    with pytest.raises(GanforgeError, match="--cont-weight -1.0 is negative"):
        build("infogan", tmp_path, cont_weight=-1.0)
