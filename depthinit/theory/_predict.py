"""Predicted and measured per-layer variances at initialization.

Chapter: "Signal propagation at initialization".

:func:`predict` evaluates the SymPy recursions (3), (4), (12) and (13) —
lambdified, with each layer's own fans and weight variance from an
:class:`~depthinit.InitPlan` — for a plain chain of layers
y_l = W_l f(y_{l-1}) whose last layer has no activation after it:

    Var[y_1] = n_1 Var[w_1] E[x_1^2]
    Var[y_l] = m_f(Var[y_{l-1}]) n_l Var[w_l] Var[y_{l-1}]              (l >= 2)
    Var[Δx_L] = n̂_L Var[w_L] Var[Δy_L]
    Var[Δx_l] = d_f(Var[y_l]) n̂_l Var[w_l] Var[Δx_{l+1}]               (l < L)

:func:`measure_variances` measures the same quantities in one forward and
backward pass of a real model; :func:`sample_variances` repeats it over many
random initializations.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
import torch
from sympy import Symbol, lambdify
from torch import nn

from ..init import InitPlan, init_
from ..init._layers import discover, run_model
from ._activations import ActivationName, activation_factors
from ._backward import backward_recursion, input_gradient_variance
from ._forward import forward_recursion, rhs_of_three
from .symbols import Expect, Var, d_f, dx, dy, l, m_f, n, n_hat, w, x, y

__all__ = ["MEASURED_COLUMNS", "PREDICTED_COLUMNS", "measure_variances", "predict", "sample_variances"]

PREDICTED_COLUMNS = (
    "layer",
    "depth",
    "fan_in",
    "fan_out",
    "variance",
    "forward_variance",
    "backward_variance",
    "forward_gain",
    "backward_gain",
)
MEASURED_COLUMNS = (
    "layer",
    "depth",
    "input_second_moment",
    "forward_variance",
    "forward_batch_variance",
    "output_gradient_variance",
    "backward_variance",
)


@lru_cache(maxsize=1)
def _steps() -> dict[str, Callable[..., Any]]:
    """The four one-layer rules as NumPy functions, lambdified from the SymPy results."""
    fan, var_w, moment, prev, factor, grad = (Symbol(s, positive=True) for s in ("n", "v", "s", "q", "m", "g"))
    first = rhs_of_three().xreplace({n[l]: fan, Var(w[l]): var_w, Expect(x[l] ** 2): moment})
    forward = forward_recursion(None).rhs.xreplace({n[l]: fan, Var(w[l]): var_w, m_f: factor, Var(y[l - 1]): prev})
    top = input_gradient_variance().rhs.xreplace({n_hat[l]: fan, Var(w[l]): var_w, Var(dy[l]): grad})
    backward = backward_recursion(None).rhs.xreplace(
        {n_hat[l]: fan, Var(w[l]): var_w, d_f: factor, Var(dx[l + 1]): grad}
    )
    return {
        "first": lambdify((fan, var_w, moment), first, "math"),
        "forward": lambdify((fan, var_w, factor, prev), forward, "math"),
        "top": lambdify((fan, var_w, grad), top, "math"),
        "backward": lambdify((fan, var_w, factor, grad), backward, "math"),
    }


def _positive(name: str, value: float) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}={value!r} is not a number; pass a finite float > 0") from None
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name}={value!r} is not valid; expected a finite number > 0")
    return value


def predict(
    plan: InitPlan,
    *,
    activation: ActivationName = "relu",
    input_second_moment: float = 1.0,
    output_grad_variance: float = 1.0,
) -> pd.DataFrame:
    """Predicted per-layer forward variance Var[y_l] and backward variance Var[Δx_l].

    ``plan`` gives each layer's ``fan_in`` (n_l), ``fan_out`` (n̂_l) and weight
    ``variance`` (any scheme, LSUV included: its applied std). The model is taken
    to be a plain chain (each weight layer's input is ``activation`` of the
    previous layer's output; the last layer's output is the network output, no
    activation after it). ``input_second_moment`` is E[x_1^2], the mean over the
    input features of their second moments (not the variance: inputs need not be
    zero-mean); ``output_grad_variance`` is Var[Δy_L]. Columns: see
    ``PREDICTED_COLUMNS``; ``forward_gain`` is Var[y_l] / Var[y_{l-1}] and
    ``backward_gain`` Var[Δx_l] / Var[Δx_{l+1}] (NaN where undefined).

    >>> import torch, depthinit
    >>> net = torch.nn.Sequential(*[torch.nn.Linear(64, 64) for _ in range(4)])
    >>> p = depthinit.plan(net, "he")
    >>> predict(p)["forward_variance"].round(3).tolist()
    [2.0, 2.0, 2.0, 2.0]
    """
    if not isinstance(plan, InitPlan):
        raise ValueError(f"plan must be a depthinit.InitPlan (from depthinit.plan or init_), got {type(plan).__name__}")
    moment = _positive("input_second_moment", input_second_moment)
    top_grad = _positive("output_grad_variance", output_grad_variance)
    frame = plan.to_frame()
    if not np.all(np.isfinite(frame["variance"])) or not np.all(frame["variance"] > 0):
        raise ValueError(f"plan {plan!r} has non-positive or missing weight variances; cannot predict")
    steps = _steps()
    fan_in, fan_out = frame["fan_in"].to_numpy(float), frame["fan_out"].to_numpy(float)
    var_w = frame["variance"].to_numpy(float)
    L = len(frame)
    fwd = np.empty(L)
    fwd[0] = steps["first"](fan_in[0], var_w[0], moment)
    for i in range(1, L):
        m, _ = activation_factors(activation, fwd[i - 1])
        fwd[i] = steps["forward"](fan_in[i], var_w[i], m, fwd[i - 1])
    bwd = np.empty(L)
    bwd[-1] = steps["top"](fan_out[-1], var_w[-1], top_grad)
    for i in range(L - 2, -1, -1):
        _, d = activation_factors(activation, fwd[i])
        bwd[i] = steps["backward"](fan_out[i], var_w[i], d, bwd[i + 1])
    out = frame[["layer", "depth", "fan_in", "fan_out", "variance"]].copy()
    out["forward_variance"] = fwd
    out["backward_variance"] = bwd
    out["forward_gain"] = np.concatenate([[np.nan], fwd[1:] / fwd[:-1]])
    out["backward_gain"] = np.concatenate([bwd[:-1] / bwd[1:], [np.nan]])
    out.attrs.update(
        scheme=plan.scheme, activation=activation, input_second_moment=moment, output_grad_variance=top_grad
    )
    return out


def measure_variances(
    model: nn.Module,
    x_input: torch.Tensor,
    *,
    generator: torch.Generator,
    output_grad_variance: float = 1.0,
) -> pd.DataFrame:
    """Measure, in one forward and one backward pass, every weight layer's variances.

    The backward pass starts from a random output gradient Δy_L ~ N(0,
    ``output_grad_variance``) drawn with ``generator`` (the loss plays no part).
    Layers are found in forward-execution order. Columns (``MEASURED_COLUMNS``),
    all means over the batch and every unit (the theory's Var of a zero-mean
    quantity is its mean square):

    * ``input_second_moment`` E[x_l^2] of the layer's input;
    * ``forward_variance`` E[y_l^2] of its output (pre-activation);
    * ``forward_batch_variance``: the variance over the batch of each output unit,
      averaged over units (what one unit sees across examples; smaller than
      ``forward_variance`` when the examples are alike);
    * ``output_gradient_variance`` E[Δy_l^2] and ``backward_variance`` E[Δx_l^2].

    Parameter gradients are not touched (``torch.autograd.grad`` is used).
    """
    if not isinstance(x_input, torch.Tensor) or x_input.dim() < 2:
        raise ValueError(
            f"x_input must be a batch tensor [B, ...] with at least 2 dimensions, got "
            f"{type(x_input).__name__}{tuple(x_input.shape) if isinstance(x_input, torch.Tensor) else ''}"
        )
    top = _positive("output_grad_variance", output_grad_variance)
    layers, _, _ = discover(model, x_input[:1])
    return _measure(model, layers, x_input, generator, top)


def _mean_square(t: torch.Tensor) -> torch.Tensor:
    return torch.linalg.vector_norm(t.detach(), dtype=torch.float64) ** 2 / t.numel()


def _measure(
    model: nn.Module, layers: list, x_input: torch.Tensor, generator: torch.Generator, top: float
) -> pd.DataFrame:
    seen: dict[int, dict[str, torch.Tensor]] = {}

    def pre_hook(module: nn.Module, args: tuple) -> tuple | None:
        if id(module) in seen:
            return None
        inp = args[0]
        if not inp.requires_grad:
            inp = inp.detach().requires_grad_(True)
        seen[id(module)] = {"x": inp}
        return (inp, *args[1:])

    def hook(module: nn.Module, args: tuple, out: torch.Tensor) -> None:
        record = seen[id(module)]
        if "y" not in record:
            record["y"] = out

    handles = []
    for layer in layers:
        handles.append(layer.module.register_forward_pre_hook(pre_hook))
        handles.append(layer.module.register_forward_hook(hook))
    try:
        with torch.enable_grad():
            out = run_model(model, x_input)
            grad_out = torch.randn(out.shape, generator=generator, dtype=torch.float32, device="cpu")
            grad_out = (grad_out * math.sqrt(top)).to(device=out.device, dtype=out.dtype)
            records = [seen[id(layer.module)] for layer in layers]
            tensors = [r["x"] for r in records] + [r["y"] for r in records]
            grads = torch.autograd.grad(out, tensors, grad_outputs=grad_out, allow_unused=True)
    finally:
        for h in handles:
            h.remove()
    nan = torch.tensor(float("nan"), dtype=torch.float64, device=out.device)
    L = len(layers)
    stats = []
    for i, record in enumerate(records):
        y_flat = record["y"].detach().reshape(record["y"].shape[0], -1)
        forward = _mean_square(y_flat)
        # Variance over the batch of each unit, averaged over units: E[y^2] - mean_units(batch mean^2).
        batch = forward - _mean_square(y_flat.mean(dim=0)) if y_flat.shape[0] > 1 else nan
        gx, gy = grads[i], grads[L + i]
        stats.append(
            torch.stack(
                [
                    _mean_square(record["x"]),
                    forward,
                    batch,
                    _mean_square(gy) if gy is not None else nan,
                    _mean_square(gx) if gx is not None else nan,
                ]
            )
        )
    values = torch.stack(stats).cpu().tolist()
    frame = pd.DataFrame(values, columns=list(MEASURED_COLUMNS[2:]))
    frame.insert(0, "depth", [layer.depth for layer in layers])
    frame.insert(0, "layer", [layer.name for layer in layers])
    return frame


def sample_variances(
    model: nn.Module,
    scheme: str,
    x_input: torch.Tensor,
    *,
    n_networks: int,
    generator: torch.Generator,
    output_grad_variance: float = 1.0,
    **options: Any,
) -> pd.DataFrame:
    """:func:`measure_variances` over ``n_networks`` fresh initializations of ``model`` with
    ``scheme`` (re-initialized in place each time, all draws from ``generator``).

    Returns the measured frames stacked, with a ``network`` column (0..n-1).
    """
    if isinstance(n_networks, bool) or not isinstance(n_networks, int) or n_networks < 1:
        raise ValueError(f"n_networks={n_networks!r} is not valid; expected an integer >= 1")
    top = _positive("output_grad_variance", output_grad_variance)
    layers, _, _ = discover(model, x_input[:1])
    frames = []
    for i in range(n_networks):
        init_(model, scheme, generator=generator, example_input=x_input[:1], **options)
        frame = _measure(model, layers, x_input, generator, top)
        frame.insert(0, "network", i)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)
