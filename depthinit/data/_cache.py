"""The decoded-array cache: one uint8 ``.npz`` per data set and source, written atomically.

Chapter: "Reproducibility".
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from ._errors import DataError
from ._raw import RawData

log = logging.getLogger("depthinit.data")

# Bump when the decoded layout changes, so stale caches are ignored.
CACHE_VERSION = 1


def cache_key(name: str, sha256: dict[str, str]) -> str:
    """sha256 over the cache version, the data set name and the sorted ``file:sha256`` pairs."""
    text = "\n".join([f"depthinit-data-cache v{CACHE_VERSION}", name, *(f"{k}:{v}" for k, v in sorted(sha256.items()))])
    return hashlib.sha256(text.encode()).hexdigest()


def cache_path(cache_dir: Path, name: str, key: str) -> Path:
    return cache_dir / f"{name}-{key[:24]}.npz"


def load_cached(path: Path) -> RawData | None:
    """The cached arrays, or None when the file is absent or unreadable (then it is decoded again)."""
    if not path.is_file():
        return None
    try:
        with open(path, "rb") as f, np.load(f, allow_pickle=False) as z:
            raw = RawData(
                x_train=z["x_train"], y_train=z["y_train"], x_test=z["x_test"], y_test=z["y_test"],
                classes=tuple(str(c) for c in z["classes"]),
            )
        return raw.check(str(path))
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, DataError) as e:
        log.warning("ignoring unreadable cache file %s (%s); decoding again", path, e)
        return None


def save_cached(path: Path, raw: RawData) -> bool:
    """Write ``raw`` to ``path`` via a temporary file and ``os.replace`` (atomic). False if not writable."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp")
    except OSError as e:
        log.warning("cannot write the data cache in %s (%s); data will be decoded again next time", path.parent, e)
        return False
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(
                f, x_train=raw.x_train, y_train=raw.y_train, x_test=raw.x_test, y_test=raw.y_test,
                classes=np.array(raw.classes, dtype=str),
            )
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
        return True
    except OSError as e:
        log.warning("cannot write the data cache %s (%s)", path, e)
        Path(tmp).unlink(missing_ok=True)
        return False
