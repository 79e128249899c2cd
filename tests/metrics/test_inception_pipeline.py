"""End-to-end checks of the FID Inception pipeline on random weights, and of weight loading.

No test downloads anything: the official weights are not needed, and the download code is
exercised with file:// URLs.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from ganforge.metrics import inception as inc
from ganforge.metrics.errors import MetricError
from ganforge.metrics.extractor import InceptionExtractor
from ganforge.metrics.inception_net import preprocess


def randomised_model(seed: int = 0) -> inc.FIDInceptionV3:
    """Random weights that keep activations O(1) through all 94 layers.

    torch's default init shrinks the signal by ~3x per layer, which would leave pool3 at 1e-8
    and make every comparison below vacuous.
    """
    g = torch.Generator().manual_seed(seed)
    model = inc.FIDInceptionV3()
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.Conv2d):
                fan_in = module.weight[0].numel()
                module.weight.normal_(0.0, (2.0 / fan_in) ** 0.5, generator=g)
            elif isinstance(module, torch.nn.BatchNorm2d):
                module.weight.uniform_(0.5, 1.5, generator=g)
                module.bias.uniform_(-0.2, 0.2, generator=g)
                module.running_mean.uniform_(-0.1, 0.1, generator=g)
                module.running_var.uniform_(0.5, 2.0, generator=g)
        model.fc.weight.normal_(0.0, 0.05, generator=g)
        model.fc.bias.normal_(0.0, 1.0, generator=g)
    return model.eval()


@pytest.fixture(scope="module")
def model() -> inc.FIDInceptionV3:
    return randomised_model()


def reference_preprocess(images: torch.Tensor) -> torch.Tensor:
    """pytorch-fid's input path written out: ToTensor's /255, grey->RGB, resize, 2x - 1."""
    x = images.float() / 255.0 if images.dtype == torch.uint8 else images.float()
    if x.shape[1] == 1:
        x = x.repeat(1, 3, 1, 1)
    x = F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False)
    return 2 * x - 1


def reference_forward(m: inc.FIDInceptionV3, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Inception3._forward order (torchvision) with pytorch-fid's blocks, from the named units."""
    for name in ("Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3"):
        x = getattr(m, name)(x)
    x = F.max_pool2d(x, 3, 2)  # maxpool1
    x = m.Conv2d_4a_3x3(m.Conv2d_3b_1x1(x))
    x = F.max_pool2d(x, 3, 2)  # maxpool2
    for name in ("5b", "5c", "5d", "6a", "6b", "6c", "6d", "6e", "7a", "7b", "7c"):
        x = getattr(m, f"Mixed_{name}")(x)
    pool = x.mean(dim=(2, 3))  # AdaptiveAvgPool2d((1, 1)) + flatten
    return pool, pool @ m.fc.weight.T  # the IS logits carry no bias


def test_extractor_matches_independent_pipeline(model: inc.FIDInceptionV3) -> None:
    g = torch.Generator().manual_seed(1)
    images = torch.randint(0, 256, (2, 1, 28, 28), dtype=torch.uint8, generator=g)
    extractor = InceptionExtractor(model=model, batch_size=1)  # batching is part of the test
    got = extractor.features(images)
    with torch.inference_mode():
        pool, logits = reference_forward(model, reference_preprocess(images))
    assert got["pool"].shape == (2, 2048) and got["logits"].shape == (2, 1008)
    assert got["pool"].dtype == torch.float32
    assert pool.abs().mean() > 1e-2  # the random network does not collapse to ~0
    torch.testing.assert_close(got["pool"], pool, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(got["logits"], logits, rtol=1e-4, atol=1e-4)
    # the two images really differ, so a batching mix-up would be caught
    assert not torch.allclose(got["pool"][0], got["pool"][1])


def test_preprocess_matches_pytorch_fid_for_float_rgb() -> None:
    g = torch.Generator().manual_seed(2)
    images = torch.rand(2, 3, 40, 52, generator=g)
    torch.testing.assert_close(preprocess(images), reference_preprocess(images))
    already = torch.rand(1, 3, 299, 299, generator=g)
    torch.testing.assert_close(preprocess(already), 2 * already - 1)


def test_blocks_match_reference_forward(model: inc.FIDInceptionV3) -> None:
    """The TF quirks: no-padding average pools in A/C/E_1, max pool in E_2 (pytorch-fid)."""
    g = torch.Generator().manual_seed(3)

    def avg(x: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=False)

    a, x = model.Mixed_5b, torch.rand(1, 192, 7, 7, generator=g)
    want = torch.cat(
        [
            a.branch1x1(x),
            a.branch5x5_2(a.branch5x5_1(x)),
            a.branch3x3dbl_3(a.branch3x3dbl_2(a.branch3x3dbl_1(x))),
            a.branch_pool(avg(x)),
        ],
        1,
    )
    torch.testing.assert_close(a(x), want)

    c, x = model.Mixed_6b, torch.rand(1, 768, 5, 5, generator=g)
    b7 = c.branch7x7_3(c.branch7x7_2(c.branch7x7_1(x)))
    bd = x
    for i in range(1, 6):
        bd = getattr(c, f"branch7x7dbl_{i}")(bd)
    want = torch.cat([c.branch1x1(x), b7, bd, c.branch_pool(avg(x))], 1)
    torch.testing.assert_close(c(x), want)

    for e, pool in ((model.Mixed_7b, avg), (model.Mixed_7c, None)):
        x = torch.rand(1, e.branch1x1.conv.in_channels, 4, 4, generator=g)
        b3 = e.branch3x3_1(x)
        bd = e.branch3x3dbl_2(e.branch3x3dbl_1(x))
        pooled = pool(x) if pool else F.max_pool2d(x, kernel_size=3, stride=1, padding=1)
        want = torch.cat(
            [
                e.branch1x1(x),
                torch.cat([e.branch3x3_2a(b3), e.branch3x3_2b(b3)], 1),
                torch.cat([e.branch3x3dbl_3a(bd), e.branch3x3dbl_3b(bd)], 1),
                e.branch_pool(pooled),
            ],
            1,
        )
        torch.testing.assert_close(e(x), want)


def test_extractor_rejects_tanh_range_and_bad_shapes(model: inc.FIDInceptionV3) -> None:
    extractor = InceptionExtractor(model=model)
    with pytest.raises(MetricError, match=r"\(x \+ 1\) / 2"):
        extractor.features(torch.full((1, 3, 8, 8), -1.0))
    with pytest.raises(MetricError, match="shape"):
        extractor.features(torch.zeros(3, 8, 8))
    empty = extractor.features(torch.zeros(0, 3, 8, 8))
    assert empty["pool"].shape == (0, 2048) and empty["logits"].shape == (0, 1008)


def test_extractor_hash_tracks_weights(model: inc.FIDInceptionV3) -> None:
    h1 = InceptionExtractor(model=model).hash
    assert h1 == InceptionExtractor(model=randomised_model(0)).hash
    assert h1 != InceptionExtractor(model=randomised_model(1)).hash


# ------------------------------------------------------------------------------- weights


@pytest.fixture
def weights_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty $GANFORGE_WEIGHTS and an empty cache folder: no real weights can be found."""
    folder = tmp_path / "weights"
    monkeypatch.setenv(inc.WEIGHTS_ENV_VAR, str(folder))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return folder


def test_load_from_explicit_path_and_weights_dir(tmp_path: Path, weights_env: Path) -> None:
    source = randomised_model(5)
    file = tmp_path / "custom.pth"
    torch.save(source.state_dict(), file)
    loaded = inc.load_fid_inception(file, download=False)
    for key, value in source.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value)
    weights_env.mkdir()
    (weights_env / inc.FID_WEIGHTS_FILENAME).write_bytes(file.read_bytes())
    assert inc.find_fid_weights() == weights_env / inc.FID_WEIGHTS_FILENAME
    inc.load_fid_inception(download=False)


def test_load_rejects_wrong_layout(tmp_path: Path) -> None:
    state = inc.FIDInceptionV3().state_dict()
    state["fc.weight"] = torch.zeros(1000, 2048)
    del state["Mixed_7c.branch_pool.conv.weight"]
    state["AuxLogits.fc.weight"] = torch.zeros(1000, 768)
    file = tmp_path / "torchvision_like.pth"
    torch.save(state, file)
    with pytest.raises(MetricError) as info:
        inc.load_fid_inception(file, download=False)
    message = str(info.value)
    assert "\n" not in message
    assert "missing" in message and "unexpected" in message and "fc.weight" in message


def test_missing_weights_error_names_the_destination(weights_env: Path) -> None:
    with pytest.raises(MetricError) as info:
        inc.load_fid_inception(download=False)
    message = str(info.value)
    assert "\n" not in message
    assert str(weights_env / inc.FID_WEIGHTS_FILENAME) in message
    assert inc.FID_WEIGHTS_URL in message


def test_failed_download_is_one_line_and_leaves_nothing(
    weights_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = (tmp_path / "nowhere" / "file.pth").as_uri()
    monkeypatch.setattr(inc, "FID_WEIGHTS_MIRRORS", (missing,))
    with pytest.raises(MetricError) as info:
        inc.load_fid_inception()
    message = str(info.value)
    assert "\n" not in message and "could not be downloaded" in message
    assert str(weights_env / inc.FID_WEIGHTS_FILENAME) in message
    assert list(weights_env.glob("*")) == []


def test_weights_dir_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(inc.WEIGHTS_ENV_VAR, raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert inc.weights_dir() == tmp_path / ".cache" / "ganforge" / "weights"
    monkeypatch.setenv(inc.WEIGHTS_ENV_VAR, str(tmp_path / "w"))
    assert inc.weights_dir() == tmp_path / "w"
    # the cache folder is still searched when $GANFORGE_WEIGHTS lacks the file
    cached = tmp_path / ".cache" / "ganforge" / "weights" / inc.FID_WEIGHTS_FILENAME
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"")
    assert inc.find_fid_weights() == cached
