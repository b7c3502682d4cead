"""What the trainers need from a data set, and the batch order both trainers share.

Chapter: "Reproducibility". Any object with ``x_train``, ``y_train``, ``x_test``
and ``y_test`` tensors works (a :class:`depthinit.data.Dataset`, or
:class:`Tensors` for tests and notebooks). When it also carries ``x_val`` and
``y_val`` with at least one row, the trainers evaluate on them every epoch (the
``val_loss`` and ``val_acc`` columns of the history; NaN otherwise).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch


@dataclass(frozen=True)
class Tensors:
    """A data set given as tensors (inputs ``[N, ...]`` float, labels ``[N]`` int64); the
    validation pair is optional (``None`` or zero rows: no validation)."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    x_val: torch.Tensor | None = None
    y_val: torch.Tensor | None = None

    @property
    def has_val(self) -> bool:
        """True when validation tensors with at least one row are present."""
        return self.x_val is not None and self.y_val is not None and len(self.x_val) > 0


def prepare(data: Any, device: torch.device, dtype: torch.dtype) -> Tensors:
    """The tensors of ``data`` on ``device``, inputs in ``dtype``, labels int64 (the
    validation pair only when ``data`` has both ``x_val`` and ``y_val`` with > 0 rows)."""
    missing = [n for n in ("x_train", "y_train", "x_test", "y_test") if not hasattr(data, n)]
    if missing:
        raise ValueError(
            f"data of type {type(data).__name__} lacks {', '.join(missing)}; pass a depthinit.data.Dataset "
            "or depthinit.train.Tensors(x_train, y_train, x_test, y_test)"
        )
    out = []
    for name in ("x_train", "y_train", "x_test", "y_test"):
        t = getattr(data, name)
        if not isinstance(t, torch.Tensor):
            raise ValueError(f"data.{name} must be a torch.Tensor, got {type(t).__name__}")
        if name.startswith("x"):
            t = t.to(device=device, dtype=dtype)
        else:
            t = t.to(device=device, dtype=torch.long)
        out.append(t)
    xtr, ytr, xte, yte = out
    if len(xtr) != len(ytr) or len(xte) != len(yte):
        raise ValueError(
            f"inputs and labels differ in length (train {len(xtr)} vs {len(ytr)}, test {len(xte)} vs {len(yte)})"
        )
    if len(xtr) == 0:
        raise ValueError("the training set is empty; pass at least one training example")
    xv, yv = getattr(data, "x_val", None), getattr(data, "y_val", None)
    if xv is None or yv is None:
        return Tensors(xtr, ytr, xte, yte)
    for name, t in (("x_val", xv), ("y_val", yv)):
        if not isinstance(t, torch.Tensor):
            raise ValueError(f"data.{name} must be a torch.Tensor or None, got {type(t).__name__}")
    if len(xv) != len(yv):
        raise ValueError(f"inputs and labels differ in length (validation {len(xv)} vs {len(yv)})")
    if len(xv) == 0:
        return Tensors(xtr, ytr, xte, yte)
    if xv.shape[1:] != xtr.shape[1:]:
        raise ValueError(f"data.x_val has example shape {tuple(xv.shape[1:])} but x_train {tuple(xtr.shape[1:])}")
    return Tensors(xtr, ytr, xte, yte, xv.to(device=device, dtype=dtype), yv.to(device=device, dtype=torch.long))


def data_generator(seed: int) -> torch.Generator:
    """The CPU generator that draws a run's batch order: ``torch.Generator().manual_seed(seed)``."""
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed={seed!r} is not valid; expected an integer >= 0")
    return torch.Generator().manual_seed(seed)


def epoch_order(generator: torch.Generator, n: int) -> torch.Tensor:
    """This epoch's order of the n training examples: ``torch.randperm(n, generator=generator)``.

    Step s of the epoch takes examples ``order[s * B:(s + 1) * B]``; the last
    batch may be smaller.
    """
    return torch.randperm(n, generator=generator)


def steps_per_epoch(n: int, batch_size: int) -> int:
    return -(-n // batch_size)
