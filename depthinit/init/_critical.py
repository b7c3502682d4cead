"""Mean-field critical initialization: the edge of chaos of a deep random network.

Chapter: "E7: tanh networks". Poole et al. (2016) and Schoenholz et al. (2017):
with weights W_ij ~ N(0, σ_w² / n) and biases b_i ~ N(0, σ_b²), the
pre-activation variance q of a wide network follows the length map

    q_l = σ_w² E[φ(√q_{l-1} z)²] + σ_b²,   z ~ N(0, 1),

and two nearby inputs decorrelate or merge at the rate

    χ_1 = σ_w² E[φ'(√q* z)²]

at its fixed point q*. χ_1 = 1 is the edge between order and chaos, where
signals propagate deepest.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from ._schedules import _check_positive_finite

CRITICAL_ACTIVATIONS: tuple[str, ...] = ("tanh", "relu")


class CriticalPoint(NamedTuple):
    """A point on the edge of chaos: the weight variance σ_w² (times fan-in) and the
    fixed point q* of the length map. Unpacks as a pair: ``sw2, q = critical_init(...)``."""

    sigma_w2: float
    q_star: float


def _sech(x: np.ndarray) -> np.ndarray:
    """sech(x) = 2 e^{-|x|} / (1 + e^{-2|x|}), without overflow."""
    e = np.exp(-np.abs(x))
    return 2.0 * e / (1.0 + e * e)


def _sech_moment(q: float, k: int) -> float:
    """E[sech(√q z)^k] for z ~ N(0, 1) by the trapezoid rule, exponentially convergent here.

    For q <= 1, in z on [-10, 10]: the integrand is analytic in the strip
    |Im z| < a = π / (2√q), so the rule with step h errs by about exp(-2π a / h);
    h = 2π a / 60 (at most 1/4) puts the error below 1e-16, and the tails beyond
    |z| = 10 weigh under 1e-22. For q > 1, in u = √q z on [-40, 40], where the
    integrand sech(u)^k φ(u / √q) / √q has the fixed strip |Im u| < π / 2 and
    tails below e^{-80}. (Gauss–Hermite quadrature in z, exact to 1e-15 for
    q <= 1 with 200 nodes, loses digits as q grows because the integrand
    narrows as 1/√q; the trapezoid rule in the right variable does not.)
    """
    if q == 0.0:
        return 1.0
    root = math.sqrt(q)
    if q <= 1.0:
        h = min(0.25, 2.0 * math.pi * (math.pi / (2.0 * root)) / 60.0)
        n = int(math.ceil(10.0 / h))
        z = np.linspace(-n * h, n * h, 2 * n + 1)
        f = _sech(root * z) ** k * np.exp(-0.5 * z * z)
        return float(h * f.sum() / math.sqrt(2.0 * math.pi))
    h = 2.0 * math.pi * (math.pi / 2.0) / 60.0
    n = int(math.ceil(40.0 / h))
    u = np.linspace(-n * h, n * h, 2 * n + 1)
    f = _sech(u) ** k * np.exp(-0.5 * (u / root) ** 2) / root
    return float(h * f.sum() / math.sqrt(2.0 * math.pi))


def _tanh_edge(q: float) -> tuple[float, float]:
    """(σ_w² with χ_1 = 1 at q, the σ_b² that makes q the fixed point), for tanh."""
    s4 = _sech_moment(q, 4)  # E[tanh'(√q z)^2], tanh' = sech^2
    t2 = 1.0 - _sech_moment(q, 2)  # E[tanh(√q z)^2] = 1 - E[sech^2]
    sw2 = 1.0 / s4
    return sw2, q - sw2 * t2


def critical_init(activation: str, sigma_b2: float = 0.0) -> CriticalPoint:
    """The critical (edge-of-chaos) weight variance σ_w² for ``activation`` and bias
    variance ``sigma_b2``, with the fixed point q* of the length map.

    Solves, for z ~ N(0, 1),

    .. math::

        q^* = \\sigma_w^2\\, E[\\phi(\\sqrt{q^*} z)^2] + \\sigma_b^2, \\qquad
        \\chi_1 = \\sigma_w^2\\, E[\\phi'(\\sqrt{q^*} z)^2] = 1

    (Poole et al. 2016; Schoenholz et al. 2017). Weights drawn with variance
    ``sigma_w2 / fan_in`` and biases with variance ``sigma_b2`` then sit on the
    order-to-chaos edge.

    * ``"tanh"``: for σ_b² = 0 the edge is σ_w² = 1 with q* = 0 (exactly). For
      σ_b² > 0, q* is found by bisection on the curve q -> (σ_w²(q), σ_b²(q)) of
      points with χ_1 = 1, σ_w²(q) = 1 / E[sech⁴(√q z)], and the Gaussian
      expectations by an exponentially convergent quadrature (numpy only);
      both equations then hold to about 1e-13. E.g. σ_b² = 0.05 gives
      σ_w² ≈ 1.7610, q* ≈ 0.5700.
    * ``"relu"``: σ_w² = 2 exactly (He), which needs σ_b² = 0: the length map is
      then q -> q, every q is a fixed point, and ``q_star`` is NaN (undefined).
      With σ_b² > 0 ReLU has no finite fixed point on the edge (ValueError).

    Chapter: "E7: tanh networks".

    >>> critical_init("tanh")
    CriticalPoint(sigma_w2=1.0, q_star=0.0)
    >>> round(critical_init("tanh", 0.05).sigma_w2, 3)
    1.761
    >>> critical_init("relu").sigma_w2
    2.0
    """
    if not isinstance(activation, str) or activation not in CRITICAL_ACTIVATIONS:
        raise ValueError(
            f"activation={activation!r} is not valid; expected one of {', '.join(map(repr, CRITICAL_ACTIVATIONS))}"
        )
    sigma_b2 = _check_positive_finite("sigma_b2", sigma_b2, allow_zero=True)
    if activation == "relu":
        if sigma_b2 != 0.0:
            raise ValueError(
                f"sigma_b2={sigma_b2!r} has no critical point for ReLU: its length map "
                "q -> σ_w² q / 2 + σ_b² has no finite fixed point at χ_1 = σ_w² / 2 = 1 unless σ_b² = 0; "
                "pass sigma_b2=0 (He initialization)"
            )
        return CriticalPoint(2.0, float("nan"))
    if sigma_b2 == 0.0:
        return CriticalPoint(1.0, 0.0)
    lo, hi = 0.0, 1.0
    while _tanh_edge(hi)[1] < sigma_b2:
        lo, hi = hi, 2.0 * hi
        if hi > 1e12:
            raise ValueError(
                f"sigma_b2={sigma_b2!r} is too large: the fixed point q* of the length map would exceed 1e12 "
                "(q* grows like sigma_b2); pass a sigma_b2 below 1e11 (typical values are 0 to 0.5)"
            )
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if mid in (lo, hi):
            break
        if _tanh_edge(mid)[1] < sigma_b2:
            lo = mid
        else:
            hi = mid
    q = 0.5 * (lo + hi)
    return CriticalPoint(_tanh_edge(q)[0], q)
