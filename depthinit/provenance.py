"""What a build ran on: hardware, package versions, the git commit, the data and its digests.

Chapter: "Reproducibility", which prints these records for the build it is part of.
Every function reads the machine and returns plain Python values (str, int,
float, bool, None, lists and dicts), ready to glue, tabulate or store as JSON;
nothing is changed and nothing is downloaded.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path
from typing import Any

#: The distributions whose versions the book reports, in display order.
BOOK_PACKAGES: tuple[str, ...] = (
    "torch",
    "numpy",
    "scipy",
    "sympy",
    "pandas",
    "matplotlib",
    "seaborn",
    "papermill",
    "jupyter-book",
    "myst-nb",
    "sphinx",
    "depthinit",
)

#: The data sets the experiments read.
DATASET_NAMES: tuple[str, ...] = ("mnist", "cifar10")


def package_versions(names: Iterable[str] = BOOK_PACKAGES) -> dict[str, str | None]:
    """Installed version of each distribution in ``names`` (None when not installed)."""
    versions: dict[str, str | None] = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def _ram_bytes() -> int | None:
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return None


def hardware() -> dict[str, Any]:
    """The machine: CPU model, logical and usable cores, RAM (GiB), torch threads, GPUs.

    ``usable_cores`` is the CPU affinity of this process (what a container allows),
    ``gpus`` a list of CUDA device names (empty without CUDA).
    """
    import torch

    usable: int | None
    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        usable = os.cpu_count()
    ram = _ram_bytes()
    gpus = (
        [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())] if torch.cuda.is_available() else []
    )
    return {
        "cpu": _cpu_model(),
        "logical_cores": os.cpu_count(),
        "usable_cores": usable,
        "ram_gib": round(ram / 2**30, 1) if ram else None,
        "torch_threads": torch.get_num_threads(),
        "gpus": gpus,
        "os": platform.platform(),
        "python": sys.version.split()[0],
    }


def git_commit(path: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """The checkout's commit: ``{"commit": full sha or None, "dirty": bool or None}``.

    ``dirty`` is True when tracked files differ from the commit. Both are None
    outside a git checkout or without git.
    """
    cwd = Path(path) if path is not None else Path(__file__).resolve().parent.parent

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=30, check=False)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if commit is None:
        return {"commit": None, "dirty": None}
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": None if status is None else bool(status)}


def data_provenance(
    root: str | os.PathLike[str] | None = None, names: Iterable[str] = DATASET_NAMES
) -> list[dict[str, Any]]:
    """One record per file of each data set found under ``root`` (default: the data root).

    Each record: ``dataset``, ``kind`` (the reader: idx, cifar-binary, image-folder),
    ``description`` (which copy it is), ``file`` (its path relative to the data root when inside it), ``bytes``,
    ``sha256`` and ``verified``: True when the digest matches the known value
    (``depthinit.data.KNOWN_DIGESTS``), False when it does not, None when the
    file name has no known digest. A data set that is not there gives one record
    with ``file`` None and ``kind`` "missing". An unpacked image folder gives one record
    whose ``sha256`` is :func:`depthinit.data.tree_digest` over its files.
    """
    from .data import (
        KNOWN_DIGESTS,
        DataError,
        default_root,
        file_digest,
        find_source,
        tree_digest,
        verify_file,
    )
    from .data._image_folder import image_folder_files

    base = Path(root).expanduser() if root is not None else default_root()
    records: list[dict[str, Any]] = []
    for name in names:
        source = find_source(name, base)
        if source is None:
            records.append(
                {
                    "dataset": name,
                    "kind": "missing",
                    "description": None,
                    "file": None,
                    "bytes": None,
                    "sha256": None,
                    "verified": None,
                }
            )
            continue
        common = {"dataset": name, "kind": source.kind, "description": source.description}
        if source.tree is not None:  # an unpacked image folder: one digest over all its files
            files = image_folder_files(source.path)
            records.append(
                {
                    **common,
                    "file": source.tree,
                    "bytes": sum(p.stat().st_size for p in files),
                    "sha256": tree_digest(source.path, files),
                    "verified": None,
                }
            )
            continue
        for path in sorted(source.files.values()):
            digest = file_digest(path)
            if path.name not in KNOWN_DIGESTS:
                verified = None
            else:
                try:
                    verify_file(path, digest)
                    verified = True
                except DataError:
                    verified = False
            try:
                shown = path.resolve().relative_to(base.resolve()).as_posix()
            except ValueError:
                shown = str(path)
            records.append(
                {**common, "file": shown, "bytes": path.stat().st_size, "sha256": digest, "verified": verified}
            )
    return records
