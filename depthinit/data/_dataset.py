"""``Dataset``: both splits as float tensors on one device, with their provenance.

Chapter: "Reproducibility" (what every result records about its data).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import torch


@dataclass(frozen=True, eq=False)
class Dataset:
    """A loaded data set. Build it with :func:`depthinit.data.load_dataset`.

    ``x_train``/``x_test``: float32 [N, C, H, W] on one device; ``y_*``: int64
    [N] on the same device. ``preprocess`` is "unit" (x = pixel / 255) or
    "standardize" (x = (pixel / 255 - mean_c) / std_c with ``mean``/``std`` of
    the full training split, None for "unit"). ``source`` says which files were
    read and ``sha256`` maps each to its digest. ``full_sizes`` are the split
    sizes before any :meth:`subset`, and ``subset_seed`` its seed (None: whole).
    """

    name: str
    x_train: torch.Tensor = field(repr=False)
    y_train: torch.Tensor = field(repr=False)
    x_test: torch.Tensor = field(repr=False)
    y_test: torch.Tensor = field(repr=False)
    classes: list[str]
    preprocess: str
    mean: tuple[float, ...] | None
    std: tuple[float, ...] | None
    source: str
    sha256: dict[str, str]
    full_sizes: tuple[int, int] | None = None
    subset_seed: int | None = None

    def __post_init__(self) -> None:
        if self.full_sizes is None:
            object.__setattr__(self, "full_sizes", (len(self.y_train), len(self.y_test)))

    @property
    def num_classes(self) -> int:
        """Number of classes, ``len(classes)``."""
        return len(self.classes)

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """(C, H, W) of one example."""
        c, h, w = self.x_train.shape[1:]
        return (int(c), int(h), int(w))

    @property
    def device(self) -> torch.device:
        """The device all four tensors live on."""
        return self.x_train.device

    @property
    def sizes(self) -> dict[str, int]:
        """The number of examples in each split, as a dict with keys ``"train"`` and ``"test"``."""
        return {"train": len(self.y_train), "test": len(self.y_test)}

    def subset(self, n_train: int | None = None, n_test: int | None = None, *, seed: int = 0) -> Dataset:
        """A random subset of each split, the same for the same ``seed``.

        Indices: the first n of ``torch.randperm(N)`` drawn from a
        ``torch.Generator`` seeded with ``seed`` (train permutation first, then
        test), sorted so the original order is kept. With one seed, a smaller
        subset is contained in a larger one. None keeps a split whole.
        Preprocessing statistics stay those of the full training split.
        """
        gen = torch.Generator().manual_seed(int(seed))
        picks = []
        for split, n in (("train", n_train), ("test", n_test)):
            total = len(getattr(self, f"y_{split}"))
            perm = torch.randperm(total, generator=gen)
            if n is None:
                picks.append(None)
                continue
            if isinstance(n, bool) or not isinstance(n, int) or n < 0 or n > total:
                raise ValueError(
                    f"n_{split}={n!r} is not valid for the {total} {split} examples of {self.name}; "
                    f"expected an int in 0..{total} or None for all"
                )
            picks.append(torch.sort(perm[:n]).values.to(self.device))
        kept = {}
        for split, idx in zip(("train", "test"), picks):
            x, y = getattr(self, f"x_{split}"), getattr(self, f"y_{split}")
            kept[f"x_{split}"] = x if idx is None else x[idx]
            kept[f"y_{split}"] = y if idx is None else y[idx]
        return dataclasses.replace(self, **kept, subset_seed=int(seed))

    def to(self, device: str | torch.device) -> Dataset:
        """The same data on ``device`` (self if it is already there)."""
        device = torch.device(device)
        if self.x_train.device == device:
            return self
        moved = {k: getattr(self, k).to(device) for k in ("x_train", "y_train", "x_test", "y_test")}
        return dataclasses.replace(self, **moved)

    def provenance(self) -> dict[str, Any]:
        """Plain-Python record of where the data came from, to store with every result."""
        return {
            "name": self.name,
            "source": self.source,
            "sha256": dict(self.sha256),
            "preprocess": self.preprocess,
            "mean": list(self.mean) if self.mean is not None else None,
            "std": list(self.std) if self.std is not None else None,
            "sizes": self.sizes,
            "full_sizes": {"train": self.full_sizes[0], "test": self.full_sizes[1]},
            "subset_seed": self.subset_seed,
            "classes": list(self.classes),
            "input_shape": list(self.input_shape),
        }
