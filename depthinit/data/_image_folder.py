"""Reader for image-folder data sets: ``train/<class>/<file>``, ``test/<class>/<file>``,
as a folder or a zip archive.

Chapter: "E1: the 54-layer MLP on CIFAR-10" (the offline CIFAR-10 is such a zip).
"""

from __future__ import annotations

import io
import os
import warnings
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any, Literal

import numpy as np

from ._errors import DataError
from ._raw import RawData

IMAGE_EXTENSIONS: tuple[str, ...] = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".ppm", ".pgm", ".tif", ".tiff")
SPLITS: tuple[str, ...] = ("train", "test")

#: The most bytes read for one image file before any image size is known (the first one,
#: when no ``image_size`` is given).
MAX_IMAGE_FILE_BYTES = 64 << 20

# read(member name, image size or None) -> the file's bytes, bounded by the size's limit.
_Reader = Callable[[str, "tuple[int, int] | None"], bytes]


def image_file_limit(width: int, height: int) -> int:
    """The most bytes a genuine file of a ``width`` x ``height`` image can take: 64 per pixel
    plus 1 MiB, i.e. (64 w h + 2^20) bytes.

    64 bytes a pixel cover four 16-bit channels written as decimal text (ASCII
    PPM, up to 6 characters a sample, so 24), uncompressed BMP or TIFF (at most
    8) and a PNG or JPEG that compresses badly; 1 MiB covers headers, colour
    profiles and EXIF blocks. For a 32 x 32 image that is 1,114,112 bytes: a zip
    member declaring more is refused before it is inflated.
    """
    return 64 * width * height + (1 << 20)


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
            f"(extensions {', '.join(IMAGE_EXTENSIONS)}); put the images in that tree"
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


def image_folder_files(path: str | os.PathLike[str]) -> list[Path]:
    """The image files of an unpacked image folder (``train/`` and ``test/``), for digests."""
    root = Path(path)
    listing, _ = _dir_listing(root)
    return [Path(name) for split in SPLITS for _, name in listing[split]]


def _pil() -> Any:
    """The ``PIL.Image`` module, imported on first use: the core install leaves Pillow out."""
    try:
        from PIL import Image
    except ImportError as e:
        raise ImportError(
            "reading image folders needs Pillow, which the core install of depthinit leaves out: "
            "pip install 'depthinit[experiments]' (or pip install pillow)"
        ) from e
    return Image


def _limit(size: tuple[int, int] | None) -> tuple[int, str]:
    if size is None:
        return MAX_IMAGE_FILE_BYTES, "an image file before the image size is known"
    return image_file_limit(*size), f"a file of a {size[0]}x{size[1]} image"


def _too_big(where: str, name: str, declared: int, size: tuple[int, int] | None) -> DataError:
    limit, what = _limit(size)
    return DataError(
        f"{where}: {name} declares {declared} bytes, more than the {limit} of {what}; "
        "refusing to inflate it (a decompression bomb, or not an image)"
    )


def _zip_reader(zf: zipfile.ZipFile, where: str) -> _Reader:
    """Read a member as a stream of at most its limit, refusing it first by the size its header declares."""

    def read(name: str, size: tuple[int, int] | None) -> bytes:
        limit, _ = _limit(size)
        try:
            info = zf.getinfo(name)
            if info.file_size > limit:
                raise _too_big(where, name, info.file_size, size)
            with zf.open(info) as f:
                data = f.read(limit + 1)
        except DataError:
            raise
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError, RuntimeError, NotImplementedError, ValueError) as e:
            # RuntimeError: an encrypted member; NotImplementedError: an unknown compression method.
            raise DataError(
                f"{where}: cannot inflate {name} ({type(e).__name__}: {e}); the archive is corrupt. "
                "Delete it and get it again"
            ) from e
        if len(data) > limit:
            raise _too_big(where, name, len(data), size)
        return data

    return read


def _file_reader(where: str) -> _Reader:
    def read(name: str, size: tuple[int, int] | None) -> bytes:
        limit, _ = _limit(size)
        try:
            with open(name, "rb") as f:
                declared = os.fstat(f.fileno()).st_size
                if declared > limit:
                    raise _too_big(where, name, declared, size)
                data = f.read(limit + 1)
        except OSError as e:
            raise DataError(f"{where}: cannot read {name} ({e})") from e
        if len(data) > limit:
            raise _too_big(where, name, len(data), size)
        return data

    return read


def _open_image(Image: Any, data: bytes, name: str, where: str) -> Any:
    """``Image.open`` (headers only, no pixels decoded) with its errors, and its bomb warning, as DataError."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            return Image.open(io.BytesIO(data))
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
            raise DataError(
                f"{where}: {name} declares too many pixels ({e}); refusing to decode it "
                "(a decompression bomb, or not one of the data set's images)"
            ) from e
        except Exception as e:  # Pillow raises many types on malformed input
            raise DataError(
                f"{where}: cannot decode {name} ({e}); the file is corrupt or not an image: remove it, "
                "or get the data set again"
            ) from e


def _decode_all(
    items: list[tuple[int, str]],
    read: _Reader,
    mode: str,
    size: tuple[int, int] | None,
    where: str,
    expected_size: bool,
) -> tuple[np.ndarray, tuple[int, int]]:
    Image = _pil()
    channels = 1 if mode == "L" else 3
    out: np.ndarray | None = None
    for i, (_, name) in enumerate(items):
        with _open_image(Image, read(name, size), name, where) as im:
            if size is None:
                size = (int(im.size[0]), int(im.size[1]))
            if im.size != size:  # refused from the header, before any pixel is decoded
                first = "the expected size is" if expected_size else "the first image is"
                raise DataError(
                    f"{where}: {name} is {im.size[0]}x{im.size[1]} but {first} "
                    f"{size[0]}x{size[1]}; all images must have the same size"
                )
            try:
                pixels = np.asarray(im.convert(mode), dtype=np.uint8)
            except Exception as e:  # Pillow raises many types on malformed input
                raise DataError(
                    f"{where}: cannot decode {name} ({e}); the file is corrupt or not an image: "
                    "remove it, or get the data set again"
                ) from e
        if out is None:
            out = np.empty((len(items), size[1], size[0], channels), dtype=np.uint8)
        out[i] = pixels.reshape(size[1], size[0], channels)
    if out is None:
        out = np.empty((0, *(size[::-1] if size else (0, 0)), channels), dtype=np.uint8)
    return np.ascontiguousarray(out.transpose(0, 3, 1, 2)), size or (0, 0)


def _first_mode(read: _Reader, name: str, size: tuple[int, int] | None, where: str) -> str:
    with _open_image(_pil(), read(name, size), name, where) as im:
        return "L" if im.mode in ("1", "L", "I", "I;16", "F") else "RGB"


def read_image_folder(
    path: str | os.PathLike[str],
    *,
    mode: Literal["RGB", "L"] | None = None,
    image_size: tuple[int, int] | None = None,
) -> RawData:
    """Read ``train/<class>/*`` and ``test/<class>/*`` images from a folder or a zip.

    Labels: the training class folder names sorted alphabetically, indexed from
    0 (CIFAR-10's folder names sorted give its canonical order). Within a split,
    images are ordered by (label, file name). In a zip the tree may sit under
    one top-level folder; hidden entries and ``__MACOSX/`` are ignored. Pixels
    are decoded with Pillow and converted to ``mode`` ("RGB": 3 channels, "L":
    1 channel; None: "L" if the first training image is grayscale, else "RGB").
    All images must have the same size: ``image_size`` (width, height) when
    given, else that of the first training image. Returns uint8 [N, C, H, W].

    Bounded: each file is refused by the size its zip header (or the file
    system) declares before it is inflated, and read as a stream of at most
    that limit: :func:`image_file_limit` (64 w h + 2^20 bytes) once the image
    size is known, ``MAX_IMAGE_FILE_BYTES`` (64 MiB) before. An image whose
    header declares another size is refused before its pixels are decoded, and
    one above Pillow's pixel limit (``PIL.Image.MAX_IMAGE_PIXELS``) too. Zip,
    deflate (``zlib.error``), Pillow and OS errors become :class:`DataError`
    naming the archive and the member. Without Pillow (the core install)
    raises ImportError naming the extra: ``pip install 'depthinit[experiments]'``.
    """
    _pil()
    if mode not in (None, "RGB", "L"):
        raise ValueError(f"mode={mode!r} is not valid; expected 'RGB', 'L' or None")
    if image_size is not None and not (
        isinstance(image_size, tuple)
        and len(image_size) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in image_size)
    ):
        raise ValueError(
            f"image_size={image_size!r} is not valid; expected (width, height), two positive ints, or None"
        )
    path = Path(path)
    where = str(path)
    if path.is_dir():
        try:
            listing, train_classes = _dir_listing(path)
        except OSError as e:
            raise DataError(f"cannot list the image folder {path} ({e})") from e
        return _read(listing, train_classes, _file_reader(where), mode, image_size, where)
    try:
        with zipfile.ZipFile(path) as zf:
            listing, train_classes = _zip_listing(zf, where)
            return _read(listing, train_classes, _zip_reader(zf, where), mode, image_size, where)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, zlib.error) as e:
        raise DataError(f"{path} is not a readable zip archive ({e}); delete it and get it again") from e


def _read(
    listing: dict[str, list[tuple[str, str]]],
    train_classes: set[str],
    read: _Reader,
    mode: str | None,
    image_size: tuple[int, int] | None,
    where: str,
) -> RawData:
    classes = tuple(sorted(train_classes))
    if not listing["train"]:
        raise DataError(f"{where}: no training images found under train/<class>/; put the training images there")
    unknown = sorted({c for c, _ in listing["test"]} - train_classes)
    if unknown:
        raise DataError(
            f"{where}: test classes {unknown} have no train/ folder; classes are {list(classes)}. "
            "Add train/<class>/ images for them, or remove those test images"
        )
    index = {c: i for i, c in enumerate(classes)}
    split_items = {
        s: sorted(((index[c], n) for c, n in listing[s]), key=lambda t: (t[0], PurePosixPath(t[1]).name))
        for s in SPLITS
    }
    if mode is None:
        mode = _first_mode(read, split_items["train"][0][1], image_size, where)
    x_train, size = _decode_all(split_items["train"], read, mode, image_size, where, image_size is not None)
    x_test, _ = _decode_all(split_items["test"], read, mode, size, where, image_size is not None)
    raw = RawData(
        x_train=x_train,
        y_train=np.array([lab for lab, _ in split_items["train"]], dtype=np.int64),
        x_test=x_test,
        y_test=np.array([lab for lab, _ in split_items["test"]], dtype=np.int64),
        classes=classes,
    )
    return raw.check(where)
