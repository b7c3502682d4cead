"""Training settings: one frozen dataclass, a comment on every default.

Chapter: "Reproducibility" (what every run records) and the experiment chapters
E1-E5, which override a few of these per profile.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, Literal

import torch

Optimizer = Literal["sgd", "adam"]
OPTIMIZERS: tuple[str, ...] = ("sgd", "adam")
DTYPES: dict[str, torch.dtype] = {"float32": torch.float32, "float64": torch.float64}


@dataclass(frozen=True)
class TrainConfig:
    """How to train one model (or K models at once).

    The paper states neither optimizer nor learning rate nor epochs; the defaults
    are the classic setting for plain ReLU networks of its era, chosen here and
    recorded with every result (chapter "Reproducibility").
    """

    optimizer: Optimizer = "sgd"  # "sgd" (heavy-ball momentum, torch.optim.SGD semantics) or "adam"
    lr: float = 0.01  # step size (the shipped 54-layer MLP experiments use 0.002: 0.01 diverged there)
    momentum: float = 0.9  # SGD only: heavy-ball coefficient mu in buf <- mu buf + g
    nesterov: bool = False  # SGD only: Nesterov variant p <- p - lr (g + mu buf)
    betas: tuple[float, float] = (0.9, 0.999)  # Adam only: decay of the first and second moments
    eps: float = 1e-8  # Adam only: added to sqrt(v_hat)
    weight_decay: float = 0.0  # L2 penalty added to the gradient (torch.optim semantics); the paper uses none
    batch_size: int = 128  # examples per step; the last, smaller batch of an epoch is kept
    epochs: int = 5  # passes over the training set
    n_train: int | None = (
        None  # training examples the sweep keeps (a fixed random subset, seeded; not class-stratified); None = all
    )
    n_test: int | None = None  # test examples the sweep keeps; None = all
    eval_batch_size: int = 1000  # examples per forward pass when evaluating (no effect on results)
    eval_init: bool = True  # add an epoch-0 row: train and test loss/accuracy at initialization
    probe_epochs: tuple[int, ...] = ()  # epochs after which to record per-layer statistics (0 = at init)
    probe_batch: int = 256  # size of the fixed probe batch (the first training examples)
    device: str = "cpu"  # torch device the tensors live on ("cpu", "cuda", "cuda:1", "mps")
    dtype: str = "float32"  # "float32" or "float64" (float64 for exactness checks)
    n_val: int = 0  # training examples held out for validation (the sweep carves them from the training split;
    #   the trainers evaluate on data.x_val/y_val whenever the data carry them with > 0 rows); 0 = none
    lr_scales: tuple[tuple[str, float], ...] = ()  # learning-rate factor by parameter name, e.g.
    #   (("layers.0.bias", 0.5),): that tensor steps with lr * 0.5; names not listed get 1.0; () = all 1.0.
    #   A mapping is accepted and normalised to a tuple of (name, factor) pairs sorted by name.
    logit_scale: float = 1.0  # the logits are multiplied by this before the loss, in training, evaluation and
    #   accuracy (an inverse temperature); 1.0 = the plain cross-entropy of the model's outputs
    warmup_epochs: float = 0.0  # linear learning-rate warm-up over this many epochs' worth of steps:
    #   W = max(1, round(warmup_epochs * steps_per_epoch)) steps, step t (1-based) uses lr * min(1, t / W),
    #   so lr / W at the first step and lr from step W on; 0 = none

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer={self.optimizer!r} is not valid; expected one of 'sgd', 'adam'")
        _positive("lr", self.lr)
        _in_unit("momentum", self.momentum)
        b1, b2 = _pair("betas", self.betas)
        _in_unit("betas[0]", b1)
        _in_unit("betas[1]", b2)
        _positive("eps", self.eps)
        wd = self.weight_decay
        if isinstance(wd, bool) or not isinstance(wd, (int, float)) or not (math.isfinite(wd) and wd >= 0):
            raise ValueError(f"weight_decay={wd!r} is not valid; expected a finite number >= 0")
        for flag in ("nesterov", "eval_init"):
            if not isinstance(getattr(self, flag), bool):
                raise ValueError(f"{flag}={getattr(self, flag)!r} is not valid; expected True or False")
        _int("batch_size", self.batch_size, 1)
        _int("epochs", self.epochs, 0)
        _int("eval_batch_size", self.eval_batch_size, 1)
        _int("probe_batch", self.probe_batch, 1)
        for name in ("n_train", "n_test"):
            value = getattr(self, name)
            if value is not None:
                _int(name, value, 1)
        if self.nesterov and (self.optimizer != "sgd" or self.momentum == 0):
            raise ValueError("nesterov=True needs optimizer='sgd' and momentum > 0; set nesterov=False")
        if isinstance(self.probe_epochs, (str, bytes)) or not isinstance(self.probe_epochs, (tuple, list, range)):
            raise ValueError(
                f"probe_epochs={self.probe_epochs!r} is not valid; expected a tuple of epochs, "
                "e.g. (0, 5) or () for none"
            )
        epochs = tuple(self.probe_epochs)
        for e in epochs:
            _int("probe_epochs entry", e, 0)
            if e > self.epochs:
                raise ValueError(
                    f"probe_epochs contains {e} but training has only epochs={self.epochs}; "
                    f"use epochs between 0 and {self.epochs}"
                )
        object.__setattr__(self, "probe_epochs", tuple(sorted(set(epochs))))
        object.__setattr__(self, "betas", (float(b1), float(b2)))
        if self.dtype not in DTYPES:
            raise ValueError(f"dtype={self.dtype!r} is not valid; expected 'float32' or 'float64'")
        try:
            torch.device(self.device)
        except (RuntimeError, TypeError):
            raise ValueError(f"device={self.device!r} is not a torch device; use 'cpu', 'cuda' or 'mps'") from None
        _int("n_val", self.n_val, 0)
        object.__setattr__(self, "lr_scales", normalise_lr_scales(self.lr_scales, "lr_scales"))
        _positive("logit_scale", self.logit_scale)
        object.__setattr__(self, "logit_scale", float(self.logit_scale))
        w = self.warmup_epochs
        if isinstance(w, bool) or not isinstance(w, (int, float)) or not (math.isfinite(w) and w >= 0):
            raise ValueError(
                f"warmup_epochs={w!r} is not valid; expected a finite number of epochs >= 0 (0: no warm-up)"
            )
        object.__setattr__(self, "warmup_epochs", float(w))

    @property
    def torch_dtype(self) -> torch.dtype:
        return DTYPES[self.dtype]

    @property
    def torch_device(self) -> torch.device:
        return torch.device(self.device)

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python view (tuples become lists, ``lr_scales`` a list of ``[name, factor]``)
        for JSON records and run ids."""
        out = {}
        for f in fields(self):
            v = getattr(self, f.name)
            out[f.name] = [list(x) if isinstance(x, tuple) else x for x in v] if isinstance(v, tuple) else v
        return out

    def warmup_steps(self, steps_per_epoch: int) -> int:
        """Steps of the linear warm-up: 0 without one, else ``max(1, round(warmup_epochs * steps_per_epoch))``."""
        if self.warmup_epochs == 0:
            return 0
        return max(1, round(self.warmup_epochs * steps_per_epoch))

    def lr_factor(self, step: int, steps_per_epoch: int) -> float:
        """The warm-up factor of 1-based optimizer step ``step``: ``min(1, step / W)`` (1 without warm-up)."""
        w = self.warmup_steps(steps_per_epoch)
        return 1.0 if w == 0 or step >= w else step / w


def normalise_lr_scales(value: Any, name: str = "lr_scales") -> tuple[tuple[str, float], ...]:
    """``value`` (a mapping name -> factor, or pairs ``(name, factor)``) as a tuple of
    ``(str, float)`` pairs sorted by name; factors must be finite and >= 0 (0 freezes a tensor)."""
    if isinstance(value, Mapping):
        pairs = list(value.items())
    else:
        try:
            pairs = [tuple(p) for p in value]
        except TypeError:
            raise ValueError(
                f"{name}={value!r} is not valid; expected a mapping or pairs like (('layers.0.bias', 0.5),)"
            ) from None
    out: dict[str, float] = {}
    for pair in pairs:
        if len(pair) != 2 or not isinstance(pair[0], str):
            raise ValueError(
                f"{name} entry {pair!r} is not valid; expected a (parameter name, factor) pair "
                "like ('layers.0.bias', 0.5)"
            )
        key, factor = pair
        if (
            isinstance(factor, bool)
            or not isinstance(factor, (int, float))
            or not (math.isfinite(factor) and factor >= 0)
        ):
            raise ValueError(f"{name}[{key!r}]={factor!r} is not valid; expected a finite factor >= 0")
        if key in out:
            raise ValueError(f"{name} names {key!r} twice; give each parameter one factor")
        out[key] = float(factor)
    return tuple(sorted(out.items()))


def _positive(name: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name}={value!r} is not valid; expected a finite number > 0")


def _in_unit(name: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (0 <= value < 1):
        raise ValueError(f"{name}={value!r} is not valid; expected a number in [0, 1)")


def _int(name: str, value: object, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name}={value!r} is not valid; expected an integer >= {minimum}")


def _pair(name: str, value: Any) -> tuple[float, float]:
    try:
        a, b = value
        return float(a), float(b)
    except (TypeError, ValueError):
        raise ValueError(f"{name}={value!r} is not valid; expected two numbers like (0.9, 0.999)") from None
