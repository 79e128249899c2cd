import dataclasses
import hashlib
import io
import tarfile
import urllib.request
import zipfile

import pytest

from ganforge.data import translation_sets
from ganforge.data.translation_sets import TRANSLATION_DOWNLOADS, download_translation_set
from ganforge.errors import DataError, GanforgeError

# ---------------------------------------------------------------- losses




@pytest.fixture(autouse=True)
def _no_network(monkeypatch):
    """Any URL but file:// fails, so no test can reach the network by accident."""
    real_urlopen = urllib.request.urlopen

    def local_only(url, *args, **kwargs):
        if not str(url).startswith("file://"):
            raise AssertionError(f"test tried to reach the network: {url}")
        return real_urlopen(url, *args, **kwargs)

    monkeypatch.setattr(urllib.request, "urlopen", local_only)


def _make_tar(path, files: dict[str, bytes]):
    with tarfile.open(path, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def _make_zip(path, files: dict[str, bytes]):
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)


def _serve(monkeypatch, name: str, archive, published: bool = False) -> None:
    """Serve ``archive`` for set ``name``; unless ``published``, as a set whose digest is not
    published (the fake archive could not match the real one's)."""
    entry = TRANSLATION_DOWNLOADS[name]
    entry = dataclasses.replace(entry, url=archive.as_uri(),
                                sha256=entry.sha256 if published else None)
    monkeypatch.setitem(TRANSLATION_DOWNLOADS, name, entry)


def test_unknown_set_lists_the_valid_names(tmp_path):
    with pytest.raises(GanforgeError, match="horse2zebra") as info:
        download_translation_set("horse2giraffe", tmp_path)
    assert "facades" in str(info.value) and "\n" not in str(info.value)


def test_registry_entries_point_at_the_authors_server():
    assert TRANSLATION_DOWNLOADS["facades"].url.endswith("/pix2pix/datasets/facades.tar.gz")
    assert TRANSLATION_DOWNLOADS["cyclegan-maps"].url.endswith("/cyclegan/datasets/maps.zip")
    assert all(e.url.startswith("https://") for e in TRANSLATION_DOWNLOADS.values())
    # The CycleGAN archives' digests are published (by TensorFlow Datasets); pix2pix's are not,
    # and none is invented for them.
    for entry in TRANSLATION_DOWNLOADS.values():
        published = entry.archive == "zip"
        assert (entry.sha256 is not None) == published
        assert entry.sha256 is None or len(entry.sha256) == 64
    assert (TRANSLATION_DOWNLOADS["cyclegan-maps"].sha256
            == "639534f69dbf9f36bef8d6292a7698006361221f83f0285d7c9ca78afe6e8a9e")
    assert {e.layout for e in TRANSLATION_DOWNLOADS.values()} == {"side-by-side", "unpaired"}


def test_tar_set_downloads_records_its_digest_and_extracts(monkeypatch, tmp_path):
    src = tmp_path / "server" / "facades.tar.gz"
    src.parent.mkdir()
    _make_tar(
        src, {"facades/train/1.jpg": b"ab", "facades/val/1.jpg": b"cd", "facades/test/1.jpg": b"ef"}
    )
    _serve(monkeypatch, "facades", src)
    root = tmp_path / "data"
    out = download_translation_set("facades", root)
    assert out == root / "facades"
    assert (out / "train" / "1.jpg").read_bytes() == b"ab"
    assert (out / "test" / "1.jpg").read_bytes() == b"ef"
    digest = hashlib.sha256(src.read_bytes()).hexdigest()
    assert (root / "SHA256SUMS").read_text() == f"{digest}  facades.tar.gz\n"
    assert not [p for p in root.iterdir() if p.name.startswith(".")]  # no temp folder left
    # Extracted already: nothing is read, not even the archive.
    (root / "facades.tar.gz").unlink()
    assert download_translation_set("facades", root) == out


def test_corrupted_archive_fails_its_recorded_checksum(monkeypatch, tmp_path):
    src = tmp_path / "horse2zebra.zip"
    _make_zip(
        src,
        {
            "horse2zebra/trainA/a.jpg": b"a",
            "horse2zebra/trainB/b.jpg": b"b",
            "horse2zebra/testA/a.jpg": b"c",
            "horse2zebra/testB/b.jpg": b"d",
        },
    )
    _serve(monkeypatch, "horse2zebra", src)
    root = tmp_path / "data"
    out = download_translation_set("horse2zebra", root)
    assert sorted(p.name for p in out.iterdir()) == ["testA", "testB", "trainA", "trainB"]
    archive = root / "horse2zebra.zip"
    archive.write_bytes(archive.read_bytes()[:-10])  # truncated
    translation_sets.shutil.rmtree(out)
    with pytest.raises(DataError, match="horse2zebra.zip failed its checksum") as info:
        download_translation_set("horse2zebra", root)
    assert "\n" not in str(info.value)
    assert not out.exists()


def test_given_digest_is_checked_on_download(monkeypatch, tmp_path):
    src = tmp_path / "maps.tar.gz"
    _make_tar(src, {"maps/train/1.jpg": b"x"})
    _serve(monkeypatch, "maps", src)
    with pytest.raises(DataError, match="checksum"):
        download_translation_set("maps", tmp_path / "data", sha256="0" * 64)
    assert not (tmp_path / "data" / "maps.tar.gz").exists()  # a bad download never lands
    good = hashlib.sha256(src.read_bytes()).hexdigest()
    assert (download_translation_set("maps", tmp_path / "data", sha256=good) / "train").is_dir()


def test_a_download_that_differs_from_the_published_digest_never_lands(monkeypatch, tmp_path):
    src = tmp_path / "horse2zebra.zip"
    _make_zip(src, {"horse2zebra/trainA/a.jpg": b"a", "horse2zebra/trainB/b.jpg": b"b"})
    _serve(monkeypatch, "horse2zebra", src, published=True)
    with pytest.raises(DataError, match="sha256") as info:
        download_translation_set("horse2zebra", tmp_path / "data")
    assert "\n" not in str(info.value)
    assert not (tmp_path / "data" / "horse2zebra.zip").exists()
    assert not (tmp_path / "data" / "SHA256SUMS").exists()  # nothing pinned


def test_colliding_names_extract_into_their_own_folder(monkeypatch, tmp_path):
    src = tmp_path / "maps.zip"
    _make_zip(src, {"maps/trainA/a.jpg": b"a", "maps/trainB/b.jpg": b"b"})
    _serve(monkeypatch, "cyclegan-maps", src)
    out = download_translation_set("cyclegan-maps", tmp_path / "data")
    assert out.name == "cyclegan-maps" and (out / "trainA" / "a.jpg").exists()


@pytest.mark.parametrize("evil", ["../escape.jpg", "horse2zebra/../../escape.jpg", "/tmp/x.jpg"])
def test_zip_with_path_traversal_is_refused(monkeypatch, tmp_path, evil):
    src = tmp_path / "horse2zebra.zip"
    _make_zip(
        src, {"horse2zebra/trainA/a.jpg": b"a", "horse2zebra/trainB/b.jpg": b"b", evil: b"evil"}
    )
    _serve(monkeypatch, "horse2zebra", src)
    root = tmp_path / "data" / "deep"
    with pytest.raises(DataError, match="outside"):
        download_translation_set("horse2zebra", root)
    assert not (root / "horse2zebra").exists()
    assert not (tmp_path / "data" / "escape.jpg").exists()
    assert not [p for p in root.iterdir() if p.name.startswith(".")]


def test_tar_with_path_traversal_is_refused(monkeypatch, tmp_path):
    src = tmp_path / "facades.tar.gz"
    _make_tar(src, {"facades/train/1.jpg": b"a", "../escape.jpg": b"evil"})
    _serve(monkeypatch, "facades", src)
    with pytest.raises(DataError):
        download_translation_set("facades", tmp_path / "data" / "deep")
    assert not (tmp_path / "data" / "escape.jpg").exists()


def test_archive_without_the_layout_is_refused(monkeypatch, tmp_path):
    src = tmp_path / "apple2orange.zip"
    _make_zip(src, {"apple2orange/apples/a.jpg": b"a"})
    _serve(monkeypatch, "apple2orange", src)
    with pytest.raises(DataError, match="trainA"):
        download_translation_set("apple2orange", tmp_path / "data")
