"""Download with checksums from a list of mirrors, and safe tar extraction.

Chapter: "Reproducibility" (getting the data on a machine with internet).
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import urllib.error
import urllib.request
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any, BinaryIO

from ._errors import DataError
from ._registry import DATASETS, DatasetInfo, dataset_info
from ._tempfiles import atomic_write, clean_stale_temp_files, write_error

log = logging.getLogger("depthinit.data")

_CHUNK = 1 << 16


class _NoBar:
    """Stands in for a tqdm bar when none is shown."""

    def update(self, n: int) -> None:
        return None


def _progress_bar(total: int | None, desc: str, progress: bool) -> AbstractContextManager[Any]:
    """A tqdm byte counter (shown on a terminal only), or a silent stand-in.

    tqdm is imported here, not at import time: the core install leaves it out.
    Without it the download goes on without a bar, and one log line says how to get it.
    """
    if not progress:
        return nullcontext(_NoBar())
    try:
        from tqdm import tqdm
    except ImportError:
        log.info("no progress bar: tqdm is not installed (pip install 'depthinit[experiments]')")
        return nullcontext(_NoBar())
    bar: AbstractContextManager[Any] = tqdm(
        total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=desc, disable=None, leave=False
    )
    return bar


def _fetch_once(url: str, out: BinaryIO, *, desc: str, progress: bool, timeout: float) -> tuple[str, str]:
    """Stream ``url`` into ``out``; return its md5 and sha256."""
    md5 = hashlib.md5(usedforsecurity=False)
    sha = hashlib.sha256()
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        length = resp.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        with _progress_bar(total, desc, progress) as bar:
            while chunk := resp.read(_CHUNK):
                out.write(chunk)
                md5.update(chunk)
                sha.update(chunk)
                bar.update(len(chunk))
    return md5.hexdigest(), sha.hexdigest()


class _ChecksumMismatch(Exception):
    pass


def _legacy_download_names() -> list[str]:
    """Files whose temporary downloads from earlier releases (``.<name>.<8 chars>.part``) are cleaned."""
    return [f.name for info in DATASETS.values() for f in info.files]


def fetch(
    urls: list[str] | tuple[str, ...],
    dest: str | os.PathLike[str],
    *,
    md5: str | None = None,
    sha256: str | None = None,
    progress: bool = True,
    timeout: float = 60.0,
) -> Path:
    """Download one file to ``dest`` from the first of ``urls`` that works and has the right digest.

    Each try streams into a temporary file beside ``dest``
    (``.<name>.part-<pid>-<host>-<token>.tmp``) and renames it into place only
    after the md5/sha256 (when given) match; a file with the wrong digest is
    deleted (and logged) and the next URL is tried. The temporary file is
    removed on every error path, and those left in the folder by a killed
    process are removed first (:func:`clean_stale_temp_files`). Raises
    :class:`DataError` listing every URL and why it failed, and at once when the
    disk is full (naming the folder) or the folder is not writable.
    """
    dest = Path(dest)
    failures: list[str] = []
    hint = "choose another data root (root= or $DEPTHINIT_DATA)"
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise write_error(e, dest, "the download", hint) from e
    clean_stale_temp_files(dest.parent, legacy_names=_legacy_download_names())
    for url in urls:
        try:
            with atomic_write(dest, what="the download", hint=hint) as out:
                got_md5, got_sha = _fetch_once(url, out, desc=dest.name, progress=progress, timeout=timeout)
                bad = [
                    f"{alg} expected {want}, got {got}"
                    for alg, want, got in (("md5", md5, got_md5), ("sha256", sha256, got_sha))
                    if want is not None and want != got
                ]
                if bad:
                    raise _ChecksumMismatch(
                        f"{url}: checksum mismatch ({'; '.join(bad)}); the downloaded file was deleted"
                    )
            return dest
        except DataError:
            raise
        except _ChecksumMismatch as e:
            failures.append(str(e))
            log.warning("%s", e)
        except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError) as e:
            failures.append(f"{url}: {e}")
            log.info("download of %s failed: %s", url, e)
    raise DataError(
        f"could not download {dest.name}:\n  " + "\n  ".join(failures or ["no URL given: pass at least one URL"])
    )


def manual_instructions(info: DatasetInfo, root: Path) -> str:
    """Which files to put in which folder, for a machine without internet."""
    lines = [f"  {root / f.folder / f.name}   (from {info.mirrors[0]}{f.name}, md5 {f.md5})" for f in info.files]
    return "\n".join(lines)


def download(
    name: str,
    root: str | os.PathLike[str] | None = None,
    *,
    progress: bool = True,
    mirrors: list[str] | tuple[str, ...] | None = None,
    timeout: float = 60.0,
) -> list[Path]:
    """Fetch the canonical files of data set ``name`` into ``root`` and return their paths.

    MNIST: the four IDX ``.gz`` files into ``<root>/mnist/``; CIFAR-10: the
    binary archive ``cifar-10-binary.tar.gz`` into ``<root>/``. Files already
    present with the published md5 are kept. Each file is tried from every base
    URL in ``mirrors`` (default: ``DATASETS[name].mirrors``) in turn, with a
    tqdm progress bar (shown only on a terminal), verified against its
    published md5, and moved into place atomically. When every mirror fails
    (e.g. offline), raises :class:`DataError` listing exactly which files to
    put in which folder. ``root`` None: ``$DEPTHINIT_DATA`` or
    ``~/.cache/depthinit/data``.
    """
    from ._checksums import file_digest
    from ._load import default_root

    info = dataset_info(name)
    root = Path(root).expanduser() if root is not None else default_root()
    bases = tuple(mirrors) if mirrors is not None else info.mirrors
    paths: list[Path] = []
    errors: list[str] = []
    for f in info.files:
        dest = root / f.folder / f.name
        if dest.is_file() and file_digest(dest, "md5") == f.md5:
            paths.append(dest)
            continue
        urls = [b if b.endswith(f.name) else b.rstrip("/") + "/" + f.name for b in bases]
        try:
            paths.append(fetch(urls, dest, md5=f.md5, progress=progress, timeout=timeout))
        except DataError as e:
            errors.append(str(e))
    if errors:
        raise DataError(
            f"could not download {info.name}:\n"
            + "\n".join(errors)
            + "\nOn a machine without internet, get these files elsewhere and put them here:\n"
            + manual_instructions(info, root)
        )
    return paths
