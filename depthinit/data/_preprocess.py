"""Turn uint8 pixels into float32 tensors: "unit" scaling or per-channel standardization.

Chapter: "E1: the 54-layer MLP on CIFAR-10" (the paper scales pixels to [0, 1]).
"""

from __future__ import annotations

import math

import numpy as np
import torch

_CHUNK_IMAGES = 4096


def channel_stats(x: np.ndarray) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and standard deviation of ``x / 255`` for uint8 ``x`` [N, C, H, W].

    mu_c = sum_v v n_c(v) / n_c,  sigma_c = sqrt(sum_v (v - mu_c)^2 n_c(v) / n_c),
    where n_c(v) counts the pixels of channel c equal to v * 255 (population
    standard deviation, as torchvision's published 0.1307 / 0.3081 for MNIST).
    Exact: computed from 256-bin histograms (summed in float64), in chunks of images.
    """
    if x.dtype != np.uint8 or x.ndim != 4 or x.shape[0] == 0:
        raise ValueError(f"channel_stats needs a non-empty uint8 array [N, C, H, W]; got {x.dtype} {x.shape}")
    t = torch.from_numpy(x)
    counts = np.zeros((x.shape[1], 256), dtype=np.float64)
    for start in range(0, x.shape[0], _CHUNK_IMAGES):
        chunk = t[start : start + _CHUNK_IMAGES]
        for c in range(x.shape[1]):
            counts[c] += torch.bincount(chunk[:, c].reshape(-1), minlength=256).numpy()
    values = np.arange(256, dtype=np.float64) / 255.0
    n = counts.sum(axis=1)
    mean = counts @ values / n
    var = (counts * (values[None, :] - mean[:, None]) ** 2).sum(axis=1) / n
    return tuple(float(m) for m in mean), tuple(math.sqrt(float(v)) for v in var)


def to_float(
    x: np.ndarray,
    *,
    device: torch.device,
    mean: tuple[float, ...] | None = None,
    std: tuple[float, ...] | None = None,
) -> torch.Tensor:
    """float32 tensor on ``device``: x / 255, then (x / 255 - mean_c) / std_c when mean/std are given.

    The uint8 array travels to the device first (4x less to copy), then is
    converted there.
    """
    t = torch.from_numpy(x).to(device).to(torch.float32).div_(255.0)
    if mean is not None and std is not None:
        shape = (1, len(mean), 1, 1)
        t.sub_(torch.tensor(mean, dtype=torch.float32, device=device).view(shape))
        t.div_(torch.tensor(std, dtype=torch.float32, device=device).view(shape))
    return t
