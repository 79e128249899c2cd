import hashlib

import pytest

from ganforge.data.download import fetch
from ganforge.errors import DataError


def test_fetch_verifies_and_renames_into_place(tmp_path):
    src = tmp_path / "src.bin"
    src.write_bytes(b"mnist bytes" * 100)
    dest = tmp_path / "out" / "file.gz"
    fetch([src.as_uri()], dest, md5=hashlib.md5(src.read_bytes()).hexdigest())
    assert dest.read_bytes() == src.read_bytes()
    assert not list(dest.parent.glob("*.part"))


def test_fetch_with_bad_checksum_leaves_nothing_behind(tmp_path):
    src = tmp_path / "src.bin"
    src.write_bytes(b"tampered")
    dest = tmp_path / "out" / "file.gz"
    with pytest.raises(DataError, match="could not download file.gz.*failed its checksum"):
        fetch([src.as_uri()], dest, md5="0" * 32)
    assert not dest.exists() and not list(dest.parent.glob("*"))


def test_fetch_tries_the_next_mirror(tmp_path):
    src = tmp_path / "src.bin"
    src.write_bytes(b"ok")
    dest = tmp_path / "file"
    fetch([(tmp_path / "missing").as_uri(), src.as_uri()], dest)
    assert dest.read_bytes() == b"ok"


def test_fetch_checks_the_full_sha256_and_is_atomic(tmp_path):
    payload = b"not really inception weights" * 1000
    source = tmp_path / "src.bin"
    source.write_bytes(payload)
    digest = hashlib.sha256(payload).hexdigest()
    dest = tmp_path / "out" / "w.pth"
    # Only the first 8 digits right, as a forged file can be made to match: refused.
    forged = digest[:8] + ("0" if digest[8] != "0" else "1") + digest[9:]
    with pytest.raises(DataError, match="sha256"):
        fetch([source.as_uri()], dest, sha256=forged)
    assert list(dest.parent.glob("*")) == []  # neither dest nor a .part file
    assert fetch([source.as_uri()], dest, sha256=digest) == dest
    assert dest.read_bytes() == payload
    assert list(dest.parent.glob("*.part")) == []
