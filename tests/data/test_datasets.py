import numpy as np
import pytest
import torch
from PIL import Image

from ganforge.data import Batcher, load_dataset, resize_images, to_uint8
from ganforge.errors import DataError, GanforgeError


def test_digits_is_embedded_real_data():
    train, test = load_dataset("digits", image_size=8), load_dataset("digits", split="test")
    assert train.images.shape == (1500, 1, 8, 8) and len(test) == 297
    assert train.images.dtype == torch.uint8 and train.images.max() == 255
    assert test.images.shape[-1] == 16
    assert sorted(train.labels.unique().tolist()) == list(range(10))


def test_digits_read_from_the_csv_are_scikit_learns():
    from sklearn.datasets import load_digits

    from ganforge.data.image_sets import sklearn_digits

    pixels, labels = sklearn_digits()
    reference = load_digits()
    np.testing.assert_array_equal(pixels, reference.data)
    np.testing.assert_array_equal(labels, reference.target)


def test_unknown_dataset_lists_choices():
    with pytest.raises(GanforgeError, match="choose one of: .*cifar10, .*digits,"):
        load_dataset("imagenet")


def test_resize_keeps_uint8_and_range():
    images = torch.randint(0, 256, (3, 1, 8, 8), dtype=torch.uint8)
    out = resize_images(images, 16)
    assert out.shape == (3, 1, 16, 16) and out.dtype == torch.uint8
    assert out.float().mean().sub(images.float().mean()).abs() < 4


def test_folder_dataset_with_classes_and_a_bad_file(tmp_path):
    rng = np.random.default_rng(0)
    for cls in ("cats", "dogs"):
        (tmp_path / cls).mkdir()
        for i in range(3):
            arr = rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)
            Image.fromarray(arr).save(tmp_path / cls / f"{i}.png")
    ds = load_dataset(f"folder:{tmp_path}", image_size=12)
    assert ds.images.shape == (6, 3, 12, 12) and ds.class_names == ["cats", "dogs"]
    assert ds.labels.tolist() == [0, 0, 0, 1, 1, 1]
    (tmp_path / "dogs" / "broken.jpg").write_bytes(b"not an image")
    with pytest.raises(DataError, match="broken.jpg is not a readable image"):
        load_dataset(f"folder:{tmp_path}", image_size=12)
    with pytest.raises(DataError, match="does not exist"):
        load_dataset(f"folder:{tmp_path / 'missing'}")


def test_batcher_covers_each_epoch_once_without_repeats(digits):
    batcher = Batcher(digits, batch_size=100, device="cpu", seed=3)
    seen = torch.cat([next(batcher)["label"] for _ in range(len(batcher))])
    assert batcher.epoch == 1 and len(seen) == 1500
    # One epoch is a permutation: the labels drawn are exactly the data set's labels.
    assert torch.equal(seen.sort().values, digits.labels.sort().values)
    batch = next(batcher)
    assert batcher.epoch == 2
    assert batch["x"].dtype == torch.float32 and batch["x"].shape == (100, 1, 16, 16)
    assert batch["x"].min() >= -1 and batch["x"].max() <= 1


def test_batcher_state_round_trip_reproduces_the_stream(digits):
    a = Batcher(digits, 64, "cpu", seed=1)
    for _ in range(30):
        next(a)
    b = Batcher(digits, 64, "cpu", seed=99)
    b.load_state_dict(a.state_dict())
    for _ in range(40):
        assert torch.equal(next(a)["x"], next(b)["x"])


def test_batcher_rejects_batches_larger_than_data(digits):
    with pytest.raises(GanforgeError, match="larger than the data set"):
        Batcher(digits, 5000, "cpu")


def test_to_uint8_inverts_normalisation(digits):
    batch = next(Batcher(digits, 8, "cpu"))
    restored = to_uint8(batch["x"])
    assert restored.dtype == torch.uint8
    originals = {bytes(img.numpy().tobytes()) for img in digits.images}
    assert all(bytes(img.numpy().tobytes()) in originals for img in restored)


def write_cifar_tar(path, n_per_batch=4):
    import io
    import tarfile

    rng = np.random.default_rng(0)
    path.parent.mkdir(parents=True)
    with tarfile.open(path, "w:gz") as tar:
        for name in [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]:
            records = rng.integers(0, 256, (n_per_batch, 3073), dtype=np.uint8)
            records[:, 0] %= 10
            data = records.tobytes()
            info = tarfile.TarInfo(f"cifar-10-batches-bin/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_cifar10_reads_binary_batches_and_checks_the_tarball(tmp_path, monkeypatch):
    import hashlib

    from ganforge.data import image_sets

    tar = write_cifar_tar(tmp_path / "cifar10" / "cifar-10-binary.tar.gz")
    with pytest.raises(DataError, match="cifar-10-binary.tar.gz failed its checksum"):
        load_dataset("cifar10", data_dir=tmp_path, download=False)
    monkeypatch.setattr(image_sets, "_CIFAR_MD5", hashlib.md5(tar.read_bytes()).hexdigest())
    train = load_dataset("cifar10", data_dir=tmp_path, download=False)
    test = load_dataset("cifar10", data_dir=tmp_path, split="test", download=False)
    assert train.images.shape == (20, 3, 32, 32) and len(test) == 4
    assert train.labels.max() < 10 and train.class_names[0] == "airplane"
