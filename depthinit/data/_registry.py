"""What the library knows about each data set: classes, shapes, files, mirrors, digests.

Chapter: "Reproducibility" (data provenance and checksums).
"""

from __future__ import annotations

from dataclasses import dataclass

PREPROCESS: tuple[str, ...] = ("unit", "standardize")


@dataclass(frozen=True)
class RemoteFile:
    """One file of a data set's canonical distribution.

    ``folder`` is where it goes relative to the data root (``""`` for the root
    itself); ``md5`` is the digest the upstream mirrors publish.
    """

    name: str
    md5: str
    folder: str


@dataclass(frozen=True)
class DatasetInfo:
    """Metadata of one data set.

    ``files`` are the canonical downloads, fetched from ``mirrors`` (base URLs
    tried in order); ``train_size``/``test_size`` the canonical split sizes.
    """

    name: str
    classes: tuple[str, ...]
    input_shape: tuple[int, int, int]
    train_size: int
    test_size: int
    files: tuple[RemoteFile, ...]
    mirrors: tuple[str, ...]

    @property
    def num_classes(self) -> int:
        return len(self.classes)


MNIST_FILES: dict[str, str] = {
    # split/kind -> base file name; the IDX files may be gzip-compressed (".gz") or raw.
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}

CIFAR10_CLASSES: tuple[str, ...] = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)

DATASETS: dict[str, DatasetInfo] = {
    "mnist": DatasetInfo(
        name="mnist",
        classes=tuple(str(d) for d in range(10)),
        input_shape=(1, 28, 28),
        train_size=60000,
        test_size=10000,
        # md5s as published with the archives (torchvision's table).
        files=(
            RemoteFile("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873", "mnist"),
            RemoteFile("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432", "mnist"),
            RemoteFile("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3", "mnist"),
            RemoteFile("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c", "mnist"),
        ),
        mirrors=(
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
            "http://yann.lecun.com/exdb/mnist/",
        ),
    ),
    "cifar10": DatasetInfo(
        name="cifar10",
        classes=CIFAR10_CLASSES,
        input_shape=(3, 32, 32),
        train_size=50000,
        test_size=10000,
        files=(RemoteFile("cifar-10-binary.tar.gz", "c32a1d4ab5d03f1284b67883e8d87530", ""),),
        mirrors=("https://www.cs.toronto.edu/~kriz/",),
    ),
}


@dataclass(frozen=True)
class KnownDigests:
    """Digests a file with a given name may have.

    A file passes when its sha256 is in ``sha256`` or its md5 equals ``md5``,
    or (gzip files) the sha256 of its decompressed bytes equals ``content_sha256``:
    the canonical MNIST bytes in a gzip with different headers are accepted.
    """

    sha256: frozenset[str] = frozenset()
    md5: str | None = None
    content_sha256: str | None = None


# sha256 of the offline copies (shared/data/README.md) and of the decompressed
# canonical MNIST files; md5 of the upstream archives.
_MNIST_CONTENT = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
_OFFLINE_SHA256 = {
    "train-images-idx3-ubyte.gz": "71524e2cd1ad2968737f7f2f2ff69cbfc32df8ccddff51593f7cb2d4e0eb5b64",
    "train-labels-idx1-ubyte.gz": "fe03b8bd7915f70bf5aa08be480aa413fbd85afcaa58b35d230d335f284fd88e",
    "t10k-images-idx3-ubyte.gz": "5634745efa576a17e7d4cf5cd9d09123c75e6538e5114267c2d156edaf519341",
    "t10k-labels-idx1-ubyte.gz": "ae18e77e031ccde52407f794d123116439864147d33ac992975f85dd4dc42af6",
    "cifar10-jpeg.zip": "0287a3668d9e0d204fc6ffa0e85a171724de09b8aec55d93153b270368489df4",
}


def _known_digests() -> dict[str, KnownDigests]:
    table: dict[str, KnownDigests] = {}
    md5s = {f.name: f.md5 for info in DATASETS.values() for f in info.files}
    for base, content in _MNIST_CONTENT.items():
        gz = base + ".gz"
        table[gz] = KnownDigests(frozenset({_OFFLINE_SHA256[gz]}), md5s[gz], content)
        table[base] = KnownDigests(frozenset({content}))
    table["cifar10-jpeg.zip"] = KnownDigests(frozenset({_OFFLINE_SHA256["cifar10-jpeg.zip"]}))
    table["cifar-10-binary.tar.gz"] = KnownDigests(md5=md5s["cifar-10-binary.tar.gz"])
    return table


KNOWN_DIGESTS: dict[str, KnownDigests] = _known_digests()


def dataset_info(name: str) -> DatasetInfo:
    """The metadata of ``name`` ("mnist" or "cifar10"; case, "-" and "_" are ignored)."""
    key = name.lower().replace("-", "").replace("_", "") if isinstance(name, str) else name
    if key not in DATASETS:
        raise ValueError(f"dataset name={name!r} is not known; expected one of {', '.join(map(repr, DATASETS))}")
    return DATASETS[key]
