"""Checksummed downloads that never leave a half-written file behind."""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
from pathlib import Path

from ganforge.errors import DataError
from ganforge.progress import Meter


def file_digest(path: Path, algorithm: str = "md5", data: bytes | None = None) -> str:
    h = hashlib.new(algorithm)
    if data is not None:
        h.update(data)
        return h.hexdigest()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def check_digest(path: Path, expected: str, algorithm: str = "md5", data: bytes | None = None):
    """Raise DataError unless the digest equals ``expected``."""
    actual = file_digest(path, algorithm, data)
    if actual != expected.lower():
        raise DataError(
            f"{path} failed its checksum ({algorithm} {actual}, expected {expected}); "
            "delete it and download it again, or point --data-dir at a good copy"
        )


def fetch(urls: list[str], dest: Path, md5: str | None = None, sha256: str | None = None) -> Path:
    """Fetch the first URL that answers into ``dest``, verified against ``md5`` or ``sha256``
    when given, via a temp file and a rename. A plain ``http://`` URL is used only with a digest
    to check: without one, anyone on the path could swap the file unseen."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    errors = []
    for url in urls:
        if url.startswith("http://") and md5 is None and sha256 is None:
            errors.append(f"{url}: plain http without a digest to check the file against")
            continue
        try:
            with urllib.request.urlopen(url, timeout=60) as response, open(part, "wb") as out:
                total = int(response.headers.get("Content-Length") or 0) or None
                with Meter(dest.name, total, "B", unit_scale=True) as bar:
                    for chunk in iter(lambda: response.read(1 << 16), b""):
                        out.write(chunk)
                        bar.update(len(chunk))
            if md5 is not None:
                check_digest(part, md5)
            if sha256 is not None:
                check_digest(part, sha256, "sha256")
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
