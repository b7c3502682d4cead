"""Data sets for the experiments: MNIST (IDX) and CIFAR-10 (binary archive or image folder).

``load_dataset`` finds the files under a data root, checks their digests,
decodes them once into a uint8 cache and returns float32 tensors on a device.
The readers (``read_idx``, ``read_cifar_binary``, ``read_image_folder``),
``download`` with checksums is usable on its own (archives are read in place, never extracted).
Every reader is bounded: it refuses a file by the size its header declares
before inflating it, and maps corrupt streams and decoder errors to
:class:`DataError` naming the file. Files are written atomically through
temporary files that are removed on every error path; those of a killed
process are removed at the next start (``clean_stale_temp_files``).
The core install needs only torch and numpy; the image-folder reader needs
Pillow (``pip install 'depthinit[experiments]'``).

Chapter: "Reproducibility" (data provenance), "E1" and "E2" (the data sets).
"""

from ._cache import CACHE_VERSION, cache_key
from ._checksums import file_digest, tree_digest, verify_file
from ._cifar_binary import MAX_BATCH_BYTES, read_cifar_binary
from ._dataset import Dataset
from ._device import usable_device
from ._download import download, fetch
from ._errors import DataError
from ._idx import MAX_IDX_BYTES, read_idx
from ._image_folder import (
    IMAGE_EXTENSIONS,
    MAX_IMAGE_FILE_BYTES,
    image_file_limit,
    read_image_folder,
)
from ._load import Source, default_cache_dir, default_root, find_source, load_dataset
from ._preprocess import channel_stats
from ._raw import RawData
from ._registry import (
    DATASETS,
    KNOWN_DIGESTS,
    PREPROCESS,
    DatasetInfo,
    KnownDigests,
    RemoteFile,
    dataset_info,
)
from ._tempfiles import STALE_TEMP_AGE_S, clean_stale_temp_files

__all__ = [
    "CACHE_VERSION",
    "DATASETS",
    "IMAGE_EXTENSIONS",
    "KNOWN_DIGESTS",
    "MAX_BATCH_BYTES",
    "MAX_IDX_BYTES",
    "MAX_IMAGE_FILE_BYTES",
    "PREPROCESS",
    "STALE_TEMP_AGE_S",
    "DataError",
    "Dataset",
    "DatasetInfo",
    "KnownDigests",
    "RawData",
    "RemoteFile",
    "Source",
    "cache_key",
    "channel_stats",
    "clean_stale_temp_files",
    "dataset_info",
    "default_cache_dir",
    "default_root",
    "download",
    "fetch",
    "file_digest",
    "find_source",
    "image_file_limit",
    "load_dataset",
    "read_cifar_binary",
    "read_idx",
    "read_image_folder",
    "tree_digest",
    "usable_device",
    "verify_file",
]
