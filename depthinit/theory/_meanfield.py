"""Mean-field signal propagation: the length and correlation maps, derived and evaluated.

Chapter: "Mean-field signal propagation".

In a wide network (Poole et al. 2016; Schoenholz et al. 2017) two inputs enter
layer l with pre-activation variances q and correlation c. The next layer has

    q' = σ_w² E[φ(√q u)²] + σ_b²
    c' = (σ_w² E[φ(√q u) φ(√q v)] + σ_b²) / q',   (u, v) standard normal with correlation c.

For ReLU the expectation is Cho and Saul's (2009) arc-cosine kernel of degree 1,
which :func:`relu_kernel_derivation` integrates with SymPy in polar coordinates:

    E[relu(u) relu(v)] = (sin θ + (π − θ) cos θ) / (2π),   θ = arccos c,

so with σ_b² = 0 the correlation map is c' = (√(1 − c²) + (π − arccos c) c) / π,
free of σ_w²: a depth schedule rescales q layer by layer and leaves c alone.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from sympy import Eq, Expr, Function, Max, Symbol, acos, cos, diff, exp, integrate, oo, pi, series, simplify, tanh

from ..init._meanfield import _check_activation, _check_variance, _grid, _phi, _second_moments
from ..init._meanfield import length_fixed_point as _length_fixed_point

__all__ = [
    "correlation_map",
    "iterate_correlation",
    "relu_correlation_expression",
    "relu_correlation_map",
    "relu_correlation_slope",
    "relu_homogeneity",
    "relu_kernel_derivation",
    "relu_schedule_invariance",
]

#: The correlation c of two inputs and the angle θ = arccos c between them.
corr = Symbol("c", real=True)
theta = Symbol("theta", positive=True)


@lru_cache(maxsize=1)
def _relu_kernel_derivation() -> tuple[tuple[str, Expr], ...]:
    return tuple(_derive_relu_kernel().items())


def relu_kernel_derivation() -> dict[str, Expr]:
    """E[relu(u) relu(v)] for standard normal u, v with correlation c = cos θ, derived.

    Premise (rotation invariance of the standard normal in the plane): write
    (u, w) = r (cos φ, sin φ) with density r e^{-r²/2} / (2π) and v = c u + √(1 − c²) w =
    r cos(φ − θ). Both units are active for φ in (θ − π/2, π/2). SymPy then integrates

    * the radial part ∫₀^∞ r³ e^{-r²/2} dr / (2π) = 1/π,
    * the angular part ∫ cos φ cos(φ − θ) dφ over that sector,

    and returns ``{"radial", "angular", "kernel", "second_moment", "map"}``: the two
    integrals, the kernel (sin θ + (π − θ) cos θ)/(2π), E[relu(u)²] (the kernel at
    θ = 0, 1/2) and the normalised map in terms of c. Built once, then copied.
    """
    return dict(_relu_kernel_derivation())


def _derive_relu_kernel() -> dict[str, Expr]:
    r, ang = Symbol("r", positive=True), Symbol("varphi", real=True)
    radial = integrate(r**3 * exp(-(r**2) / 2), (r, 0, oo)) / (2 * pi)
    angular = simplify(integrate(cos(ang) * cos(ang - theta), (ang, theta - pi / 2, pi / 2)))
    kernel = simplify(radial * angular)
    second = simplify(kernel.subs(theta, 0))
    mapping = simplify((kernel / second).subs(theta, acos(corr)))
    return {"radial": radial, "angular": angular, "kernel": kernel, "second_moment": second, "map": mapping}


def relu_correlation_expression() -> Eq:
    """The ReLU correlation map c' = (√(1 − c²) + (π − arccos c) c) / π as a SymPy equation
    (from :func:`relu_kernel_derivation`)."""
    return Eq(Function("C")(corr), relu_kernel_derivation()["map"])


def relu_homogeneity() -> dict[str, Expr]:
    """Positive homogeneity relu(a z) = a relu(z) for a > 0, checked by SymPy on both signs:
    ``{"positive", "negative"}`` hold relu(a p) − a relu(p) and relu(−a p) − a relu(−p) for
    positive symbols a, p (both simplify to 0). The same check for tanh does not vanish
    (``"tanh"``), which is why the correlation map of a tanh network depends on σ_w²."""
    a, p = Symbol("a", positive=True), Symbol("p", positive=True)
    relu = lambda z: Max(0, z)  # noqa: E731
    return {
        "positive": simplify(relu(a * p) - a * relu(p)),
        "negative": simplify(relu(-a * p) - a * relu(-p)),
        "tanh": simplify(tanh(a * p) - a * tanh(p)),
    }


def relu_schedule_invariance() -> Expr:
    """c' of a bias-free ReLU layer with weight variance σ_w² = 2α (any depth factor α):
    σ_w² E[relu(√q u) relu(√q v)] / (σ_w² E[relu(√q u)²]), simplified by SymPy. Returns the
    map with α and q cancelled (it equals the α-free map), showing that a depth schedule
    changes the length map q' = α q layer by layer but never the correlation map."""
    alpha_s, q_s = Symbol("alpha", positive=True), Symbol("q", positive=True)
    d = relu_kernel_derivation()
    # relu(√q u) = √q relu(u) by homogeneity, so both expectations carry a factor q.
    numerator = 2 * alpha_s * q_s * d["kernel"].subs(theta, acos(corr))
    denominator = 2 * alpha_s * q_s * d["second_moment"]
    return simplify(numerator / denominator)


def relu_correlation_slope() -> dict[str, Expr]:
    """dc'/dc = (π − arccos c)/π (1 at c = 1: the fixed point c* = 1 is marginally stable)
    and the expansion c' = 1 − ε + (2√2 / (3π)) ε^{3/2} + O(ε²) at c = 1 − ε, from which
    1 − c_l ≈ 9π² / (2 l²) far from the input (derived in the chapter)."""
    mapping = relu_kernel_derivation()["map"]
    eps = Symbol("epsilon", positive=True)
    return {
        "slope": simplify(diff(mapping, corr)),
        "slope_at_one": simplify(diff(mapping, corr).subs(corr, 1)),
        "expansion": series(mapping.subs(corr, 1 - eps), eps, 0, 2).removeO(),
    }


def _check_correlation(c: object) -> np.ndarray:
    """``c`` as a float64 array clipped to [-1, 1]; ValueError for bools, non-numbers, NaN or
    values beyond 1e-12 outside [-1, 1]."""
    if isinstance(c, bool) or (isinstance(c, np.ndarray) and c.dtype == np.bool_):
        raise ValueError(f"c={c!r} is boolean, not a correlation; pass floats in [-1, 1]")
    try:
        arr = np.asarray(c, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"c={c!r} is not a number or an array of numbers; pass correlations in [-1, 1]") from None
    bad = ~np.isfinite(arr) | (arr < -1.0 - 1e-12) | (arr > 1.0 + 1e-12)
    if np.any(bad):
        first = float(arr[bad].flat[0]) if arr.ndim else float(arr)
        raise ValueError(
            f"c={first!r} is not a correlation; relu_correlation_map needs values in [-1, 1] "
            "(clip cosine similarities computed in floating point)"
        )
    return np.clip(arr, -1.0, 1.0)


def relu_correlation_map(c: float | np.ndarray) -> float | np.ndarray:
    """The arc-cosine correlation map of a bias-free ReLU layer (Cho and Saul 2009):

    C(c) = (√(1 − c²) + (π − arccos c) c) / π,   c ∈ [−1, 1].

    C(1) = 1, C(0) = 1/π, C(−1) = 0 and C(c) > c below 1: ReLU layers make any two
    inputs more alike. Vectorised: a float gives a float, an array an array of the
    same shape. Values outside [−1, 1] (beyond 1e-12 of rounding, which is clipped)
    or NaN raise ``ValueError``. Chapter: "Mean-field signal propagation".

    >>> round(relu_correlation_map(0.0), 6)
    0.31831
    """
    arr = _check_correlation(c)
    out = (np.sqrt(1.0 - arr**2) + (math.pi - np.arccos(arr)) * arr) / math.pi
    return float(out) if out.ndim == 0 else out


def iterate_correlation(c0: float, layers: int) -> np.ndarray:
    """c_0, C(c_0), C(C(c_0)), ...: the correlation entering layers 1..``layers`` + 1
    (length ``layers`` + 1) under :func:`relu_correlation_map`."""
    if isinstance(layers, bool) or not isinstance(layers, (int, np.integer)) or layers < 0:
        raise ValueError(f"layers={layers!r} is not valid; expected an integer >= 0")
    start = _check_correlation(c0)
    if start.ndim != 0:
        raise ValueError(f"c0 must be one correlation, got an array of shape {start.shape}")
    out = np.empty(int(layers) + 1)
    out[0] = float(start)
    for i in range(1, len(out)):
        out[i] = relu_correlation_map(out[i - 1])
    return out


def correlation_map(
    c: float | np.ndarray,
    *,
    activation: str,
    sigma_w2: float,
    sigma_b2: float = 0.0,
    q: float | None = None,
) -> float | np.ndarray:
    """The mean-field correlation map of any activation at pre-activation variance q:

    c' = (σ_w² E[φ(√q u) φ(√q v)] + σ_b²) / q',   q' = σ_w² E[φ(√q u)²] + σ_b²,

    with v = c u + √(1 − c²) w (u, w independent standard normals), integrated on two
    trapezoid grids for tanh and sigmoid. Piecewise-linear φ use the
    arc-cosine kernel k(c) = q (√(1 − c²) + (π − arccos c) c) / (2π) exactly: ReLU k(c),
    leaky ReLU (1 + a²) k(c) − 2a k(−c), linear q c. ``q`` defaults to the fixed point q*
    of the length map (Schoenholz et al. 2017), where both inputs keep the variance q*.
    For ReLU with σ_b² = 0 the result is :func:`relu_correlation_map` for every σ_w² and
    q. Chapter: "Mean-field signal propagation".
    """
    activation = _check_activation(activation)
    sigma_w2 = _check_variance("sigma_w2", sigma_w2, allow_zero=False)
    sigma_b2 = _check_variance("sigma_b2", sigma_b2, allow_zero=True)
    arr = _check_correlation(c)
    if q is None:
        q = _length_fixed_point(activation, sigma_w2, sigma_b2)
        if not math.isfinite(q) or q <= 0:
            raise ValueError(
                f"the length map of {activation!r} with sigma_w2={sigma_w2}, sigma_b2={sigma_b2} has no positive "
                f"finite fixed point (q* = {q}); pass q explicitly"
            )
    q = _check_variance("q", q, allow_zero=False)
    q_next = sigma_w2 * _second_moments(activation, q)[0] + sigma_b2
    if activation in ("relu", "leaky_relu", "linear"):
        kernel = lambda x: q * (np.sqrt(1.0 - x**2) + (math.pi - np.arccos(x)) * x) / (2.0 * math.pi)  # noqa: E731
        if activation == "relu":
            joint = kernel(arr)
        elif activation == "linear":
            joint = q * arr
        else:
            a = 0.01
            joint = (1.0 + a**2) * kernel(arr) - 2.0 * a * kernel(-arr)
        out = (sigma_w2 * joint + sigma_b2) / q_next
        return float(out) if out.ndim == 0 else out
    phi, _ = _phi(activation)
    # E[φ(t₁) φ(c t₁ + √(1 − c²) t₂)] for independent t₁, t₂ ~ N(0, q) on the 1-D grids
    t1, w1 = _grid(q, 301)
    f1 = phi(t1)
    flat = arr.reshape(-1)
    out = np.empty_like(flat)
    for i, ci in enumerate(flat):
        s_ = math.sqrt(max(0.0, 1.0 - ci**2))
        if s_ < 1e-8:
            joint = float(w1 @ (f1 * phi(ci * t1)))
        else:
            t2, w2 = _grid(q * s_**2, 301)
            joint = float(w1 @ (f1 * (phi(ci * t1[:, None] + t2[None, :]) @ w2)))
        out[i] = (sigma_w2 * joint + sigma_b2) / q_next
    out = out.reshape(arr.shape)
    return float(out) if out.ndim == 0 else out
