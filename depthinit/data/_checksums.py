"""File digests and their verification against the known values.

Chapter: "Reproducibility" (every result records the sha256 of the data it read).
"""

from __future__ import annotations

import gzip
import hashlib
import os
import zlib
from pathlib import Path

from ._errors import DataError
from ._registry import KNOWN_DIGESTS

_CHUNK = 1 << 20


def file_digest(path: str | os.PathLike[str], algorithm: str = "sha256") -> str:
    """Hex digest of a file's bytes, read in 1 MiB chunks (``algorithm``: any hashlib name).

    Raises :class:`DataError` naming the file when it cannot be read.
    """
    h = hashlib.new(algorithm, usedforsecurity=False)
    try:
        with open(path, "rb") as f:
            while chunk := f.read(_CHUNK):
                h.update(chunk)
    except OSError as e:
        raise DataError(f"cannot read {path} to take its {algorithm} digest ({e})") from e
    return h.hexdigest()


def tree_digest(folder: str | os.PathLike[str], files: list[Path]) -> str:
    """sha256 over the sorted ``relative/path:sha256`` lines of ``files`` inside ``folder``.

    Identifies an unpacked image folder by one digest: two folders get the same
    digest exactly when they hold the same files with the same bytes.
    """
    folder = Path(folder)
    lines = sorted(f"{p.relative_to(folder).as_posix()}:{file_digest(p)}" for p in files)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def _gzip_content_sha256(path: Path) -> str | None:
    h = hashlib.sha256()
    try:
        with gzip.open(path, "rb") as f:
            while chunk := f.read(_CHUNK):
                h.update(chunk)
    except (OSError, EOFError, zlib.error):
        return None
    return h.hexdigest()


def verify_file(path: str | os.PathLike[str], sha256: str) -> None:
    """Check a file whose name is in the known table; do nothing for unknown names.

    Passes when ``sha256`` (the file's digest, already computed) is a known
    sha256, or the file's md5 is the upstream md5, or the sha256 of the
    decompressed bytes of a gzip file is the canonical one. Otherwise raises
    :class:`DataError` naming the file, the expected and actual digests and what to do.
    """
    path = Path(path)
    known = KNOWN_DIGESTS.get(path.name)
    if known is None or sha256 in known.sha256:
        return
    md5 = None
    if known.md5 is not None:
        md5 = file_digest(path, "md5")
        if md5 == known.md5:
            return
    if known.content_sha256 is not None and _gzip_content_sha256(path) == known.content_sha256:
        return
    expected = [f"sha256 {d}" for d in sorted(known.sha256)]
    if known.md5 is not None:
        expected.append(f"md5 {known.md5}")
    if known.content_sha256 is not None:
        expected.append(f"sha256 of the decompressed bytes {known.content_sha256}")
    actual = f"sha256 {sha256}" + (f", md5 {md5}" if md5 is not None else "")
    raise DataError(
        f"checksum mismatch for {path}: expected {' or '.join(expected)}; got {actual}. "
        "The file is corrupt, truncated or a different version. Delete it and get it again "
        "(load_dataset(..., download=True) or depthinit.data.download), or pass verify=False "
        "if you deliberately use a modified copy."
    )
