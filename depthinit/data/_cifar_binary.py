"""Reader for the CIFAR-10 *binary* version (Krizhevsky 2009): no pickle involved.

Chapter: "E1: the 54-layer MLP on CIFAR-10".
"""

from __future__ import annotations

import os
import tarfile
import zlib
from pathlib import Path
from typing import BinaryIO, cast

import numpy as np

from ._errors import DataError
from ._raw import RawData

CIFAR_TRAIN_BATCHES: tuple[str, ...] = tuple(f"data_batch_{i}.bin" for i in range(1, 6))
CIFAR_TEST_BATCH = "test_batch.bin"
CIFAR_META = "batches.meta.txt"
_RECORD = 1 + 3 * 32 * 32


def _parse_batch(data: bytes, where: str, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    if len(data) == 0 or len(data) % _RECORD:
        raise DataError(
            f"{where}: size {len(data)} bytes is not a positive multiple of the record size "
            f"{_RECORD} (1 label byte + 3072 pixel bytes); the file is truncated or not a CIFAR-10 batch: "
            "delete it and get it again"
        )
    records = np.frombuffer(data, dtype=np.uint8).reshape(-1, _RECORD)
    labels = records[:, 0].astype(np.int64)
    if labels.max() >= num_classes:
        raise DataError(
            f"{where}: label {int(labels.max())} is not below the {num_classes} classes of batches.meta.txt; "
            "the file is corrupt or not a CIFAR-10 batch: delete it and get it again"
        )
    return records[:, 1:].reshape(-1, 3, 32, 32).copy(), labels


def _parse_meta(data: bytes, where: str) -> tuple[str, ...]:
    classes = tuple(line.strip() for line in data.decode("ascii", "replace").splitlines() if line.strip())
    if not classes:
        raise DataError(f"{where}: no class names found; expected one class name per line (get the archive again)")
    return classes


#: Byte limits of the members read: a batch holds at most all 60000 CIFAR images (the
#: canonical ones hold 10000), the class list is a few lines.
MAX_BATCH_BYTES = 60000 * _RECORD
MAX_META_BYTES = 1 << 16
# Entries of the archive looked at before giving up (the canonical one has 9).
_MAX_MEMBERS = 10000


def _limit(name: str) -> int:
    return MAX_META_BYTES if name == CIFAR_META else MAX_BATCH_BYTES


def _check_size(size: int, name: str, where: str) -> None:
    """Refuse a member by its declared size, before reading it."""
    if size > _limit(name):
        raise DataError(
            f"{where}: {name} declares {size} bytes, more than the {_limit(name)} a CIFAR-10 "
            f"{'class list' if name == CIFAR_META else 'batch'} can hold; refusing to read it. The file is not "
            "CIFAR-10's: delete it and get it again"
        )
    if name != CIFAR_META and (size == 0 or size % _RECORD):
        raise DataError(
            f"{where}:{name}: size {size} bytes is not a positive multiple of the record size "
            f"{_RECORD} (1 label byte + 3072 pixel bytes); the file is truncated or not a CIFAR-10 batch: "
            "delete it and get it again"
        )


def _read_exactly(f: BinaryIO, size: int, name: str, where: str) -> bytes:
    data = f.read(size + 1)
    if len(data) != size:
        raise DataError(
            f"{where}:{name}: expected {size} bytes as declared, read {len(data)}; "
            "the archive is truncated or corrupt. Delete it and get it again"
        )
    return data


def _read_members(path: Path) -> dict[str, bytes]:
    """The needed files by base name, from a tar archive (read in place, never extracted) or a folder.

    Each member is refused by its declared size (tar header or file size)
    before it is read, and read as a stream of exactly that many bytes.
    """
    wanted = {*CIFAR_TRAIN_BATCHES, CIFAR_TEST_BATCH, CIFAR_META}
    found: dict[str, bytes] = {}
    where = str(path)
    if path.is_dir():
        for name in sorted(wanted):
            file = path / name
            if not file.is_file():
                continue
            try:
                with open(file, "rb") as f:
                    size = os.fstat(f.fileno()).st_size
                    _check_size(size, name, where)
                    found[name] = _read_exactly(f, size, name, where)
            except OSError as e:
                raise DataError(f"cannot read {file}: {e}; check the file (or get the data set again)") from e
    else:
        try:
            with tarfile.open(path, "r:*") as tar:
                for i, member in enumerate(tar):
                    if i >= _MAX_MEMBERS:
                        raise DataError(
                            f"{path} holds more than {_MAX_MEMBERS} entries without all the CIFAR-10 "
                            "binary files; it is not a CIFAR-10 archive: use cifar-10-binary.tar.gz as published"
                        )
                    base = member.name.rsplit("/", 1)[-1]
                    if member.size > MAX_BATCH_BYTES:  # not even skipped: that would inflate it all
                        raise DataError(
                            f"{path}: member {member.name!r} declares {member.size} bytes, more than any "
                            f"CIFAR-10 file ({MAX_BATCH_BYTES}); it is not a CIFAR-10 archive: delete it and "
                            "get cifar-10-binary.tar.gz again"
                        )
                    if member.isfile() and base in wanted and base not in found:
                        _check_size(member.size, base, where)
                        data = tar.extractfile(member)
                        if data is None:  # pragma: no cover - isfile() members always have data
                            continue
                        with data:
                            found[base] = _read_exactly(cast(BinaryIO, data), member.size, base, where)
                        if len(found) == len(wanted):
                            break
        except DataError:
            raise
        except (tarfile.TarError, OSError, EOFError, zlib.error) as e:
            raise DataError(f"{path} is not a readable tar archive ({e}); delete it and get it again") from e
    missing = sorted(wanted - found.keys())
    if missing:
        raise DataError(
            f"{path} lacks the CIFAR-10 binary files {', '.join(missing)}; expected "
            f"cifar-10-batches-bin/ with {', '.join(sorted(wanted))} (get the archive again)"
        )
    return found


def read_cifar_binary(path: str | os.PathLike[str]) -> RawData:
    """Read CIFAR-10 from ``cifar-10-binary.tar.gz`` or its extracted ``cifar-10-batches-bin/``.

    Each ``.bin`` file is a sequence of 3073-byte records: one label byte, then
    32*32 red, 32*32 green and 32*32 blue bytes, rows in order, so the pixels
    reshape directly to [N, 3, 32, 32]. ``data_batch_1..5.bin`` form the
    training split (in that order), ``test_batch.bin`` the test split, and
    ``batches.meta.txt`` gives the class names one per line. The archive is read
    in place as a stream (nothing is extracted), and each member is refused by
    its declared size before it is read: a batch above 60000 records
    (``MAX_BATCH_BYTES``), or not a whole number of records, and a class list
    above 64 KiB. Raises :class:`DataError`, naming the file, on missing,
    truncated, oversized or malformed files and on a corrupt gzip or deflate stream.
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path} does not exist; expected cifar-10-binary.tar.gz or cifar-10-batches-bin/")
    files = _read_members(path)
    classes = _parse_meta(files[CIFAR_META], f"{path}:{CIFAR_META}")
    parts = [_parse_batch(files[n], f"{path}:{n}", len(classes)) for n in CIFAR_TRAIN_BATCHES]
    x_test, y_test = _parse_batch(files[CIFAR_TEST_BATCH], f"{path}:{CIFAR_TEST_BATCH}", len(classes))
    raw = RawData(
        x_train=np.concatenate([p[0] for p in parts]),
        y_train=np.concatenate([p[1] for p in parts]),
        x_test=x_test,
        y_test=y_test,
        classes=classes,
    )
    return raw.check(str(path))
