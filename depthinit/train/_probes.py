"""Per-layer statistics of weights, gradients and activations.

Chapter: "E1: the 54-layer MLP on CIFAR-10" (weight, gradient and activation
distributions by depth), the paper's Section 9 wish list.

For each weight layer l (depth 1..L) and each member, on a fixed probe batch
(the first ``probe_batch`` training examples):

* ``weight``: the entries of W_l;
* ``gradient``: the entries of dL/dW_l, L the member's mean cross-entropy on the batch;
* ``activation``: the layer's output before the nonlinearity, z_l = W_l h_{l-1} + b_l.

Statistics (over at most ``MAX_VALUES`` = 2^18 values per layer and member,
evenly strided over the flattened tensor when it holds more, as a CNN's
activations do; ``n`` is the count used): count, mean, std (population), min,
max, the quantiles ``QUANTILES`` (from at most 2^16 evenly strided values)
and the count of non-finite values; histogram counts over the fixed edges
``HIST_EDGES`` (symmetric and logarithmic, 4 bins per decade from 1e-6 to 1e4,
so every layer, scheme and epoch shares one set of bins; bin 0 is below
-1e4, the last bin at or above 1e4).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch

QUANTILES: tuple[float, ...] = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
_POS = np.logspace(-6, 4, 41)
#: Fixed histogram edges: -1e4 ... -1e-6, 0, 1e-6 ... 1e4 (83 edges, 84 bins with the two open ends).
HIST_EDGES: np.ndarray = np.concatenate([-_POS[::-1], [0.0], _POS])
KINDS: tuple[str, ...] = ("weight", "gradient", "activation")
STAT_COLUMNS: tuple[str, ...] = (
    ("n", "mean", "std", "min", "max") + tuple(f"q{int(q * 100):02d}" for q in QUANTILES) + ("nonfinite",)
)
_MAX_QUANTILE_VALUES = 1 << 16
#: Most values per layer and member that the statistics read (an evenly strided subsample beyond).
MAX_VALUES = 1 << 18


def bin_bounds() -> tuple[np.ndarray, np.ndarray]:
    """Left and right bound of every histogram bin (``-inf`` / ``inf`` at the open ends)."""
    left = np.concatenate([[-np.inf], HIST_EDGES])
    right = np.concatenate([HIST_EDGES, [np.inf]])
    return left, right


@torch.no_grad()
def member_stats(values: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Statistics and histogram counts of each row of ``values`` ``[K, ...]`` (flattened
    per member; subsampled to ``MAX_VALUES`` evenly strided values when longer).

    Returns ``stats`` ``[K, len(STAT_COLUMNS)]`` (float64) and ``counts``
    ``[K, len(HIST_EDGES) + 1]`` (int64). Non-finite entries are counted and left
    out of every other statistic.
    """
    v = values.detach().reshape(values.shape[0], -1)
    if v.shape[1] > MAX_VALUES:
        v = v[:, :: -(-v.shape[1] // MAX_VALUES)]
    v = v.to(torch.float64)
    K, n = v.shape
    finite = torch.isfinite(v)
    nf = (~finite).sum(1)
    cnt = finite.sum(1)
    vz = torch.where(finite, v, 0.0)
    denom = cnt.clamp(min=1).to(v.dtype)
    mean = vz.sum(1) / denom
    var = (torch.where(finite, v - mean[:, None], 0.0) ** 2).sum(1) / denom
    vmin = torch.where(finite, v, torch.inf).amin(1)
    vmax = torch.where(finite, v, -torch.inf).amax(1)
    stride = max(1, -(-n // _MAX_QUANTILE_VALUES))
    sub = v[:, ::stride]
    qt = torch.tensor(QUANTILES, dtype=v.dtype, device=v.device)
    if bool(torch.isfinite(sub).all()):
        qs = torch.quantile(sub, qt, dim=1).T
    else:  # leave non-finite values out (all-NaN rows give NaN)
        qs = torch.nanquantile(torch.where(torch.isfinite(sub), sub, torch.nan), qt, dim=1).T
    stats = torch.cat(
        [
            cnt[:, None].to(v.dtype),
            mean[:, None],
            var.sqrt()[:, None],
            vmin[:, None],
            vmax[:, None],
            qs,
            nf[:, None].to(v.dtype),
        ],
        1,
    )
    empty = cnt == 0
    if bool(empty.any()):
        stats[empty, 1:-1] = float("nan")
    edges = torch.as_tensor(HIST_EDGES, dtype=v.dtype, device=v.device)
    nb = len(HIST_EDGES) + 1
    idx = torch.bucketize(v, edges, right=True)  # 0 .. len(edges)
    idx = torch.where(finite, idx + torch.arange(K, device=v.device)[:, None] * nb, K * nb)
    counts = torch.bincount(idx.reshape(-1), minlength=K * nb + 1)[: K * nb].view(K, nb)
    return stats.cpu().numpy(), counts.cpu().numpy()


def probe_frames(
    tensors: dict[str, Sequence[torch.Tensor]],
    layers: Sequence[tuple[str, int, str]],
    members: Sequence[int],
    epoch: int,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Tidy frames from per-layer ``[K, ...]`` tensors: ``tensors[kind][i]`` belongs to
    ``layers[i]`` = ``(name, depth, module kind)``. Only stack positions ``members``
    (alive members) are kept; a ``member`` column holds that position.

    Returns ``(stats, histograms)``: one row per (member, layer, kind) with
    ``STAT_COLUMNS``, and one row per non-empty histogram bin with ``bin``,
    ``left``, ``right`` and ``count``.
    """
    keep = np.asarray(list(members), dtype=np.int64)
    left, right = bin_bounds()
    s_parts: list[pd.DataFrame] = []
    h_parts: list[pd.DataFrame] = []
    for kind, per_layer in tensors.items():
        for (name, depth, _), t in zip(layers, per_layer):
            stats, counts = member_stats(t)
            stats, counts = stats[keep], counts[keep]
            layer = name.removesuffix(".weight")
            frame = pd.DataFrame(stats, columns=list(STAT_COLUMNS))
            frame[["n", "nonfinite"]] = frame[["n", "nonfinite"]].astype("int64")
            frame.insert(0, "member", keep)
            frame.insert(1, "epoch", epoch)
            frame.insert(2, "layer", layer)
            frame.insert(3, "depth", depth)
            frame.insert(4, "kind", kind)
            s_parts.append(frame)
            mi, bi = np.nonzero(counts)
            h_parts.append(
                pd.DataFrame(
                    {
                        "member": keep[mi],
                        "epoch": epoch,
                        "layer": layer,
                        "depth": depth,
                        "kind": kind,
                        "bin": bi.astype(np.int64),
                        "left": left[bi],
                        "right": right[bi],
                        "count": counts[mi, bi],
                    }
                )
            )
    return concat([empty_stats(), *s_parts]), concat([empty_histograms(), *h_parts])


def empty_stats() -> pd.DataFrame:
    return pd.DataFrame(columns=["member", "epoch", "layer", "depth", "kind", *STAT_COLUMNS])


def empty_histograms() -> pd.DataFrame:
    return pd.DataFrame(columns=["member", "epoch", "layer", "depth", "kind", "bin", "left", "right", "count"])


def concat(frames: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """``pd.concat`` that ignores empty frames (keeping the first frame's columns when all are empty)."""
    full = [f for f in frames if len(f)]
    if not full:
        return frames[0].iloc[:0].copy()
    return pd.concat(full, ignore_index=True)
