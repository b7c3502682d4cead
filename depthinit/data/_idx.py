"""Reader for the IDX format of MNIST (LeCun et al. 1998), gzip-compressed or raw.

Chapter: "E2: the MLP on MNIST".
"""

from __future__ import annotations

import gzip
import math
import os
import zlib
from pathlib import Path

import numpy as np

from ._errors import DataError

# IDX type byte -> big-endian numpy dtype.
IDX_DTYPES: dict[int, str] = {
    0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8",
}


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file into a writable array in native byte order.

    Layout: bytes 0-1 are zero, byte 2 the type code (0x08 ubyte, 0x09 byte,
    0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64), byte 3 the number of
    dimensions d; then d big-endian uint32 sizes; then prod(sizes) big-endian
    values. A gzip file (magic ``1f 8b``) is decompressed first, whatever its
    name. Raises :class:`DataError` on a bad magic, an unknown type, or a file
    shorter or longer than its header says.

    >>> read_idx("mnist/train-labels-idx1-ubyte.gz")[:3]  # doctest: +SKIP
    array([5, 0, 4], dtype=uint8)
    """
    path = Path(path)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise DataError(f"cannot read IDX file {path}: {e}") from e
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as e:
            raise DataError(
                f"{path} is a corrupt or truncated gzip file ({e}); delete it and get it again"
            ) from e
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise DataError(
            f"{path} is not an IDX file: expected the magic bytes 00 00 <type> <ndim>, "
            f"found {data[:4].hex(' ') or 'an empty file'}"
        )
    code, ndim = data[2], data[3]
    if code not in IDX_DTYPES:
        raise DataError(
            f"{path}: unknown IDX type code 0x{code:02x}; expected one of "
            f"{', '.join(f'0x{c:02x}' for c in IDX_DTYPES)}"
        )
    header = 4 + 4 * ndim
    if ndim == 0 or len(data) < header:
        raise DataError(f"{path}: IDX header claims {ndim} dimensions but the file is too short or has none")
    dims = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    dtype = np.dtype(IDX_DTYPES[code])
    expected = header + math.prod(dims) * dtype.itemsize
    if len(data) != expected:
        what = "truncated" if len(data) < expected else "longer than its header says"
        raise DataError(
            f"{path} is {what}: header says shape {dims} of {dtype.name} "
            f"({expected} bytes with the header), found {len(data)} bytes; delete it and get it again"
        )
    arr = np.frombuffer(data, dtype=dtype, offset=header).reshape(dims)
    return arr.astype(dtype.newbyteorder("="), copy=True)
