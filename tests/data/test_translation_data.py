import numpy as np
import pytest
import torch
from PIL import Image

from ganforge.data import Augment, PairBatcher, TranslationData, load_dataset
from ganforge.data.translation import (
    STYLES,
    crop_to,
    edge_maps,
    load_paired_folder,
    load_unpaired_folder,
    pad_to,
    read_image_files,
    stylise,
)
from ganforge.errors import DataError, GanforgeError
from tests.conftest import SHARED_DATA, needs_mnist


def _save(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


def _ramp(k: int, size: int = 12) -> np.ndarray:
    return np.full((size, size), 20 * k, dtype=np.uint8)


def test_edge_maps_outline_a_filled_square():
    square = torch.zeros(1, 1, 16, 16, dtype=torch.uint8)
    square[..., 4:12, 4:12] = 255
    edges = edge_maps(square)[0, 0]
    assert set(edges.unique().tolist()) == {0, 255}
    assert edges[8, 8] == 0 and edges[0, 0] == 0  # inside and far outside stay dark
    assert edges[4, 8] == 255 and edges[3, 8] == 255  # both sides of the boundary light up


def test_pad_and_crop_are_inverse():
    x = torch.randint(0, 256, (3, 1, 28, 28), dtype=torch.uint8)
    padded = pad_to(x, 32)
    assert padded.shape[-1] == 32 and padded[..., :2, :].sum() == 0
    assert torch.equal(crop_to(padded, 28), x)


def test_styles_are_rgb_and_differ():
    digit = torch.zeros(1, 1, 32, 32, dtype=torch.uint8)
    digit[..., 8:24, 14:18] = 255  # a vertical bar
    drawn = {s: stylise(digit, s) for s in STYLES}
    assert all(x.shape == (1, 3, 32, 32) and x.dtype == torch.uint8 for x in drawn.values())
    ink = {s: int((x[:, 0] > 127).sum()) for s, x in drawn.items()}
    assert ink["thick"] > ink["plain"] > ink["thin"] > 0
    assert drawn["red"][:, 1].max() < drawn["red"][:, 0].max()  # red ink, dim green
    assert not torch.equal(drawn["rotated"], drawn["plain"])


def test_side_by_side_pairs_load_and_split(tmp_path):
    for k in range(3):
        _save(tmp_path / "train" / f"{k}.png",
              np.concatenate([_ramp(k), _ramp(k + 5)], axis=1))
    data = load_paired_folder(tmp_path, "train", size=8)
    assert data.paired and data.a.shape == (3, 1, 8, 8) and data.b.shape == (3, 1, 8, 8)
    assert data.a[1].float().mean() == pytest.approx(20, abs=1)
    assert data.b[1].float().mean() == pytest.approx(120, abs=1)
    swapped = load_paired_folder(tmp_path, "train", size=8, direction="BtoA")
    assert torch.equal(swapped.a, data.b)


def test_a_and_b_folders_pair_by_name(tmp_path):
    for k in (2, 0, 1):
        _save(tmp_path / "A" / f"x{k}.png", _ramp(k))
        _save(tmp_path / "B" / f"x{k}.png", _ramp(k + 5))
    data = load_paired_folder(tmp_path, size=8)
    assert (data.b.float().mean((1, 2, 3)) - data.a.float().mean((1, 2, 3))).allclose(
        torch.full((3,), 100.0), atol=1)


def test_mismatched_pairs_are_refused(tmp_path):
    _save(tmp_path / "A" / "one.png", _ramp(1))
    _save(tmp_path / "B" / "two.png", _ramp(2))
    with pytest.raises(DataError, match="same file names.*unmatched: one, two"):
        load_paired_folder(tmp_path, size=8)
    square = tmp_path / "square"
    _save(square / "p.png", _ramp(1))
    with pytest.raises(DataError, match="twice as wide"):
        load_paired_folder(square, size=8)


def test_unpaired_layout(tmp_path):
    for k in range(3):
        _save(tmp_path / "trainA" / f"{k}.png", _ramp(k))
    for k in range(5):
        _save(tmp_path / "trainB" / f"{k}.png", np.stack([_ramp(k)] * 3, axis=-1))
    data = load_unpaired_folder(tmp_path, "train", size=8)
    assert not data.paired and data.channels == (1, 3) and len(data) == 5
    with pytest.raises(DataError, match="testA or testB"):
        load_unpaired_folder(tmp_path, "test", size=8)
    spec_data = load_dataset(f"unpaired:{tmp_path}", image_size=8)
    assert spec_data.a.shape == (3, 1, 8, 8)


def test_read_image_files_converts_channels(tmp_path):
    _save(tmp_path / "in" / "a.png", np.stack([_ramp(3)] * 3, axis=-1))
    files, images = read_image_files(tmp_path / "in", 8, channels=1)
    assert files == [tmp_path / "in" / "a.png"] and images.shape == (1, 1, 8, 8)
    files, images = read_image_files(tmp_path / "in" / "a.png", 8, channels=3)
    assert images.shape == (1, 3, 8, 8)
    with pytest.raises(DataError, match="neither"):
        read_image_files(tmp_path / "missing", 8, 1)


def _pairs(n=20, size=8, paired=True):
    a = torch.randint(0, 256, (n, 1, size, size), dtype=torch.uint8)
    b = 255 - a if paired else torch.randint(0, 256, (n + 7, 3, size, size), dtype=torch.uint8)
    return TranslationData("pairs", a, b, paired=paired)


def test_paired_batches_stay_aligned_under_flips_and_crops():
    batcher = PairBatcher(_pairs(), 6, "cpu", seed=0, augment=Augment(True, 2, seed=0))
    for _ in range(5):
        batch = next(batcher)
        # b was 255 - a pixel for pixel; the same flip and crop keep it so.
        assert torch.allclose(batch["a"], -batch["b"], atol=1e-5)


def test_unpaired_batches_draw_domains_independently_and_resume():
    data = _pairs(paired=False)
    batcher = PairBatcher(data, 5, "cpu", seed=3)
    assert len(batcher) == 27 // 5
    for _ in range(7):
        next(batcher)
    state = batcher.state_dict()
    expected = next(batcher)
    resumed = PairBatcher(data, 5, "cpu", seed=99)
    resumed.load_state_dict(state)
    again = next(resumed)
    assert torch.equal(expected["a"], again["a"]) and torch.equal(expected["b"], again["b"])
    assert again["b"].shape == (5, 3, 8, 8)


def test_batch_larger_than_a_domain_is_refused():
    with pytest.raises(GanforgeError, match="smaller domain"):
        PairBatcher(_pairs(n=4), 5, "cpu")


@needs_mnist
def test_builtin_tasks_load_real_digits():
    edges = load_dataset("edges2mnist", data_dir=SHARED_DATA, split="test")
    assert edges.paired and edges.a.shape == (10_000, 1, 32, 32)
    assert edges.b[..., :2, :].sum() == 0  # MNIST padded 28 -> 32
    assert edges.a_labels is not None and torch.equal(edges.a_labels, edges.b_labels)
    styles = load_dataset("mnist-styles", data_dir=SHARED_DATA, split="test")
    assert styles.images.shape == (10_000, 3, 32, 32)
    assert styles.class_names == list(STYLES) and len(styles.digits) == 10_000
    counts = torch.bincount(styles.labels, minlength=len(STYLES))
    assert counts.min() == counts.max() == 2000


def test_a_downloadable_set_already_on_disk_loads_without_download(tmp_path):
    for k in range(2):
        _save(tmp_path / "facades" / "train" / f"{k}.png",
              np.concatenate([_ramp(k, 16), _ramp(k + 5, 16)], axis=1))
    data = load_dataset("facades", data_dir=tmp_path, image_size=8, download=False)
    assert data.paired and data.a.shape == (2, 1, 8, 8)
    with pytest.raises(DataError, match="maps is not in"):
        load_dataset("maps", data_dir=tmp_path, download=False)
