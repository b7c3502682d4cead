"""``Dataset``: both splits as float tensors on one device, with their provenance.

Chapter: "Reproducibility" (what every result records about its data).
"""

from __future__ import annotations

import dataclasses
import numbers
from dataclasses import dataclass, field
from typing import Any

import torch

from ._device import usable_device

_TENSORS: tuple[str, ...] = ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test")


def _count(value: object, name: str, total: int, what: str, least: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not least <= int(value) <= total:
        raise ValueError(f"{name}={value!r} is not valid for the {total} {what}; expected an int in {least}..{total}")
    return int(value)


@dataclass(frozen=True, eq=False)
class Dataset:
    """A loaded data set. Build it with :func:`depthinit.data.load_dataset`.

    ``x_train``/``x_val``/``x_test``: float32 [N, C, H, W] on one device;
    ``y_*``: int64 [N] on the same device. ``x_val``/``y_val`` hold the
    validation examples that :meth:`subset` carves out of the training split
    (empty, N = 0, until then). ``preprocess`` is "unit" (x = pixel / 255) or
    "standardize" (x = (pixel / 255 - mean_c) / std_c with ``mean``/``std`` of
    the full training split, None for "unit"). ``source`` says which files were
    read and ``sha256`` maps each to its digest. ``full_sizes`` are the split
    sizes (train, test) before any :meth:`subset`, and ``subset_seed`` its seed
    (None: whole).
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
    # None until __post_init__, which puts empty tensors of the training split's shape there.
    x_val: torch.Tensor = field(default=None, repr=False)  # type: ignore[assignment]
    y_val: torch.Tensor = field(default=None, repr=False)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.full_sizes is None:
            object.__setattr__(self, "full_sizes", (len(self.y_train), len(self.y_test)))
        if self.x_val is None:
            object.__setattr__(self, "x_val", self.x_train[:0])
        if self.y_val is None:
            object.__setattr__(self, "y_val", self.y_train[:0])

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
        """The device all the tensors live on."""
        return self.x_train.device

    @property
    def sizes(self) -> dict[str, int]:
        """The number of examples in each split, as a dict with keys ``"train"`` and ``"test"``
        (the validation split's is :attr:`n_val`)."""
        return {"train": len(self.y_train), "test": len(self.y_test)}

    @property
    def n_val(self) -> int:
        """The number of validation examples, ``len(y_val)`` (0 unless :meth:`subset` carved some)."""
        return len(self.y_val)

    def subset(
        self, n_train: int | None = None, n_test: int | None = None, *, seed: int = 0, n_val: int = 0
    ) -> Dataset:
        """A seeded random subset of each split, and a validation split carved from the training one.

        Drawn with one ``torch.Generator`` seeded with ``seed``: first
        p = ``torch.randperm(N_train)``, then q = ``torch.randperm(N_test)``.

        - validation: the last ``n_val`` entries of p, p[N_train - n_val:];
        - training: the first ``n_train`` entries of p, p[:n_train] (None: all
          N_train - n_val that are not validation);
        - test: the first ``n_test`` entries of q (None: the whole test split).

        Each index set is sorted, so the original order is kept. So the
        validation examples come from the training split only, never from the
        test split, and are disjoint from the training subset
        (n_train + n_val <= N_train is required); with one seed, a smaller
        training subset is contained in a larger one, a smaller validation set
        in a larger one, and the training subset does not depend on ``n_val``
        (nor the test subset on either). With ``n_val=0`` the subsets are those
        of earlier releases. Preprocessing statistics stay those of the full
        training split (validation images included). ``provenance()`` records
        ``n_val`` and ``subset_seed``. A data set that already has a validation
        split cannot be subset again (take the subset of the full one).

        Raises ValueError for a count that is not an int in range (``n_train`` and
        ``n_test`` at least 1: an empty split trains or measures nothing; bool is not a
        number) or when n_train + n_val exceeds the training examples, TypeError
        for a seed that is not an int.
        """
        if self.n_val:
            raise ValueError(
                f"this {self.name} data set already has a validation split of {self.n_val}; "
                "call subset() on the full data set (load_dataset(...)) instead"
            )
        if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
            raise TypeError(f"seed={seed!r} is not valid; expected an int")
        n_all, n_all_test = len(self.y_train), len(self.y_test)
        n_val = _count(
            n_val, "n_val", n_all, f"training examples of {self.name} (the validation split is carved from them)"
        )
        if n_train is not None:
            n_train = _count(n_train, "n_train", n_all, f"train examples of {self.name} (or None for all)", 1)
            if n_train + n_val > n_all:
                raise ValueError(
                    f"n_train={n_train} plus n_val={n_val} is {n_train + n_val}, more than the {n_all} "
                    f"training examples of {self.name}; the validation split is carved from the training "
                    f"split, so expected n_train + n_val <= {n_all}"
                )
        if n_test is not None:
            n_test = _count(n_test, "n_test", n_all_test, f"test examples of {self.name} (or None for all)", 1)
        gen = torch.Generator().manual_seed(int(seed))
        perm = torch.randperm(n_all, generator=gen)
        perm_test = torch.randperm(n_all_test, generator=gen)

        def pick(split: str, idx: torch.Tensor | None) -> dict[str, torch.Tensor]:
            x, y = getattr(self, f"x_{split}"), getattr(self, f"y_{split}")
            if idx is None:
                return {}
            idx = torch.sort(idx).values.to(self.device)
            return {f"x_{split}": x[idx], f"y_{split}": y[idx]}

        train_idx = perm[: n_all - n_val] if n_train is None else perm[:n_train]
        kept = {
            **(pick("train", train_idx) if n_train is not None or n_val else {}),
            **pick("test", None if n_test is None else perm_test[:n_test]),
        }
        val_idx = torch.sort(perm[n_all - n_val :]).values.to(self.device)
        kept["x_val"], kept["y_val"] = self.x_train[val_idx], self.y_train[val_idx]
        return dataclasses.replace(self, **kept, subset_seed=int(seed))

    def to(self, device: str | torch.device) -> Dataset:
        """The same data (training, validation and test) on ``device`` (self if it is already there).

        Raises ValueError for a device that cannot hold data (see
        :func:`~depthinit.data.usable_device`).
        """
        device = usable_device(device)
        if self.x_train.device == device:
            return self
        moved = {k: getattr(self, k).to(device) for k in _TENSORS}
        return dataclasses.replace(self, **moved)

    def provenance(self) -> dict[str, Any]:
        """Plain-Python record of where the data came from, to store with every result.

        Keys: name, source, sha256, preprocess, mean, std, sizes (train, test),
        full_sizes, subset_seed (None: no subset), n_val (validation examples
        carved from the training split with that seed, see :meth:`subset`),
        classes, input_shape.
        """
        full_train, full_test = self.full_sizes or (len(self.y_train), len(self.y_test))
        return {
            "name": self.name,
            "source": self.source,
            "sha256": dict(self.sha256),
            "preprocess": self.preprocess,
            "mean": list(self.mean) if self.mean is not None else None,
            "std": list(self.std) if self.std is not None else None,
            "sizes": self.sizes,
            "full_sizes": {"train": full_train, "test": full_test},
            "subset_seed": self.subset_seed,
            "n_val": self.n_val,
            "classes": list(self.classes),
            "input_shape": list(self.input_shape),
        }
