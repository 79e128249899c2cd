import gzip
import hashlib

import numpy as np
import pytest

from ganforge.data import load_dataset, parse_idx, read_idx
from ganforge.errors import DataError
from tests.conftest import SHARED_DATA, needs_mnist


def idx_bytes(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
        int(d).to_bytes(4, "big") for d in array.shape
    )
    return header + array.astype(np.uint8).tobytes()


def test_parse_idx_round_trip():
    a = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    np.testing.assert_array_equal(parse_idx(idx_bytes(a)), a)


def test_parse_idx_rejects_bad_magic_and_truncation():
    a = np.zeros((2, 5), np.uint8)
    with pytest.raises(DataError, match="bad magic"):
        parse_idx(b"\x01\x02" + idx_bytes(a)[2:], "x.idx")
    with pytest.raises(DataError, match="x.idx is truncated"):
        parse_idx(idx_bytes(a)[:-3], "x.idx")


def test_truncated_gzip_names_the_file(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(idx_bytes(np.zeros((10, 28, 28), np.uint8)))[:-20])
    with pytest.raises(DataError, match=f"{path} is truncated or corrupt"):
        read_idx(path)


def write_fake_mnist(folder, n=20, corrupt_labels=False):
    folder.mkdir(parents=True, exist_ok=True)
    images = np.random.default_rng(0).integers(0, 256, (n, 28, 28), dtype=np.uint8)
    labels = np.arange(n, dtype=np.uint8) % 10
    for stem, arr in [("train-images-idx3-ubyte", images), ("train-labels-idx1-ubyte", labels)]:
        data = idx_bytes(arr)
        if corrupt_labels and "labels" in stem:
            data = data[:-1] + b"\x09"
        (folder / f"{stem}.gz").write_bytes(gzip.compress(data))


def test_mnist_with_wrong_content_fails_checksum_naming_file(tmp_path):
    write_fake_mnist(tmp_path / "mnist")
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte.gz failed its checksum"):
        load_dataset("mnist", data_dir=tmp_path, download=False)


def test_missing_files_and_directory_are_clear_errors(tmp_path):
    with pytest.raises(DataError, match="not found; put the IDX files there"):
        load_dataset("mnist", data_dir=tmp_path, download=False)
    with pytest.raises(DataError, match="does not exist; create it or point --data-dir"):
        load_dataset("mnist", data_dir=tmp_path / "nope")


@needs_mnist
def test_real_mnist_parses_to_the_published_shapes():
    train = load_dataset("mnist", data_dir=SHARED_DATA, download=False)
    test = load_dataset("mnist", data_dir=SHARED_DATA / "mnist", split="test", download=False)
    assert train.images.shape == (60000, 1, 28, 28) and test.images.shape == (10000, 1, 28, 28)
    assert train.labels[:8].tolist() == [5, 0, 4, 1, 9, 2, 1, 3]
    assert test.labels[:5].tolist() == [7, 2, 1, 0, 4]
    assert np.bincount(train.labels.numpy()).tolist()[:3] == [5923, 6742, 5958]
    # The content hash of the parsed pixels is the canonical uncompressed file minus its header.
    raw = gzip.decompress((SHARED_DATA / "mnist" / "t10k-images-idx3-ubyte.gz").read_bytes())
    assert hashlib.md5(raw).hexdigest() == "2646ac647ad5339dbf082846283269ea"
    assert test.images.numpy().tobytes() == raw[16:]
