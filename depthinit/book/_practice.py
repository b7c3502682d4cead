"""Measurements for "Use it in your model": what V and the schedule do to a network's signal
at initialization.

Chapter: "Use it in your model".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pandas as pd
import torch
from torch import nn


@torch.no_grad()
def variance_paths(
    model: nn.Module, batch: torch.Tensor, configs: Sequence[tuple[str, float]], seeds: Iterable[int]
) -> pd.DataFrame:
    """For each (schedule, V) of ``configs`` and each seed, initialize ``model`` with the depth
    scheme (He base; the generator seeded with the seed, so seed s draws the same base numbers
    in every configuration), run ``batch`` through it and record each weight layer's output
    variance over the batch relative to the first layer's: Var[y_l] / Var[y_1].
    Columns: ``schedule``, ``V``, ``seed``, ``layer`` (1..L), ``ratio``."""
    import depthinit

    layers = [m for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d))]
    seen: dict[int, float] = {}
    hooks = [
        m.register_forward_hook(lambda m, a, out, i=i: seen.__setitem__(i, float(out.var())))
        for i, m in enumerate(layers)
    ]
    rows = []
    try:
        for schedule, V in configs:
            for seed in seeds:
                depthinit.init_(
                    model,
                    "depth",
                    schedule=schedule,
                    network_variance=V,
                    example_input=batch[:2],
                    generator=torch.Generator().manual_seed(int(seed)),
                )
                seen.clear()
                model(batch)
                first = seen[0]
                rows += [(schedule, float(V), int(seed), i + 1, seen[i] / first) for i in sorted(seen)]
    finally:
        for h in hooks:
            h.remove()
    return pd.DataFrame(rows, columns=["schedule", "V", "seed", "layer", "ratio"])


__all__ = ["variance_paths"]
