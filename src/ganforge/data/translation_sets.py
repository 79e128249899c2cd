"""The classic image-to-image translation data sets, downloaded from their authors' server.

pix2pix's paired sets (Isola et al. 2017) are ``.tar.gz`` archives of ``train/``, ``val/`` and,
for some, ``test/`` folders whose images hold the two domains side by side, A on the left and B
on the right. CycleGAN's unpaired sets (Zhu et al. 2017) are ``.zip`` archives of ``trainA/``,
``trainB/``, ``testA/`` and ``testB/``. Both projects publish ``maps`` and ``facades``; the
CycleGAN versions are named ``cyclegan-maps`` and ``cyclegan-facades`` here.

Downloads go over https. The authors publish no digests; for the CycleGAN archives TensorFlow
Datasets publishes the sha256 of each (``tensorflow_datasets/url_checksums/cycle_gan.txt``,
recorded from the same files when the server was people.eecs.berkeley.edu), and every download
is checked against it. For the pix2pix archives none is published (inventing one would only make
every download fail), so their checksum is pinned on first download (trust on first use): its
sha256 goes into ``SHA256SUMS`` in the data folder, in ``sha256sum`` format, and every later use
of the archive is checked against it, which catches a truncated or corrupted copy. A digest
passed by the caller is checked instead of either.
"""

from __future__ import annotations

import os
import re
import shutil
import tarfile
import tempfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ganforge.data.download import fetch, file_digest
from ganforge.errors import DataError, GanforgeError


@dataclass(frozen=True)
class TranslationDownload:
    """Where a translation set lives and what its archive holds.

    ``layout`` is ``"side-by-side"`` (one image per pair, A | B, in ``train/`` etc.) or
    ``"unpaired"`` (``trainA/``, ``trainB/``, ``testA/``, ``testB/``); ``sha256`` is the
    archive's digest when known, else None (pinned on first download)."""

    url: str
    archive: str  # "tar.gz" or "zip"
    layout: str
    sha256: str | None = None


_PIX2PIX = "https://efrosgans.eecs.berkeley.edu/pix2pix/datasets/{}.tar.gz"
_CYCLEGAN = "https://efrosgans.eecs.berkeley.edu/cyclegan/datasets/{}.zip"
# The sha256 of each CycleGAN archive, as tensorflow_datasets/url_checksums/cycle_gan.txt
# publishes it (by archive name).
_CYCLEGAN_SHA256 = {
    "apple2orange": "845a191e9af8926408ea597001cd03a452e3300a1f44a79fe329b3d59f6e3eb8",
    "cezanne2photo": "3a6c10ca21f9485862f1cbd707744b9dc258954a04631271d23a3605eeb63cff",
    "facades": "9a31ebf3a31b9b5cd195dd5bf62e9308e00cb94604d1019e3889ac84248695c0",
    "horse2zebra": "a74d9d392eecca9966b51287a76ca126af473d9de4f3e8fc0e9cda08fa1730a1",
    "iphone2dslr_flower": "8fcb5e374d631b107e1d961b8c4cd0a186aa2a4ff3e279923f4c426128de7113",
    "maps": "639534f69dbf9f36bef8d6292a7698006361221f83f0285d7c9ca78afe6e8a9e",
    "monet2photo": "88f91b00fc228f97c9411fbf1880ec1d119c98f1722e4cfcfaa2fb35fac05b04",
    "summer2winter_yosemite": "167fe1726807a9d22bd106b4a6c0bd7953b688af924ac1bf967439c4961e49f9",
    "ukiyoe2photo": "02a2a2fb5ecf425ca1bf86aca7304377da64a2a1d3b86df54eb65e4068bf3b08",
    "vangogh2photo": "362c3473e70be0944bda08d49d660eafdc2854df55d697835b8186d1d79caaff",
}


def _cyclegan(archive: str) -> TranslationDownload:
    return TranslationDownload(_CYCLEGAN.format(archive), "zip", "unpaired",
                               _CYCLEGAN_SHA256[archive])


TRANSLATION_DOWNLOADS: dict[str, TranslationDownload] = {
    **{
        name: TranslationDownload(_PIX2PIX.format(name), "tar.gz", "side-by-side")
        for name in ["facades", "cityscapes", "maps", "edges2shoes", "edges2handbags", "night2day"]
    },
    **{
        name: _cyclegan(name)
        for name in [
            "horse2zebra",
            "apple2orange",
            "summer2winter_yosemite",
            "monet2photo",
            "cezanne2photo",
            "ukiyoe2photo",
            "vangogh2photo",
            "iphone2dslr_flower",
        ]
    },
    "cyclegan-maps": _cyclegan("maps"),
    "cyclegan-facades": _cyclegan("facades"),
}

# Folders that must exist after extraction; the others (val/, test/) vary between sets.
_REQUIRED_FOLDERS = {"side-by-side": ("train",), "unpaired": ("trainA", "trainB")}
SUMS_FILE = "SHA256SUMS"


def download_translation_set(name: str, root: str | os.PathLike, sha256: str | None = None) -> Path:
    """Download, verify and extract translation set ``name`` into ``root/name/``; return it.

    Does nothing if ``root/name/`` already exists. Otherwise the archive ``root/name.tar.gz`` (or
    ``.zip``) is downloaded unless present, and checked against ``sha256``, else the entry's
    digest, else the one recorded in ``root/SHA256SUMS`` by the first download (which records
    it when there is none: trust on first use; see the module docstring). The archive is kept,
    so re-extracting needs no download and is checked again. Extraction refuses members that
    would land outside the folder, goes to a temporary folder and is renamed into place, so an
    interrupted run leaves no half-extracted set behind.
    """
    if name not in TRANSLATION_DOWNLOADS:
        raise GanforgeError(
            f"unknown translation data set {name!r}; choose one of "
            f"{', '.join(sorted(TRANSLATION_DOWNLOADS))}"
        )
    if sha256 is not None and not re.fullmatch(r"[0-9a-fA-F]{64}", sha256):
        raise GanforgeError(
            f"sha256 must be 64 hex digits, got {sha256!r}; pass the full digest or None"
        )
    entry = TRANSLATION_DOWNLOADS[name]
    root = Path(root).expanduser()
    dest = root / name
    if dest.is_dir():
        return dest
    archive = root / f"{name}.{entry.archive}"
    sums_path = root / SUMS_FILE
    sums = _read_sums(sums_path)
    expected = (sha256 or entry.sha256 or "").lower() or None
    source = "expected"
    if expected is None and archive.name in sums:
        expected, source = sums[archive.name], f"recorded in {sums_path} on first download"

    if not archive.exists():
        # fetch verifies before it renames the file into place, so a bad download never lands.
        fetch([entry.url], archive, sha256=expected)
        actual = expected or file_digest(archive, "sha256")
    else:
        actual = file_digest(archive, "sha256")
        if expected is not None and actual != expected:
            raise DataError(
                f"{archive} failed its checksum (sha256 {actual}, {source} {expected}); delete "
                f"it and download it again, or drop its line from {SUMS_FILE} if the archive "
                "changed upstream"
            )
    if sums.get(archive.name) != actual:
        sums[archive.name] = actual
        _write_sums(sums_path, sums)

    _extract(archive, entry, dest)
    return dest


def _read_sums(path: Path) -> dict[str, str]:
    sums = {}
    if path.exists():
        for line in path.read_text().splitlines():
            # sha256sum's format: digest, two spaces (or " *" for binary mode), file name.
            match = re.fullmatch(r"([0-9a-fA-F]{64}) [ *](.+)", line.strip())
            if match:
                sums[match.group(2)] = match.group(1).lower()
    return sums


def _write_sums(path: Path, sums: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(path.name + ".part")
    part.write_text("".join(f"{digest}  {file}\n" for file, digest in sorted(sums.items())))
    os.replace(part, path)


def _check_member(archive: Path, member: str, into: Path) -> None:
    """Refuse absolute names, '..' and anything that resolves outside ``into`` (zip slip)."""
    pure = PurePosixPath(member.replace("\\", "/"))
    target = (into / pure).resolve()
    if (
        pure.is_absolute()
        or ".." in pure.parts
        or re.match(r"[A-Za-z]:", member)
        or not target.is_relative_to(into.resolve())
    ):
        raise DataError(
            f"{archive} holds {member!r}, which would be written outside {into}; refusing to "
            "extract it: delete the archive and download it again from a trusted source"
        )


def _extract_tar(archive: Path, into: Path) -> None:
    with tarfile.open(archive, "r:gz") as tar:
        if hasattr(tarfile, "data_filter"):
            # The "data" filter (PEP 706) rejects absolute paths, '..', links out of the tree
            # and device files; it raises tarfile.FilterError, caught by the caller.
            tar.extractall(into, filter="data")
            return
        # Pythons without PEP 706: check every member ourselves and allow only plain files and
        # folders, which is all these archives hold.
        for member in tar.getmembers():
            _check_member(archive, member.name, into)
            if not (member.isfile() or member.isdir()):
                raise DataError(
                    f"{archive} holds {member.name!r}, a link or special file; refusing to "
                    "extract it: delete the archive and download it again"
                )
        tar.extractall(into)


def _extract_zip(archive: Path, into: Path) -> None:
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            _check_member(archive, info.filename, into)
        zf.extractall(into)


def _extract(archive: Path, entry: TranslationDownload, dest: Path) -> None:
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.extracting-", dir=dest.parent))
    try:
        try:
            if entry.archive == "zip":
                _extract_zip(archive, tmp)
            else:
                _extract_tar(archive, tmp)
        except (tarfile.TarError, zipfile.BadZipFile, EOFError, zlib.error, OSError) as e:
            raise DataError(
                f"could not extract {archive} ({e}); it is truncated, corrupt or unsafe: delete "
                "it and download it again"
            ) from None
        content = _content_root(tmp, entry.layout)
        if content is None:
            folders = "/, ".join(_REQUIRED_FOLDERS[entry.layout])
            raise DataError(
                f"{archive} does not hold the {entry.layout} layout (no {folders}/ folder); "
                "delete it and download it again"
            )
        try:
            os.rename(content, dest)
        except OSError:
            # Another process finished the same extraction first; its copy is as good as ours.
            if not dest.is_dir():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _content_root(tmp: Path, layout: str) -> Path | None:
    """The folder holding the split folders: the archive's top level, or (as the authors pack
    them) the single folder named after the set, e.g. ``facades/train``."""
    required = _REQUIRED_FOLDERS[layout]
    children = [
        p
        for p in tmp.iterdir()
        if p.is_dir() and p.name != "__MACOSX" and not p.name.startswith(".")
    ]
    candidates = [tmp] + (children if len(children) == 1 else [])
    for folder in candidates:
        if all((folder / r).is_dir() for r in required):
            return folder
    return None
