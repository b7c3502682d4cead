"""Data sets for the experiments: MNIST (IDX) and CIFAR-10 (binary archive or image folder).

``load_dataset`` finds the files under a data root, checks their digests,
decodes them once into a uint8 cache and returns float32 tensors on a device.
The readers (``read_idx``, ``read_cifar_binary``, ``read_image_folder``),
``download`` with checksums and ``safe_extract`` are usable on their own.

Chapter: "Reproducibility" (data provenance), "E1" and "E2" (the data sets).
"""

from ._cache import CACHE_VERSION, cache_key
from ._checksums import file_digest, tree_digest, verify_file
from ._cifar_binary import read_cifar_binary
from ._dataset import Dataset
from ._download import download, fetch, safe_extract
from ._errors import DataError
from ._idx import read_idx
from ._image_folder import IMAGE_EXTENSIONS, read_image_folder
from ._load import Source, default_cache_dir, default_root, find_source, load_dataset
from ._preprocess import channel_stats
from ._raw import RawData
from ._registry import DATASETS, KNOWN_DIGESTS, PREPROCESS, DatasetInfo, KnownDigests, RemoteFile, dataset_info

__all__ = [
    "CACHE_VERSION", "DATASETS", "DataError", "Dataset", "DatasetInfo", "IMAGE_EXTENSIONS", "KNOWN_DIGESTS",
    "KnownDigests", "PREPROCESS", "RawData", "RemoteFile", "Source", "cache_key", "channel_stats",
    "dataset_info", "default_cache_dir", "default_root", "download", "fetch", "file_digest", "find_source",
    "load_dataset", "read_cifar_binary", "read_idx", "read_image_folder", "safe_extract", "tree_digest",
    "verify_file",
]
