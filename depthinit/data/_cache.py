"""The decoded-array cache: one uint8 ``.npz`` per data set and source, written atomically.

Chapter: "Reproducibility".
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import zipfile
from pathlib import Path
from typing import BinaryIO

import numpy as np

from ._errors import DataError
from ._raw import RawData
from ._tempfiles import atomic_write, clean_stale_temp_files, disk_full, write_error

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
                x_train=z["x_train"],
                y_train=z["y_train"],
                x_test=z["x_test"],
                y_test=z["y_test"],
                classes=tuple(str(c) for c in z["classes"]),
            )
        return raw.check(str(path))
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, DataError) as e:
        log.warning("ignoring unreadable cache file %s (%s); decoding again", path, e)
        return None


def _write_npz(f: BinaryIO, raw: RawData) -> None:
    np.savez(
        f,
        x_train=raw.x_train,
        y_train=raw.y_train,
        x_test=raw.x_test,
        y_test=raw.y_test,
        classes=np.array(raw.classes, dtype=str),
    )


_CACHE_HINT = "set cache_dir= (or $DEPTHINIT_CACHE) to a folder on another disk"


_LEGACY_TEMP = re.compile(r"^\.(?P<stem>[a-z0-9]+-[0-9a-f]{24})\.[a-z0-9_]{8}\.tmp$")


def _legacy_stems(cache_dir: Path) -> list[str]:
    """Cache names whose temporary files from earlier releases (``.<name>-<key>.<8 chars>.tmp``,
    from ``tempfile.mkstemp``) lie in ``cache_dir``."""
    try:
        names = os.listdir(cache_dir)
    except OSError:
        return []
    return sorted({m["stem"] for n in names if (m := _LEGACY_TEMP.match(n))})


def clean_cache_dir(cache_dir: Path) -> list[Path]:
    """Remove the stale temporary files of killed cache writers in ``cache_dir`` (see
    :func:`~depthinit.data.clean_stale_temp_files`); return the removed paths."""
    return clean_stale_temp_files(cache_dir, legacy_names=_legacy_stems(cache_dir))


def save_cached(path: Path, raw: RawData) -> bool:
    """Write ``raw`` to ``path`` atomically (temporary file, then ``os.replace``).

    Returns True when written, False (with a warning) when the cache folder is
    not writable, e.g. read-only: the data are then decoded again next time.
    A full disk raises :class:`DataError` naming the folder. The temporary
    file is removed on every error path.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(path, what="the data cache", hint=_CACHE_HINT) as f:
            _write_npz(f, raw)
        return True
    except DataError as e:
        if isinstance(e.__cause__, OSError) and disk_full(e.__cause__):
            raise
        log.warning("cannot write the data cache %s (%s); data will be decoded again next time", path, e)
        return False
    except OSError as e:
        if disk_full(e):
            raise write_error(e, path, "the data cache", _CACHE_HINT) from e
        log.warning("cannot write the data cache %s (%s); data will be decoded again next time", path, e)
        return False
