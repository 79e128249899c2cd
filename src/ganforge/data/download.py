"""Checksummed downloads that never leave a half-written file behind."""

from __future__ import annotations

import hashlib
import os
import sys
import urllib.error
import urllib.request
from pathlib import Path

from tqdm import tqdm

from ganforge.errors import DataError


def file_digest(path: Path, algorithm: str = "md5", data: bytes | None = None) -> str:
    h = hashlib.new(algorithm)
    if data is not None:
        h.update(data)
        return h.hexdigest()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def check_digest(path: Path, expected: str, algorithm: str = "md5", data: bytes | None = None,
                 prefix: bool = False):
    """Raise DataError unless the digest equals ``expected`` (or starts with it, for ``prefix``:
    torch hub names weight files by the first hex digits of their sha256)."""
    actual = file_digest(path, algorithm, data)
    if not (actual.startswith(expected.lower()) if prefix else actual == expected):
        raise DataError(
            f"{path} failed its checksum ({algorithm} {actual}, expected {expected}); "
            "delete it and download it again, or point --data-dir at a good copy"
        )


def fetch(
    urls: list[str], dest: Path, md5: str | None = None, sha256_prefix: str | None = None
) -> Path:
    """Fetch the first URL that answers into ``dest``, verified, via a temp file and a rename."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    errors = []
    for url in urls:
        try:
            with urllib.request.urlopen(url, timeout=60) as response, open(part, "wb") as out:
                total = int(response.headers.get("Content-Length") or 0) or None
                with tqdm(
                    total=total, unit="B", unit_scale=True, desc=dest.name,
                    disable=None, file=sys.stderr,
                ) as bar:
                    for chunk in iter(lambda: response.read(1 << 16), b""):
                        out.write(chunk)
                        bar.update(len(chunk))
            if md5 is not None:
                check_digest(part, md5)
            if sha256_prefix is not None:
                check_digest(part, sha256_prefix, "sha256", prefix=True)
            os.replace(part, dest)
            return dest
        except (urllib.error.URLError, OSError, DataError) as e:
            errors.append(f"{url}: {e}")
        finally:
            part.unlink(missing_ok=True)
    raise DataError(
        f"could not download {dest.name} ({'; '.join(errors)}); "
        f"download it by hand into {dest.parent}"
    )
