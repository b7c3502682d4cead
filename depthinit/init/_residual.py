"""How the residual schemes find a model's residual structure.

Chapter: "E8: normalization and residuals". Two ways, tried in this order:

1. **The residual protocol**: the model has a method ``residual_branches()``
   returning, in depth order, one sequence per residual branch of the weight
   modules of that branch in their forward order (each a layer the plan
   initializes: Linear, Conv, ConvTranspose), and optionally
   ``residual_gates()`` returning the scalar gate Parameters (the g of
   ``x + g f(x)``). :class:`depthinit.models.ResMLP` implements it.
2. **The module type** :class:`depthinit.models.ResidualBlock`: every such block
   in the model (registration order) is one branch (its ``branch_layers()``) with
   its ``gate`` when built with ``gate=True``.

``fixup`` needs the branches; ``rezero`` and ``zero_gate=True`` need the gates.
Every scheme sets the gates it finds: 0 with ``zero_gate=True`` (and ``rezero``),
1 otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ..models import ResidualBlock

PROTOCOL_HINT = (
    "give the model a residual_branches() method returning, in depth order, the weight modules of each residual "
    "branch (and residual_gates() returning the scalar gate Parameters), or build its residual blocks from "
    "depthinit.models.ResidualBlock (e.g. depthinit.models.ResMLP)"
)


@dataclass(frozen=True)
class Residual:
    """A model's residual structure: the weight modules of each branch and the gates (name, Parameter)."""

    branches: tuple[tuple[nn.Module, ...], ...]
    gates: tuple[tuple[str, nn.Parameter], ...]
    source: str  # "residual_branches()" or "ResidualBlock"


def find_residual(model: nn.Module) -> Residual | None:
    """The residual structure of ``model`` (see the module doc), or None when it declares none."""
    branches_fn: Any = getattr(model, "residual_branches", None)
    if callable(branches_fn):
        branches = _check_branches(model, branches_fn())
        gates_fn: Any = getattr(model, "residual_gates", None)
        gates = list(gates_fn()) if callable(gates_fn) else []
        source = "residual_branches()"
    else:
        blocks = [m for m in model.modules() if isinstance(m, ResidualBlock)]
        if not blocks:
            return None
        branches = _check_branches(model, [b.branch_layers() for b in blocks])
        gates = [b.gate for b in blocks if b.gate is not None]
        source = "ResidualBlock"
    names = {id(p): n for n, p in model.named_parameters()}
    named = []
    for g in gates:
        if not isinstance(g, nn.Parameter) or id(g) not in names:
            raise ValueError(
                f"{type(model).__name__}.residual_gates() must return Parameters of the model, got "
                f"{type(g).__name__}; return the gate Parameters (e.g. [block.gate for block in self.blocks])"
            )
        if not g.is_floating_point() or g.is_complex():
            raise ValueError(
                f"residual gate {names[id(g)]!r} is {g.dtype}; a gate must be a real floating-point tensor"
            )
        named.append((names[id(g)], g))
    return Residual(branches, tuple(dict.fromkeys(named)), source)


def _check_branches(model: nn.Module, branches: object) -> tuple[tuple[nn.Module, ...], ...]:
    where = f"{type(model).__name__}.residual_branches()"
    if not isinstance(branches, Sequence) or isinstance(branches, (str, bytes)):
        raise ValueError(
            f"{where} must return a list of branches (each a list of weight modules), got {type(branches).__name__}"
        )
    out = []
    for i, branch in enumerate(branches):
        if isinstance(branch, nn.Module) or not isinstance(branch, Sequence) or not branch:
            raise ValueError(f"{where}: branch {i} must be a non-empty list of weight modules, got {branch!r:.80}")
        for m in branch:
            if not isinstance(m, nn.Module) or not isinstance(getattr(m, "weight", None), torch.Tensor):
                raise ValueError(
                    f"{where}: branch {i} holds {type(m).__name__}, not a weight layer "
                    "(Linear, Conv, ConvTranspose); list only the weight modules of each branch, "
                    "in their forward order"
                )
        out.append(tuple(branch))
    return tuple(out)
