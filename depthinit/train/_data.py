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
from torch import nn


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


_CHECK_ROWS = 4096  # examples checked at a time: the finiteness check never holds a mask of the whole set


def _inputs(name: str, t: Any, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """Inputs ``t`` as ``dtype`` on ``device``: a real tensor [N, ...] of finite values."""
    if not isinstance(t, torch.Tensor):
        raise ValueError(f"data.{name} must be a torch.Tensor, got {type(t).__name__}; convert it with torch.as_tensor")
    if t.is_complex() or t.dtype == torch.bool or t.dim() < 1:
        raise ValueError(
            f"data.{name} must be a real tensor [N, ...] of inputs, got {t.dtype} of shape "
            f"{tuple(t.shape)}; pass float inputs with one example per row"
        )
    t = t.to(device=device, dtype=dtype)
    for i in range(0, len(t), _CHECK_ROWS):
        bad = ~torch.isfinite(t[i : i + _CHECK_ROWS])
        if bool(bad.any()):
            row = i + int(bad.flatten(1).any(1).nonzero()[0, 0])
            raise ValueError(
                f"data.{name} holds a non-finite value (NaN or infinity) in example {row}; a run on it would "
                "diverge at once and be blamed on its initialization. Clean or drop those examples first"
            )
    return t


def _labels(name: str, t: Any, n: int, device: torch.device) -> torch.Tensor:
    """Labels ``t`` as int64 on ``device``: a 1-D tensor of ``n`` whole numbers >= 0."""
    if not isinstance(t, torch.Tensor):
        raise ValueError(f"data.{name} must be a torch.Tensor, got {type(t).__name__}; convert it with torch.as_tensor")
    if t.dim() != 1 or t.is_complex():
        raise ValueError(
            f"data.{name} must be a 1-D tensor of class indices, got {t.dtype} of shape "
            f"{tuple(t.shape)}; pass one integer label per example"
        )
    if len(t) != n:
        raise ValueError(f"data.{name} has {len(t)} labels for {n} inputs; pass one label per example")
    if t.is_floating_point() and len(t) and not bool((t == t.floor()).all()):
        raise ValueError(
            f"data.{name} holds labels that are not whole numbers (e.g. {float(t[t != t.floor()][0])}); "
            "pass class indices 0..C-1"
        )
    t = t.to(device=device, dtype=torch.long)
    if len(t) and int(t.min()) < 0:
        raise ValueError(f"data.{name} holds the label {int(t.min())}; pass class indices 0..C-1")
    return t


def prepare(data: Any, device: torch.device, dtype: torch.dtype) -> Tensors:
    """The tensors of ``data`` on ``device``, inputs in ``dtype``, labels int64 (the
    validation pair only when ``data`` has both ``x_val`` and ``y_val`` with > 0 rows).

    Refused with a ValueError naming the tensor: a missing or non-tensor field, inputs
    that are complex, boolean or hold a NaN or infinity (a run on them would diverge and
    be blamed on its initialization), labels that are not whole numbers >= 0 or not one
    per input, an empty training or test set, and inputs whose example shapes differ
    between the splits."""
    missing = [n for n in ("x_train", "y_train", "x_test", "y_test") if not hasattr(data, n)]
    if missing:
        raise ValueError(
            f"data of type {type(data).__name__} lacks {', '.join(missing)}; pass a depthinit.data.Dataset "
            "or depthinit.train.Tensors(x_train, y_train, x_test, y_test)"
        )
    xtr = _inputs("x_train", data.x_train, device, dtype)
    ytr = _labels("y_train", data.y_train, len(xtr), device)
    xte = _inputs("x_test", data.x_test, device, dtype)
    yte = _labels("y_test", data.y_test, len(xte), device)
    if len(xtr) == 0:
        raise ValueError("the training set is empty; pass at least one training example")
    if len(xte) == 0:
        raise ValueError(
            "the test set is empty; pass at least one test example (an accuracy over no example is not a result)"
        )
    if xte.shape[1:] != xtr.shape[1:]:
        raise ValueError(
            f"data.x_test has example shape {tuple(xte.shape[1:])} but x_train {tuple(xtr.shape[1:])}; "
            "pass both splits with the same example shape"
        )
    xv, yv = getattr(data, "x_val", None), getattr(data, "y_val", None)
    if xv is None or yv is None:
        return Tensors(xtr, ytr, xte, yte)
    for name, t in (("x_val", xv), ("y_val", yv)):
        if not isinstance(t, torch.Tensor):
            raise ValueError(f"data.{name} must be a torch.Tensor or None, got {type(t).__name__}")
    if len(xv) != len(yv):
        raise ValueError(
            f"inputs and labels differ in length (validation {len(xv)} vs {len(yv)}); pass one label per example"
        )
    if len(xv) == 0:
        return Tensors(xtr, ytr, xte, yte)
    if xv.shape[1:] != xtr.shape[1:]:
        raise ValueError(
            f"data.x_val has example shape {tuple(xv.shape[1:])} but x_train {tuple(xtr.shape[1:])}; "
            "pass both splits with the same example shape"
        )
    return Tensors(xtr, ytr, xte, yte, _inputs("x_val", xv, device, dtype), _labels("y_val", yv, len(xv), device))


def check_fit(model: nn.Module, d: Tensors) -> None:
    """ValueError unless ``model`` runs on one training example and gives logits ``[1, C]``
    with every label of ``d`` below C; the model's state and modes are left as they were
    (eval mode and no gradient for the pass). Run before the first step, so that a
    mismatch stops a trainer before anything changes."""
    was = [m.training for m in model.modules()]
    try:
        model.eval()
        with torch.no_grad():
            out = model(d.x_train[:1])
    except Exception as exc:  # the model's own error, reported with the shapes
        raise ValueError(
            f"{type(model).__name__} cannot run on the training inputs (one example of shape "
            f"{tuple(d.x_train.shape[1:])}, {d.x_train.dtype} on {d.x_train.device}): {type(exc).__name__}: {exc}. "
            "Pass inputs of the shape the model was built for"
        ) from exc
    finally:
        for m, training in zip(model.modules(), was):
            m.training = training
    if not isinstance(out, torch.Tensor) or out.dim() != 2 or out.shape[0] != 1:
        what = f"shape {tuple(out.shape)}" if isinstance(out, torch.Tensor) else type(out).__name__
        raise ValueError(
            f"{type(model).__name__} must return logits [batch, classes] for the cross-entropy, got "
            f"{what} for one example; end the model with a layer of one output per class"
        )
    classes = out.shape[1]
    for name, y in (("y_train", d.y_train), ("y_test", d.y_test), ("y_val", d.y_val)):
        if y is not None and len(y) and int(y.max()) >= classes:
            raise ValueError(
                f"data.{name} holds the label {int(y.max())} but {type(model).__name__} has "
                f"{classes} outputs (classes 0..{classes - 1}); build the model with one output per class"
            )


def check_config(config: Any) -> torch.device:
    """``config.torch_device`` after checking that ``config`` is a TrainConfig and that its
    device can hold tensors on this machine (TypeError / ValueError otherwise)."""
    from ._config import TrainConfig

    if not isinstance(config, TrainConfig):
        raise TypeError(
            f"config must be a depthinit.train.TrainConfig, got {type(config).__name__}; "
            "build one, e.g. TrainConfig(lr=0.01, epochs=5)"
        )
    from ..data import usable_device

    return usable_device(config.device)


def check_models(models: Any) -> None:
    """TypeError unless ``models`` is a sequence of torch.nn.Module, ValueError for a model
    with nothing to train (no parameter with ``requires_grad``)."""
    for k, m in enumerate(models):
        if not isinstance(m, nn.Module):
            raise TypeError(f"model {k} is a {type(m).__name__}, not a torch.nn.Module; pass the models to train")
        if not any(p.requires_grad for p in m.parameters()):
            none = next(iter(m.parameters()), None) is None
            what = "no parameter" if none else "no parameter with requires_grad=True"
            raise ValueError(
                f"model {k} ({type(m).__name__}) has {what}, so there is nothing to train; pass a model "
                "with parameters (or unfreeze them with requires_grad_(True))"
            )


def data_generator(seed: int) -> torch.Generator:
    """The CPU generator that draws a run's batch order: ``torch.Generator().manual_seed(seed)``."""
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**64:
        raise ValueError(f"seed={seed!r} is not valid; expected an integer in 0..2**64-1 (a torch.Generator seed)")
    return torch.Generator().manual_seed(seed)


def epoch_order(generator: torch.Generator, n: int) -> torch.Tensor:
    """This epoch's order of the n training examples: ``torch.randperm(n, generator=generator)``.

    Step s of the epoch takes examples ``order[s * B:(s + 1) * B]``; the last
    batch may be smaller.
    """
    return torch.randperm(n, generator=generator)


def steps_per_epoch(n: int, batch_size: int) -> int:
    return -(-n // batch_size)
