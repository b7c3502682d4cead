"""Why one random network rarely shows the predicted variance: products of random factors.

Chapters: "Signal propagation at initialization" and "Finite width: why one network is
not the average".

Equations (5) and (14) predict the *mean* over random networks. In one network of
width N the squared norm of a ReLU layer's output is, given its input, (2/N) χ²_K with
K ~ Binomial(N, 1/2) active units: its relative variance is exactly (3 - p) / (p N),
5/N for ReLU and 2/N for a linear layer (:func:`squared_norm_relative_variance`). The
log of the product over layers is close to Gaussian; :func:`lognormal_spread` sums the
exact one-layer moments of the log (:func:`depthinit.theory.log_ratio_moments`), the
output layer's chi-square and the batch factors, so that the median of one network is
e^{E[ln]} times the prediction. :func:`log_variance_profile` keeps the leading-order
sums Σ (3 - p)/(p N).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from sympy import Expr, Rational, Symbol, simplify

if TYPE_CHECKING:
    import pandas as pd

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
    array = np.asarray(widths, dtype=np.float64)
    if array.ndim != 1 or not np.all(array >= 1):
        raise ValueError(f"widths={widths!r} is not valid; expected a 1-D sequence of layer widths >= 1")
    rel = float(squared_norm_relative_variance(activation).subs(Symbol("N", positive=True), 1))
    return np.cumsum(rel / array)


def median_to_mean(log_variance: float | np.ndarray) -> float | np.ndarray:
    """Median over mean of a log-normal variable whose log has variance s^2: exp(-s^2 / 2)."""
    s2 = np.asarray(log_variance, dtype=np.float64)
    if np.any(s2 < 0):
        raise ValueError(f"log_variance={log_variance!r} is not valid; a variance is >= 0")
    out = np.exp(-s2 / 2.0)
    return float(out) if out.ndim == 0 else out


def lognormal_spread(
    plan,
    *,
    activation: str = "relu",
    form: str = "exact",
    batch_size: int = 1,
    input_correlation: float = 0.0,
) -> pd.DataFrame:
    """Per-layer law of ln(measured / predicted variance) of one random network, for an
    :class:`~depthinit.InitPlan` of a plain ReLU chain (last layer linear).

    Forward, the mean square of y_l (over its N_l units and a batch of B inputs) is the
    prediction times a product of independent one-layer ratios
    (:func:`log_ratio_moments`): a ReLU ratio of width N_m for each layer m < l (fan-out
    of layer m) and the linear chi-square of the N_l units of layer l itself:

        Var_l = Σ_{m<l} v_relu(N_m; B, c_m) + v_lin(N_l; B, c_l),

    with the one-layer moments of :func:`batch_log_ratio_moments` (``form="exact"``: exact
    for one input, the effective width N/b for a batch) or the leading order times the
    batch factor b = 1/B + (1 − 1/B) ρ(c) (``form="large_n"``: 5b/N and 2b/N).
    c_m is the pre-activation correlation of two inputs at layer m: c_1 =
    ``input_correlation`` (their cosine similarity), c_{m+1} = C(c_m)
    (:func:`relu_correlation_map`). The one-layer terms are independent (fresh weights
    each layer), so their means and variances add.

    Backward, for one example (B = 1) the gradient obeys the same law as the signal
    (Hanin 2018): Var[ln E[Δx_l²]] = v_lin(N_out) (the random output gradient) +
    Σ_{l<=m<L} v_relu(N_m) + v_lin(n_l) (the fan-in of layer l). A batch of examples
    with independent output gradients averages part of it out, but no closed form is
    derived here (the gradient directions align with depth): for B > 1 the backward
    columns are NaN and the chapter measures them.

    Columns: ``depth``, ``correlation`` (c_l), ``forward_log_mean``,
    ``forward_log_variance``, ``backward_log_mean``, ``backward_log_variance``,
    ``forward_median_factor`` and ``backward_median_factor`` (exp of the log means: the
    median over networks of measured / predicted when ln r is symmetric).
    Chapter: "Finite width: why one network is not the average".
    """
    import pandas as pd

    from ._finite_width import _check_kind, batch_factor, batch_log_ratio_moments, log_ratio_moments
    from ._meanfield import _check_correlation, relu_correlation_map

    if activation not in _EXACT_P:
        raise ValueError(f"activation={activation!r} is not valid; expected one of {tuple(_EXACT_P)}")
    if form not in ("exact", "large_n"):
        raise ValueError(f"form={form!r} is not valid; expected 'exact' or 'large_n'")
    c1 = _check_correlation(input_correlation)
    if c1.ndim != 0:
        raise ValueError(f"input_correlation must be one number in [-1, 1], got shape {c1.shape}")
    frame = plan.to_frame()
    fan_in, fan_out = frame["fan_in"].to_numpy(int), frame["fan_out"].to_numpy(int)
    L = len(frame)

    def moments(width: int, kind: str, c_value: float) -> tuple[float, float]:
        kind = _check_kind(kind)
        if form == "exact":
            return batch_log_ratio_moments(int(width), batch_size, c_value, activation=kind)
        mean, var = log_ratio_moments(int(width), activation=kind, form="large_n")
        b = float(batch_factor(c_value, batch_size, activation=kind))
        return mean * b, var * b

    corr = np.empty(L)
    corr[0] = float(c1)
    for i in range(1, L):
        corr[i] = relu_correlation_map(corr[i - 1]) if activation == "relu" else corr[i - 1]
    relu_terms = np.array([moments(fan_out[i], activation, corr[i]) for i in range(L)])
    lin_terms = np.array([moments(fan_out[i], "linear", corr[i]) for i in range(L)])
    chain_mean = np.concatenate([[0.0], np.cumsum(relu_terms[:-1, 0])])
    chain_var = np.concatenate([[0.0], np.cumsum(relu_terms[:-1, 1])])
    fwd_mean = chain_mean + lin_terms[:, 0]
    fwd_var = chain_var + lin_terms[:, 1]
    if batch_size == 1:
        top = lin_terms[-1]
        above_mean = np.concatenate([np.cumsum(relu_terms[:-1, 0][::-1])[::-1], [0.0]])
        above_var = np.concatenate([np.cumsum(relu_terms[:-1, 1][::-1])[::-1], [0.0]])
        measure = np.array([moments(fan_in[i], "linear", 1.0) for i in range(L)])
        bwd_mean = top[0] + above_mean + measure[:, 0]
        bwd_var = top[1] + above_var + measure[:, 1]
    else:
        bwd_mean = bwd_var = np.full(L, np.nan)
    return pd.DataFrame(
        {
            "depth": frame["depth"].to_numpy(),
            "correlation": corr,
            "forward_log_mean": fwd_mean,
            "forward_log_variance": fwd_var,
            "backward_log_mean": bwd_mean,
            "backward_log_variance": bwd_var,
            "forward_median_factor": np.exp(fwd_mean),
            "backward_median_factor": np.exp(bwd_mean),
        }
    )
