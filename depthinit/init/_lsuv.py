"""Layer-sequential unit-variance initialization (Mishkin & Matas 2015).

Chapter: "Use it in your model". Orthonormal pre-initialization, then, layer by
layer in forward-execution order, ``W <- W / sqrt(Var(output))`` on an example
batch until ``|Var(output) - 1| < tol`` or ``max_iter`` rescalings. Unlike the
popular script, layers are found by a forward pass (branched models and reused
modules work) and the statistic is taken inside a forward hook, so an in-place
ReLU after the layer cannot alter it. An attention's q, k and v projections are
read by applying each to the attention's own inputs, its out projection from
the attention's output.

Reproducibility: LSUV's result depends on floating-point sums over the example
batch, whose rounding depends on how torch splits them across threads. The
same seed, model, example batch, torch version, device and
``torch.get_num_threads()`` give bit-identical weights; a different thread count
can change the last bits (and, through max_iter, rarely an iteration count).
Every forward pass runs with torch's global RNG state saved and restored.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from ._layers import Layer, forward_failed, run_model
from ._samplers import orthogonal_


class LSUVConvergenceWarning(UserWarning):
    """LSUV stopped at ``max_iter`` before a layer's output variance was within ``tol`` of 1."""


class _Stop(Exception):
    pass


@dataclass(frozen=True)
class LSUVResult:
    std: float
    variance_out: float
    iterations: int
    converged: bool


def _output_variance(model: nn.Module, layer: Layer, example_input: Any) -> float:
    box: list[float] = []

    def record(t: torch.Tensor) -> None:
        if not box:
            box.append(float(t.detach().double().var()))
        raise _Stop

    if layer.probe.startswith("mha_in:"):
        c = int(layer.probe.split(":")[1])

        def pre(mod: nn.Module, args: tuple, kwargs: dict) -> None:
            x = args[c] if len(args) > c else kwargs[("query", "key", "value")[c]]
            record(F.linear(x, layer.weight, layer.bias))

        handle = layer.module.register_forward_pre_hook(pre, with_kwargs=True)
    else:

        def hook(mod: nn.Module, args: Any, output: Any) -> None:
            record(output[0] if isinstance(output, tuple) else output)

        target = layer.module
        if layer.probe == "mha_out":
            target = next(m for m in model.modules() if isinstance(m, nn.MultiheadAttention) and m.out_proj is target)
        handle = target.register_forward_hook(hook)
    try:
        with torch.no_grad():
            run_model(model, example_input)
    except _Stop:
        pass
    except Exception as exc:  # the model failed on a later pass (a rescaled layer, a stateful forward)
        raise forward_failed(model, example_input, exc) from exc
    finally:
        handle.remove()
    if not box:
        raise ValueError(f"the forward pass did not reach layer {layer.name!r}; LSUV needs every layer reached")
    return box[0]


def lsuv_(
    model: nn.Module,
    layers: list[Layer],
    example_input: Any,
    *,
    tol: float,
    max_iter: int,
    generator: torch.Generator,
) -> list[LSUVResult]:
    """Run LSUV on ``model`` in place (eval mode during the passes; the caller restores modes).

    Orthonormal pre-initialization (gain 1), biases at zero, then per layer in
    depth order ``W <- W / sqrt(Var(y))`` until ``|Var(y) - 1| < tol`` or
    ``max_iter`` rescalings. Bit-identical under the conditions of the module doc.
    """
    for layer in layers:
        orthogonal_(layer.weight, 1.0, generator=generator)
        with torch.no_grad():
            for b in layer.biases:
                b.zero_()
    results = []
    model.eval()
    for layer in layers:
        w = layer.weight
        converged = False
        iterations = 0
        var = _output_variance(model, layer, example_input)
        while True:
            if not math.isfinite(var) or var <= 0:
                break
            if abs(var - 1.0) < tol:
                converged = True
                break
            if iterations >= max_iter:
                break
            with torch.no_grad():
                w.div_(math.sqrt(var))
            iterations += 1
            var = _output_variance(model, layer, example_input)
        if not converged and (not math.isfinite(var) or var <= 0):
            warnings.warn(
                f"LSUV: layer {layer.name!r} (depth {layer.depth}) has output variance {var:.4g} on the "
                "example batch, so it cannot be rescaled; the batch is degenerate (constant or all zeros) "
                "for this layer: pass a representative batch of real data",
                LSUVConvergenceWarning,
                stacklevel=3,
            )
        elif not converged:
            warnings.warn(
                f"LSUV: layer {layer.name!r} (depth {layer.depth}) has output variance {var:.4g} after "
                f"{iterations} rescalings, not within tol={tol} of 1; raise max_iter or tol, or give a "
                "larger example batch",
                LSUVConvergenceWarning,
                stacklevel=3,
            )
        std = float(w.detach().double().std())
        results.append(LSUVResult(std, var, iterations, converged))
    return results
