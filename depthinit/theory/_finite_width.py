"""Exact finite-width statistics of one layer: the law of ln r for a ReLU or linear layer.

Chapter: "Finite width: why one network is not the average".

Feed a fixed input to a layer of width N with He's weights (variance 2/fan-in for
ReLU, 1/fan-in for linear). Its output units are i.i.d. Gaussian given the input,
so the ratio r of the squared norm after the layer to the one before is

* ReLU:   r = (2/N) χ²_K,  K ~ Binomial(N, 1/2) active units, χ²_K given K;
* linear: r = (1/N) χ²_N.

E[r] = 1 exactly (the mean-field prediction); ln r is what multiplies over
layers. With E[ln χ²_k] = ψ(k/2) + ln 2 and Var[ln χ²_k] = ψ₁(k/2) (ψ the digamma,
ψ₁ the trigamma function) the law of total variance gives the exact moments

    E[ln r]   = ln(4/N) + E[ψ(K/2)],
    Var[ln r] = E[ψ₁(K/2)] + Var[ψ(K/2)],

conditioned on K >= 1 (P(K = 0) = 2^{-N}: a dead layer). Their large-N forms,
derived by :func:`log_ratio_series`, are −5/(2N) − 49/(12N²) and 5/N + 37/(2N²)
for ReLU, −1/N − 1/(3N²) and 2/N + 2/N² for linear. Summed over layers they are
the mean and variance of Hanin and Nica's (2020) log-normal limit.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache
from typing import Literal

import numpy as np
import torch
from sympy import (
    Expr,
    Rational,
    Symbol,
    cos,
    diff,
    exp,
    expand,
    expand_log,
    factorial,
    integrate,
    log,
    nsimplify,
    oo,
    pi,
    simplify,
)

__all__ = [
    "batch_factor",
    "batch_log_ratio_moments",
    "input_correlation",
    "log_ratio_moments",
    "log_ratio_series",
    "ratio_correlation",
    "relu_fourth_moment_kernel",
    "simulate_chain",
]

LayerKind = Literal["relu", "linear"]
_KINDS = ("relu", "linear")


def _check_width(width: object) -> int:
    if isinstance(width, bool) or not isinstance(width, (int, np.integer)) or width < 1:
        raise ValueError(f"width={width!r} is not valid; expected an integer number of units >= 1")
    return int(width)


def _check_kind(activation: object) -> LayerKind:
    if activation == "relu":
        return "relu"
    if activation == "linear":
        return "linear"
    raise ValueError(f"activation={activation!r} is not valid; expected one of {', '.join(map(repr, _KINDS))}")


def log_ratio_moments(
    width: int,
    *,
    activation: LayerKind = "relu",
    form: Literal["exact", "large_n"] = "exact",
    order: int = 1,
) -> tuple[float, float]:
    """(E[ln r], Var[ln r]) of one layer of ``width`` units, r its squared-norm ratio.

    ``form="exact"`` sums the binomial law of the active units (ReLU, conditioned on
    K >= 1) with the digamma and trigamma functions:
    E[ln r] = ln(4/N) + E[ψ(K/2)], Var[ln r] = E[ψ₁(K/2)] + Var[ψ(K/2)]; for a linear
    layer ψ(N/2) − ln(N/2) and ψ₁(N/2). ``form="large_n"`` evaluates the series of
    :func:`log_ratio_series` to ``order`` 1 (−5/(2N), 5/N for ReLU; −1/N, 2/N linear)
    or 2. At N = 64 the exact ReLU variance is 0.0830 against 5/N = 0.0781.
    Chapter: "Finite width: why one network is not the average".

    >>> [round(v, 4) for v in log_ratio_moments(64)]
    [-0.0401, 0.083]
    """
    N = _check_width(width)
    activation = _check_kind(activation)
    if form not in ("exact", "large_n"):
        raise ValueError(f"form={form!r} is not valid; expected 'exact' or 'large_n'")
    if form == "large_n":
        if isinstance(order, bool) or order not in (1, 2):
            raise ValueError(f"order={order!r} is not valid; the large-N series is given to order 1 or 2")
        mean_fn, var_fn = _series_functions(order, activation)
        return float(mean_fn(N)), float(var_fn(N))
    return _exact_moments(N, activation)


@lru_cache(maxsize=4096)
def _exact_moments(N: int, activation: str) -> tuple[float, float]:
    if activation == "linear":
        half = torch.tensor(N / 2.0, dtype=torch.float64)
        mean = float(torch.special.digamma(half)) - math.log(N / 2.0)
        return mean, float(torch.special.polygamma(1, half))
    k = torch.arange(1, N + 1, dtype=torch.float64)
    log_binom = torch.lgamma(torch.tensor(N + 1.0, dtype=torch.float64)) - torch.lgamma(k + 1) - torch.lgamma(N - k + 1)
    prob = torch.softmax(log_binom, dim=0)  # Binomial(N, 1/2) restricted to K >= 1, renormalised
    psi = torch.special.digamma(k / 2)
    trigamma = torch.special.polygamma(1, k / 2)
    mean_psi = float(prob @ psi)
    variance = float(prob @ trigamma) + float(prob @ (psi - mean_psi) ** 2)
    return math.log(4.0 / N) + mean_psi, variance


@lru_cache(maxsize=2)
def _series(order: int) -> tuple[tuple[str, Expr], ...]:
    N, x = Symbol("N", positive=True), Symbol("x", positive=True)
    h = Symbol("h", positive=True)
    x0 = N / 4
    # Asymptotic digamma and trigamma to O(x^-3), with ln x0 taken out so that every
    # Taylor coefficient at x0 is a monomial in 1/N.
    psi = log(x / x0) - 1 / (2 * x) - 1 / (12 * x**2)
    trigamma = 1 / x + 1 / (2 * x**2)
    # Central moments of K ~ Binomial(N, 1/2): 0, N/4, 0, 3N²/16 − N/8 (K = N/2 + δ, x = K/2).
    mu = {0: 1, 1: 0, 2: N / 4, 3: 0, 4: 3 * N**2 / 16 - N / 8}

    def expect(g: Expr) -> Expr:
        return sum(diff(g, x, i).subs(x, x0) / factorial(i) * Rational(1, 2) ** i * mu[i] for i in range(5))

    def truncate(e: Expr) -> Expr:
        poly = expand(expand_log(e.subs(N, 1 / h), force=True))
        return sum(nsimplify(poly.coeff(h, i)) / N**i for i in range(1, order + 1))

    mean_psi = expect(psi)
    relu_mean = truncate(log(4 / N) + log(x0) + mean_psi)
    relu_var = truncate(expect(trigamma) + expect(psi**2) - mean_psi**2)
    linear_mean = truncate(psi.subs(x, N / 2) + log(x0) - log(N / 2))
    linear_var = truncate(trigamma.subs(x, N / 2))
    return (
        ("relu_mean", relu_mean),
        ("relu_variance", relu_var),
        ("linear_mean", linear_mean),
        ("linear_variance", linear_var),
    )


@lru_cache(maxsize=8)
def _series_functions(order: int, activation: str):
    """The series of :func:`log_ratio_series` as plain functions of N (lambdified once)."""
    from sympy import lambdify

    s = log_ratio_series(order)
    n_sym = Symbol("N", positive=True)
    return (lambdify(n_sym, s[f"{activation}_mean"], "math"), lambdify(n_sym, s[f"{activation}_variance"], "math"))


def log_ratio_series(order: int = 2) -> dict[str, Expr]:
    """Large-N series of the moments of ln r, derived with SymPy, in the symbol N.

    Premises: ψ(x) = ln x − 1/(2x) − 1/(12x²) + O(x⁻⁴) and ψ₁(x) = 1/x + 1/(2x²) + O(x⁻³);
    the binomial central moments of K. SymPy expands E[ψ(K/2)], E[ψ(K/2)²] and
    E[ψ₁(K/2)] in δ = K − N/2 to fourth order (enough for 1/N²) and keeps the powers
    1/N .. 1/N^order. Keys ``relu_mean``, ``relu_variance``, ``linear_mean``,
    ``linear_variance``; to order 2: −5/(2N) − 49/(12N²), 5/N + 37/(2N²),
    −1/N − 1/(3N²), 2/N + 2/N².
    """
    if isinstance(order, bool) or order not in (1, 2):
        raise ValueError(f"order={order!r} is not valid; the series is derived to order 1 or 2")
    return dict(_series(order))


@lru_cache(maxsize=1)
def relu_fourth_moment_kernel() -> Expr:
    """E[relu(u)² relu(v)²] for standard normals with correlation cos θ, in θ, derived like
    the arc-cosine kernel (polar coordinates: ∫₀^∞ r⁵ e^{-r²/2} dr / (2π) = 4/π times
    ∫ cos²φ cos²(φ − θ) dφ over the sector where both are active). It is Cho and Saul's
    degree-2 kernel J₂(θ)/(2π), J₂ = 3 sin θ cos θ + (π − θ)(1 + 2 cos² θ): 3/2 at θ = 0,
    1/4 at θ = π/2."""
    theta, ang, r = Symbol("theta", positive=True), Symbol("varphi", real=True), Symbol("r", positive=True)
    radial = integrate(r**5 * exp(-(r**2) / 2), (r, 0, oo)) / (2 * pi)
    angular = integrate(cos(ang) ** 2 * cos(ang - theta) ** 2, (ang, theta - pi / 2, pi / 2))
    return simplify(radial * angular)


def ratio_correlation(c: float | np.ndarray, *, activation: LayerKind = "relu") -> float | np.ndarray:
    """Correlation between the per-layer ratios r, r′ of two inputs whose pre-activations
    have correlation c (to leading order in 1/N, where ln r ≈ r − 1):

    * ReLU:   ρ(c) = (4 E[relu(u)² relu(v)²] − 1) / 5, from :func:`relu_fourth_moment_kernel`
      (Var[r] = (4/N)(3/2 − 1/4) = 5/N, Cov[r, r′] = (4/N)(E[relu²relu²] − 1/4));
    * linear: ρ(c) = c² (Cov[u², v²] = 2c²).

    ρ(1) = 1, ρ(0) = 0. Chapter: "Finite width: why one network is not the average".
    """
    activation = _check_kind(activation)
    from ._meanfield import _check_correlation

    arr = _check_correlation(c)
    if activation == "linear":
        out = arr**2
    else:
        th = np.arccos(arr)
        joint = (3 * np.sin(th) * np.cos(th) + (math.pi - th) * (1 + 2 * np.cos(th) ** 2)) / (2 * math.pi)
        out = (4.0 * joint - 1.0) / 5.0
    return float(out) if np.ndim(out) == 0 else out


def batch_factor(c: float | np.ndarray, batch_size: int, *, activation: LayerKind = "relu") -> float | np.ndarray:
    """How much of one layer's log-variance survives averaging over a batch of B inputs
    with pairwise pre-activation correlation c: 1/B + (1 − 1/B) ρ(c) (``ratio_correlation``).

    The mean square over the batch moves by the mean of the B ratios r_b; its variance
    is Var[r] (1/B + (1 − 1/B) ρ). Inputs that are alike (c → 1, as deep ReLU layers make
    them) average nothing out; B = 1 gives 1.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size={batch_size!r} is not valid; expected an integer >= 1")
    rho = ratio_correlation(c, activation=activation)
    return 1.0 / batch_size + (1.0 - 1.0 / batch_size) * rho


def batch_log_ratio_moments(
    width: int,
    batch_size: int,
    correlation: float,
    *,
    activation: LayerKind = "relu",
) -> tuple[float, float]:
    """(E[ln r̄], Var[ln r̄]) for r̄ the mean of one layer's ratios over a batch of B inputs
    whose pre-activations have pairwise correlation c.

    r̄ has mean 1 and variance Var[r] b, b = :func:`batch_factor` (exact: Var[r] = 5/N for
    ReLU, 2/N linear, for any N), so it behaves like one ratio of the effective width N/b.
    The moments are the exact ones of width N (:func:`log_ratio_moments`) times the ratio
    of the second-order series at N/b and at N: for ReLU
    Var ≈ v(N) (5b/N + 37b²/(2N²)) / (5/N + 37/(2N²)), and likewise for the mean. B = 1
    gives the exact moments. Checked against sampled batches: within the sampling error at
    N >= 64, about 10 % too high at N = 16. Chapter: "Finite width: why one network is not
    the average".
    """
    N = _check_width(width)
    activation = _check_kind(activation)
    b = float(batch_factor(correlation, batch_size, activation=activation))
    mean, var = log_ratio_moments(N, activation=activation)
    if batch_size == 1:
        return mean, var
    mean_fn, var_fn = _series_functions(2, activation)
    return mean * mean_fn(N / b) / mean_fn(N), var * var_fn(N / b) / var_fn(N)


def simulate_chain(
    widths: Sequence[int],
    *,
    n_networks: int,
    generator: torch.Generator,
    batch_size: int = 1,
    input_correlation: float = 0.0,
    input_dim: int | None = None,
    alphas: Sequence[float] | None = None,
    chunk: int = 250,
) -> dict[str, np.ndarray]:
    """Monte Carlo of plain ReLU chains with He (fan-in) Gaussian weights, many networks at once.

    Layer m has ``widths[m-1]`` outputs; every layer but the last is followed by ReLU.
    Each network gets B = ``batch_size`` inputs with pairwise correlation c =
    ``input_correlation`` >= 0: with ``input_dim=None`` exactly unit norms and cosines c
    (the mean-field idealisation); with an integer, Gaussian inputs of that dimension,
    x_b = √c x₀ + √(1 − c) ε_b. The first layer's outputs are drawn from their exact
    Gaussian law given the inputs (covariance 2 X Xᵀ / n₁, so its weights are never
    drawn); the backward pass starts from independent N(0, 1) output gradients.
    ``alphas`` (one per layer) multiply He's variance layer by layer, as the ``depth``
    scheme does; the ratios are then taken against the mean-field values with the factors.

    Returns float64 arrays of shape [n_networks, L]: ``"forward"``, ln(mean square of y_l
    over units and batch / 2 E[x²], its mean-field value), ``"backward"``, ln(mean square
    of Δx_l / its mean-field value; NaN at l = 1, whose weights are not drawn), and
    ``"correlation"``, the mean pairwise cosine of the inputs of layer l (NaN for B = 1).
    All draws come from ``generator``. Chapter: "Finite width: why one network is not the
    average".
    """
    widths = [int(_check_width(w_)) for w_ in widths]
    if isinstance(n_networks, bool) or not isinstance(n_networks, int) or n_networks < 1:
        raise ValueError(f"n_networks={n_networks!r} is not valid; expected an integer >= 1")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size={batch_size!r} is not valid; expected an integer >= 1")
    if input_dim is not None:
        input_dim = _check_width(input_dim)
    from ._meanfield import _check_correlation

    c = float(_check_correlation(input_correlation))
    if c < 0:
        raise ValueError(f"input_correlation={input_correlation!r} is not valid here; expected a value in [0, 1]")
    L = len(widths)
    a = np.ones(L) if alphas is None else np.asarray(alphas, dtype=np.float64)
    if a.shape != (L,) or not np.all(np.isfinite(a)) or not np.all(a > 0):
        raise ValueError(f"alphas must be {L} finite positive factors, one per layer; got {alphas!r}")
    fans = [input_dim or 1, *widths[:-1]]
    fwd_pred = np.cumprod(a)  # mean-field E[y_l²] / (2 E[x²]): the forward product of the factors
    # Mean-field E[Δx_l²] for a unit output gradient: n̂_L (2/n_L) at the top, then each layer
    # below multiplies by n̂_l (2/n_l) / 2 (equations (12)-(13) with He's fan-in variance).
    bwd_pred = np.empty(L)
    bwd_pred[-1] = widths[-1] * 2.0 * a[-1] / fans[-1]
    for m in range(L - 2, -1, -1):
        bwd_pred[m] = bwd_pred[m + 1] * widths[m] * (2.0 * a[m] / fans[m]) / 2.0
    B = batch_size
    fwd, bwd, corr = [], [], []
    done = 0
    while done < n_networks:
        k = min(chunk, n_networks - done)
        if input_dim is None:
            gram = torch.full((B, B), c, dtype=torch.float64) + (1.0 - c) * torch.eye(B, dtype=torch.float64)
            gram = gram.expand(k, B, B)
            base = torch.ones(k, dtype=torch.float64)  # E[x²] per coordinate is irrelevant: ratios only
            second = gram.diagonal(dim1=1, dim2=2).mean(-1)
        else:
            x = torch.randn(k, B, input_dim, generator=generator, dtype=torch.float64)
            if c > 0:
                common = torch.randn(k, 1, input_dim, generator=generator, dtype=torch.float64)
                x = math.sqrt(c) * common + math.sqrt(1.0 - c) * x
            gram = x @ x.transpose(1, 2) / input_dim
            second = x.pow(2).mean(dim=(1, 2))
            base = torch.ones(k, dtype=torch.float64)
        del base
        chol = torch.linalg.cholesky(2.0 * a[0] * gram + 1e-300 * torch.eye(B, dtype=torch.float64))
        f_out, c_out = np.empty((k, L)), np.full((k, L), np.nan)
        b_out = np.full((k, L), np.nan)
        if B > 1:
            d = gram.diagonal(dim1=1, dim2=2).sqrt()
            cos = gram / (d[:, :, None] * d[:, None, :])
            c_out[:, 0] = ((cos.sum(dim=(1, 2)) - B) / (B * (B - 1))).numpy()
        y_ = chol @ torch.randn(k, B, widths[0], generator=generator, dtype=torch.float64)
        f_out[:, 0] = torch.log(y_.pow(2).mean(dim=(1, 2)) / (2.0 * second * fwd_pred[0])).numpy()
        masks: list[torch.Tensor] = []
        weights: list[torch.Tensor | None] = [None]
        for m in range(1, L):
            masks.append(y_ > 0)
            h = torch.relu(y_)
            if B > 1:
                unit = h / torch.linalg.vector_norm(h, dim=-1, keepdim=True).clamp_min(1e-300)
                g2 = unit @ unit.transpose(1, 2)
                c_out[:, m] = ((g2.sum(dim=(1, 2)) - g2.diagonal(dim1=1, dim2=2).sum(-1)) / (B * (B - 1))).numpy()
            std = math.sqrt(2.0 * a[m] / fans[m])
            w_ = torch.randn(k, fans[m], widths[m], generator=generator, dtype=torch.float64) * std
            y_ = h @ w_
            f_out[:, m] = torch.log(y_.pow(2).mean(dim=(1, 2)) / (2.0 * second * fwd_pred[m])).numpy()
            weights.append(w_)
        g_ = torch.randn(k, B, widths[-1], generator=generator, dtype=torch.float64)
        for m in range(L - 1, 0, -1):
            w_m = weights[m]
            assert w_m is not None  # layers 1..L-1 were appended above
            gx = g_ @ w_m.transpose(1, 2)
            b_out[:, m] = torch.log(gx.pow(2).mean(dim=(1, 2)) / bwd_pred[m]).numpy()
            g_ = gx * masks[m - 1]
        fwd.append(f_out)
        bwd.append(b_out)
        corr.append(c_out)
        done += k
    return {"forward": np.concatenate(fwd), "backward": np.concatenate(bwd), "correlation": np.concatenate(corr)}


def input_correlation(x: torch.Tensor) -> float:
    """Mean pairwise cosine similarity of the rows of a batch (flattened per example): the
    c_1 that :func:`lognormal_spread` needs for real inputs (about 0 for Gaussian vectors,
    large for [0, 1] images, which share their mean pixel)."""
    if not isinstance(x, torch.Tensor) or x.dim() < 2 or x.shape[0] < 2:
        raise ValueError("x must be a batch tensor [B, ...] with B >= 2")
    flat = x.reshape(x.shape[0], -1).to(torch.float64)
    unit = flat / torch.linalg.vector_norm(flat, dim=1, keepdim=True).clamp_min(1e-300)
    gram = unit @ unit.T
    B = flat.shape[0]
    return float((gram.sum() - gram.diagonal().sum()) / (B * (B - 1)))
