"""``plan`` and ``init_``: apply a scheme to any model, in forward-execution order.

Chapter: "The schemes at a glance" and "Use it in your model".
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import torch
from torch import nn

from ._layers import Layer, discover
from ._lsuv import lsuv_
from ._samplers import fresh_generator, normal_, orthogonal_, uniform_
from ._schemes import layer_specs, resolve_options

FRAME_COLUMNS = (
    "layer", "kind", "depth", "fan_in", "fan_out", "distribution",
    "alpha", "variance", "std", "bound", "gain",
)


@dataclass(frozen=True)
class LayerPlan:
    """The initialization of one weight layer.

    ``std`` is the standard deviation of the weight entries (for LSUV and
    orthogonal, what was applied); ``bound`` the uniform half-width sqrt(3) std,
    NaN for other distributions; ``alpha`` the depth factor (1 without a depth
    schedule, NaN for LSUV).
    """

    layer: str
    kind: str
    depth: int
    fan_in: int
    fan_out: int
    distribution: str
    alpha: float
    std: float
    gain: float = float("nan")
    lsuv_iterations: int | None = None
    lsuv_variance_out: float | None = None
    lsuv_converged: bool | None = None

    @property
    def variance(self) -> float:
        return self.std**2

    @property
    def bound(self) -> float:
        return math.sqrt(3.0) * self.std if self.distribution == "uniform" else float("nan")


@dataclass(frozen=True)
class InitPlan:
    """What a scheme does to a model, one :class:`LayerPlan` per weight layer in depth order.

    ``order`` is ``"forward"`` (found by running ``example_input``) or
    ``"registration"``; ``unreached`` names the Linear/Conv modules the forward
    pass never called (left unchanged). Biases of the planned layers are set to
    zero by :func:`init_`, as the paper ignores them.
    """

    scheme: str
    options: dict[str, Any]
    layers: tuple[LayerPlan, ...]
    order: str
    unreached: tuple[str, ...] = field(default_factory=tuple)

    @property
    def L(self) -> int:
        """Number of weight layers."""
        return len(self.layers)

    @property
    def converged(self) -> bool:
        """False when any LSUV layer stopped at ``max_iter`` (always True for other schemes)."""
        return all(l.lsuv_converged is not False for l in self.layers)

    def to_frame(self) -> pd.DataFrame:
        """One row per weight layer in depth order: ``layer, kind, depth, fan_in, fan_out,
        distribution, alpha, variance, std, bound, gain`` (plus LSUV's iteration columns)."""
        rows = []
        for l in self.layers:
            row = {c: getattr(l, c) for c in FRAME_COLUMNS}
            if l.lsuv_iterations is not None:
                row.update(
                    lsuv_iterations=l.lsuv_iterations,
                    lsuv_variance_out=l.lsuv_variance_out,
                    lsuv_converged=l.lsuv_converged,
                )
            rows.append(row)
        frame = pd.DataFrame(rows)
        frame.attrs.update(scheme=self.scheme, order=self.order, unreached=list(self.unreached))
        return frame

    def __repr__(self) -> str:
        return (
            f"InitPlan(scheme={self.scheme!r}, L={self.L}, order={self.order!r}, "
            f"unreached={list(self.unreached)})"
        )


def _plans(layers: list[Layer], specs) -> tuple[LayerPlan, ...]:
    return tuple(
        LayerPlan(l.name, l.kind, l.depth, l.fan_in, l.fan_out, s.distribution, s.alpha, s.std, s.gain)
        for l, s in zip(layers, specs)
    )


def _run_lsuv(model, layers, example_input, options, generator) -> tuple[LayerPlan, ...]:
    results = lsuv_(model, layers, example_input, generator=generator, **options)
    return tuple(
        LayerPlan(
            l.name, l.kind, l.depth, l.fan_in, l.fan_out, "lsuv", float("nan"), r.std,
            lsuv_iterations=r.iterations, lsuv_variance_out=r.variance_out, lsuv_converged=r.converged,
        )
        for l, r in zip(layers, results)
    )


def _prepare(model: nn.Module, scheme: str, example_input: Any, options: dict[str, Any]):
    options = resolve_options(scheme, options)
    if scheme == "lsuv" and example_input is None:
        raise ValueError(
            "scheme 'lsuv' is data-dependent and needs example_input: pass a representative batch, "
            "e.g. init_(model, 'lsuv', example_input=x[:256])"
        )
    layers, unreached, order = discover(model, example_input)
    return options, layers, tuple(unreached), order


def plan(model: nn.Module, scheme: str, *, example_input: Any = None, **options: Any) -> InitPlan:
    """Compute what :func:`init_` would do to ``model``, changing nothing.

    For LSUV the procedure runs on a copy of the model (with a fresh generator),
    so ``std`` is what that run applied.

    >>> import torch
    >>> net = torch.nn.Sequential(torch.nn.Linear(8, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    >>> plan(net, "he").to_frame()["std"].round(3).tolist()
    [0.5, 0.707]
    """
    options, layers, unreached, order = _prepare(model, scheme, example_input, options)
    if scheme == "lsuv":
        twin = copy.deepcopy(model)
        twin_layers, _, _ = discover(twin, example_input)
        return InitPlan(scheme, options, _run_lsuv(twin, twin_layers, example_input, options, fresh_generator()),
                        order, unreached)
    return InitPlan(scheme, options, _plans(layers, layer_specs(scheme, layers, options)), order, unreached)


def init_(
    model: nn.Module,
    scheme: str,
    *,
    generator: torch.Generator | None = None,
    example_input: Any = None,
    **options: Any,
) -> InitPlan:
    """Initialize every Linear/Conv weight of ``model`` in place with ``scheme``; return the plan.

    Layers are taken in forward-execution order when ``example_input`` is given
    (a module called twice is initialized once; modules the pass never reaches
    are left alone and listed in ``plan.unreached``), otherwise in registration
    order. Biases of those layers are set to zero. Randomness comes only from
    ``generator`` (a fresh OS-seeded one when None); torch's global RNG is never
    touched, and the same seed gives bit-identical weights. On any error the
    model is left unchanged.

    Schemes and options: see :func:`depthinit.schemes` and the chapter
    "The schemes at a glance".

    >>> import torch
    >>> net = torch.nn.Sequential(*[torch.nn.Linear(64, 64) for _ in range(10)])
    >>> p = init_(net, "depth", schedule="increasing", network_variance=22.0,
    ...           generator=torch.Generator().manual_seed(0))
    >>> round(float(p.to_frame()["alpha"].iloc[1:].prod()), 6)
    22.0
    """
    options, layers, unreached, order = _prepare(model, scheme, example_input, options)
    if generator is None:
        generator = fresh_generator()
    snapshot = {k: v.detach().clone() for k, v in model.state_dict().items()}
    modes = {m: m.training for m in model.modules()}
    try:
        if scheme == "lsuv":
            plans = _run_lsuv(model, layers, example_input, options, generator)
        else:
            specs = layer_specs(scheme, layers, options)
            plans = _plans(layers, specs)
            for layer, spec in zip(layers, specs):
                w = layer.module.weight
                if spec.distribution == "orthogonal":
                    orthogonal_(w, spec.gain, generator=generator)
                elif spec.distribution == "uniform":
                    uniform_(w, spec.std, generator=generator)
                else:
                    normal_(w, spec.std, generator=generator)
                if getattr(layer.module, "bias", None) is not None:
                    with torch.no_grad():
                        layer.module.bias.zero_()
    except BaseException:
        model.load_state_dict(snapshot)
        raise
    finally:
        for m, training in modes.items():
            m.training = training
    return InitPlan(scheme, options, plans, order, unreached)
