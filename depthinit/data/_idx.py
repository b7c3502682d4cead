"""Reader for the IDX format of MNIST (LeCun et al. 1998), gzip-compressed or raw.

Chapter: "E2: the MLP on MNIST".
"""

from __future__ import annotations

import gzip
import math
import os
import struct
import zlib
from pathlib import Path
from typing import BinaryIO, cast

import numpy as np

from ._errors import DataError

# IDX type byte -> big-endian numpy dtype.
IDX_DTYPES: dict[int, str] = {
    0x08: ">u1",
    0x09: ">i1",
    0x0B: ">i2",
    0x0C: ">i4",
    0x0D: ">f4",
    0x0E: ">f8",
}


#: The largest payload (bytes after the header) :func:`read_idx` accepts unless told otherwise.
MAX_IDX_BYTES = 1 << 30
# Deflate cannot expand more than 1032-fold (258-byte matches coded in 2 bits), so a gzip
# file of n bytes holds at most 1032 n bytes whatever its header says.
_DEFLATE_MAX_RATIO = 1032
_CHUNK = 1 << 20


def _read_up_to(stream: BinaryIO, n: int) -> bytes:
    parts: list[bytes] = []
    got = 0
    while got < n:
        chunk = stream.read(n - got)
        if not chunk:
            break
        parts.append(chunk)
        got += len(chunk)
    return b"".join(parts)


def read_idx(path: str | os.PathLike[str], *, max_bytes: int = MAX_IDX_BYTES) -> np.ndarray:
    """Read an IDX file into a writable array in native byte order.

    Layout: bytes 0-1 are zero, byte 2 the type code (0x08 ubyte, 0x09 byte,
    0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64), byte 3 the number of
    dimensions d; then d big-endian uint32 sizes; then prod(sizes) big-endian
    values. A gzip file (magic ``1f 8b``) is decompressed as a stream, whatever
    its name.

    Bounded: the payload the header declares, prod(sizes) x item size bytes,
    must not exceed ``max_bytes`` (default 1 GiB) nor, for a gzip file of n
    bytes, 1032 n (the most deflate can expand); then exactly that many bytes
    are read, in 1 MiB chunks, and one byte more is asked for: a file that
    holds more (a gzip bomb behind a small header) is refused there, having
    inflated at most the declared size plus one chunk. Memory never exceeds
    the declared payload (plus one chunk) before the array is returned.

    Raises :class:`DataError`, naming the file, on a bad magic, an unknown type,
    a payload above the limits, a file shorter or longer than its header says,
    a corrupt gzip or deflate stream, or a read error.

    >>> read_idx("mnist/train-labels-idx1-ubyte.gz")[:3]  # doctest: +SKIP
    array([5, 0, 4], dtype=uint8)
    """
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 0:
        raise ValueError(f"max_bytes={max_bytes!r} is not valid; expected a non-negative int (bytes)")
    path = Path(path)
    gz = False
    try:
        with open(path, "rb") as raw:
            size = os.fstat(raw.fileno()).st_size
            gz = raw.read(2) == b"\x1f\x8b"
            raw.seek(0)
            if not gz:
                return _read_idx_stream(raw, path, size, None, max_bytes)
            with gzip.GzipFile(fileobj=raw, mode="rb") as stream:
                return _read_idx_stream(cast(BinaryIO, stream), path, None, size, max_bytes)
    except DataError:
        raise
    except (OSError, EOFError, zlib.error) as e:
        if gz:
            raise DataError(f"{path} is a corrupt or truncated gzip file ({e}); delete it and get it again") from e
        raise DataError(f"cannot read IDX file {path}: {e}; check the path (an IDX file, raw or .gz)") from e


def _read_idx_stream(
    stream: BinaryIO, path: Path, raw_size: int | None, gz_size: int | None, max_bytes: int
) -> np.ndarray:
    """Parse an IDX stream; ``raw_size``: the file size of a plain file, ``gz_size``: that of a gzip."""
    head = _read_up_to(stream, 4)
    if len(head) < 4 or head[0] != 0 or head[1] != 0:
        raise DataError(
            f"{path} is not an IDX file: expected the magic bytes 00 00 <type> <ndim>, "
            f"found {head.hex(' ') or 'an empty file'}; delete it and get it again"
        )
    code, ndim = head[2], head[3]
    if code not in IDX_DTYPES:
        raise DataError(
            f"{path}: unknown IDX type code 0x{code:02x}; expected one of "
            f"{', '.join(f'0x{c:02x}' for c in IDX_DTYPES)}. The file is corrupt or not an IDX file: delete it "
            "and get it again"
        )
    sizes = _read_up_to(stream, 4 * ndim)
    if ndim == 0 or len(sizes) < 4 * ndim:
        raise DataError(
            f"{path}: IDX header claims {ndim} dimensions but the file is too short or has none; the file is "
            "truncated or not an IDX file: delete it and get it again"
        )
    dims = struct.unpack(f">{ndim}I", sizes)
    dtype = np.dtype(IDX_DTYPES[code])
    header = 4 + 4 * ndim
    payload = math.prod(dims) * dtype.itemsize
    expected = header + payload
    described = f"header says shape {dims} of {dtype.name} ({expected} bytes with the header)"
    if payload > max_bytes:
        raise DataError(
            f"{path}: {described}, more than the limit of {max_bytes} bytes for the values; "
            "refusing to read it. If the file is genuine, pass a larger max_bytes"
        )
    if gz_size is not None and expected > _DEFLATE_MAX_RATIO * gz_size:
        raise DataError(
            f"{path}: {described}, but a gzip file of {gz_size} bytes can hold at most "
            f"{_DEFLATE_MAX_RATIO * gz_size}; the file is truncated or forged. Delete it and get it again"
        )
    if raw_size is not None and raw_size != expected:
        what = "truncated" if raw_size < expected else "longer than its header says"
        raise DataError(f"{path} is {what}: {described}, found {raw_size} bytes; delete it and get it again")
    buf = bytearray()
    while len(buf) < payload:
        chunk = stream.read(min(_CHUNK, payload - len(buf)))
        if not chunk:
            raise DataError(
                f"{path} is truncated: {described}, found {header + len(buf)} bytes; delete it and get it again"
            )
        buf += chunk
    if stream.read(1):
        raise DataError(
            f"{path} is longer than its header says: {described}, found more bytes after them "
            "(reading stopped there); delete it and get it again"
        )
    arr = np.frombuffer(buf, dtype=dtype).reshape(dims)
    return arr if dtype.isnative else arr.astype(dtype.newbyteorder("="))
