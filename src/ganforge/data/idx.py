"""The IDX format of MNIST and Fashion-MNIST (LeCun et al.), plain or gzip-compressed."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

from ganforge.errors import DataError

# The third byte of the magic number names the element type; MNIST uses only unsigned bytes,
# but the format allows the others and a reader that says "unsupported" beats a silent misread.
_DTYPES = {
    0x08: np.uint8,
    0x09: np.int8,
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def read_bytes(path: Path) -> bytes:
    """The file's content, decompressed when it ends in .gz; truncation is a DataError."""
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as f:
                return f.read()
        return path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path} not found") from None
    except (EOFError, OSError, zlib.error) as e:
        raise DataError(
            f"{path} is truncated or corrupt ({e}); delete it and download it again"
        ) from None


def parse_idx(data: bytes, source: str = "<bytes>") -> np.ndarray:
    """Parse IDX bytes into an array of the shape the header declares."""
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise DataError(f"{source} is not an IDX file (bad magic number); is it the right file?")
    dtype_code, ndim = data[2], data[3]
    if dtype_code not in _DTYPES:
        raise DataError(f"{source} has an unsupported IDX element type 0x{dtype_code:02x}")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"{source} is truncated: its IDX header is incomplete")
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(_DTYPES[dtype_code])
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) != expected:
        raise DataError(
            f"{source} is truncated or corrupt: header says {expected} bytes for shape {shape}, "
            f"file has {len(data)}; delete it and download it again"
        )
    return np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)


def read_idx(path: str | Path) -> np.ndarray:
    path = Path(path)
    return parse_idx(read_bytes(path), str(path))
