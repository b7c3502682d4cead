"""Reader for the CIFAR-10 *binary* version (Krizhevsky 2009): no pickle involved.

Chapter: "E1: the 54-layer MLP on CIFAR-10".
"""

from __future__ import annotations

import os
import tarfile
import zlib
from pathlib import Path

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
            f"{_RECORD} (1 label byte + 3072 pixel bytes); the file is truncated or not a CIFAR-10 batch"
        )
    records = np.frombuffer(data, dtype=np.uint8).reshape(-1, _RECORD)
    labels = records[:, 0].astype(np.int64)
    if labels.max() >= num_classes:
        raise DataError(f"{where}: label {int(labels.max())} is not below the {num_classes} classes")
    return records[:, 1:].reshape(-1, 3, 32, 32).copy(), labels


def _parse_meta(data: bytes, where: str) -> tuple[str, ...]:
    classes = tuple(line.strip() for line in data.decode("ascii", "replace").splitlines() if line.strip())
    if not classes:
        raise DataError(f"{where}: no class names found")
    return classes


def _read_members(path: Path) -> dict[str, bytes]:
    """The needed files by base name, from a tar archive (read in place, never extracted) or a folder."""
    wanted = {*CIFAR_TRAIN_BATCHES, CIFAR_TEST_BATCH, CIFAR_META}
    found: dict[str, bytes] = {}
    if path.is_dir():
        for name in wanted:
            if (path / name).is_file():
                found[name] = (path / name).read_bytes()
    else:
        try:
            with tarfile.open(path, "r:*") as tar:
                for member in tar:
                    base = member.name.rsplit("/", 1)[-1]
                    if member.isfile() and base in wanted and base not in found:
                        f = tar.extractfile(member)
                        assert f is not None
                        found[base] = f.read()
        except (tarfile.TarError, OSError, EOFError, zlib.error) as e:
            raise DataError(f"{path} is not a readable tar archive ({e}); delete it and get it again") from e
    missing = sorted(wanted - found.keys())
    if missing:
        raise DataError(
            f"{path} lacks the CIFAR-10 binary files {', '.join(missing)}; expected "
            f"cifar-10-batches-bin/ with {', '.join(sorted(wanted))}"
        )
    return found


def read_cifar_binary(path: str | os.PathLike) -> RawData:
    """Read CIFAR-10 from ``cifar-10-binary.tar.gz`` or its extracted ``cifar-10-batches-bin/``.

    Each ``.bin`` file is a sequence of 3073-byte records: one label byte, then
    32*32 red, 32*32 green and 32*32 blue bytes, rows in order, so the pixels
    reshape directly to [N, 3, 32, 32]. ``data_batch_1..5.bin`` form the
    training split (in that order), ``test_batch.bin`` the test split, and
    ``batches.meta.txt`` gives the class names one per line. The archive is read
    in place (nothing is extracted). Raises :class:`DataError` on missing,
    truncated or malformed files.
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
