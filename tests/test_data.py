"""Tests for depthinit.data: readers, checksums, cache, preprocessing, subsets, download, real data."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import io
import struct
import tarfile
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import depthinit.data as dd
from depthinit.data import DataError, load_dataset

CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
MNIST_NAMES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


# ----------------------------------------------------------------------------- builders


def idx_bytes(arr: np.ndarray) -> bytes:
    codes = {
        np.dtype(np.uint8): 0x08,
        np.dtype(np.int8): 0x09,
        np.dtype(">i2"): 0x0B,
        np.dtype(">i4"): 0x0C,
        np.dtype(">f4"): 0x0D,
        np.dtype(">f8"): 0x0E,
    }
    big = arr.astype(arr.dtype.newbyteorder(">")) if arr.dtype.itemsize > 1 else arr
    header = bytes([0, 0, codes[big.dtype], arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape)
    return header + big.tobytes()


def write_idx(path: Path, arr: np.ndarray, *, gz: bool) -> Path:
    data = idx_bytes(arr)
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def tiny_mnist(folder: Path, *, gz: bool, seed: int = 0, n_train: int = 12, n_test: int = 5) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    arrays = {
        "train_x": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train_y": rng.integers(0, 10, n_train, dtype=np.uint8),
        "test_x": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "test_y": rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    folder.mkdir(parents=True, exist_ok=True)
    for key, name in zip(("train_x", "train_y", "test_x", "test_y"), MNIST_NAMES):
        write_idx(folder / (name + (".gz" if gz else "")), arrays[key], gz=gz)
    return arrays


def cifar_batch(x: np.ndarray, y: np.ndarray) -> bytes:
    """Records: label byte + R plane + G plane + B plane (x is [N, 3, 32, 32])."""
    return b"".join(bytes([int(label)]) + img.tobytes() for img, label in zip(x, y))


def tiny_cifar_bin(folder: Path, *, seed: int = 0, per_batch: int = 2, n_test: int = 3) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    xs, ys = [], []
    for i in range(1, 6):
        x = rng.integers(0, 256, (per_batch, 3, 32, 32), dtype=np.uint8)
        y = rng.integers(0, 10, per_batch).astype(np.int64)
        (folder / f"data_batch_{i}.bin").write_bytes(cifar_batch(x, y))
        xs.append(x)
        ys.append(y)
    x_test = rng.integers(0, 256, (n_test, 3, 32, 32), dtype=np.uint8)
    y_test = rng.integers(0, 10, n_test).astype(np.int64)
    (folder / "test_batch.bin").write_bytes(cifar_batch(x_test, y_test))
    (folder / "batches.meta.txt").write_text("\n".join(CIFAR10_CLASSES) + "\n\n")
    return {"x_train": np.concatenate(xs), "y_train": np.concatenate(ys), "x_test": x_test, "y_test": y_test}


def make_tar(tar_path: Path, folder: Path, arcname: str) -> Path:
    with tarfile.open(tar_path, "w:gz") as tar:
        tar.add(folder, arcname=arcname)
    return tar_path


def png_bytes(img: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(img.squeeze(-1) if img.shape[-1] == 1 else img).save(buf, format="PNG")
    return buf.getvalue()


def tiny_image_tree(classes: list[str], *, per_class: dict[str, int], seed: int = 0, size=(32, 32), channels=3):
    """{"train/<cls>/<file>.png": HWC uint8 image}, file names deliberately not created in sorted order."""
    rng = np.random.default_rng(seed)
    tree: dict[str, np.ndarray] = {}
    for split, n in per_class.items():
        for cls in reversed(classes):
            for j in reversed(range(n)):
                tree[f"{split}/{cls}/{j:04d}.png"] = rng.integers(0, 256, (*size, channels), dtype=np.uint8)
    return tree


def write_tree_folder(root: Path, tree: dict[str, np.ndarray]) -> Path:
    for name, img in tree.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(png_bytes(img))
    return root


def write_tree_zip(path: Path, tree: dict[str, np.ndarray], prefix: str = "") -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, img in tree.items():
            zf.writestr(prefix + name, png_bytes(img))
    return path


def expected_from_tree(tree: dict[str, np.ndarray], split: str, classes: list[str]):
    names = sorted(
        (n for n in tree if n.startswith(split + "/")), key=lambda n: (classes.index(n.split("/")[1]), n.split("/")[2])
    )
    x = np.stack([tree[n].transpose(2, 0, 1) for n in names])
    y = np.array([classes.index(n.split("/")[1]) for n in names])
    return x, y


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


# ----------------------------------------------------------------------------- IDX


@pytest.mark.parametrize("gz", [True, False])
def test_read_idx_round_trips_uint8(tmp_path, gz):
    arr = np.random.default_rng(1).integers(0, 256, (7, 28, 28), dtype=np.uint8)
    out = dd.read_idx(write_idx(tmp_path / "x-idx3-ubyte", arr, gz=gz))
    assert out.dtype == np.uint8 and out.shape == (7, 28, 28)
    np.testing.assert_array_equal(out, arr)
    assert out.flags.writeable


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32, np.float32, np.float64])
def test_read_idx_big_endian_types_come_back_native(tmp_path, dtype):
    arr = (np.arange(-6, 6).reshape(3, 4) * 3).astype(dtype)
    out = dd.read_idx(write_idx(tmp_path / "x.idx", arr, gz=False))
    assert out.dtype == np.dtype(dtype) and out.dtype.isnative
    np.testing.assert_array_equal(out, arr)


def test_read_idx_rejects_corrupt_files(tmp_path):
    arr = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28)
    good = idx_bytes(arr)
    cases = {
        "magic": (b"\x01\x00" + good[2:], "not an IDX file"),
        "type": (good[:2] + b"\x07" + good[3:], "unknown IDX type code 0x07"),
        "truncated": (good[:-10], "truncated"),
        "long": (good + b"\x00", "longer than its header"),
        "empty": (b"", "not an IDX file"),
        "gz-truncated": (gzip.compress(good)[:-12], "corrupt or truncated gzip"),
        "gz-corrupt": (b"\x1f\x8b" + b"\x00" * 40, "corrupt or truncated gzip"),
    }
    for name, (data, message) in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(DataError, match=message) as err:
            dd.read_idx(path)
        assert str(path) in str(err.value)
    with pytest.raises(DataError, match="cannot read"):
        dd.read_idx(tmp_path / "absent")


# ----------------------------------------------------------------------------- CIFAR binary


def test_read_cifar_binary_folder_and_tar_agree_pixel_for_pixel(tmp_path):
    folder = tmp_path / "cifar-10-batches-bin"
    want = tiny_cifar_bin(folder)
    tar = make_tar(tmp_path / "cifar-10-binary.tar.gz", folder, "cifar-10-batches-bin")
    for path in (folder, tar):
        raw = dd.read_cifar_binary(path)
        assert raw.classes == tuple(CIFAR10_CLASSES)
        for key, value in want.items():
            np.testing.assert_array_equal(getattr(raw, key), value)
        assert raw.x_train.shape == (10, 3, 32, 32) and raw.y_train.dtype == np.int64
    # Channel-major layout: the first 1024 pixel bytes of record 0 are its red plane.
    first = (folder / "data_batch_1.bin").read_bytes()[:3073]
    np.testing.assert_array_equal(raw.x_train[0, 0].ravel(), np.frombuffer(first[1:1025], np.uint8))
    assert raw.y_train[0] == first[0]


def test_read_cifar_binary_rejects_bad_files(tmp_path):
    folder = tmp_path / "bins"
    tiny_cifar_bin(folder)
    batch = folder / "data_batch_3.bin"
    batch.write_bytes(batch.read_bytes()[:-5])
    with pytest.raises(DataError, match="data_batch_3.bin.*not a positive multiple"):
        dd.read_cifar_binary(folder)
    tiny_cifar_bin(folder)
    (folder / "test_batch.bin").write_bytes(bytes([10]) + bytes(3072))
    with pytest.raises(DataError, match="label 10"):
        dd.read_cifar_binary(folder)
    tiny_cifar_bin(folder)
    (folder / "data_batch_5.bin").unlink()
    with pytest.raises(DataError, match="lacks the CIFAR-10 binary files data_batch_5.bin"):
        dd.read_cifar_binary(folder)
    bad_tar = tmp_path / "broken.tar.gz"
    bad_tar.write_bytes(b"not a tar at all")
    with pytest.raises(DataError, match="not a readable tar archive"):
        dd.read_cifar_binary(bad_tar)


# ----------------------------------------------------------------------------- image folders


def test_read_image_folder_folder_and_zip_round_trip(tmp_path):
    classes = ["zebra", "ant", "moth"]
    tree = tiny_image_tree(classes, per_class={"train": 3, "test": 2})
    sorted_classes = sorted(classes)
    sources = [
        write_tree_folder(tmp_path / "folder", tree),
        write_tree_zip(tmp_path / "flat.zip", tree),
        write_tree_zip(tmp_path / "nested.zip", tree, prefix="data/"),
    ]
    for src in sources:
        raw = dd.read_image_folder(src)
        assert raw.classes == tuple(sorted_classes)
        for split in ("train", "test"):
            x, y = expected_from_tree(tree, split, sorted_classes)
            np.testing.assert_array_equal(getattr(raw, f"x_{split}"), x)
            np.testing.assert_array_equal(getattr(raw, f"y_{split}"), y)
    assert raw.y_train.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2]


def test_read_image_folder_grayscale_and_errors(tmp_path):
    tree = tiny_image_tree(["a", "b"], per_class={"train": 2, "test": 1}, size=(5, 4), channels=1)
    raw = dd.read_image_folder(write_tree_zip(tmp_path / "gray.zip", tree))
    assert raw.x_train.shape == (4, 1, 5, 4)

    mixed = dict(tree)
    mixed["test/b/0009.png"] = np.zeros((6, 6, 1), np.uint8)
    with pytest.raises(DataError, match="0009.png is 6x6 but the first image is 4x5"):
        dd.read_image_folder(write_tree_zip(tmp_path / "mixed.zip", mixed))

    corrupt = tmp_path / "corrupt.zip"
    with zipfile.ZipFile(corrupt, "w") as zf:
        zf.writestr("train/a/0.png", png_bytes(tree["train/a/0000.png"]))
        zf.writestr("train/a/1.png", b"\x89PNG not really")
    with pytest.raises(DataError, match="cannot decode train/a/1.png"):
        dd.read_image_folder(corrupt)

    orphan = dict(tree)
    orphan["test/c/0000.png"] = tree["test/a/0000.png"]
    with pytest.raises(DataError, match=r"test classes \['c'\] have no train/ folder"):
        dd.read_image_folder(write_tree_zip(tmp_path / "orphan.zip", orphan))

    with pytest.raises(DataError, match="no images under train"):
        dd.read_image_folder(write_tree_zip(tmp_path / "empty.zip", {}))
    (tmp_path / "nozip.zip").write_bytes(b"garbage")
    with pytest.raises(DataError, match="not a readable zip"):
        dd.read_image_folder(tmp_path / "nozip.zip")
    (tmp_path / "half" / "train" / "a").mkdir(parents=True)
    with pytest.raises(DataError, match="has no test/ folder"):
        dd.read_image_folder(tmp_path / "half")


# ----------------------------------------------------------------------------- load_dataset on tiny data


@pytest.mark.parametrize("gz, subdir", [(True, "mnist"), (False, "")])
def test_load_tiny_mnist_exact(tmp_path, gz, subdir):
    arrays = tiny_mnist(tmp_path / "data" / subdir, gz=gz)
    ds = load_dataset("mnist", root=tmp_path / "data", cache_dir=tmp_path / "cache", verify=False)
    assert ds.x_train.dtype == torch.float32 and ds.x_train.shape == (12, 1, 28, 28)
    assert ds.y_train.dtype == torch.int64 and ds.input_shape == (1, 28, 28)
    torch.testing.assert_close(ds.x_train[:, 0], torch.from_numpy(arrays["train_x"]).float() / 255, rtol=0, atol=0)
    torch.testing.assert_close(ds.x_test[:, 0], torch.from_numpy(arrays["test_x"]).float() / 255, rtol=0, atol=0)
    assert ds.y_train.tolist() == arrays["train_y"].tolist()
    assert ds.y_test.tolist() == arrays["test_y"].tolist()
    assert ds.classes == [str(i) for i in range(10)] and ds.num_classes == 10
    assert ds.source == "mnist IDX" and ds.mean is None and ds.std is None
    suffix = ".gz" if gz else ""
    assert set(ds.sha256) == {n + suffix for n in MNIST_NAMES}
    assert (
        ds.sha256[MNIST_NAMES[0] + suffix]
        == hashlib.sha256((tmp_path / "data" / subdir / (MNIST_NAMES[0] + suffix)).read_bytes()).hexdigest()
    )


def test_known_file_with_wrong_checksum_is_refused(tmp_path):
    tiny_mnist(tmp_path / "mnist", gz=True)
    with pytest.raises(DataError) as err:
        load_dataset("mnist", root=tmp_path, cache_dir=tmp_path / "cache")
    msg = str(err.value)
    assert "checksum mismatch" in msg and "train-images-idx3-ubyte.gz" in msg
    assert "71524e2cd1ad2968737f7f2f2ff69cbfc32df8ccddff51593f7cb2d4e0eb5b64" in msg  # expected
    assert hashlib.sha256((tmp_path / "mnist" / "train-images-idx3-ubyte.gz").read_bytes()).hexdigest() in msg
    assert "download=True" in msg and "verify=False" in msg
    assert not (tmp_path / "cache").exists()


def test_canonical_mnist_bytes_in_another_gzip_pass_verification(tmp_path, data_root):
    """A re-gzipped canonical file (different header, same bytes) is accepted by its content digest."""
    src = data_root / "mnist" / "train-labels-idx1-ubyte.gz"
    dest = tmp_path / "train-labels-idx1-ubyte.gz"
    dest.write_bytes(gzip.compress(gzip.decompress(src.read_bytes()), mtime=0))
    dd.verify_file(dest, dd.file_digest(dest))
    raw = tmp_path / "train-labels-idx1-ubyte"
    raw.write_bytes(gzip.decompress(src.read_bytes()))
    dd.verify_file(raw, dd.file_digest(raw))
    raw.write_bytes(raw.read_bytes()[:-1] + b"\x00")
    with pytest.raises(DataError, match="checksum mismatch"):
        dd.verify_file(raw, dd.file_digest(raw))


def test_cifar10_source_priority_and_records(tmp_path):
    root = tmp_path / "data"
    tree = tiny_image_tree(CIFAR10_CLASSES, per_class={"train": 2, "test": 1})
    root.mkdir()
    write_tree_zip(root / "cifar10-jpeg.zip", tree)
    kw = {"root": root, "cache_dir": tmp_path / "cache", "verify": False}

    ds = load_dataset("cifar10", **kw)
    assert ds.source == "cifar10-jpeg.zip (image-folder zip, JPEG q75 re-encoding)"
    assert list(ds.sha256) == ["cifar10-jpeg.zip"] and ds.input_shape == (3, 32, 32)
    x, y = expected_from_tree(tree, "train", CIFAR10_CLASSES)
    torch.testing.assert_close(ds.x_train, torch.from_numpy(x).float() / 255, rtol=0, atol=0)
    assert ds.y_train.tolist() == y.tolist() and ds.classes == CIFAR10_CLASSES

    want = tiny_cifar_bin(root / "cifar-10-batches-bin")
    ds = load_dataset("cifar10", **kw)
    assert ds.source.startswith("cifar-10-batches-bin/")
    assert "cifar-10-batches-bin/data_batch_1.bin" in ds.sha256 and len(ds.sha256) == 7
    assert ds.y_train.tolist() == want["y_train"].tolist()

    make_tar(root / "cifar-10-binary.tar.gz", root / "cifar-10-batches-bin", "cifar-10-batches-bin")
    ds = load_dataset("cifar10", **kw)
    assert ds.source == "cifar-10-binary.tar.gz" and list(ds.sha256) == ["cifar-10-binary.tar.gz"]
    torch.testing.assert_close(ds.x_test, torch.from_numpy(want["x_test"]).float() / 255, rtol=0, atol=0)

    folder_root = tmp_path / "folder_root"
    write_tree_folder(folder_root / "cifar10", tree)
    ds = load_dataset("cifar10", root=folder_root, cache_dir=tmp_path / "cache")
    assert ds.source == "cifar10/ (image folder)" and list(ds.sha256) == ["cifar10/"]
    assert ds.y_train.tolist() == y.tolist()


def test_cifar10_image_folder_with_wrong_classes_is_refused(tmp_path):
    tree = tiny_image_tree(["cat", "dog"], per_class={"train": 1, "test": 1})
    write_tree_zip(tmp_path / "cifar10-jpeg.zip", tree)
    with pytest.raises(DataError, match="expected the 10 cifar10 classes"):
        load_dataset("cifar10", root=tmp_path, cache_dir=tmp_path / "cache", verify=False)


def test_cache_hit_skips_decoding_and_new_bytes_miss(tmp_path, monkeypatch):
    arrays = tiny_mnist(tmp_path / "mnist", gz=True)
    kw = {"root": tmp_path, "cache_dir": tmp_path / "cache", "verify": False}
    first = load_dataset("mnist", **kw)
    cached = list((tmp_path / "cache").glob("mnist-*.npz"))
    assert len(cached) == 1 and not list((tmp_path / "cache").glob("*.tmp"))

    def fail(*args, **kwargs):
        raise AssertionError("decoded although the cache holds the data")

    monkeypatch.setattr("depthinit.data._load.decode", fail)
    second = load_dataset("mnist", **kw)
    assert torch.equal(first.x_train, second.x_train) and torch.equal(first.y_test, second.y_test)
    assert second.sha256 == first.sha256

    arrays["train_y"][0] = (arrays["train_y"][0] + 1) % 10
    write_idx(tmp_path / "mnist" / "train-labels-idx1-ubyte.gz", arrays["train_y"], gz=True)
    with pytest.raises(AssertionError, match="decoded although"):
        load_dataset("mnist", **kw)


def test_unreadable_cache_is_decoded_again(tmp_path):
    tiny_mnist(tmp_path / "mnist", gz=False)
    kw = {"root": tmp_path, "cache_dir": tmp_path / "cache", "verify": False}
    first = load_dataset("mnist", **kw)
    (cache_file,) = (tmp_path / "cache").glob("mnist-*.npz")
    cache_file.write_bytes(cache_file.read_bytes()[:1000])
    again = load_dataset("mnist", **kw)
    assert torch.equal(first.x_train, again.x_train)
    assert cache_file.stat().st_size > 1000


def test_preprocess_unit_and_standardize(tmp_path):
    root = tmp_path / "data"
    tiny_cifar_bin(root / "cifar-10-batches-bin", per_batch=8)
    unit = load_dataset("cifar10", root=root, cache_dir=tmp_path / "cache")
    assert unit.preprocess == "unit" and unit.mean is None
    assert 0.0 <= unit.x_train.min().item() and unit.x_train.max().item() <= 1.0

    std = load_dataset("cifar10", root=root, cache_dir=tmp_path / "cache", preprocess="standardize")
    assert std.preprocess == "standardize" and len(std.mean) == 3 and len(std.std) == 3
    pixels = (unit.x_train * 255).round().double()  # the exact uint8 values
    per_channel = (pixels / 255).transpose(0, 1).reshape(3, -1)
    np.testing.assert_allclose(std.mean, per_channel.mean(1).numpy(), rtol=1e-12)
    np.testing.assert_allclose(std.std, per_channel.std(1, unbiased=False).numpy(), rtol=1e-10)
    z = std.x_train.double().transpose(0, 1).reshape(3, -1)
    np.testing.assert_allclose(z.mean(1).numpy(), 0.0, atol=1e-6)
    np.testing.assert_allclose(z.std(1, unbiased=False).numpy(), 1.0, atol=1e-6)
    expected_test = (unit.x_test - torch.tensor(std.mean).view(1, 3, 1, 1).float()) / torch.tensor(std.std).view(
        1, 3, 1, 1
    ).float()
    torch.testing.assert_close(std.x_test, expected_test)


def test_subset_is_deterministic_nested_and_keeps_statistics(tmp_path):
    root = tmp_path / "data"
    tiny_cifar_bin(root / "cifar-10-batches-bin", per_batch=8, n_test=12)
    ds = load_dataset("cifar10", root=root, cache_dir=tmp_path / "cache", preprocess="standardize")
    a, b = ds.subset(10, 5, seed=3), ds.subset(10, 5, seed=3)
    assert torch.equal(a.x_train, b.x_train) and torch.equal(a.y_test, b.y_test)
    assert a.sizes == {"train": 10, "test": 5} and a.full_sizes == (40, 12)
    assert a.mean == ds.mean and a.std == ds.std
    assert not torch.equal(ds.subset(10, 5, seed=4).x_train, a.x_train)
    # Rows of the subset are rows of the whole, in the original order; smaller subsets nest.
    rows = [int(torch.nonzero((ds.x_train == r).flatten(1).all(1)).item()) for r in a.x_train]
    assert rows == sorted(rows) and len(set(rows)) == 10
    small = ds.subset(4, None, seed=3)
    assert small.sizes == {"train": 4, "test": 12} and torch.equal(small.x_test, ds.x_test)
    small_rows = [int(torch.nonzero((ds.x_train == r).flatten(1).all(1)).item()) for r in small.x_train]
    assert set(small_rows) <= set(rows)
    assert ds.subset().sizes == ds.sizes
    for bad in (41, -1, 2.5):
        with pytest.raises(ValueError, match="n_train="):
            ds.subset(bad)
    with pytest.raises(ValueError, match="n_test=13"):
        ds.subset(None, 13)
    prov = a.provenance()
    assert prov["sizes"] == {"train": 10, "test": 5} and prov["full_sizes"] == {"train": 40, "test": 12}
    assert prov["subset_seed"] == 3 and prov["mean"] == list(ds.mean) and prov["name"] == "cifar10"
    assert set(prov) >= {"name", "source", "sha256", "preprocess", "mean", "std", "sizes"}
    assert ds.to("cpu") is ds and ds.device == torch.device("cpu")
    assert "x_train" not in repr(ds)


def row_indices(whole: torch.Tensor, part: torch.Tensor) -> list[int]:
    """The row of ``whole`` equal to each row of ``part`` (rows of the tiny random sets are unique)."""
    flat = whole.flatten(1)
    return [int(torch.nonzero((flat == r).all(1)).item()) for r in part.flatten(1)]


@pytest.fixture
def cifar_40(tmp_path):
    """CIFAR-10 binary with 40 training and 12 test images of random pixels (all rows distinct)."""
    root = tmp_path / "data"
    tiny_cifar_bin(root / "cifar-10-batches-bin", per_batch=8, n_test=12)
    return load_dataset("cifar10", root=root, cache_dir=tmp_path / "cache")


def test_validation_split_is_carved_from_train_disjoint_and_sized(cifar_40):
    ds = cifar_40
    assert ds.x_val.shape == (0, 3, 32, 32) and ds.y_val.shape == (0,) and ds.n_val == 0
    assert ds.x_val.dtype == torch.float32 and ds.y_val.dtype == torch.int64
    sub = ds.subset(20, 5, seed=7, n_val=8)
    assert sub.sizes == {"train": 20, "test": 5} and sub.n_val == 8
    assert sub.x_val.shape == (8, 3, 32, 32) and sub.y_val.shape == (8,)
    train_rows, val_rows = row_indices(ds.x_train, sub.x_train), row_indices(ds.x_train, sub.x_val)
    assert not set(train_rows) & set(val_rows)  # disjoint
    assert val_rows == sorted(val_rows) and len(set(val_rows)) == 8  # original order, no repeats
    assert sub.y_val.tolist() == ds.y_train[val_rows].tolist()  # labels travel with their images
    test_flat = ds.x_test.flatten(1)
    assert not any((test_flat == r).all(1).any() for r in sub.x_val.flatten(1))  # never the test set
    # The documented draw: the last n_val entries of randperm(N_train) from a generator seeded with seed.
    perm = torch.randperm(40, generator=torch.Generator().manual_seed(7))
    assert val_rows == sorted(perm[-8:].tolist()) and train_rows == sorted(perm[:20].tolist())
    # n_train=None: every training example that is not validation.
    rest = ds.subset(None, None, seed=7, n_val=8)
    assert rest.sizes == {"train": 32, "test": 12} and rest.n_val == 8
    assert set(row_indices(ds.x_train, rest.x_train)) == set(range(40)) - set(val_rows)
    assert torch.equal(rest.x_test, ds.x_test)


def test_validation_split_is_deterministic_and_nested(cifar_40):
    ds = cifar_40
    a, b = ds.subset(12, 4, seed=3, n_val=6), ds.subset(12, 4, seed=3, n_val=6)
    for name in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test"):
        assert torch.equal(getattr(a, name), getattr(b, name)), name
    assert not torch.equal(ds.subset(12, 4, seed=4, n_val=6).x_val, a.x_val)
    # Fixed n_val: a smaller training subset lies in a larger one; the validation set is the same.
    small, large = ds.subset(5, None, seed=3, n_val=6), ds.subset(30, None, seed=3, n_val=6)
    assert set(row_indices(ds.x_train, small.x_train)) <= set(row_indices(ds.x_train, large.x_train))
    assert torch.equal(small.x_val, large.x_val) and torch.equal(small.x_val, a.x_val)
    # The training subset does not depend on n_val, and is the one without a validation split.
    assert torch.equal(ds.subset(12, 4, seed=3).x_train, a.x_train)
    assert torch.equal(ds.subset(12, 4, seed=3).x_test, a.x_test)
    assert set(row_indices(ds.x_train, ds.subset(1, seed=3, n_val=2).x_val)) <= set(row_indices(ds.x_train, a.x_val))


def test_validation_split_travels_with_to_and_provenance(cifar_40):
    sub = cifar_40.subset(10, 3, seed=5, n_val=4)
    moved = sub.to(torch.device("cpu"))
    assert moved is sub and moved.x_val.device == torch.device("cpu")
    prov = sub.provenance()
    assert prov["n_val"] == 4 and prov["subset_seed"] == 5 and prov["sizes"] == {"train": 10, "test": 3}
    assert cifar_40.provenance()["n_val"] == 0 and cifar_40.provenance()["subset_seed"] is None
    assert "x_val" not in repr(sub)


def test_dataset_to_moves_every_split(cifar_40, monkeypatch):
    """to(device) carries x_val/y_val with the other splits (checked with a recording fake device move)."""
    sub = cifar_40.subset(10, 3, seed=5, n_val=4)
    moved_names = []
    real_to = torch.Tensor.to

    def fake_usable(device):
        return torch.device("meta")  # a device other than the data's, without needing one

    def spy(self, *args, **kwargs):
        moved_names.append(tuple(self.shape))
        return real_to(self, "cpu")

    monkeypatch.setattr("depthinit.data._dataset.usable_device", fake_usable)
    monkeypatch.setattr(torch.Tensor, "to", spy)
    out = sub.to("elsewhere")
    assert sorted(moved_names) == sorted([(10, 3, 32, 32), (10,), (4, 3, 32, 32), (4,), (3, 3, 32, 32), (3,)])
    assert torch.equal(out.x_val, sub.x_val) and torch.equal(out.y_val, sub.y_val)


def test_validation_split_errors(cifar_40):
    ds = cifar_40
    with pytest.raises(ValueError, match=r"n_train=30 plus n_val=11 is 41, more than the 40 training examples"):
        ds.subset(30, n_val=11)
    ds.subset(30, n_val=10)  # exactly all of them is fine
    for bad in (-1, 41, 2.5, True, "3"):
        with pytest.raises(ValueError, match="n_val="):
            ds.subset(5, n_val=bad)
    with pytest.raises(ValueError, match="n_train=True"):
        ds.subset(True)
    with pytest.raises(TypeError, match="seed="):
        ds.subset(5, seed=1.5)
    with pytest.raises(ValueError, match="already has a validation split of 4"):
        ds.subset(10, n_val=4).subset(5)
    assert ds.subset(np.int64(5), seed=np.int64(2), n_val=np.int64(3)).n_val == 3


def test_bad_arguments_and_missing_files(tmp_path):
    with pytest.raises(ValueError, match="dataset name='imagenet'.*'mnist', 'cifar10'"):
        load_dataset("imagenet", root=tmp_path)
    with pytest.raises(ValueError, match="preprocess='zscore'.*'unit', 'standardize'"):
        load_dataset("mnist", root=tmp_path, preprocess="zscore")
    with pytest.raises(ValueError, match="device='gpu0'"):
        load_dataset("mnist", root=tmp_path, device="gpu0")
    assert issubclass(DataError, ValueError)
    with pytest.raises(DataError) as err:
        load_dataset("MNIST", root=tmp_path)
    msg = str(err.value)
    for name in MNIST_NAMES:
        assert name in msg
    assert str(tmp_path / "mnist") in msg and "download=True" in msg and "DEPTHINIT_DATA" in msg
    with pytest.raises(DataError) as err:
        load_dataset("cifar-10", root=tmp_path / "nowhere")
    msg = str(err.value)
    assert "does not exist" in msg and "cifar-10-binary.tar.gz" in msg and "cifar10-jpeg.zip" in msg
    assert str(tmp_path / "nowhere" / "cifar-10-binary.tar.gz") in msg


def test_metadata_table():
    assert set(dd.DATASETS) == {"mnist", "cifar10"}
    assert list(dd.DATASETS["cifar10"].classes) == CIFAR10_CLASSES
    assert dd.DATASETS["mnist"].input_shape == (1, 28, 28) and dd.DATASETS["cifar10"].input_shape == (3, 32, 32)
    assert {f.name for f in dd.DATASETS["mnist"].files} == {n + ".gz" for n in MNIST_NAMES}
    assert dd.DATASETS["cifar10"].files[0].md5 == "c32a1d4ab5d03f1284b67883e8d87530"


# ----------------------------------------------------------------------------- download


def serve_mnist(tmp_path: Path, monkeypatch, name: str = "srv") -> Path:
    """Tiny MNIST .gz files in a folder, with the metadata table's md5s pointed at them."""
    srv = tmp_path / name
    tiny_mnist(srv, gz=True)
    info = dd.DATASETS["mnist"]
    files = tuple(dataclasses.replace(f, md5=md5(srv / f.name)) for f in info.files)
    monkeypatch.setitem(dd.DATASETS, "mnist", dataclasses.replace(info, files=files))
    return srv


def test_download_tries_mirrors_in_turn_and_load_uses_it(tmp_path, monkeypatch):
    srv = serve_mnist(tmp_path, monkeypatch)
    mirrors = [(tmp_path / "missing").as_uri() + "/", srv.as_uri() + "/"]
    monkeypatch.setitem(dd.DATASETS, "mnist", dataclasses.replace(dd.DATASETS["mnist"], mirrors=tuple(mirrors)))
    root = tmp_path / "root"
    ds = load_dataset("mnist", root=root, cache_dir=tmp_path / "cache", download=True, verify=False, progress=False)
    assert ds.x_train.shape == (12, 1, 28, 28)
    for name in MNIST_NAMES:
        assert (root / "mnist" / f"{name}.gz").read_bytes() == (srv / f"{name}.gz").read_bytes()
    assert not list((root / "mnist").glob(".*part"))
    # Present files with the right md5 are kept, not fetched again.
    paths = dd.download("mnist", root, progress=False, mirrors=[(tmp_path / "missing").as_uri()])
    assert [p.name for p in paths] == [f.name for f in dd.DATASETS["mnist"].files]


def test_download_deletes_a_file_with_the_wrong_checksum(tmp_path, monkeypatch, caplog):
    srv = serve_mnist(tmp_path, monkeypatch)
    evil = tmp_path / "evil"
    evil.mkdir()
    for name in MNIST_NAMES:
        (evil / f"{name}.gz").write_bytes(b"tampered")
    root = tmp_path / "root"
    paths = dd.download("mnist", root, progress=False, mirrors=[evil.as_uri(), srv.as_uri()])
    assert all(p.read_bytes() == (srv / p.name).read_bytes() for p in paths)
    assert "checksum mismatch" in caplog.text

    root2 = tmp_path / "root2"
    with pytest.raises(DataError) as err:
        dd.download("mnist", root2, progress=False, mirrors=[evil.as_uri()])
    msg = str(err.value)
    assert "checksum mismatch" in msg and "was deleted" in msg and md5(srv / "t10k-labels-idx1-ubyte.gz") in msg
    assert not list((root2 / "mnist").iterdir())


def test_fetch_checks_sha256_too(tmp_path):
    src = tmp_path / "blob.bin"
    src.write_bytes(b"hello")
    good = hashlib.sha256(b"hello").hexdigest()
    assert dd.fetch([src.as_uri()], tmp_path / "out" / "blob.bin", sha256=good, progress=False).read_bytes() == b"hello"
    with pytest.raises(DataError, match="sha256 expected 0+, got " + good):
        dd.fetch([src.as_uri()], tmp_path / "out2" / "blob.bin", sha256="0" * 64, progress=False)


def test_offline_download_says_which_files_go_where(tmp_path, monkeypatch):
    def offline(*args, **kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(DataError) as err:
        load_dataset("mnist", root=tmp_path, cache_dir=tmp_path / "cache", download=True, progress=False)
    msg = str(err.value)
    assert "name resolution" in msg and "ossci-datasets.s3.amazonaws.com" in msg and "yann.lecun.com" in msg
    for f in dd.DATASETS["mnist"].files:
        assert str(tmp_path / "mnist" / f.name) in msg and f.md5 in msg
    with pytest.raises(DataError) as err:
        dd.download("cifar10", tmp_path, progress=False)
    assert str(tmp_path / "cifar-10-binary.tar.gz") in str(err.value)
    assert "c32a1d4ab5d03f1284b67883e8d87530" in str(err.value)


def test_download_cifar10_binary_then_load(tmp_path, monkeypatch):
    want = tiny_cifar_bin(tmp_path / "build" / "cifar-10-batches-bin")
    srv = tmp_path / "srv"
    srv.mkdir()
    tar = make_tar(srv / "cifar-10-binary.tar.gz", tmp_path / "build" / "cifar-10-batches-bin", "cifar-10-batches-bin")
    info = dd.DATASETS["cifar10"]
    monkeypatch.setitem(
        dd.DATASETS,
        "cifar10",
        dataclasses.replace(
            info, files=(dataclasses.replace(info.files[0], md5=md5(tar)),), mirrors=(srv.as_uri() + "/",)
        ),
    )
    ds = load_dataset(
        "cifar10", root=tmp_path / "root", cache_dir=tmp_path / "cache", download=True, verify=False, progress=False
    )
    assert ds.source == "cifar-10-binary.tar.gz" and ds.y_test.tolist() == want["y_test"].tolist()


# ----------------------------------------------------------------------------- the real offline data


@pytest.fixture(scope="module")
def real_mnist(data_root):
    # cache_dir None: the persistent default cache, so later runs read it.
    return load_dataset("mnist", root=data_root, preprocess="standardize")


@pytest.fixture(scope="module")
def real_cifar10(data_root):
    return load_dataset("cifar10", root=data_root)


def test_real_mnist(real_mnist):
    ds = real_mnist
    assert ds.sizes == {"train": 60000, "test": 10000} and ds.x_train.shape == (60000, 1, 28, 28)
    assert ds.y_train[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert ds.y_test[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert round(ds.mean[0], 4) == 0.1307 and round(ds.std[0], 4) == 0.3081
    assert abs(ds.x_train.mean().item()) < 1e-4 and abs(ds.x_train.std().item() - 1) < 1e-4
    assert ds.source == "mnist IDX"
    assert ds.sha256["train-images-idx3-ubyte.gz"] == "71524e2cd1ad2968737f7f2f2ff69cbfc32df8ccddff51593f7cb2d4e0eb5b64"


def test_real_cifar10_from_the_jpeg_zip(real_cifar10):
    ds = real_cifar10
    assert ds.sizes == {"train": 50000, "test": 10000} and ds.input_shape == (3, 32, 32)
    assert ds.classes == CIFAR10_CLASSES and ds.num_classes == 10
    assert torch.bincount(ds.y_train, minlength=10).tolist() == [5000] * 10
    assert torch.bincount(ds.y_test, minlength=10).tolist() == [1000] * 10
    assert ds.source == "cifar10-jpeg.zip (image-folder zip, JPEG q75 re-encoding)"
    assert ds.sha256 == {"cifar10-jpeg.zip": "0287a3668d9e0d204fc6ffa0e85a171724de09b8aec55d93153b270368489df4"}
    means = ds.x_train.mean(dim=(0, 2, 3))
    # Close to the known CIFAR-10 channel means (0.4914, 0.4822, 0.4465); JPEG shifts them slightly.
    torch.testing.assert_close(means, torch.tensor([0.4914, 0.4822, 0.4465]), atol=3e-3, rtol=0)
