"""Captioned digits and caption folders: attributes, captions, tokens, the batcher's captions."""

import numpy as np
import pytest
import torch
from PIL import Image

from ganforge.data import Batcher, data_spec, load_dataset, load_training_data
from ganforge.data.captions import (
    ATTRIBUTES,
    DIGIT_CAPTION_LENGTH,
    DIGIT_VOCABULARY,
    UNK,
    CaptionedImages,
    attribute_bins,
    caption_digits,
    detokenize,
    digit_captions,
    digit_thresholds,
    measure_attributes,
    tokenize,
    words_of,
)
from ganforge.errors import DataError, GanforgeError


def canvas(draw) -> torch.Tensor:
    """A 28x28 uint8 picture [1, 1, 28, 28] with ink where ``draw(rows, cols)`` is true."""
    rows, cols = torch.meshgrid(torch.arange(28.0), torch.arange(28.0), indexing="ij")
    return (draw(rows, cols).to(torch.uint8) * 255)[None, None]


def bar(width: float, lean: float = 0.0) -> torch.Tensor:
    """A stroke from row 4 to 23 of ``width`` px, its top shifted right by ``lean`` px per row."""
    return canvas(lambda r, c: (r >= 4) & (r < 24) & (c - 12 - lean * (23 - r) >= 0)
                  & (c - 12 - lean * (23 - r) < width))


def square(side: int, stroke: int = 2) -> torch.Tensor:
    lo, hi = 14 - side // 2, 14 + side // 2
    return canvas(lambda r, c: (r >= lo) & (r < hi) & (c >= lo) & (c < hi)
                  & ~((r >= lo + stroke) & (r < hi - stroke) & (c >= lo + stroke)
                      & (c < hi - stroke)))


def test_thickness_is_the_stroke_width():
    values = measure_attributes(torch.cat([bar(2), bar(3), bar(5)]))["thickness"]
    assert values[0] < values[1] < values[2]
    # mass / half the outline = w L / (L + w): within L / (L + w) of the width
    assert values.tolist() == pytest.approx([2 * 20 / 22, 3 * 20 / 23, 5 * 20 / 25], rel=0.02)
    # grey levels measure like ink: a uniformly fainter bar keeps its width
    assert measure_attributes(bar(3) // 2)["thickness"].item() == pytest.approx(values[1].item())


def test_slant_sign_follows_the_lean():
    right, upright, left = measure_attributes(torch.cat([bar(3, 0.4), bar(3), bar(3, -0.4)]))[
        "slant"].tolist()
    assert right == pytest.approx(0.4, abs=0.05)
    assert upright == pytest.approx(0.0, abs=1e-5)
    assert left == pytest.approx(-0.4, abs=0.05)


def test_size_grows_with_the_digit_and_ignores_shear():
    small, large = measure_attributes(torch.cat([square(8), square(16)]))["size"].tolist()
    assert large > 1.7 * small
    straight, sheared = measure_attributes(torch.cat([bar(3), bar(3, 0.4)]))["size"].tolist()
    assert sheared == pytest.approx(straight, rel=0.05)


def test_an_empty_picture_measures_zero():
    values = measure_attributes(torch.zeros(2, 1, 28, 28, dtype=torch.uint8))
    assert all(v.eq(0).all() for v in values.values())


def test_captions_name_the_attributes_in_order():
    labels = torch.tensor([4, 8, 1, 7])
    bins = {"size": torch.tensor([2, 1, 0, 1]), "thickness": torch.tensor([0, 1, 2, 1]),
            "slant": torch.tensor([0, 1, 2, 1])}
    tokens = digit_captions(labels, bins, seed=0)
    assert tokens.shape == (4, 4, DIGIT_CAPTION_LENGTH) and tokens.dtype == torch.int64
    full = [detokenize(t, DIGIT_VOCABULARY) for t in tokens[:, 0]]
    assert full == ["a large thin four slanted left", "an upright eight",
                    "a small thick slanted one", "an upright seven"]
    for i in range(4):
        words = set(words_of(full[i])) - {"a", "an"}
        for k in range(1, 4):  # the others are subsets of the full caption, in its order
            subset = words_of(detokenize(tokens[i, k], DIGIT_VOCABULARY))
            assert subset[0] in ("a", "an") and set(subset[1:]) <= words
            assert [w for w in words_of(full[i]) if w in subset[1:]] == subset[1:]


def test_captions_are_drawn_from_the_seed():
    labels = torch.arange(10).repeat(20)
    bins = {a: torch.randint(3, (200,), generator=torch.Generator().manual_seed(i))
            for i, a in enumerate(ATTRIBUTES)}
    first = digit_captions(labels, bins, seed=3)
    assert torch.equal(first, digit_captions(labels, bins, seed=3))
    other = digit_captions(labels, bins, seed=4)
    assert not torch.equal(first, other)
    assert torch.equal(first[:, 0], other[:, 0])  # the full description does not depend on it


def test_tokenize_round_trips_and_refuses_unknown_words():
    tokens = tokenize(["A thick seven, slanted left.", "an eight"], DIGIT_VOCABULARY, 6)
    assert tokens.shape == (2, 6) and tokens[1, 2:].eq(0).all()
    assert detokenize(tokens[0], DIGIT_VOCABULARY) == "a thick seven slanted left"
    with pytest.raises(GanforgeError, match=r"unknown word 'purple' in caption 'a purple four'; "
                       r"this model knows: a, an, small, .*nine$"):
        tokenize("a purple four", DIGIT_VOCABULARY, 6)
    with pytest.raises(GanforgeError, match="has 7 words; this model reads at most 6"):
        tokenize("a large thick seven slanted left again", DIGIT_VOCABULARY + ("again",), 6)
    with pytest.raises(GanforgeError, match="has no words"):
        tokenize("...", DIGIT_VOCABULARY, 6)


def test_captioned_digits_bin_by_the_training_terciles():
    train = load_training_data("captioned-digits")
    assert isinstance(train, CaptionedImages) and train.images.shape[-1] == 16
    assert train.captions.shape == (1500, 4, DIGIT_CAPTION_LENGTH)
    raw = load_dataset("digits", split="train", image_size=8)
    thresholds = digit_thresholds(raw)
    values = measure_attributes(raw.images)
    for attribute in ("size", "thickness"):  # a third of each class in each bin
        counts = torch.bincount(attribute_bins(values[attribute], raw.labels,
                                               thresholds[attribute]), minlength=3)
        assert (counts.float() / len(raw) - 1 / 3).abs().max() < 0.03
    assert (thresholds["slant"][:, 0] == -thresholds["slant"][:, 1]).all()  # about upright
    # The test split is captioned with the training split's thresholds, and its own seed.
    test = load_dataset("captioned-digits", split="test")
    raw_test = load_dataset("digits", split="test", image_size=8)
    expected = caption_digits(raw_test, thresholds, seed=1, name="captioned-digits")
    assert torch.equal(test.captions, expected.captions)
    spec = data_spec(train)
    assert spec.vocabulary == DIGIT_VOCABULARY and spec.caption_length == DIGIT_CAPTION_LENGTH
    assert "a thick four" in spec.example_captions


def test_batcher_picks_one_caption_per_image_and_resumes_exactly():
    data = load_dataset("captioned-digits", image_size=8)
    data.labels = torch.arange(len(data))  # labels as indices: which image each row shows
    batcher = Batcher(data, 32, "cpu", seed=5)
    batch = next(batcher)
    assert batch["caption"].shape == (32, DIGIT_CAPTION_LENGTH)
    options = data.captions[batch["label"]]  # [32, K, L]
    assert (options == batch["caption"][:, None]).all(-1).any(-1).all()
    batches = [next(batcher) for _ in range(3)]
    assert len({tuple(b["caption"].flatten().tolist()) for b in batches}) == 3
    state = batcher.state_dict()
    expected = [next(batcher) for _ in range(60)]  # past the end of an epoch
    resumed = Batcher(data, 32, "cpu", seed=5)
    resumed.load_state_dict(state)
    for want in expected:
        got = next(resumed)
        assert torch.equal(got["caption"], want["caption"]) and torch.equal(got["x"], want["x"])


def _write(path, text_or_array):
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text_or_array, str):
        path.write_text(text_or_array)
    else:
        Image.fromarray(text_or_array).save(path)


def caption_folder(root, with_split=False):
    """Two classes of two images each in the layout of Reed et al.'s CUB release."""
    rng = np.random.default_rng(0)
    texts = {
        ("001.Albatross", "a1"): "this bird is white\nA white bird with long wings.\n",
        ("001.Albatross", "a2"): "this bird has long wings\n\n",
        ("002.Finch", "f1"): "a small red bird\nthis bird is red with a zygodactyl foot\n"
                             "small bird, red\n",
        ("002.Finch", "f2"): "a red bird, one foot\n",
    }
    for (cls, name), text in texts.items():
        _write(root / "images" / cls / f"{name}.jpg",
               rng.integers(0, 255, (40, 30, 3), dtype=np.uint8))
        _write(root / "text_c10" / cls / f"{name}.txt", text)
    if with_split:
        _write(root / "trainvalclasses.txt", "001.Albatross\n")
        _write(root / "testclasses.txt", "002.Finch\n")
    return root


def test_caption_folder_loads_reeds_layout(tmp_path):
    root = caption_folder(tmp_path / "cub")
    data = load_training_data(f"captions:{root}", image_size=16)
    assert isinstance(data, CaptionedImages)
    assert data.images.shape == (4, 3, 16, 16) and data.class_names == ["001.Albatross",
                                                                         "002.Finch"]
    assert data.labels.tolist() == [0, 0, 1, 1]
    assert data.captions.shape[:2] == (4, 3)  # the most captions an image has
    assert "bird" in data.vocabulary and "zygodactyl" not in data.vocabulary  # seen once
    assert data.caption_text(2, 1) == f"this bird is red with a {UNK} foot"
    assert data.caption_text(0, 2) == data.caption_text(0, 0)  # fewer captions repeat
    # Empty lines are no caption: a2's one caption fills its three rows.
    assert {data.caption_text(1, k) for k in range(3)} == {f"this bird {UNK} long wings"}
    assert data.example_captions and all(UNK not in c for c in data.example_captions)
    assert data_spec(data).vocabulary == tuple(data.vocabulary)


def test_caption_folder_splits_by_class_lists_and_reports_gaps(tmp_path):
    root = caption_folder(tmp_path / "cub", with_split=True)
    train = load_dataset(f"captions:{root}", image_size=8)
    test = load_dataset(f"captions:{root}", split="test", image_size=8)
    assert train.class_names == ["001.Albatross"] and test.class_names == ["002.Finch"]
    assert train.vocabulary == test.vocabulary  # built from every caption, and as long
    assert train.caption_length == test.caption_length == 8
    (root / "text_c10" / "002.Finch" / "f2.txt").unlink()
    with pytest.raises(DataError, match="f2.jpg has no captions"):
        load_dataset(f"captions:{root}", image_size=8)
    with pytest.raises(DataError, match="PATH/images/<class>/"):
        load_dataset(f"captions:{tmp_path / 'nothing'}", image_size=8)
