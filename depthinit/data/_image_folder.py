"""Reader for image-folder data sets: ``train/<class>/<file>``, ``test/<class>/<file>``,
as a folder or a zip archive.

Chapter: "E1: the 54-layer MLP on CIFAR-10" (the offline CIFAR-10 is such a zip).
"""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Literal

import numpy as np

from ._errors import DataError
from ._raw import RawData

IMAGE_EXTENSIONS: tuple[str, ...] = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".ppm", ".pgm", ".tif", ".tiff")
SPLITS: tuple[str, ...] = ("train", "test")


def _is_hidden(parts: tuple[str, ...]) -> bool:
    return any(p.startswith((".", "__MACOSX")) for p in parts)


def _zip_listing(zf: zipfile.ZipFile, where: str) -> tuple[dict[str, list[tuple[str, str]]], set[str]]:
    """Per split the (class, member name) pairs, and the train class folders (empty ones too)."""
    entries: list[tuple[tuple[str, ...], str, str, str | None, bool]] = []
    for info in zf.infolist():
        parts = PurePosixPath(info.filename).parts
        if _is_hidden(parts):
            continue
        if info.is_dir():
            if len(parts) >= 2 and parts[-2] in SPLITS:
                entries.append((parts[:-2], parts[-2], parts[-1], None, True))
        elif len(parts) >= 3 and parts[-3] in SPLITS and parts[-1].lower().endswith(IMAGE_EXTENSIONS):
            entries.append((parts[:-3], parts[-3], parts[-2], info.filename, False))
    prefixes = {e[0] for e in entries if not e[4]}
    if not prefixes:
        raise DataError(
            f"{where} holds no images under train/<class>/ or test/<class>/ "
            f"(extensions {', '.join(IMAGE_EXTENSIONS)})"
        )
    if len(prefixes) > 1:
        shown = ", ".join(sorted("/".join(p) or "(top level)" for p in prefixes))
        raise DataError(f"{where} holds several train/test trees ({shown}); keep exactly one")
    prefix = prefixes.pop()
    listing: dict[str, list[tuple[str, str]]] = {s: [] for s in SPLITS}
    train_classes: set[str] = set()
    for pre, split, cls, name, is_dir in entries:
        if pre != prefix:
            continue
        if split == "train":
            train_classes.add(cls)
        if not is_dir:
            assert name is not None
            listing[split].append((cls, name))
    return listing, train_classes


def _dir_listing(root: Path) -> tuple[dict[str, list[tuple[str, str]]], set[str]]:
    listing: dict[str, list[tuple[str, str]]] = {s: [] for s in SPLITS}
    train_classes: set[str] = set()
    for split in SPLITS:
        split_dir = root / split
        if not split_dir.is_dir():
            raise DataError(f"{root} has no {split}/ folder; expected {root}/{split}/<class>/<image files>")
        for cls_dir in split_dir.iterdir():
            if not cls_dir.is_dir() or _is_hidden((cls_dir.name,)):
                continue
            if split == "train":
                train_classes.add(cls_dir.name)
            for f in cls_dir.iterdir():
                if f.is_file() and not _is_hidden((f.name,)) and f.name.lower().endswith(IMAGE_EXTENSIONS):
                    listing[split].append((cls_dir.name, str(f)))
    return listing, train_classes


def image_folder_files(path: str | os.PathLike) -> list[Path]:
    """The image files of an unpacked image folder (``train/`` and ``test/``), for digests."""
    root = Path(path)
    listing, _ = _dir_listing(root)
    return [Path(name) for split in SPLITS for _, name in listing[split]]


def _decode_all(
    items: list[tuple[int, str]],
    read: Callable[[str], bytes],
    mode: str,
    size: tuple[int, int] | None,
    where: str,
) -> tuple[np.ndarray, tuple[int, int]]:
    from PIL import Image, UnidentifiedImageError

    channels = 1 if mode == "L" else 3
    out: np.ndarray | None = None
    for i, (_, name) in enumerate(items):
        try:
            with Image.open(io.BytesIO(read(name))) as im:
                if size is None:
                    size = im.size
                if im.size != size:
                    raise DataError(
                        f"{where}: {name} is {im.size[0]}x{im.size[1]} but the first image is "
                        f"{size[0]}x{size[1]}; all images must have the same size"
                    )
                pixels = np.asarray(im.convert(mode), dtype=np.uint8)
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as e:
            if isinstance(e, DataError):
                raise
            raise DataError(f"{where}: cannot decode {name} ({e}); the file is corrupt or not an image") from e
        if out is None:
            out = np.empty((len(items), size[1], size[0], channels), dtype=np.uint8)
        out[i] = pixels.reshape(size[1], size[0], channels)
    if out is None:
        out = np.empty((0, *(size[::-1] if size else (0, 0)), channels), dtype=np.uint8)
    return np.ascontiguousarray(out.transpose(0, 3, 1, 2)), size or (0, 0)


def _first_mode(read: Callable[[str], bytes], name: str, where: str) -> str:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(read(name))) as im:
            return "L" if im.mode in ("1", "L", "I", "I;16", "F") else "RGB"
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as e:
        raise DataError(f"{where}: cannot decode {name} ({e}); the file is corrupt or not an image") from e


def read_image_folder(path: str | os.PathLike, *, mode: Literal["RGB", "L"] | None = None) -> RawData:
    """Read ``train/<class>/*`` and ``test/<class>/*`` images from a folder or a zip.

    Labels: the training class folder names sorted alphabetically, indexed from
    0 (CIFAR-10's folder names sorted give its canonical order). Within a split,
    images are ordered by (label, file name). In a zip the tree may sit under
    one top-level folder; hidden entries and ``__MACOSX/`` are ignored. Pixels
    are decoded with Pillow and converted to ``mode`` ("RGB": 3 channels, "L":
    1 channel; None: "L" if the first training image is grayscale, else "RGB").
    All images must have the same size. Returns uint8 [N, C, H, W].
    """
    try:
        import PIL  # noqa: F401
    except ImportError as e:  # pragma: no cover - Pillow is in requirements.txt
        raise DataError("reading image folders needs Pillow: pip install pillow") from e
    if mode not in (None, "RGB", "L"):
        raise ValueError(f"mode={mode!r} is not valid; expected 'RGB', 'L' or None")
    path = Path(path)
    where = str(path)
    if path.is_dir():
        listing, train_classes = _dir_listing(path)
        return _read(listing, train_classes, lambda n: Path(n).read_bytes(), mode, where)
    try:
        with zipfile.ZipFile(path) as zf:
            listing, train_classes = _zip_listing(zf, where)
            return _read(listing, train_classes, zf.read, mode, where)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as e:
        raise DataError(f"{path} is not a readable zip archive ({e}); delete it and get it again") from e


def _read(
    listing: dict[str, list[tuple[str, str]]],
    train_classes: set[str],
    read: Callable[[str], bytes],
    mode: str | None,
    where: str,
) -> RawData:
    classes = tuple(sorted(train_classes))
    if not listing["train"]:
        raise DataError(f"{where}: no training images found under train/<class>/")
    unknown = sorted({c for c, _ in listing["test"]} - train_classes)
    if unknown:
        raise DataError(f"{where}: test classes {unknown} have no train/ folder; classes are {list(classes)}")
    index = {c: i for i, c in enumerate(classes)}
    split_items = {
        s: sorted(((index[c], n) for c, n in listing[s]), key=lambda t: (t[0], PurePosixPath(t[1]).name))
        for s in SPLITS
    }
    if mode is None:
        mode = _first_mode(read, split_items["train"][0][1], where)
    x_train, size = _decode_all(split_items["train"], read, mode, None, where)
    x_test, _ = _decode_all(split_items["test"], read, mode, size, where)
    raw = RawData(
        x_train=x_train,
        y_train=np.array([lab for lab, _ in split_items["train"]], dtype=np.int64),
        x_test=x_test,
        y_test=np.array([lab for lab, _ in split_items["test"]], dtype=np.int64),
        classes=classes,
    )
    return raw.check(where)
