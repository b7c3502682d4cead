"""Mean-field numbers without SymPy: the length map, its fixed point, χ₁ and the critical σ_w².

Chapter: "Mean-field signal propagation".

For a wide fully connected layer with weights of variance σ_w²/n and biases of
variance σ_b², a pre-activation of variance q becomes one of variance

    q' = σ_w² E[φ(√q z)²] + σ_b²,   z ~ N(0, 1)                    (length map)

(Poole et al. 2016). Two inputs at the fixed point q* with correlation c stay
correlated; the slope of their correlation map at c = 1 is

    χ₁ = σ_w² E[φ'(√q* z)²]

(Schoenholz et al. 2017): χ₁ < 1 is the ordered phase (inputs merge), χ₁ > 1 the
chaotic one (they separate); χ₁ = 1 is the order-chaos edge. :func:`critical_init`
solves χ₁ = 1 for σ_w². Everything here is NumPy (trapezoid quadrature on a grid
that resolves both the Gaussian and φ, bisection): it serves the ``critical`` scheme of
``depthinit.init`` without SymPy, and :mod:`depthinit.theory` re-exports it.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

__all__ = ["MEAN_FIELD_ACTIVATIONS", "chi_1", "critical_init", "length_fixed_point", "length_map"]

#: Activations the mean-field functions accept (leaky ReLU with PyTorch's slope 0.01).
MEAN_FIELD_ACTIVATIONS: tuple[str, ...] = ("relu", "linear", "leaky_relu", "tanh", "sigmoid")
_LEAKY = 0.01


def _grid(q: float, points: int = 4001) -> tuple[np.ndarray, np.ndarray]:
    """Nodes t and trapezoid weights for E[g(t)], t ~ N(0, q), on one uniform grid over ±12 √q
    fine enough for both the Gaussian (``points`` nodes) and φ, which changes on a scale of
    one in t (spacing at most 0.005). A uniform grid keeps the trapezoid rule's exponential
    convergence for these smooth integrands: relative error below 1e-12 for tanh and
    sigmoid at 1e-4 <= q <= 1e4."""
    sd = math.sqrt(q)
    n = max(points, min(int(24.0 * sd / 0.005) + 1, 4_000_001))
    t = np.linspace(-12.0 * sd, 12.0 * sd, n)
    density = np.exp(-0.5 * t**2 / q) / math.sqrt(2.0 * math.pi * q)
    w = np.full_like(t, t[1] - t[0])
    w[[0, -1]] /= 2.0
    return t, w * density


def _phi(activation: str) -> tuple[Callable[[np.ndarray], np.ndarray], Callable[[np.ndarray], np.ndarray]]:
    """(φ, φ') as NumPy functions."""
    if activation == "tanh":
        return np.tanh, lambda z: 1.0 - np.tanh(z) ** 2
    if activation == "sigmoid":
        sig = lambda z: 0.5 * (1.0 + np.tanh(0.5 * z))  # noqa: E731 - overflow-free logistic
        return sig, lambda z: sig(z) * (1.0 - sig(z))
    slope = {"relu": 0.0, "linear": 1.0, "leaky_relu": _LEAKY}[activation]
    return (lambda z: np.where(z > 0, z, slope * z)), (lambda z: np.where(z > 0, 1.0, slope))


def _check_activation(activation: object) -> str:
    if not isinstance(activation, str) or activation not in MEAN_FIELD_ACTIVATIONS:
        raise ValueError(
            f"activation={activation!r} is not valid; expected one of {', '.join(map(repr, MEAN_FIELD_ACTIVATIONS))}"
        )
    return activation


def _check_variance(name: str, value: object, *, allow_zero: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name}={value!r} is not a number; pass a finite float {'>= 0' if allow_zero else '> 0'}")
    value = float(value)
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        raise ValueError(f"{name}={value!r} is not valid; expected a finite number {'>= 0' if allow_zero else '> 0'}")
    return value


def _second_moments(activation: str, q: float) -> tuple[float, float]:
    """(E[φ(√q z)²], E[φ'(√q z)²]) by quadrature; exact forms for the piecewise-linear φ."""
    if activation in ("relu", "linear", "leaky_relu"):
        slope = {"relu": 0.0, "linear": 1.0, "leaky_relu": _LEAKY}[activation]
        half = (1.0 + slope**2) / 2.0
        return half * q, half
    phi, dphi = _phi(activation)
    if q == 0.0:
        return float(phi(np.zeros(1))[0] ** 2), float(dphi(np.zeros(1))[0] ** 2)
    t, w = _grid(q)
    return float(w @ phi(t) ** 2), float(w @ dphi(t) ** 2)


def length_map(q: float, *, activation: str, sigma_w2: float, sigma_b2: float = 0.0) -> float:
    """One layer of the length map: q' = σ_w² E[φ(√q z)²] + σ_b² (z ~ N(0, 1)).

    ``q`` is the pre-activation variance of the layer below (q >= 0). For ReLU
    q' = σ_w² q / 2 + σ_b². Chapter: "Mean-field signal propagation".

    >>> length_map(1.0, activation="relu", sigma_w2=2.0)
    1.0
    """
    activation = _check_activation(activation)
    q = _check_variance("q", q, allow_zero=True)
    sigma_w2 = _check_variance("sigma_w2", sigma_w2, allow_zero=False)
    sigma_b2 = _check_variance("sigma_b2", sigma_b2, allow_zero=True)
    return sigma_w2 * _second_moments(activation, q)[0] + sigma_b2


def length_fixed_point(activation: str, sigma_w2: float, sigma_b2: float = 0.0) -> float:
    """The stable fixed point q* of :func:`length_map` (``inf`` when the length map has none).

    Piecewise-linear φ (m = E[φ(z)²], 1/2 for ReLU): q* = σ_b² / (1 - σ_w² m) when
    σ_w² m < 1; ``inf`` when σ_w² m > 1, or σ_w² m = 1 with σ_b² > 0 (the length grows
    without bound); ``nan`` when σ_w² m = 1 and σ_b² = 0 (the map is the identity, every
    q is a neutral fixed point). Smooth φ: the largest root of q = σ_w² E[φ(√q z)²] + σ_b²,
    found by bisection to 1e-13 relative (q* = 0 for tanh with σ_b² = 0 and σ_w² <= 1).
    """
    activation = _check_activation(activation)
    sigma_w2 = _check_variance("sigma_w2", sigma_w2, allow_zero=False)
    sigma_b2 = _check_variance("sigma_b2", sigma_b2, allow_zero=True)
    if activation in ("relu", "linear", "leaky_relu"):
        gain = sigma_w2 * _second_moments(activation, 1.0)[0]
        if gain < 1.0:
            return sigma_b2 / (1.0 - gain)
        return math.nan if (gain == 1.0 and sigma_b2 == 0.0) else math.inf

    def excess(q: float) -> float:
        return sigma_w2 * _second_moments(activation, q)[0] + sigma_b2 - q

    # E[φ²] is bounded (tanh: <= 1, sigmoid: <= 1), so q* <= σ_w² + σ_b²; the excess is
    # positive below the largest root and negative above it.
    hi = sigma_w2 + sigma_b2 + 1.0
    lo = 0.0
    if sigma_b2 == 0.0 and activation == "tanh":
        # q = 0 is always a root; a positive one exists only in the chaotic phase σ_w² > 1.
        if sigma_w2 <= 1.0:
            return 0.0
        probe = 1e-8
        while excess(probe) <= 0.0 and probe < hi:  # pragma: no cover - tiny σ_w² - 1 only
            probe *= 10.0
        lo = probe
    return _bisect(excess, lo, hi, decreasing=True)


def chi_1(activation: str, sigma_w2: float, sigma_b2: float = 0.0) -> float:
    """χ₁ = σ_w² E[φ'(√q* z)²] at the length map's fixed point q* (the slope of the
    correlation map at c = 1). ReLU: σ_w² / 2 whatever σ_b². Chapter: "Mean-field
    signal propagation".

    >>> chi_1("relu", 2.0)
    1.0
    """
    activation = _check_activation(activation)
    sigma_w2 = _check_variance("sigma_w2", sigma_w2, allow_zero=False)
    sigma_b2 = _check_variance("sigma_b2", sigma_b2, allow_zero=True)
    if activation in ("relu", "linear", "leaky_relu"):
        return sigma_w2 * _second_moments(activation, 1.0)[1]
    q_star = length_fixed_point(activation, sigma_w2, sigma_b2)
    return sigma_w2 * _second_moments(activation, q_star)[1]


def critical_init(activation: str, sigma_b2: float = 0.0) -> float:
    """σ_w² on the order-chaos edge, χ₁(σ_w², σ_b²) = 1 (Schoenholz et al. 2017), as a float
    (the fixed point q* there is :func:`length_fixed_point` of the result).

    The weight variance of a layer is then σ_w² / fan_in. Piecewise-linear φ have
    χ₁ = σ_w² (1 + a²)/2 for every σ_b²: ReLU gives 2 (He's value), linear 1, leaky
    ReLU 2 / (1 + 0.01²). For tanh and sigmoid χ₁ depends on σ_b² through the
    fixed point q*; the root is found by bisection in ln σ_w² (relative accuracy
    1e-12): tanh gives 1 at σ_b² = 0 and grows with σ_b². Chapter: "Mean-field
    signal propagation".

    >>> critical_init("relu")
    2.0
    >>> round(critical_init("tanh", 0.05), 4)
    1.761
    """
    activation = _check_activation(activation)
    sigma_b2 = _check_variance("sigma_b2", sigma_b2, allow_zero=True)
    if activation in ("relu", "linear", "leaky_relu"):
        return 1.0 / _second_moments(activation, 1.0)[1]
    return _solve_critical(activation, sigma_b2)


def _solve_critical(activation: str, sigma_b2: float) -> float:
    """χ₁ = 1 solved for σ_w² along the curve of edge points parametrised by q*: at a fixed
    point q, χ₁ = 1 needs σ_w²(q) = 1 / E[φ'(√q z)²], and q is the fixed point for
    σ_b²(q) = q − σ_w²(q) E[φ(√q z)²]. One bisection in q (doubling to a bracket, then
    halving to 1e-13) finds σ_b²(q) = ``sigma_b2``."""
    if activation == "tanh" and sigma_b2 == 0.0:
        return 1.0  # q* = 0 for σ_w² <= 1, so χ₁ = σ_w² tanh'(0)² = σ_w²

    def edge(q: float) -> tuple[float, float]:
        m2, d2 = _second_moments(activation, q)
        sw2 = 1.0 / d2
        return sw2, q - sw2 * m2

    lo, hi = 0.0, 1.0
    while edge(hi)[1] < sigma_b2:
        lo, hi = hi, 2.0 * hi
        if hi > 1e8:
            raise ValueError(
                f"no order-chaos edge for activation={activation!r} with sigma_b2={sigma_b2!r}: the fixed point "
                "would exceed q = 1e8; try a smaller sigma_b2 (typical values are 0 to 1)"
            )
    q = _bisect(lambda x: edge(x)[1] - sigma_b2, lo, hi, decreasing=False)
    return edge(q)[0]


def _bisect(fn: Callable[[float], float], lo: float, hi: float, *, decreasing: bool) -> float:
    """Root of a monotone ``fn`` on [lo, hi] by bisection (200 halvings or 1e-13 relative)."""
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        value = fn(mid)
        if (value > 0.0) == decreasing:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-13 * max(1.0, abs(mid)):
            break
    return 0.5 * (lo + hi)
