"""Decoded data as the readers return it and the cache stores it: uint8 pixels, int64 labels.

Chapter: "Reproducibility".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._errors import DataError


@dataclass(frozen=True, eq=False)
class RawData:
    """Both splits of a data set, undecorated.

    ``x_*``: uint8 arrays [N, C, H, W] (C-contiguous); ``y_*``: int64 arrays [N]
    with values in ``range(len(classes))``; ``classes``: names in label order.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    classes: tuple[str, ...]

    def check(self, where: str) -> RawData:
        """Raise :class:`DataError` (mentioning ``where``) unless shapes, dtypes and labels agree."""
        for split in ("train", "test"):
            x, y = getattr(self, f"x_{split}"), getattr(self, f"y_{split}")
            if x.dtype != np.uint8 or x.ndim != 4:
                raise DataError(f"{where}: {split} images must be uint8 [N, C, H, W]; got {x.dtype} {x.shape}")
            if x.shape[0] == 0:
                raise DataError(
                    f"{where}: the {split} split has no images; a data set needs both splits (a model trained "
                    "without test images would report an accuracy of nothing). Get the complete files again"
                )
            if y.dtype != np.int64 or y.shape != (x.shape[0],):
                raise DataError(f"{where}: {split} labels must be int64 [{x.shape[0]}]; got {y.dtype} {y.shape}")
            if y.size and (y.min() < 0 or y.max() >= len(self.classes)):
                raise DataError(
                    f"{where}: {split} labels must lie in 0..{len(self.classes) - 1}; "
                    f"found {int(y.min())}..{int(y.max())}"
                )
        if self.x_train.shape[1:] != self.x_test.shape[1:]:
            raise DataError(
                f"{where}: train images are {self.x_train.shape[1:]} but test images {self.x_test.shape[1:]}"
            )
        return self
