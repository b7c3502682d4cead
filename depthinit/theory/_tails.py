"""Why one random network rarely shows the predicted variance: products of random factors.

Chapter: "Signal propagation at initialization".

Equations (5) and (14) predict the *mean* over random networks. In one network
of width N the squared norm of a ReLU layer's output is, given its input, a
scaled chi-square with a Binomial(N, 1/2) number of degrees of freedom; its
relative variance is (3 - p) / (p N) with p = P(unit active), i.e. 5/N for ReLU
(p = 1/2) and 2/N for a linear layer (p = 1). The log of the product over
layers is then roughly Gaussian with variance s^2 = sum_l (3 - p) / (p N_l)
(delta method), so the variance ratio is roughly log-normal: its mean is the
prediction but its median is the prediction times exp(-s^2 / 2). At width 64
and 53 ReLU layers, s^2 ≈ 4.1 and the median is about 1/8 of the mean.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sympy import Expr, Rational, Symbol, simplify

__all__ = ["log_variance_profile", "lognormal_spread", "median_to_mean", "squared_norm_relative_variance"]

_EXACT_P = {"relu": Rational(1, 2), "linear": 1}


def squared_norm_relative_variance(activation: str = "relu") -> Expr:
    """Var[S] / E[S]^2 for S = sum of the squares of the K active units among N Gaussian
    ones, K ~ Binomial(N, p): S | K is chi-square with K degrees of freedom, so by the
    law of total variance Var[S] = E[2K] + Var[K] = 2Np + Np(1 - p) and E[S] = Np:

    (3 - p) / (p N), i.e. 5/N for ReLU and 2/N for linear. Returned in the symbol N.

    >>> squared_norm_relative_variance("relu")
    5/N
    """
    if activation not in _EXACT_P:
        raise ValueError(f"activation={activation!r} is not valid; expected one of {tuple(_EXACT_P)}")
    N = Symbol("N", positive=True)
    p = _EXACT_P[activation]
    mean_k, var_k = N * p, N * p * (1 - p)
    return simplify((2 * mean_k + var_k) / mean_k**2)


def log_variance_profile(widths: Sequence[int], activation: str = "relu") -> np.ndarray:
    """Approximate variance of the log of the per-network variance ratio after each layer.

    ``widths[m]`` is the number of units whose squared norm is formed after layer
    m + 1 (the fan-out of layer m + 1 going forward; the fan-in going backward).
    Entry i is s^2 = sum_{m <= i} (3 - p) / (p N_m): the spread accumulated by
    layers 1..i + 1. Use with :func:`median_to_mean`.
    """
    widths = np.asarray(widths, dtype=np.float64)
    if widths.ndim != 1 or not np.all(widths >= 1):
        raise ValueError(f"widths={widths!r} is not valid; expected a 1-D sequence of layer widths >= 1")
    rel = float(squared_norm_relative_variance(activation).subs(Symbol("N", positive=True), 1))
    return np.cumsum(rel / widths)


def median_to_mean(log_variance: float | np.ndarray) -> float | np.ndarray:
    """Median over mean of a log-normal variable whose log has variance s^2: exp(-s^2 / 2)."""
    s2 = np.asarray(log_variance, dtype=np.float64)
    if np.any(s2 < 0):
        raise ValueError(f"log_variance={log_variance!r} is not valid; a variance is >= 0")
    out = np.exp(-s2 / 2.0)
    return float(out) if out.ndim == 0 else out


def lognormal_spread(plan, *, activation: str = "relu") -> "pd.DataFrame":
    """Per-layer log-variance s^2 of one network's measured variances, and the implied
    median-to-mean factors exp(-s^2 / 2), for an :class:`~depthinit.InitPlan`.

    Leading-order approximations, checked against simulation in the chapter:

    * forward, Var[y_l]: the ReLU chains of layers 1..l-1 each add
      (3 - p)/(p N_m), N_m = fan-out of layer m (5/64 at width 64), as for one
      input (the examples of a batch become alike with depth, so the batch does
      not average this out);
    * backward, Var[Δx_l]: each layer above l adds 2 / n_m, n_m = its fan-in: with
      an independent random output gradient per example, the ReLU masks' share of
      the fluctuation averages out over the batch and the projection's chi-square
      part remains.

    Columns: ``depth``, ``forward_log_variance``, ``backward_log_variance``,
    ``forward_median_factor``, ``backward_median_factor``.
    """
    import pandas as pd

    frame = plan.to_frame()
    fan_in, fan_out = frame["fan_in"].to_numpy(float), frame["fan_out"].to_numpy(float)
    forward = np.concatenate([[0.0], log_variance_profile(fan_out[:-1], activation)]) if len(frame) > 1 else np.zeros(1)
    linear = float(squared_norm_relative_variance("linear").subs(Symbol("N", positive=True), 1))
    backward = np.concatenate([np.cumsum((linear / fan_in[1:])[::-1])[::-1], [0.0]])
    return pd.DataFrame({
        "depth": frame["depth"].to_numpy(),
        "forward_log_variance": forward, "backward_log_variance": backward,
        "forward_median_factor": median_to_mean(forward), "backward_median_factor": median_to_mean(backward),
    })
