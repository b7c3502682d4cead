"""Activation factors: how one activation scales the forward and backward variance.

Chapter: "The forward pass" (m_f) and "The backward pass" (d_f). For a
pre-activation z ~ N(0, q):

* forward factor  m_f(q) = E[f(z)^2] / q, so E[x_{l+1}^2] = m_f Var[y_l];
* backward factor d_f(q) = E[f'(z)^2], so Var[Δy_l] = d_f Var[Δx_{l+1}].

ReLU (1/2, 1/2), linear (1, 1) and leaky ReLU ((1 + a^2)/2 twice) are derived
exactly with ``sympy.stats`` and do not depend on q; for ReLU the value 1/2 holds
for any pre-activation distribution symmetric around zero
(:func:`relu_half_for_symmetric`). tanh and sigmoid are integrated numerically
(trapezoid quadrature on a dense grid) and depend on q: near q = 0 tanh behaves like the
identity, while sigmoid's output has mean 1/2, so E[f(z)^2] stays near 1/4 and
m_f grows like 1/(4q) as q shrinks.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Literal

import numpy as np
from sympy import Abs, Eq, Expr, Function, Integral, Piecewise, Rational, Symbol, exp, integrate, oo, simplify
from sympy.stats import E as expectation
from sympy.stats import Normal, Uniform

from .symbols import q

ActivationName = Literal["relu", "linear", "leaky_relu", "tanh", "sigmoid"]
ACTIVATIONS: tuple[str, ...] = ("relu", "linear", "leaky_relu", "tanh", "sigmoid")
EXACT_ACTIVATIONS: tuple[str, ...] = ("relu", "linear", "leaky_relu")
#: PyTorch's default negative slope of LeakyReLU.
LEAKY_SLOPE = Rational(1, 100)

# Quadrature for E[g(z)], z = sqrt(q) u, u ~ N(0, 1): the trapezoid rule on a dense grid
# over u in [-12, 12] with 0 as a node (exact to ~1e-8 for smooth g, and half weight at
# the kink of ReLU-like derivatives, so their steps integrate correctly too).
_NODES = np.linspace(-12.0, 12.0, 12001)
_WEIGHTS = np.exp(-0.5 * _NODES**2) / math.sqrt(2.0 * math.pi) * (_NODES[1] - _NODES[0])
_WEIGHTS[[0, -1]] *= 0.5


def _check_activation(activation: str) -> str:
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation={activation!r} is not valid; expected one of {', '.join(map(repr, ACTIVATIONS))}")
    return activation


@lru_cache(maxsize=None)
def activation_factor_expressions(activation: str) -> tuple[Expr, Expr]:
    """Exact ``(m_f, d_f)`` for ``"relu"``, ``"linear"`` or ``"leaky_relu"`` (slope 1/100),
    derived with ``sympy.stats`` for z ~ N(0, q):

    m_f = E[f(z)^2] / q and d_f = E[f'(z)^2]. ReLU gives (1/2, 1/2), linear (1, 1).

    >>> activation_factor_expressions("relu")
    (1/2, 1/2)
    """
    _check_activation(activation)
    if activation not in EXACT_ACTIVATIONS:
        raise ValueError(
            f"activation={activation!r} has no closed form here; use activation_factors({activation!r}, q) "
            f"for its numerical factors (exact ones: {', '.join(EXACT_ACTIVATIONS)})"
        )
    z = Normal("z", 0, q ** Rational(1, 2))
    slope = {"relu": 0, "linear": 1, "leaky_relu": LEAKY_SLOPE}[activation]
    f_squared = Piecewise((z**2, z > 0), (slope**2 * z**2, True))
    fprime_squared = Piecewise((1, z > 0), (slope**2, True))
    m = simplify(expectation(f_squared) / q)
    d = simplify(expectation(fprime_squared))
    return m, d


@lru_cache(maxsize=None)
def mean_derivative_expression(activation: str) -> Expr:
    """Exact E[f'(z)] for z ~ N(0, q) (1/2 for ReLU): the factor in E[Δy_l] = E[f'] E[Δx_{l+1}]."""
    _check_activation(activation)
    if activation not in EXACT_ACTIVATIONS:
        raise ValueError(f"activation={activation!r} has no closed form here; expected one of {EXACT_ACTIVATIONS}")
    z = Normal("z", 0, q ** Rational(1, 2))
    slope = {"relu": 0, "linear": 1, "leaky_relu": LEAKY_SLOPE}[activation]
    return simplify(expectation(Piecewise((1, z > 0), (slope, True))))


def relu_half_for_symmetric() -> dict[str, Expr]:
    """E[max(0, z)²] / E[z²], integrated by SymPy for several symmetric distributions:
    normal N(0, s²), uniform U(−a, a), Laplace ∝ e^{−|t|/b}, and the two-parameter even family
    p(t) ∝ (a + b t²) e^{−t²/2} (a, b > 0 symbols: a whole family, not one density). Every
    entry comes out 1/2.

    That the ratio is 1/2 for *every* even density is a premise of the derivation, not a
    check here: :func:`relu_half_argument` shows the substitution step that proves it.
    """
    s_, a_, b_ = Symbol("s", positive=True), Symbol("a", positive=True), Symbol("b", positive=True)
    out: dict[str, Expr] = {}
    for name, z in (("normal", Normal("z", 0, s_)), ("uniform", Uniform("u", -a_, a_))):
        out[name] = simplify(expectation(Piecewise((z**2, z > 0), (0, True))) / expectation(z**2))
    t = Symbol("t", real=True)
    for name, density in (
        ("laplace", exp(-Abs(t) / b_)),
        ("(a + b t²) e^(−t²/2)", (a_ + b_ * t**2) * exp(-(t**2) / 2)),
    ):
        positive = integrate(t**2 * density, (t, 0, oo))
        total = integrate(t**2 * density, (t, -oo, oo))
        out[name] = simplify(positive / total)
    return out


def relu_half_argument() -> Eq:
    """The symmetry step as an equation: ∫_{-∞}^0 t² p(t) dt = ∫_0^∞ t² p(t) dt for an even
    density p, obtained by the substitution t = -u and p(-u) = p(u)."""
    t, u = Symbol("t", real=True), Symbol("u", real=True)
    p = Function("p")
    integrand = t**2 * p(t)
    negative_half = Integral(integrand, (t, -oo, 0))
    # t = -u: dt = -du and the limits (-oo, 0) become (oo, 0); flipping them cancels the sign.
    substituted = (integrand.subs(t, -u) * (-u).diff(u)).subs(p(-u), p(u))
    swapped = Integral(-substituted, (u, 0, oo)).xreplace({u: t})
    return Eq(negative_half, swapped)


def _numeric(activation: str, q_values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    z = np.sqrt(q_values)[..., None] * _NODES
    if activation in ("tanh", "sigmoid"):
        f = np.tanh(z) if activation == "tanh" else 0.5 * (1.0 + np.tanh(0.5 * z))  # overflow-free logistic
        fp_squared = (1.0 - f**2) ** 2 if activation == "tanh" else (f * (1.0 - f)) ** 2
    else:
        slope = {"relu": 0.0, "linear": 1.0, "leaky_relu": float(LEAKY_SLOPE)}[activation]
        f = np.where(z > 0, z, slope * z)
        # f'^2 jumps at the kink; the trapezoid rule then wants the mean of the two sides at z = 0.
        fp_squared = np.where(z > 0, 1.0, np.where(z == 0, (1.0 + slope**2) / 2.0, slope**2))
    return (f**2 @ _WEIGHTS) / q_values, fp_squared @ _WEIGHTS


def activation_factors(activation: ActivationName, q_value: float | np.ndarray = 1.0):
    """Numerical ``(m_f(q), d_f(q))`` for a pre-activation z ~ N(0, q).

    Exact activations use their closed forms (q does not matter); tanh and sigmoid
    use a trapezoid rule on 12,001 points of the standard normal. Accepts a float or an array of q > 0
    and returns floats or arrays of the same shape.

    >>> [round(v, 4) for v in activation_factors("tanh", 1.0)]
    [0.3943, 0.4644]
    """
    _check_activation(activation)
    arr = np.asarray(q_value, dtype=np.float64)
    if not np.all(np.isfinite(arr)) or not np.all(arr > 0):
        raise ValueError(f"q={q_value!r} is not valid; the pre-activation variance must be finite and > 0")
    if activation in EXACT_ACTIVATIONS:
        m, d = (float(e) for e in activation_factor_expressions(activation))
        m_arr, d_arr = np.full(arr.shape, m), np.full(arr.shape, d)
    else:
        m_arr, d_arr = _numeric(activation, arr.reshape(-1))
        m_arr, d_arr = m_arr.reshape(arr.shape), d_arr.reshape(arr.shape)
    if arr.ndim == 0:
        return float(m_arr), float(d_arr)
    return m_arr, d_arr


def quadrature_factors(activation: ActivationName, q_value: float) -> tuple[float, float]:
    """``(m_f, d_f)`` by quadrature for any activation, exact ones included (used to check
    the quadrature against the closed forms)."""
    _check_activation(activation)
    m, d = _numeric(activation, np.asarray([float(q_value)]))
    return float(m[0]), float(d[0])
