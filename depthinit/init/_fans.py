"""Fans of a weight tensor, by PyTorch's rule.

Chapter: "The schemes at a glance".
"""

from __future__ import annotations

import math

import torch
from torch import nn

#: The module types whose ``weight`` the library initializes (nn.MultiheadAttention's
#: projections are handled too: see :func:`depthinit.init.discover`).
WEIGHT_LAYERS: tuple[type[nn.Module], ...] = (
    nn.Linear,
    nn.Conv1d,
    nn.Conv2d,
    nn.Conv3d,
    nn.ConvTranspose1d,
    nn.ConvTranspose2d,
    nn.ConvTranspose3d,
)


def fans(weight: torch.Tensor | nn.Module) -> tuple[int, int]:
    """Return ``(fan_in, fan_out)`` of a Linear, Conv or ConvTranspose weight.

    PyTorch's rule (``torch.nn.init._calculate_fan_in_and_fan_out``), applied to
    the weight tensor: for a weight of shape ``(a, b, *kernel)``,
    ``fan_in = b * prod(kernel)`` and ``fan_out = a * prod(kernel)``.

    * Linear ``(out, in)``: fan_in = in, fan_out = out.
    * Conv ``(out, in / groups, *kernel)``: a grouped convolution has a fan-in
      divided by ``groups`` and the full fan-out.
    * ConvTranspose ``(in, out / groups, *kernel)``: the same tensor rule gives
      fan_in = (out / groups) prod(kernel) and fan_out = in prod(kernel), which is
      what ``torch.nn.init`` (and so PyTorch's own default init) uses for it.

    >>> fans(torch.nn.Conv2d(8, 16, 3, groups=2))
    (36, 144)
    >>> fans(torch.nn.ConvTranspose2d(8, 16, 3))
    (144, 72)
    """
    if isinstance(weight, nn.MultiheadAttention):
        raise ValueError(
            "nn.MultiheadAttention has several weights (q, k, v and out projections); pass one of them, "
            "e.g. fans(mha.out_proj.weight). plan(model, ...) lists the fans of each"
        )
    if isinstance(weight, nn.Module):
        w = getattr(weight, "weight", None)
        if not isinstance(w, torch.Tensor):
            raise ValueError(
                f"{type(weight).__name__} has no weight tensor; pass a Linear, Conv or ConvTranspose layer"
            )
        weight = w
    if not isinstance(weight, torch.Tensor):
        raise ValueError(f"fans need a weight tensor or a layer, got {type(weight).__name__}")
    if weight.dim() < 2:
        raise ValueError(
            f"fans need a weight with at least 2 dimensions, got shape {tuple(weight.shape)}; "
            "pass the weight of a Linear or Conv layer"
        )
    receptive = math.prod(weight.shape[2:]) if weight.dim() > 2 else 1
    return int(weight.shape[1] * receptive), int(weight.shape[0] * receptive)
