"""Signal statistics of a model at one batch: how alike the examples' signals become with depth.

Chapter: "E4: the uniform-He stall" (the common part of the signal that the
variance arguments of the theory chapters do not see).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import torch
from torch import nn

SIGNAL_COLUMNS: tuple[str, ...] = (
    "depth",
    "input_mean",
    "input_second_moment",
    "mean",
    "second_moment",
    "batch_variance",
    "common_share",
    "cosine",
)


@torch.no_grad()
def signal_statistics(model: nn.Module, x: torch.Tensor) -> pd.DataFrame:
    """Per weight layer (in the order the forward pass runs them), on the batch ``x``:

    * ``input_mean`` and ``input_second_moment``: mean and E[x^2] of the layer's
      input (for layers after the first, the previous layer's activation);
    * ``mean`` and ``second_moment``: mean and E[y^2] of its pre-activation
      y = W x + b, over the batch and every unit;
    * ``batch_variance``: the variance over the batch of each unit of y, averaged
      over units: the part of the signal that differs between examples;
    * ``common_share``: 1 - batch_variance / second_moment, the share of E[y^2]
      that every example has in common (0 for zero-mean, independent examples);
    * ``cosine``: the mean cosine similarity between two different examples'
      inputs to the layer (1: the layer sees the same direction for every example).

    The variance arguments of the theory chapters (He's condition, the depth
    schedules) are about E[y^2]; ``common_share`` and ``cosine`` measure what
    they do not: how alike the examples become. Chapter: "E4: the uniform-He stall".

    The model runs once as it is, under ``no_grad`` (its train/eval mode is not changed: in
    train mode a batch norm updates its running statistics as in any forward pass).
    """
    if not isinstance(x, torch.Tensor) or x.dim() < 2 or x.shape[0] < 2:
        raise ValueError(
            f"x must be a batch tensor [B, ...] with B >= 2 examples, got "
            f"{tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__}"
        )
    records: list[dict[str, float]] = []
    seen: set[int] = set()

    def hook(module: nn.Module, args: tuple, out: torch.Tensor) -> None:
        if id(module) in seen:
            return
        seen.add(id(module))
        inp = args[0].detach().to(torch.float64).flatten(1)
        y = out.detach().to(torch.float64)
        sq = float((y**2).mean())
        bvar = float(y.flatten(1).var(dim=0, unbiased=False).mean())  # a unit: one output (channel, position)
        norms = inp.norm(dim=1, keepdim=True)
        u = inp / norms.clamp_min(1e-30)
        gram = u @ u.T
        b = inp.shape[0]
        cos = float((gram.sum() - gram.diagonal().sum()) / (b * (b - 1)))
        records.append(
            {
                "input_mean": float(inp.mean()),
                "input_second_moment": float((inp**2).mean()),
                "mean": float(y.mean()),
                "second_moment": sq,
                "batch_variance": bvar,
                "common_share": 1.0 - bvar / sq if sq > 0 else math.nan,
                "cosine": cos,
            }
        )

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
    try:
        model(x)
    finally:
        for h in handles:
            h.remove()
    frame = pd.DataFrame(records)
    frame.insert(0, "depth", np.arange(1, len(frame) + 1))
    return frame[list(SIGNAL_COLUMNS)]
