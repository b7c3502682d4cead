"""Find a model's weight layers in the order its forward pass first runs them.

Chapter: "Use it in your model".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ._fans import WEIGHT_LAYERS, fans


@dataclass(frozen=True)
class Layer:
    """One weight layer: its qualified name, module, position (1-based) and fans."""

    name: str
    module: nn.Module
    depth: int
    fan_in: int
    fan_out: int

    @property
    def kind(self) -> str:
        return type(self.module).__name__


def run_model(model: nn.Module, example_input: Any) -> Any:
    """Call ``model`` on ``example_input``: a tensor, a tuple/list of positional
    arguments, or a mapping of keyword arguments."""
    if isinstance(example_input, Mapping):
        return model(**example_input)
    if isinstance(example_input, (tuple, list)):
        return model(*example_input)
    return model(example_input)


def _describe(example_input: Any) -> str:
    if isinstance(example_input, torch.Tensor):
        return f"a tensor of shape {tuple(example_input.shape)} and dtype {example_input.dtype}"
    return f"a {type(example_input).__name__}"


def weight_modules(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """Every distinct Linear/Conv module of ``model`` in registration order."""
    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    seen: set[int] = set()
    found = []
    for name, module in model.named_modules():
        if isinstance(module, WEIGHT_LAYERS) and id(module) not in seen:
            seen.add(id(module))
            found.append((name, module))
    if not found:
        raise ValueError(
            f"{type(model).__name__} has no nn.Linear or nn.Conv1d/2d/3d layer to initialize; "
            "depthinit initializes the weights of those layers only"
        )
    return found


def discover(model: nn.Module, example_input: Any = None) -> tuple[list[Layer], list[str], str]:
    """Return ``(layers, unreached, order)``.

    With ``example_input`` the layers are ordered by their first call in one
    forward pass (run under ``torch.no_grad()`` in eval mode, the model's mode
    restored afterwards); a module called twice appears once, and modules the
    pass never reaches are returned by name in ``unreached``. Without it the
    order is registration order and ``order == "registration"``.
    """
    candidates = weight_modules(model)
    if example_input is None:
        ordered = candidates
        unreached: list[str] = []
        order = "registration"
    else:
        names = {id(m): n for n, m in candidates}
        calls: list[int] = []

        def hook(module: nn.Module, args: Any) -> None:
            if id(module) not in calls:
                calls.append(id(module))

        handles = [m.register_forward_pre_hook(hook) for _, m in candidates]
        modes = {m: m.training for m in model.modules()}
        try:
            model.eval()
            with torch.no_grad():
                run_model(model, example_input)
        except Exception as exc:
            raise ValueError(
                f"running {type(model).__name__} on example_input ({_describe(example_input)}) failed "
                f"with {type(exc).__name__}: {exc}. Pass an input the model accepts (a tensor, a tuple "
                "of arguments or a dict of keyword arguments), on the model's device"
            ) from exc
        finally:
            for h in handles:
                h.remove()
            for m, training in modes.items():
                m.training = training
        by_id = {id(m): (n, m) for n, m in candidates}
        ordered = [by_id[i] for i in calls]
        unreached = [n for n, m in candidates if id(m) not in calls]
        order = "forward"
        if not ordered:
            raise ValueError(
                f"the forward pass of {type(model).__name__} on example_input reached none of its "
                f"Linear/Conv layers ({', '.join(names.values())}); check the input"
            )
    layers = []
    for depth, (name, module) in enumerate(ordered, start=1):
        fan_in, fan_out = fans(module.weight)
        layers.append(Layer(name or type(module).__name__, module, depth, fan_in, fan_out))
    return layers, unreached, order
