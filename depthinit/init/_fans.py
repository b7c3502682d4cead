"""Fans of a weight tensor, by PyTorch's rule.

Chapter: "The schemes at a glance".
"""

from __future__ import annotations

import math

import torch
from torch import nn

#: The module types whose ``weight`` the library initializes.
WEIGHT_LAYERS: tuple[type[nn.Module], ...] = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)


def fans(weight: torch.Tensor | nn.Module) -> tuple[int, int]:
    """Return ``(fan_in, fan_out)`` of a Linear or Conv weight.

    PyTorch's rule (``torch.nn.init._calculate_fan_in_and_fan_out``): for a weight
    of shape ``(out, in / groups, *kernel)``,
    ``fan_in = (in / groups) * prod(kernel)`` and ``fan_out = out * prod(kernel)``.
    A grouped convolution therefore has a fan-in divided by ``groups`` and the
    full fan-out.

    >>> fans(torch.nn.Conv2d(8, 16, 3, groups=2))
    (36, 144)
    """
    if isinstance(weight, nn.Module):
        weight = weight.weight
    if weight.dim() < 2:
        raise ValueError(
            f"fans need a weight with at least 2 dimensions, got shape {tuple(weight.shape)}; "
            "pass the weight of a Linear or Conv layer"
        )
    receptive = math.prod(weight.shape[2:]) if weight.dim() > 2 else 1
    return int(weight.shape[1] * receptive), int(weight.shape[0] * receptive)
