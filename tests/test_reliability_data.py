"""Reliability of depthinit.data under hostile files and faults (issue 14), grouped by surface.

Every malicious input is built here: gzip and zip bombs (1 MB expanding to 1 GiB),
corrupt deflate streams, images whose headers declare too many pixels, a full disk
(a writer raising ENOSPC), and a writer killed with SIGKILL. Each case checks the
clear DataError (naming the file), that nothing large was allocated, and that no
temporary file is left behind.
"""

from __future__ import annotations

import errno
import gzip
import hashlib
import io
import os
import signal
import socket
import struct
import subprocess
import sys
import tarfile
import textwrap
import time
import tracemalloc
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch

import depthinit.data as dd
from depthinit.data import DataError, _cache, _download, load_dataset

GIB = 1 << 30
MIB = 1 << 20
MNIST_NAMES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


# ----------------------------------------------------------------------------- builders


def zeros_deflate(n_mib: int) -> tuple[bytes, int]:
    """A raw deflate stream of n_mib MiB of zeros (about 1 KB per MiB) and its CRC-32.

    One MiB is compressed once with a full flush (which resets the dictionary), so the
    chunk can be repeated: the stream is built without ever holding the zeros.
    """
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    chunk = c.compress(bytes(MIB)) + c.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    zero = bytes(MIB)
    for _ in range(n_mib):
        crc = zlib.crc32(zero, crc)
    return chunk * n_mib + c.flush(zlib.Z_FINISH), crc


def gzip_bomb(prefix: bytes, n_mib: int) -> bytes:
    """``prefix`` followed by n_mib MiB of zeros as a multi-member gzip file (valid gzip)."""
    member = gzip.compress(bytes(MIB), compresslevel=9, mtime=0)  # about 1 KB
    return gzip.compress(prefix, mtime=0) + member * n_mib


def idx_header(shape: tuple[int, ...], code: int = 0x08) -> bytes:
    return bytes([0, 0, code, len(shape)]) + struct.pack(f">{len(shape)}I", *shape)


def raw_zip(path: Path, members: list[tuple[str, bytes, int, int, int]]) -> Path:
    """A zip written by hand: (name, stored bytes, crc32, declared uncompressed size, method)."""
    out, central = bytearray(), bytearray()
    for name, data, crc, size, method in members:
        offset, encoded = len(out), name.encode()
        out += struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, method, 0, 0, crc, len(data), size, len(encoded), 0)
        out += encoded + data
        central += (
            struct.pack(
                "<4s6H3L5H2L",
                b"PK\x01\x02",
                20,
                20,
                0,
                method,
                0,
                0,
                crc,
                len(data),
                size,
                len(encoded),
                0,
                0,
                0,
                0,
                0,
                offset,
            )
            + encoded
        )
    eocd = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(members), len(members), len(central), len(out), 0)
    path.write_bytes(bytes(out + central + eocd))
    return path


def png_bytes(img: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="PNG")
    return buf.getvalue()


def png_declaring(width: int, height: int) -> bytes:
    """A small PNG whose header declares width x height grayscale pixels (its data is a few bytes)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(bytes(64)))
        + chunk(b"IEND", b"")
    )


def stored(name: str, data: bytes) -> tuple[str, bytes, int, int, int]:
    return (name, data, zlib.crc32(data), len(data), zipfile.ZIP_STORED)


def deflated(name: str, data: bytes) -> tuple[str, bytes, int, int, int]:
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    return (name, c.compress(data) + c.flush(), zlib.crc32(data), len(data), zipfile.ZIP_DEFLATED)


def image(seed: int, size: int = 32) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)


def tiny_mnist(folder: Path) -> None:
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    shapes = {MNIST_NAMES[0]: (6, 28, 28), MNIST_NAMES[1]: (6,), MNIST_NAMES[2]: (3, 28, 28), MNIST_NAMES[3]: (3,)}
    for name, shape in shapes.items():
        values = rng.integers(0, 10 if len(shape) == 1 else 256, shape, dtype=np.uint8)
        (folder / f"{name}.gz").write_bytes(gzip.compress(idx_header(shape) + values.tobytes()))


def peak_bytes(fn) -> int:
    """Peak traced allocation while ``fn()`` runs (numpy and bytes buffers are traced)."""
    tracemalloc.start()
    try:
        fn()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


def host_tag() -> str:
    return hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]


def temp_name(dest: str, pid: int, host: str | None = None) -> str:
    """The documented temporary-file name: .<dest>.part-<pid>-<host>-<token>.tmp."""
    return f".{dest}.part-{pid}-{host or host_tag()}-0123abcd.tmp"


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith((".tmp", ".part")))


# ----------------------------------------------------------------------------- IDX


def test_idx_gzip_bomb_behind_a_small_header_is_refused_early(tmp_path):
    """1 MB of gzip expanding to 1 GiB after a header for 10 images: refused after 7841 bytes."""
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(gzip_bomb(idx_header((10, 28, 28)) + bytes(10 * 28 * 28), 1024))
    assert path.stat().st_size < 2 * MIB
    start = time.perf_counter()

    def read():
        with pytest.raises(DataError, match="longer than its header says") as err:
            dd.read_idx(path)
        assert str(path) in str(err.value)

    assert peak_bytes(read) < 16 * MIB
    assert time.perf_counter() - start < 5  # a full inflation takes longer; reading stops at once


def test_idx_header_declaring_more_than_gzip_can_hold_is_refused_before_reading(tmp_path):
    path = tmp_path / "x-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(idx_header((100000, 28, 28)) + bytes(100)))  # 78 MB declared, 200 B file
    with pytest.raises(DataError, match="can hold at most") as err:
        assert peak_bytes(lambda: dd.read_idx(path)) < MIB
    assert str(path) in str(err.value)


def test_idx_header_above_max_bytes_is_refused(tmp_path):
    huge = tmp_path / "huge-idx3-ubyte"
    huge.write_bytes(idx_header((2**31, 2**31, 4)))  # 2^64 bytes declared
    with pytest.raises(DataError, match=f"limit of {dd.MAX_IDX_BYTES} bytes") as err:
        dd.read_idx(huge)
    assert str(huge) in str(err.value) and "max_bytes" in str(err.value)
    exact = tmp_path / "ok-idx1-ubyte"
    exact.write_bytes(idx_header((5,)) + bytes(range(5)))
    assert dd.read_idx(exact, max_bytes=5).tolist() == [0, 1, 2, 3, 4]
    with pytest.raises(DataError, match="limit of 4 bytes"):
        dd.read_idx(exact, max_bytes=4)
    for bad in (-1, 2.5, True, "1"):
        with pytest.raises(ValueError, match="max_bytes="):
            dd.read_idx(exact, max_bytes=bad)


def test_idx_corrupt_deflate_stream_is_a_data_error(tmp_path):
    good = gzip.compress(idx_header((4, 28, 28)) + bytes(4 * 784), mtime=0)
    path = tmp_path / "bad-idx3-ubyte.gz"
    path.write_bytes(good[:10] + b"\xff" + good[11:])  # first deflate block: reserved type 11
    with pytest.raises(DataError, match="corrupt or truncated gzip") as err:
        dd.read_idx(path)
    assert str(path) in str(err.value) and isinstance(err.value.__cause__, zlib.error)


def test_idx_os_errors_are_data_errors(tmp_path):
    folder = tmp_path / "a-directory-idx3-ubyte"
    folder.mkdir()
    with pytest.raises(DataError, match="cannot read IDX file") as err:
        dd.read_idx(folder)
    assert str(folder) in str(err.value)


def test_idx_truncated_gzip_payload_is_refused(tmp_path):
    path = tmp_path / "short-idx1-ubyte.gz"
    path.write_bytes(gzip.compress(idx_header((1000,)) + bytes(10)))
    with pytest.raises(DataError, match="truncated") as err:
        dd.read_idx(path)
    assert "found 18 bytes" in str(err.value)  # 8 header bytes + 10 values


# ----------------------------------------------------------------------------- CIFAR binary


def tar_header(name: str, size: int) -> bytes:
    info = tarfile.TarInfo(name)
    info.size = size
    return info.tobuf(format=tarfile.GNU_FORMAT)


def test_cifar_tar_gzip_bomb_member_is_refused_by_its_declared_size(tmp_path):
    """A data batch declaring and holding 1 GiB (1 MB of gzip): refused before it is inflated."""
    path = tmp_path / "cifar-10-binary.tar.gz"
    path.write_bytes(gzip_bomb(tar_header("cifar-10-batches-bin/data_batch_1.bin", GIB), 1024))
    assert path.stat().st_size < 2 * MIB

    def read():
        with pytest.raises(DataError, match="data_batch_1.bin.*1073741824 bytes") as err:
            dd.read_cifar_binary(path)
        assert str(path) in str(err.value)

    assert peak_bytes(read) < 16 * MIB


def test_cifar_tar_huge_unwanted_member_is_not_inflated(tmp_path):
    path = tmp_path / "cifar-10-binary.tar.gz"
    path.write_bytes(gzip_bomb(tar_header("cifar-10-batches-bin/readme.html", GIB), 1024))
    start = time.perf_counter()
    with pytest.raises(DataError, match="'cifar-10-batches-bin/readme.html' declares 1073741824 bytes"):
        dd.read_cifar_binary(path)
    assert time.perf_counter() - start < 5


def test_cifar_member_of_a_wrong_size_is_refused_before_reading(tmp_path):
    folder = tmp_path / "cifar-10-batches-bin"
    folder.mkdir()
    with open(folder / "data_batch_1.bin", "wb") as f:
        f.truncate(dd.MAX_BATCH_BYTES + 3073)  # sparse: nothing is written
    with pytest.raises(DataError, match="data_batch_1.bin declares .* more than") as err:
        assert peak_bytes(lambda: dd.read_cifar_binary(folder)) < MIB
    assert str(folder) in str(err.value)


def test_cifar_corrupt_deflate_stream_is_a_data_error(tmp_path):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        info = tarfile.TarInfo("cifar-10-batches-bin/test_batch.bin")
        info.size = 3073 * 4
        tar.addfile(info, io.BytesIO(bytes(3073 * 4)))
    data = buf.getvalue()
    path = tmp_path / "cifar-10-binary.tar.gz"
    path.write_bytes(data[:10] + b"\xff" + data[11:])
    with pytest.raises(DataError, match="not a readable tar archive") as err:
        dd.read_cifar_binary(path)
    assert str(path) in str(err.value)


# ----------------------------------------------------------------------------- image folders (zip)


def test_zip_bomb_member_is_refused_by_its_declared_size(tmp_path):
    """A zip member of 1 MB deflating to 1 GiB, after a 32x32 image: refused before inflating."""
    bomb, crc = zeros_deflate(1024)
    path = raw_zip(
        tmp_path / "bomb.zip",
        [
            stored("train/a/0000.png", png_bytes(image(0))),
            ("train/a/0001.png", bomb, crc, GIB, zipfile.ZIP_DEFLATED),
            stored("test/a/0000.png", png_bytes(image(1))),
        ],
    )
    assert path.stat().st_size < 2 * MIB

    def read():
        with pytest.raises(DataError, match="0001.png declares 1073741824 bytes, more than the 1114112") as err:
            dd.read_image_folder(path)
        assert str(path) in str(err.value)

    assert peak_bytes(read) < 16 * MIB


def test_zip_bomb_as_first_image_is_refused_by_the_general_cap(tmp_path):
    bomb, crc = zeros_deflate(1024)
    path = raw_zip(tmp_path / "bomb.zip", [("train/a/0000.png", bomb, crc, GIB, zipfile.ZIP_DEFLATED)])
    with pytest.raises(DataError, match=f"declares 1073741824 bytes, more than the {dd.MAX_IMAGE_FILE_BYTES}"):
        assert peak_bytes(lambda: dd.read_image_folder(path)) < 16 * MIB
    # With the size known in advance (load_dataset passes it), the bound is the small one at once.
    with pytest.raises(DataError, match=f"more than the {dd.image_file_limit(32, 32)} of a file of a 32x32 image"):
        dd.read_image_folder(path, image_size=(32, 32))


def test_zip_bomb_in_cifar10_jpeg_zip_through_load_dataset(tmp_path):
    bomb, crc = zeros_deflate(1024)
    members = [stored(f"train/{c}/0000.png", png_bytes(image(i))) for i, c in enumerate(CIFAR10_CLASSES)]
    members.insert(3, ("train/bird/0001.png", bomb, crc, GIB, zipfile.ZIP_DEFLATED))
    raw_zip(tmp_path / "cifar10-jpeg.zip", members)
    with pytest.raises(DataError, match="bird/0001.png declares 1073741824 bytes"):
        load_dataset("cifar10", root=tmp_path, cache_dir=tmp_path / "cache", verify=False)
    assert not (tmp_path / "cache").exists() or not list((tmp_path / "cache").iterdir())


def test_zip_member_whose_header_understates_its_size_stops_at_the_declared_size(tmp_path):
    """The declared size bounds what is inflated; the CRC then exposes the lie."""
    bomb, crc = zeros_deflate(64)
    path = raw_zip(tmp_path / "liar.zip", [("train/a/0000.png", bomb, crc, 1000, zipfile.ZIP_DEFLATED)])
    with pytest.raises(DataError, match="cannot inflate train/a/0000.png") as err:
        assert peak_bytes(lambda: dd.read_image_folder(path)) < 8 * MIB
    assert str(path) in str(err.value)


def test_zip_corrupt_deflate_stream_is_a_data_error(tmp_path):
    name, data, crc, size, method = deflated("train/a/0001.png", png_bytes(image(1)))
    path = raw_zip(
        tmp_path / "corrupt.zip",
        [
            stored("train/a/0000.png", png_bytes(image(0))),
            (name, b"\xff" + data[1:], crc, size, method),  # first block of reserved type 11
        ],
    )
    with pytest.raises(DataError, match="cannot inflate train/a/0001.png") as err:
        dd.read_image_folder(path)
    assert str(path) in str(err.value) and isinstance(err.value.__cause__, zlib.error)


def test_zip_unknown_compression_method_is_a_data_error(tmp_path):
    path = raw_zip(tmp_path / "method.zip", [("train/a/0000.png", b"xx", 0, 2, 99)])
    with pytest.raises(DataError, match="cannot inflate train/a/0000.png"):
        dd.read_image_folder(path)


def test_image_declaring_too_many_pixels_is_refused(tmp_path):
    """Pillow's DecompressionBombError (and its warning, below twice the limit) become DataErrors."""
    for side in (100_000, 10_000):  # 10^10 pixels: Pillow's error; 10^8: Pillow's warning
        path = raw_zip(tmp_path / f"big{side}.zip", [stored("train/a/0000.png", png_declaring(side, side))])
        with pytest.raises(DataError, match="0000.png declares too many pixels") as err:
            dd.read_image_folder(path)
        assert str(path) in str(err.value)


def test_image_of_another_size_than_expected_is_refused_before_decoding(tmp_path):
    path = raw_zip(
        tmp_path / "other.zip",
        [
            stored("train/a/0000.png", png_declaring(33, 32)),  # its pixel data is garbage: never decoded
        ],
    )
    with pytest.raises(DataError, match="0000.png is 33x32 but the expected size is 32x32"):
        dd.read_image_folder(path, image_size=(32, 32))
    for bad in ((32,), (0, 32), (32.0, 32), [32, 32], (True, 32)):
        with pytest.raises(ValueError, match="image_size="):
            dd.read_image_folder(path, image_size=bad)


def test_pil_decoder_errors_are_data_errors(tmp_path):
    truncated = png_bytes(image(0))[:200]
    path = raw_zip(
        tmp_path / "truncated.zip",
        [stored("train/a/0000.png", png_bytes(image(0))), stored("train/a/0001.png", truncated)],
    )
    with pytest.raises(DataError, match="cannot decode train/a/0001.png") as err:
        dd.read_image_folder(path)
    assert str(path) in str(err.value)


def test_oversized_file_in_an_image_folder_is_refused_before_reading(tmp_path):
    for split in ("train", "test"):
        (tmp_path / "tree" / split / "a").mkdir(parents=True)
        (tmp_path / "tree" / split / "a" / "0000.png").write_bytes(png_bytes(image(0)))
    with open(tmp_path / "tree" / "train" / "a" / "0001.png", "wb") as f:
        f.truncate(GIB)  # sparse
    with pytest.raises(DataError, match="0001.png declares 1073741824 bytes"):
        assert peak_bytes(lambda: dd.read_image_folder(tmp_path / "tree")) < 16 * MIB


def test_without_pillow_the_image_reader_names_the_extra(tmp_path, monkeypatch):
    path = raw_zip(tmp_path / "ok.zip", [stored("train/a/0000.png", png_bytes(image(0)))])
    monkeypatch.setitem(sys.modules, "PIL", None)  # "import PIL" now raises ImportError
    with pytest.raises(ImportError, match=r"pip install 'depthinit\[experiments\]'"):
        dd.read_image_folder(path)


# ----------------------------------------------------------------------------- a full disk


def fill_then_enospc(f, *args):
    f.write(b"x" * 4096)
    f.flush()
    raise OSError(errno.ENOSPC, "No space left on device")


def test_full_disk_while_caching_is_a_clear_error_and_leaves_no_temp_file(tmp_path, monkeypatch):
    tiny_mnist(tmp_path / "mnist")
    cache = tmp_path / "cache"
    monkeypatch.setattr(_cache, "_write_npz", fill_then_enospc)
    for _ in range(3):  # every retry: the same error, still no leftover
        with pytest.raises(DataError, match="no space left on the disk holding") as err:
            load_dataset("mnist", root=tmp_path, cache_dir=cache, verify=False)
        assert str(cache) in str(err.value) and "cache_dir=" in str(err.value)
        assert list(cache.iterdir()) == []


def test_unwritable_cache_only_warns_and_leaves_no_temp_file(tmp_path, monkeypatch, caplog):
    tiny_mnist(tmp_path / "mnist")

    def denied(f, raw):
        f.write(b"x")
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(_cache, "_write_npz", denied)
    ds = load_dataset("mnist", root=tmp_path, cache_dir=tmp_path / "cache", verify=False)
    assert ds.sizes == {"train": 6, "test": 3}
    assert "cannot write the data cache" in caplog.text
    assert list((tmp_path / "cache").iterdir()) == []


def test_full_disk_while_downloading_stops_at_once_and_leaves_no_temp_file(tmp_path, monkeypatch):
    tried = []

    def fetch_once(url, out, **kwargs):
        tried.append(url)
        fill_then_enospc(out)

    monkeypatch.setattr(_download, "_fetch_once", fetch_once)
    dest = tmp_path / "root" / "blob.bin"
    with pytest.raises(DataError, match="no space left on the disk holding") as err:
        dd.fetch(["file:///a", "file:///b"], dest, progress=False)
    assert str(dest.parent) in str(err.value) and "root=" in str(err.value)
    assert tried == ["file:///a"]  # the next mirror would fill the same disk
    assert list(dest.parent.iterdir()) == []


def test_interrupted_download_leaves_no_temp_file(tmp_path, monkeypatch):
    def interrupted(url, out, **kwargs):
        out.write(b"partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(_download, "_fetch_once", interrupted)
    with pytest.raises(KeyboardInterrupt):
        dd.fetch(["file:///a"], tmp_path / "blob.bin", progress=False)
    assert list(tmp_path.iterdir()) == []


def test_failed_mirror_leaves_no_temp_file(tmp_path):
    src = tmp_path / "src.bin"
    src.write_bytes(b"hello")
    out = tmp_path / "out"
    with pytest.raises(DataError, match="checksum mismatch"):
        dd.fetch([src.as_uri(), (tmp_path / "missing").as_uri()], out / "blob.bin", md5="0" * 32, progress=False)
    assert list(out.iterdir()) == []


# ----------------------------------------------------------------------------- killed writers


def test_stale_temp_files_are_cleaned_at_the_next_start(tmp_path):
    """Dead writer: removed. Live writer: kept unless older than a day. Others: untouched."""
    tiny_mnist(tmp_path / "mnist")
    cache = tmp_path / "cache"
    cache.mkdir()
    dead, live, old = dead_pid(), os.getpid(), time.time() - 2 * 86400
    files = {
        "dead": temp_name("mnist-0123456789abcdef01234567.npz", dead),
        "live": temp_name("mnist-0123456789abcdef01234567.npz", live),
        "live-old": temp_name("cifar10-0123456789abcdef01234567.npz", live),
        "other-host": temp_name("mnist-0123456789abcdef01234567.npz", dead, host="ffffffff"),
        "legacy-old": ".mnist-0123456789abcdef01234567.ab_cd1ef.tmp",
        "legacy-new": ".mnist-0123456789abcdef01234567.zz_cd1ef.tmp",
        "user": "notes.tmp",
    }
    for key, name in files.items():
        (cache / name).write_bytes(b"x" * 1000)
        if key in ("live-old", "legacy-old", "user"):
            os.utime(cache / name, (old, old))
    load_dataset("mnist", root=tmp_path, cache_dir=cache, verify=False)
    left = {p.name for p in cache.iterdir()}
    for key in ("dead", "live-old", "legacy-old"):
        assert files[key] not in left, key
    for key in ("live", "other-host", "legacy-new", "user"):
        assert files[key] in left, key
    assert len(list(cache.glob("mnist-*.npz"))) == 1  # and the cache itself was written


def test_clean_stale_temp_files_direct(tmp_path):
    dead = dead_pid()
    stale = tmp_path / temp_name("blob.bin", dead)
    fresh = tmp_path / temp_name("blob.bin", os.getpid())
    for p in (stale, fresh):
        p.write_bytes(b"x")
    assert dd.clean_stale_temp_files(tmp_path) == [stale]
    assert fresh.exists()
    assert dd.clean_stale_temp_files(tmp_path, max_age_s=-1) == [fresh]
    assert dd.clean_stale_temp_files(tmp_path / "absent") == []


def test_writer_killed_during_cache_writing_leaves_a_temp_file_that_the_next_start_removes(tmp_path):
    """SIGKILL while the cache is half written (kill -9); the next load_dataset cleans up."""
    cache = tmp_path / "cache"
    child = textwrap.dedent("""
        import sys, time
        from pathlib import Path
        import numpy as np
        from depthinit.data import _cache
        from depthinit.data._raw import RawData

        def slow(f, raw):
            f.write(b"x" * (1 << 20))
            f.flush()
            time.sleep(120)

        _cache._write_npz = slow
        x, y = np.zeros((1, 1, 28, 28), np.uint8), np.zeros(1, np.int64)
        _cache.save_cached(Path(sys.argv[1]), RawData(x, y, x, y, tuple("0123456789")))
    """)
    proc = subprocess.Popen([sys.executable, "-c", child, str(cache / "mnist-0123456789abcdef01234567.npz")])
    try:
        deadline = time.monotonic() + 90
        temps: list[Path] = []
        while time.monotonic() < deadline and proc.poll() is None:
            temps = [p for p in cache.glob(".*.tmp") if p.stat().st_size >= MIB] if cache.is_dir() else []
            if temps:
                break
            time.sleep(0.05)
        assert temps, "the child never started writing the cache"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert f".part-{proc.pid}-" in temps[0].name and temps[0].exists()  # what kill -9 leaves
    tiny_mnist(tmp_path / "mnist")
    load_dataset("mnist", root=tmp_path, cache_dir=cache, verify=False)
    assert not temps[0].exists()
    assert leftovers(cache) == []


# ----------------------------------------------------------------------------- devices


@pytest.fixture
def no_decoding(monkeypatch, tmp_path):
    """Fail the test if load_dataset looks for files or decodes anything."""

    def fail(*args, **kwargs):
        raise AssertionError("looked for or decoded data before checking the device")

    monkeypatch.setattr("depthinit.data._load.find_source", fail)
    monkeypatch.setattr("depthinit.data._load.decode", fail)
    return tmp_path


def test_cuda_without_cuda_is_refused_before_any_decode(no_decoding, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    for device in ("cuda", "cuda:0", torch.device("cuda")):
        with pytest.raises(ValueError, match="CUDA is not available") as err:
            load_dataset("mnist", root=no_decoding, device=device)
        assert "device='cpu'" in str(err.value)


def test_cuda_index_beyond_the_devices_is_refused(no_decoding, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.raises(ValueError, match=r"device='cuda:3' does not exist.*1 CUDA device"):
        load_dataset("mnist", root=no_decoding, device="cuda:3")


def test_meta_mps_and_invalid_devices_are_refused_before_any_decode(no_decoding, monkeypatch):
    with pytest.raises(ValueError, match="device='meta' holds no data"):
        load_dataset("mnist", root=no_decoding, device="meta")
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    with pytest.raises(ValueError, match="MPS is not available"):
        load_dataset("mnist", root=no_decoding, device="mps")
    for bad in ("gpu0", "cuda:x", ""):
        with pytest.raises(ValueError, match="is not a valid torch device"):
            load_dataset("mnist", root=no_decoding, device=bad)
    with pytest.raises(TypeError, match="device=True"):
        load_dataset("mnist", root=no_decoding, device=True)


def test_dataset_to_an_unusable_device_is_refused(tmp_path):
    tiny_mnist(tmp_path / "mnist")
    ds = load_dataset("mnist", root=tmp_path, cache_dir=tmp_path / "cache", verify=False)
    with pytest.raises(ValueError, match="device='meta' holds no data"):
        ds.to("meta")
    assert dd.usable_device("cpu") == torch.device("cpu")


# ----------------------------------------------------------------------------- found by benchmarks/attacks.py


@pytest.mark.parametrize(
    "content, match",
    [
        (bytes([0, 0, 8, 0]), "claims 0 dimensions .* delete it and get it again"),
        (bytes([0, 0, 8, 3, 0, 0]), "claims 3 dimensions .* delete it and get it again"),
        (idx_header((2,), 0x07) + bytes(2), "unknown IDX type code 0x07; .* delete it"),
    ],
)
def test_idx_header_errors_say_what_to_do(tmp_path, content, match):
    p = tmp_path / "f.idx"
    p.write_bytes(content)
    with pytest.raises(DataError, match=match):
        dd.read_idx(p)


def test_idx_unreadable_paths_say_to_check_the_path(tmp_path):
    for p in (tmp_path / "nope.idx", tmp_path):
        with pytest.raises(DataError, match=r"cannot read IDX file .*; check the path"):
            dd.read_idx(p)


def _cifar_folder(folder: Path, label: int | None = None, meta: str = "\n".join(CIFAR10_CLASSES)) -> Path:
    folder.mkdir(parents=True)
    rng = np.random.default_rng(1)
    for name in [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]:
        recs = rng.integers(0, 256, (2, 3073), dtype=np.uint8)
        recs[:, 0] = rng.integers(0, 10, 2) if label is None else label
        (folder / name).write_bytes(recs.tobytes())
    (folder / "batches.meta.txt").write_text(meta)
    return folder


def test_cifar_content_errors_say_what_to_do(tmp_path):
    with pytest.raises(DataError, match=r"label 12 is not below the 10 classes .* delete it and get it again"):
        dd.read_cifar_binary(_cifar_folder(tmp_path / "a", label=12))
    with pytest.raises(DataError, match="no class names found; expected one class name per line"):
        dd.read_cifar_binary(_cifar_folder(tmp_path / "b", meta="\n\n"))
    f = _cifar_folder(tmp_path / "c")
    (f / "test_batch.bin").write_bytes(b"")
    with pytest.raises(DataError, match=r"not a positive multiple .* delete it and get it again"):
        dd.read_cifar_binary(f)


def test_image_folder_layout_errors_say_what_to_do(tmp_path):
    png = png_bytes(image(0, 8))
    with pytest.raises(DataError, match=r"holds no images under train/<class>/ .*; put the images in that tree"):
        dd.read_image_folder(raw_zip(tmp_path / "a.zip", [stored("readme.txt", b"hi")]))
    with pytest.raises(DataError, match=r"test classes \['bird'\] have no train/ folder.*Add train/<class>/ images"):
        dd.read_image_folder(
            raw_zip(tmp_path / "b.zip", [stored("train/cat/0.png", png), stored("test/bird/0.png", png)])
        )
    with pytest.raises(DataError, match=r"cannot decode train/cat/1\.png .*: remove it, or get the data set again"):
        dd.read_image_folder(
            raw_zip(
                tmp_path / "c.zip",
                [stored("train/cat/0.png", png), stored("train/cat/1.png", b"text"), stored("test/cat/0.png", png)],
            )
        )


def test_a_split_without_images_is_refused(tmp_path):
    """An IDX test file of zero images used to load, and a run on it reported test accuracy 0."""
    folder = tmp_path / "mnist"
    tiny_mnist(folder)
    (folder / "t10k-images-idx3-ubyte.gz").write_bytes(gzip.compress(idx_header((0, 28, 28))))
    (folder / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_header((0,))))
    with pytest.raises(DataError, match="the test split has no images"):
        load_dataset("mnist", root=tmp_path, cache_dir=tmp_path / "cache", verify=False)


@pytest.mark.parametrize("kwargs", [{"n_train": 0}, {"n_test": 0}])
def test_subset_refuses_an_empty_split(kwargs):
    x = torch.zeros(10, 1, 2, 2)
    ds = dd.Dataset(
        "t",
        x,
        torch.zeros(10, dtype=torch.long),
        x[:4],
        torch.zeros(4, dtype=torch.long),
        ["a"],
        "unit",
        None,
        None,
        "mem",
        {},
    )
    with pytest.raises(ValueError, match=r"expected an int in 1\.\."):
        ds.subset(**kwargs)
    assert len(ds.subset(n_val=0).y_train) == 10  # n_val=0 stays valid


@pytest.mark.parametrize("arg", ["root", "cache_dir"])
def test_an_empty_path_is_refused_not_read_as_the_current_folder(tmp_path, arg):
    tiny_mnist(tmp_path / "mnist")
    kwargs = {"root": tmp_path, "cache_dir": tmp_path / "cache", "verify": False, arg: ""}
    with pytest.raises(ValueError, match=f"{arg}='' is empty .* pass a folder, or None"):
        load_dataset("mnist", **kwargs)


def test_fetch_without_a_url_says_so(tmp_path):
    with pytest.raises(DataError, match="no URL given: pass at least one URL"):
        dd.fetch([], tmp_path / "x.bin", progress=False)


def test_standardizing_a_constant_channel_is_refused(tmp_path):
    """It used to divide by a std of 0 and return NaN inputs without a word."""
    folder = tmp_path / "mnist"
    tiny_mnist(folder)
    (folder / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(idx_header((6, 28, 28)) + bytes(6 * 784)))
    with pytest.raises(DataError, match=r"channel 0 .* is constant \(std 0\).*use preprocess='unit'"):
        load_dataset("mnist", root=tmp_path, cache_dir=tmp_path / "cache", verify=False, preprocess="standardize")
