"""Temporary files beside their destination: written atomically, removed on every error path,
named after their writer so that those of a killed process are cleaned at the next start.

A temporary file for ``dest`` is ``.<dest name>.part-<pid>-<host>-<token>.tmp`` in the same
folder: ``pid`` is the writing process, ``host`` the first 8 hex digits of the sha256 of its
host name, ``token`` 8 random hex digits. It becomes ``dest`` by ``os.replace`` only when it
is complete. Chapter: "Reproducibility" (what is atomic).
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import re
import secrets
import socket
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from ._errors import DataError

log = logging.getLogger("depthinit.data")

#: A temporary file older than this (seconds since its last write) is stale whoever wrote it:
#: no cache write or download of this library takes a day without writing a byte.
STALE_TEMP_AGE_S = 24 * 3600.0

_TEMP_RE = re.compile(r"^\.(?P<dest>.+)\.part-(?P<pid>\d+)-(?P<host>[0-9a-f]{8})-[0-9a-f]{8}\.tmp$")
# Names earlier releases gave their temporary files (tempfile.mkstemp: 8 random characters);
# they carry no pid, so only their age makes them stale.
_LEGACY_CHARS = r"[a-z0-9_]{8}"
_DISK_FULL = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}


def _host_tag() -> str:
    return hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]


def temp_path(dest: Path) -> Path:
    """The name of a new temporary file for ``dest`` (see the module docstring)."""
    return dest.with_name(f".{dest.name}.part-{os.getpid()}-{_host_tag()}-{secrets.token_hex(4)}.tmp")


def _pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this host (True when it cannot be told)."""
    if pid <= 0:
        return False
    if os.name == "nt":  # os.kill(pid, 0) would terminate the process there
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: it exists, owned by another user
        return True
    return True


def disk_full(e: BaseException) -> bool:
    """Whether ``e`` is an ``OSError`` saying that the disk (or the quota) is full."""
    return isinstance(e, OSError) and e.errno in _DISK_FULL


def write_error(e: OSError, path: Path, what: str, hint: str) -> DataError:
    """A :class:`DataError` for a failed write of ``what`` to ``path``; a full disk is named as such."""
    if disk_full(e):
        return DataError(
            f"no space left on the disk holding {path.parent} while writing {what} {path} "
            f"({e.strerror or e}); free space there or {hint}"
        )
    return DataError(f"cannot write {what} {path} ({e}); {hint}")


@contextmanager
def atomic_write(dest: str | os.PathLike[str], *, what: str, hint: str) -> Iterator[BinaryIO]:
    """Write ``dest`` atomically: yield a binary file open on a temporary file beside it.

    When the block ends normally the file is closed and renamed onto ``dest``
    (``os.replace``, atomic on one file system), with the permissions a new file
    gets under the umask. When anything goes wrong (an exception in the block,
    a full disk at write, close or rename, KeyboardInterrupt) the temporary file
    is removed and nothing changes at ``dest``. An ``OSError`` of a full disk
    (ENOSPC, EDQUOT) becomes a :class:`DataError` that names the folder; so does
    any failure to create, close or rename the file. Other exceptions from the
    block pass through unchanged. ``what`` names the file in messages ("the data
    cache"), ``hint`` says what to do ("set cache_dir= ...").
    """
    dest = Path(dest)
    tmp = temp_path(dest)
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    except OSError as e:
        raise write_error(e, dest, what, hint) from e
    stage = "write"
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            stage = "close"
        stage = "rename"
        os.replace(tmp, dest)
    except BaseException as e:
        try:
            tmp.unlink(missing_ok=True)
        except OSError as unlink_error:  # pragma: no cover - the folder vanished or turned read-only
            log.warning("could not remove the temporary file %s (%s)", tmp, unlink_error)
        if isinstance(e, OSError) and (stage != "write" or disk_full(e)):
            raise write_error(e, dest, what, hint) from e
        raise


def _legacy_patterns(names: Iterable[str]) -> list[re.Pattern[str]]:
    return [re.compile(rf"^\.{re.escape(n)}\.{_LEGACY_CHARS}\.(?:tmp|part)$") for n in names]


def clean_stale_temp_files(
    folder: str | os.PathLike[str],
    *,
    max_age_s: float = STALE_TEMP_AGE_S,
    legacy_names: Iterable[str] = (),
) -> list[Path]:
    """Remove the temporary files in ``folder`` whose writer is gone; return the removed paths.

    A file named ``.<name>.part-<pid>-<host>-<token>.tmp`` is stale when it was
    written on this host (same host tag) by a process that no longer exists
    (``os.kill(pid, 0)`` raises ProcessLookupError), or when it was last modified
    more than ``max_age_s`` seconds ago (whoever wrote it: a pid may have been
    reused, or the writer ran on another host of a shared file system). A file
    of a live writer that is younger is kept. ``legacy_names``: destination
    names whose temporary files from earlier releases (``.<name>.<8 chars>.tmp``
    or ``.part``) are removed when older than ``max_age_s``. Nothing else is
    touched; a file that vanishes or cannot be removed meanwhile is skipped.
    """
    folder = Path(folder)
    legacy = _legacy_patterns(legacy_names)
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    host, now = _host_tag(), time.time()
    for entry in entries:
        match = _TEMP_RE.match(entry.name)
        if match is None and not any(p.match(entry.name) for p in legacy):
            continue
        try:
            if not entry.is_file(follow_symlinks=False):
                continue
            age = now - entry.stat(follow_symlinks=False).st_mtime
        except OSError:
            continue
        if age > max_age_s:
            reason = f"last written {age / 3600:.1f} h ago"
        elif match is not None and match["host"] == host and not _pid_alive(int(match["pid"])):
            reason = f"its writer, process {match['pid']}, is gone"
        else:
            continue
        try:
            os.unlink(entry.path)
        except OSError as e:
            log.warning("could not remove the stale temporary file %s (%s)", entry.path, e)
            continue
        log.info("removed the stale temporary file %s (%s)", entry.path, reason)
        removed.append(Path(entry.path))
    return removed
