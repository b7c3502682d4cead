"""Layer-sequential unit-variance initialization (Mishkin & Matas 2015).

Chapter: "Use it in your model". Orthonormal pre-initialization, then, layer by
layer in forward-execution order, ``W <- W / sqrt(Var(output))`` on an example
batch until ``|Var(output) - 1| < tol`` or ``max_iter`` rescalings. Unlike the
popular script, layers are found by a forward pass (branched models and reused
modules work) and the statistic is taken inside a forward hook, so an in-place
ReLU after the layer cannot alter it.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ._layers import Layer, run_model
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


def _output_variance(model: nn.Module, module: nn.Module, example_input: Any) -> float:
    box: list[float] = []

    def hook(mod: nn.Module, args: Any, output: torch.Tensor) -> None:
        if not box:
            box.append(float(output.detach().double().var()))
        raise _Stop

    handle = module.register_forward_hook(hook)
    try:
        with torch.no_grad():
            run_model(model, example_input)
    except _Stop:
        pass
    finally:
        handle.remove()
    if not box:
        raise ValueError(f"the forward pass did not reach layer {module!r}; LSUV needs every layer reached")
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
    """Run LSUV on ``model`` in place (eval mode during the passes; the caller restores modes)."""
    for layer in layers:
        orthogonal_(layer.module.weight, 1.0, generator=generator)
        if getattr(layer.module, "bias", None) is not None:
            with torch.no_grad():
                layer.module.bias.zero_()
    results = []
    model.eval()
    for layer in layers:
        w = layer.module.weight
        converged = False
        iterations = 0
        var = _output_variance(model, layer.module, example_input)
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
            var = _output_variance(model, layer.module, example_input)
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
