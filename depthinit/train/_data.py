"""What the trainers need from a data set, and the batch order both trainers share.

Chapter: "Reproducibility". Any object with ``x_train``, ``y_train``, ``x_test``
and ``y_test`` tensors works (a :class:`depthinit.data.Dataset`, or
:class:`Tensors` for tests and notebooks).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch


@dataclass(frozen=True)
class Tensors:
    """A data set given as four tensors (inputs ``[N, ...]`` float, labels ``[N]`` int64)."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor


def prepare(data: Any, device: torch.device, dtype: torch.dtype) -> Tensors:
    """The four tensors of ``data`` on ``device``, inputs in ``dtype``, labels int64."""
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
    return Tensors(xtr, ytr, xte, yte)


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
