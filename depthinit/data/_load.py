"""``load_dataset``: find the files, verify them, decode (or read the cache), preprocess.

Chapter: "E1: the 54-layer MLP on CIFAR-10", "E2: the MLP on MNIST", "Reproducibility".
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from . import _download
from ._cache import cache_key, cache_path, clean_cache_dir, load_cached, save_cached
from ._checksums import file_digest, tree_digest, verify_file
from ._cifar_binary import (
    CIFAR_META,
    CIFAR_TEST_BATCH,
    CIFAR_TRAIN_BATCHES,
    read_cifar_binary,
)
from ._dataset import Dataset
from ._device import usable_device
from ._errors import DataError
from ._idx import read_idx
from ._image_folder import image_folder_files, read_image_folder
from ._preprocess import channel_stats, to_float
from ._raw import RawData
from ._registry import MNIST_FILES, PREPROCESS, DatasetInfo, dataset_info

log = logging.getLogger("depthinit.data")


def default_root() -> Path:
    """The data root when none is given: ``$DEPTHINIT_DATA``, else ``~/.cache/depthinit/data``."""
    env = os.environ.get("DEPTHINIT_DATA")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "depthinit" / "data"


def default_cache_dir() -> Path:
    """The decoded-array cache when none is given: ``$DEPTHINIT_CACHE``, else ``~/.cache/depthinit/cache``."""
    env = os.environ.get("DEPTHINIT_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "depthinit" / "cache"


@dataclass(frozen=True)
class Source:
    """Where a data set was found: ``kind`` ("idx", "cifar-binary", "image-folder"),
    the ``path`` the reader opens, the ``files`` to digest (display name -> path),
    a one-line ``description``, and for folders of images a ``tree`` name."""

    kind: str
    path: Path
    files: dict[str, Path]
    description: str
    tree: str | None = None


def _find_mnist(root: Path) -> Source | None:
    for folder in (root / "mnist", root):
        files: dict[str, Path] = {}
        for base in MNIST_FILES.values():
            for candidate in (folder / f"{base}.gz", folder / base):
                if candidate.is_file():
                    files[candidate.name] = candidate
                    break
        if len(files) == len(MNIST_FILES):
            return Source("idx", folder, files, "mnist IDX")
    return None


def _mnist_missing(root: Path) -> str:
    names = ", ".join(f"{b}(.gz)" for b in MNIST_FILES.values())
    return f"looked for {names} in {root / 'mnist'} and in {root}"


_CIFAR_BINARY_FILES = (*CIFAR_TRAIN_BATCHES, CIFAR_TEST_BATCH, CIFAR_META)


def _find_cifar10(root: Path) -> Source | None:
    for folder in (root, root / "cifar10"):
        tar = folder / "cifar-10-binary.tar.gz"
        if tar.is_file():
            return Source("cifar-binary", tar, {tar.name: tar}, "cifar-10-binary.tar.gz")
        bins = folder / "cifar-10-batches-bin"
        if (bins / CIFAR_TRAIN_BATCHES[0]).is_file():
            files = {f"{bins.name}/{n}": bins / n for n in _CIFAR_BINARY_FILES if (bins / n).is_file()}
            return Source("cifar-binary", bins, files, "cifar-10-batches-bin/ (CIFAR-10 binary, extracted)")
    for zip_name in ("cifar10-jpeg.zip", "cifar10.zip"):
        z = root / zip_name
        if z.is_file():
            note = "image-folder zip, JPEG q75 re-encoding" if zip_name == "cifar10-jpeg.zip" else "image-folder zip"
            return Source("image-folder", z, {z.name: z}, f"{zip_name} ({note})")
    folder = root / "cifar10"
    if (folder / "train").is_dir() and (folder / "test").is_dir():
        return Source("image-folder", folder, {}, "cifar10/ (image folder)", tree="cifar10/")
    return None


def _cifar10_missing(root: Path) -> str:
    return (
        f"looked for cifar-10-binary.tar.gz and cifar-10-batches-bin/ in {root} and {root / 'cifar10'}, "
        f"then for cifar10-jpeg.zip or cifar10.zip in {root}, then for the image folder "
        f"{root / 'cifar10'}/train/<class>/ and test/<class>/"
    )


_FINDERS = {"mnist": (_find_mnist, _mnist_missing), "cifar10": (_find_cifar10, _cifar10_missing)}


def find_source(name: str, root: str | os.PathLike[str] | None = None) -> Source | None:
    """Where ``load_dataset(name, root=root)`` would read from, or None when nothing is there.

    MNIST: the four IDX files (``.gz`` or raw) in ``<root>/mnist/`` or ``<root>/``.
    CIFAR-10, first found wins: ``cifar-10-binary.tar.gz``, then
    ``cifar-10-batches-bin/`` (each in ``<root>/`` then ``<root>/cifar10/``),
    then ``<root>/cifar10-jpeg.zip`` or ``cifar10.zip`` (image-folder zip), then
    the image folder ``<root>/cifar10/{train,test}/<class>/``.
    """
    info = dataset_info(name)
    return _FINDERS[info.name][0](Path(root).expanduser() if root is not None else default_root())


def _missing_error(info: DatasetInfo, root: Path) -> DataError:
    looked = _FINDERS[info.name][1](root)
    where = "" if root.is_dir() else f" (the data root {root} does not exist)"
    return DataError(
        f"{info.name} data not found{where}: {looked}. Get them with "
        f"load_dataset({info.name!r}, root=..., download=True) on a machine with internet, or put "
        f"these files in place:\n{_download.manual_instructions(info, root)}\n"
        "The data root is the root= argument, else the DEPTHINIT_DATA environment variable, "
        "else ~/.cache/depthinit/data."
    )


def _digests(source: Source) -> dict[str, str]:
    if source.tree is not None:
        return {source.tree: tree_digest(source.path, image_folder_files(source.path))}
    return {name: file_digest(path) for name, path in source.files.items()}


def _decode_mnist(source: Source, info: DatasetInfo) -> RawData:
    arrays = {}
    for key, base in MNIST_FILES.items():
        path = next(p for n, p in source.files.items() if n in (base, base + ".gz"))
        arrays[key] = read_idx(path)
    for split in ("train", "test"):
        x, y = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if x.dtype != np.uint8 or x.ndim != 3 or y.ndim != 1 or len(x) != len(y):
            raise DataError(
                f"{source.path}: MNIST {split} images must be uint8 [N, 28, 28] and labels [N]; "
                f"got images {x.dtype} {x.shape} and labels {y.dtype} {y.shape}"
            )
    return RawData(
        x_train=arrays["train_images"][:, None],
        y_train=arrays["train_labels"].astype(np.int64),
        x_test=arrays["test_images"][:, None],
        y_test=arrays["test_labels"].astype(np.int64),
        classes=info.classes,
    )


def decode(source: Source, info: DatasetInfo) -> RawData:
    """Decode ``source`` with the matching reader and check it against ``info`` (classes, shape)."""
    if source.kind == "idx":
        raw = _decode_mnist(source, info)
    elif source.kind == "cifar-binary":
        raw = read_cifar_binary(source.path)
    else:
        c, h, w = info.input_shape
        raw = read_image_folder(source.path, mode="L" if c == 1 else "RGB", image_size=(w, h))
    raw.check(str(source.path))
    if raw.classes != info.classes:
        raise DataError(
            f"{source.path}: expected the {info.num_classes} {info.name} classes {list(info.classes)} "
            f"(in this order), found {list(raw.classes)}"
        )
    if raw.x_train.shape[1:] != info.input_shape:
        raise DataError(
            f"{source.path}: expected {info.name} images of shape {info.input_shape} (C, H, W), "
            f"found {raw.x_train.shape[1:]}"
        )
    return raw


def load_dataset(
    name: str,
    *,
    root: str | os.PathLike[str] | None = None,
    preprocess: str = "unit",
    device: str | torch.device = "cpu",
    download: bool = False,
    cache_dir: str | os.PathLike[str] | None = None,
    verify: bool = True,
    progress: bool = True,
) -> Dataset:
    """Load MNIST or CIFAR-10 as float32 tensors [N, C, H, W] on ``device``.

    Steps: find the files under the data root (``root``, else
    ``$DEPTHINIT_DATA``, else ``~/.cache/depthinit/data``; see
    :func:`find_source`), downloading the canonical archives first when
    ``download=True`` and nothing is found; take the sha256 of every file read
    and, with ``verify=True``, check files with a known name against the known
    digests; read the decoded uint8 arrays from ``cache_dir`` (else
    ``$DEPTHINIT_CACHE``, else ``~/.cache/depthinit/cache``) under a key made
    of those digests, or decode and cache them (atomically); then preprocess:

    - "unit": x = pixel / 255 in [0, 1] (the paper's choice);
    - "standardize": x = (pixel / 255 - mean_c) / std_c with the per-channel
      mean and population std of the full training split.

    Before anything is read, the arguments are checked: ValueError for an
    unknown ``name``/``preprocess`` and for a ``device`` that cannot hold the
    data (an invalid string, ``"meta"``, ``"cuda"`` without CUDA, ``"mps"``
    without MPS; see :func:`usable_device`). Temporary files that a killed
    process left in the cache folder are removed (see
    :func:`clean_stale_temp_files`). Raises :class:`DataError` for missing,
    corrupt, oversized or mismatching files, and when the cache disk is full
    (naming the folder; a read-only cache folder only logs a warning).

    >>> ds = load_dataset("mnist", root="../shared/data")  # doctest: +SKIP
    >>> ds.x_train.shape, ds.y_train[:3].tolist()  # doctest: +SKIP
    (torch.Size([60000, 1, 28, 28]), [5, 0, 4])
    """
    info = dataset_info(name)
    if preprocess not in PREPROCESS:
        raise ValueError(f"preprocess={preprocess!r} is not valid; expected one of {', '.join(map(repr, PREPROCESS))}")
    device = usable_device(device)  # before anything is read: no decode for an unusable device
    for label, value in (("root", root), ("cache_dir", cache_dir)):
        if isinstance(value, (str, os.PathLike)) and not os.fspath(value):
            raise ValueError(
                f"{label}='' is empty (it would mean the current folder); pass a folder, or None for the default"
            )
    root = Path(root).expanduser() if root is not None else default_root()
    cache_folder = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    clean_cache_dir(cache_folder)
    source = find_source(info.name, root)
    if source is None:
        if not download:
            raise _missing_error(info, root)
        _download.download(info.name, root, progress=progress)
        source = find_source(info.name, root)
        if source is None:  # pragma: no cover - download() raises when it cannot place the files
            raise _missing_error(info, root)
    digests = _digests(source)
    if verify:
        for label, path in source.files.items():
            verify_file(path, digests[label])
    cache = cache_path(cache_folder, info.name, cache_key(info.name, digests))
    raw = load_cached(cache)
    if raw is None:
        raw = decode(source, info)
        if save_cached(cache, raw):
            log.info("cached decoded %s in %s", info.name, cache)
    mean = std = None
    if preprocess == "standardize":
        mean, std = channel_stats(raw.x_train)
        flat = [c for c, s in enumerate(std) if not s > 0]
        if flat:
            raise DataError(
                f"{source.path}: channel {flat[0]} of the {info.name} training images is constant (std 0), so "
                "preprocess='standardize' would divide by zero and give NaN inputs; use preprocess='unit', or check "
                "the files (a constant channel is not an image data set)"
            )
    return Dataset(
        name=info.name,
        x_train=to_float(raw.x_train, device=device, mean=mean, std=std),
        y_train=torch.from_numpy(raw.y_train).to(device),
        x_test=to_float(raw.x_test, device=device, mean=mean, std=std),
        y_test=torch.from_numpy(raw.y_test).to(device),
        classes=list(raw.classes),
        preprocess=preprocess,
        mean=mean,
        std=std,
        source=source.description,
        sha256=digests,
    )
