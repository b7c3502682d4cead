"""Depth scaling and the depth function, the paper's equations (16)-(47).

Chapters: "Depth scaling: equations (16)-(23)" and "The depth function and its
hyperparameters: equations (24)-(47)".

Convention (shared with :func:`depthinit.alphas`): layer 1 keeps its base
variance (α_1 = 1) and the factors of layers 2..L multiply to the network
variance V. Main results:

* α-scaling: (1/2) n̂_l Var[w_l] = α_l, so Var[w_l] = 2 α_l / n̂_l and
  Var[Δx_2] = Var[Δx_{L+1}] prod_{l=2}^{L} α_l;
* constant schedule: α^{L-1} = V, α = V^{1/(L-1)};
* depth function: α_l = log_k(l) / β; the product fixes only β ln k =
  G_L / V^{1/(L-1)} (G_L the geometric mean of ln l over l = 2..L), and then
  α_l = V^{1/(L-1)} ln l / G_L, free of k and β;
* crossover: α_l < 1 exactly when l < k^β;
* ∂β/∂k = -β/(k ln k) < 0, ∂β/∂V = -β/((L-1) V) < 0, and β grows with L when V >= 1.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd
from sympy import (
    Basic,
    Eq,
    Expr,
    Lambda,
    Product,
    StrictGreaterThan,
    StrictLessThan,
    Symbol,
    diff,
    exp,
    expand,
    expand_log,
    factor,
    lambdify,
    log,
    simplify,
    solve,
    together,
)
from sympy import nan as sp_nan
from sympy import zoo as sp_zoo

from ._backward import backward_recursion
from ._forward import forward_recursion
from .symbols import (
    G,
    G_c,
    Iff,
    L,
    LogBase,
    V,
    Var,
    alpha,
    alpha_c,
    beta,
    c,
    dx,
    k,
    l,
    n,
    n_hat,
    natural_logs,
    nu,
    w,
    y,
)

__all__ = [
    "Derivative",
    "alpha_closed_form",
    "alpha_product",
    "alpha_readings",
    "alpha_recursion",
    "alpha_scaling",
    "alpha_weight_variance",
    "change_of_base",
    "constant_product",
    "constant_schedule",
    "crossover_condition",
    "crossover_derivation",
    "crossover_steps",
    "depth_function",
    "depth_function_clues",
    "depth_network_variance",
    "depth_network_variance_base_k",
    "depth_numbers",
    "depth_solution",
    "depth_solution_k",
    "depth_weight_variance",
    "equal_width_variance",
    "geometric_mean_log",
    "he_from_alpha",
    "hyperparameter_derivatives",
    "mode_fan",
    "network_variance",
    "offset_alpha",
    "power_law_function",
    "solve_k_beta",
]

# --- Section 4.1: the α-scaling, equations (16)-(21) -------------------------------------------
#
# One definition of V: the network variance is the product over layers 2..L of the per-layer
# gains (1/2) ν_l Var[w_l] in the direction named by the depth scheme's ``mode``: ν_l = n_l and
# forward gains for ``fan_in`` (the library's default), ν_l = n̂_l and backward gains for
# ``fan_out`` (equations (16)-(17) as the paper writes them, from (15)). ``mode=None`` keeps the
# fan as the symbol ν_l.

Mode = str | None
MODES = ("fan_in", "fan_out")


def _check_mode(mode: Mode) -> Mode:
    if mode is not None and mode not in MODES:
        raise ValueError(f"mode={mode!r} is not valid; expected None, 'fan_in' or 'fan_out'")
    return mode


def mode_fan(mode: Mode) -> Basic:
    """The fan of a layer that the mode names: n_l (``"fan_in"``), n̂_l (``"fan_out"``) or the
    symbol ν_l (``None``)."""
    return {None: nu, "fan_in": n, "fan_out": n_hat}[_check_mode(mode)][l]


def _gain_step(mode: Mode) -> tuple[Expr, Basic]:
    """(one layer's gain, the variance it multiplies): derived from (13) backward for
    ``fan_out`` and from (4) forward for ``fan_in``; for ``None`` the forward form with ν_l."""
    if mode == "fan_out":
        return backward_recursion("relu").rhs / Var(dx[l + 1]), Var(dx[l + 1])
    gain = forward_recursion("relu").rhs / Var(y[l - 1])
    return (gain if mode == "fan_in" else gain.xreplace({n[l]: nu[l]})), Var(y[l - 1])


@lru_cache(maxsize=None)
def alpha_scaling(mode: Mode = None) -> Eq:
    """Equation (16): (1/2) ν_l Var[w_l] = α_l, the factor of He's condition set free per layer.

    ν_l is the fan named by the depth scheme's ``mode``: n̂_l for ``"fan_out"`` (the
    backward factor of (13)-(15), as the paper writes it), n_l for ``"fan_in"`` (the
    forward factor of (4)-(6), the library's default). ``None`` keeps ν_l.
    """
    return Eq(_gain_step(_check_mode(mode))[0], alpha[l])


@lru_cache(maxsize=None)
def alpha_weight_variance(mode: Mode = None) -> Eq:
    """Equation (17): Var[w_l] = 2 α_l / ν_l ((16) solved for the weights), ν_l the mode's fan."""
    (solution,) = solve(alpha_scaling(mode), Var(w[l]))
    return Eq(Var(w[l]), solution)


@lru_cache(maxsize=None)
def alpha_recursion(mode: str = "fan_out") -> Eq:
    """Equation (18): one layer multiplies the variance in the mode's direction by α_l:
    Var[Δx_l] = α_l Var[Δx_{l+1}] (``"fan_out"``, (17) in (13)) or
    Var[y_l] = α_l Var[y_{l-1}] (``"fan_in"``, (17) in (4))."""
    if _check_mode(mode) is None:
        raise ValueError("alpha_recursion needs mode='fan_in' or 'fan_out' (the direction of the recursion)")
    if mode == "fan_out":
        value = backward_recursion("relu").rhs.subs(Var(w[l]), alpha_weight_variance(mode).rhs)
        return Eq(Var(dx[l]), simplify(value))
    value = forward_recursion("relu").rhs.subs(Var(w[l]), alpha_weight_variance(mode).rhs)
    return Eq(Var(y[l]), simplify(value))


@lru_cache(maxsize=None)
def alpha_product(mode: str = "fan_out") -> Eq:
    """Equation (19): Var[Δx_2] = Var[Δx_{L+1}] prod_{l=2}^{L} α_l (``"fan_out"``), or
    Var[y_L] = Var[y_1] prod_{l=2}^{L} α_l (``"fan_in"``)."""
    rule = alpha_recursion(mode)
    if mode == "fan_out":
        return Eq(Var(dx[2]), Var(dx[L + 1]) * Product(rule.rhs / Var(dx[l + 1]), (l, 2, L)))
    return Eq(Var(y[L]), Var(y[1]) * Product(rule.rhs / Var(y[l - 1]), (l, 2, L)))


@lru_cache(maxsize=None)
def network_variance(mode: str = "fan_out") -> Eq:
    """The network variance: V = prod_{l=2}^{L} α_l, the product of the per-layer gains in the
    mode's direction: Var[Δx_2] / Var[Δx_{L+1}] (``"fan_out"``) or Var[y_L] / Var[y_1]
    (``"fan_in"``, the library's default and what the book's experiments ran)."""
    product = alpha_product(mode)
    start = Var(dx[L + 1]) if mode == "fan_out" else Var(y[1])
    return Eq(V, product.rhs / start)


def he_from_alpha(mode: str = "fan_out") -> tuple[Eq, Eq]:
    """Equations (20)-(21): α_l = 1 gives back He: Var[Δx_2] = Var[Δx_{L+1}] and Var[w_l] = 2 / n̂_l
    (``"fan_out"``, the paper's reading; ``"fan_in"``: Var[y_L] = Var[y_1] and 2 / n_l)."""
    product = alpha_product(mode)
    unit = Eq(product.lhs, product.rhs.xreplace({alpha[l]: 1}).doit())
    return unit, Eq(Var(w[l]), alpha_weight_variance(mode).rhs.subs(alpha[l], 1))


# --- Section 4.1.1: the constant schedule, equations (22)-(23) ---------------------------------


@lru_cache(maxsize=None)
def constant_product() -> Eq:
    """Equation (22): with α_l = α for every l, Var[Δx_2] = α^{L-1} Var[Δx_{L+1}]."""
    product = alpha_product()
    return Eq(product.lhs, product.rhs.xreplace({alpha[l]: alpha_c}).doit())


@lru_cache(maxsize=None)
def constant_schedule() -> Eq:
    """Equation (23): α^{L-1} = V solved for α: α = V^{1/(L-1)}."""
    total = constant_product().rhs / Var(dx[L + 1])
    (solution,) = solve(Eq(total, V), alpha_c)
    return Eq(alpha_c, solution)


# --- Section 6: the depth function, equations (24)-(34) ----------------------------------------


def depth_function(offset: bool = False) -> Eq:
    """Equation (24): α_l = f(l) = log_k(l) / β (= ln l / (β ln k)); with ``offset=True``
    the depth is shifted by c: log_k(l + c) / β (Section 8)."""
    depth = l + c if offset else l
    return Eq(alpha[l], LogBase(depth, k) / beta)


def change_of_base() -> Eq:
    """Equation (31): log_k l = ln l / ln k."""
    return Eq(LogBase(l, k), LogBase(l, k).doit())


@lru_cache(maxsize=None)
def depth_weight_variance(mode: Mode = None) -> Eq:
    """Equations (25)-(26): (24) in (17): Var[w_l] = 2 ln l / (β ν_l ln k), ν_l the mode's fan."""
    return Eq(Var(w[l]), alpha_weight_variance(mode).rhs.subs(alpha[l], depth_function().rhs))


@lru_cache(maxsize=None)
def depth_network_variance(offset: bool = False) -> Eq:
    """Equations (27)-(29): V = prod_{l=2}^{L} ln l / (β ln k) = (prod ln l) / (β ln k)^{L-1}
    (ln(l + c) with ``offset=True``)."""
    product = network_variance().rhs.xreplace({alpha[l]: natural_logs(depth_function(offset).rhs)})
    return Eq(V, product.doit())


def depth_network_variance_base_k() -> Eq:
    """Equation (29): V = β^{-(L-1)} prod_{l=2}^{L} log_k l (β taken out of the product)."""
    product = network_variance().rhs.xreplace({alpha[l]: depth_function().rhs})
    return Eq(V, product.doit())


def equal_width_variance() -> Eq:
    """Equation (30): with equal fans ν_l = n, Var[w_l] = 2 ln l / (β n ln k)."""
    width = Symbol("n", positive=True)
    return Eq(Var(w[l]), depth_weight_variance().rhs.subs(nu[l], width))


@lru_cache(maxsize=None)
def geometric_mean_log(offset: bool = False) -> Eq:
    """G_L = (prod_{l=2}^{L} ln l)^{1/(L-1)}, the geometric mean of ln l over l = 2..L; with
    ``offset=True`` G^{(c)}_L, the geometric mean of ln(l + c) (its own symbol)."""
    if offset:
        return Eq(G_c[L], Product(log(l + c), (l, 2, L)) ** (1 / (L - 1)))
    return Eq(G[L], Product(log(l), (l, 2, L)) ** (1 / (L - 1)))


@lru_cache(maxsize=None)
def depth_solution(offset: bool = False) -> Eq:
    """Equations (33)-(34): (29) solved for β given k: β = G_L / (V^{1/(L-1)} ln k)
    (G^{(c)}_L with ``offset=True``).

    Only the product β ln k = G_L / V^{1/(L-1)} is fixed by V; the paper takes
    one of the two "for easy calculation".
    """
    mean = geometric_mean_log(offset)
    product = mean.rhs.base
    written = depth_network_variance(offset).rhs.subs(product, mean.lhs ** (L - 1))
    (solution,) = solve(Eq(V, written), beta)
    return Eq(beta, solution)


@lru_cache(maxsize=None)
def depth_solution_k(beta_value: Expr | float = 1) -> Eq:
    """(34) solved for k at a chosen β: k = exp(G_L / (β V^{1/(L-1)})) (β = 1 by default)."""
    (solution,) = solve(Eq(depth_solution().rhs, beta), k)
    return Eq(k, solution.subs(beta, beta_value))


@lru_cache(maxsize=None)
def alpha_closed_form(offset: bool = False) -> Eq:
    """α_l once the product is pinned to V: α_l = V^{1/(L-1)} ln l / G_L, free of k and β.

    With ``offset=True`` (α_l ∝ ln(l + c)) the product of ln(l + c) is pinned instead:
    α_l = V^{1/(L-1)} ln(l + c) / G^{(c)}_L.
    """
    value = natural_logs(depth_function(offset).rhs).subs(beta, depth_solution(offset).rhs)
    return Eq(alpha[l], simplify(value))


def offset_alpha() -> Eq:
    """α_l = V^{1/(L-1)} ln(l + c) / G^{(c)}_L, G^{(c)}_L = (prod_{l=2}^{L} ln(l + c))^{1/(L-1)}."""
    return alpha_closed_form(offset=True)


# --- Sections 7-8: crossover and hyperparameters, equations (35)-(47) --------------------------

_kappa = Symbol("kappa", positive=True)


def crossover_derivation(factor: Expr | None = None) -> dict[str, Basic]:
    """Where a depth factor crosses one, derived: for α_l = ``factor`` (default (24),
    ln l / (β ln k)), with k = 1 + κ (κ > 0, a base above one) and β > 0, SymPy

    * solves α_l = 1 for l (``"root"``: k^β for (24)) and checks it is the only root;
    * differentiates α_l in l and decides the sign of the derivative for l > 1 (``"slope"``,
      ``"increasing"``);
    * multiplies α_l − 1 by β ln k and simplifies (``"scaled"``: ln l − β ln k for (24)),
      and checks β ln k > 0 (``"scale_positive"``).

    An increasing factor is below one exactly below the root (``"condition"``: l < k^β);
    a decreasing one exactly above it. Raises ValueError when the monotonicity or the root
    cannot be decided.
    """
    return dict(_crossover_derivation(factor))


@lru_cache(maxsize=None)
def _crossover_derivation(factor: Expr | None) -> tuple[tuple[str, Basic], ...]:
    return tuple(_derive_crossover(factor).items())


def _derive_crossover(factor: Expr | None = None) -> dict[str, Basic]:
    """The derivation itself (uncached)."""
    f = depth_function().rhs if factor is None else factor
    f_nat = natural_logs(f).subs(k, 1 + _kappa)
    lpos = Symbol("l", positive=True)
    f_pos = f_nat.subs(l, lpos)
    roots = solve(Eq(f_pos, 1), lpos)
    if len(roots) != 1:
        raise ValueError(f"α_l = {f} crosses one at {roots}; expected exactly one crossing")
    slope = simplify(diff(f_pos, lpos))
    # the factors are used for depths l >= 2: decide the sign for l = 1 + λ, λ > 0
    on_depths = simplify(slope.subs(lpos, 1 + Symbol("lambda", positive=True)))
    increasing = True if on_depths.is_positive else False if on_depths.is_negative else None
    if increasing is None:
        raise ValueError(f"SymPy cannot decide the sign of dα_l/dl = {slope}; the crossover is not monotone here")
    root = simplify(roots[0].subs(_kappa, k - 1))
    scale = beta * log(k)
    scaled = expand_log(simplify((f_nat - 1) * scale.subs(k, 1 + _kappa)), force=True).subs(_kappa, k - 1)
    rel = StrictLessThan(l, root) if increasing else StrictGreaterThan(l, root)
    return {
        "root": root,
        "slope": slope.subs(lpos, l).subs(_kappa, k - 1),
        "increasing": increasing,
        "scaled": scaled,
        "scale_positive": bool(scale.subs(k, 1 + _kappa).is_positive),
        "condition": rel,
    }


def crossover_steps() -> tuple[Iff, Iff]:
    """The two steps from α_l < 1 to l < k^β (for k > 1, β > 0), each derived by
    :func:`crossover_derivation`:

    ln l / (β ln k) < 1 ⇔ ln l − β ln k < 0 (α_l − 1 times β ln k > 0, simplified by SymPy),
    and ln l < β ln k ⇔ l < k^β (the unique root of α_l = 1, α_l increasing in l).
    """
    d = crossover_derivation()
    if not d["scale_positive"]:  # pragma: no cover - SymPy regression
        raise RuntimeError("SymPy could not confirm β ln k > 0 for k > 1")
    scaled = StrictLessThan(d["scaled"], 0)
    return Iff(StrictLessThan(depth_function().rhs, 1), scaled), Iff(scaled, d["condition"])


def crossover_condition() -> Iff:
    """The crossover: α_l < 1 exactly when l < k^β; with β = 1, exactly the layers below k."""
    return Iff(StrictLessThan(alpha[l], 1), crossover_derivation()["condition"])


@dataclass(frozen=True)
class Derivative:
    """How β moves with one hyperparameter: the expression, its sign (decided by SymPy) and
    the condition under which SymPy decided it."""

    name: str
    expression: Expr
    sign: int
    condition: str


def _sign(expr: Expr) -> int:
    if expr.is_positive:
        return 1
    if expr.is_negative:
        return -1
    raise RuntimeError(f"SymPy cannot decide the sign of {expr}")  # pragma: no cover - SymPy regression


def hyperparameter_derivatives() -> dict[str, Derivative]:
    """Signs of ∂β/∂k, ∂β/∂V and of the change of β with L (Section 8), each decided by SymPy.

    k and V are continuous: the derivatives of (34) are -β/(k ln k) and
    -β/((L-1) V); SymPy decides their sign with k = 1 + κ, L = m + 2 (κ > 0, m >= 0).
    L is an integer: ln β_{L+1} - ln β_L = ((L-1)(ln ln(L+1) - ln G_L) + ln V)/(L(L-1)).
    Its sign is decided by SymPy after writing G_L = ln(L+1) e^{-δ} with δ > 0 (G_L is a
    geometric mean of ln 2 .. ln L, each below ln(L+1): a premise the test checks
    numerically) and V = 1 + v with v >= 0: positive.
    """
    return dict(_hyperparameter_derivatives())


@lru_cache(maxsize=1)
def _hyperparameter_derivatives() -> tuple[tuple[str, Derivative], ...]:
    return tuple(_derive_hyperparameters().items())


def _derive_hyperparameters() -> dict[str, Derivative]:
    """The derivation itself (uncached)."""
    solution = depth_solution().rhs
    kappa, m = _kappa, Symbol("m", integer=True, nonnegative=True)
    d_k = simplify(diff(solution, k) / solution) * beta
    d_v = simplify(diff(solution, V) / solution) * beta
    where = {k: 1 + kappa, L: m + 2}
    sign_k = _sign(simplify(diff(solution, k).subs(where)))
    sign_v = _sign(simplify(diff(solution, V).subs(where)))
    # Discrete step in L: ln β_L = S_L/(L-1) - ln ln k - ln V/(L-1), S_L = sum_{l<=L} ln ln l.
    s = Symbol("S_L", real=True)
    log_beta = Lambda((L, s), s / (L - 1) - log(log(k)) - log(V) / (L - 1))
    step = factor(together(log_beta(L + 1, s + log(log(L + 1))) - log_beta(L, s)))
    delta, v = Symbol("delta", positive=True), Symbol("v", nonnegative=True)
    written = step.subs(s, (L - 1) * log(log(L + 1) * exp(-delta)))
    decided = simplify(expand_log(written, force=True).subs({V: 1 + v, L: m + 2}))
    sign_l = _sign(decided)
    return {
        "k": Derivative("∂β/∂k", d_k, sign_k, "k > 1"),
        "V": Derivative("∂β/∂V", d_v, sign_v, "L >= 2"),
        "L": Derivative("ln β_{L+1} − ln β_L", step, sign_l, "V >= 1 and G_L < ln(L+1) (S_L = (L−1) ln G_L)"),
    }


# --- Numbers --------------------------------------------------------------------------------------


def _check(L_value: int, V_value: float) -> tuple[int, float]:
    if isinstance(L_value, bool) or not isinstance(L_value, (int, np.integer)) or L_value < 2:
        raise ValueError(f"L={L_value!r} is not valid; expected an integer number of weight layers >= 2")
    if not (isinstance(V_value, (int, float, np.floating)) and math.isfinite(V_value) and V_value > 0):
        raise ValueError(f"V={V_value!r} is not valid; expected a finite network variance > 0")
    return int(L_value), float(V_value)


@lru_cache(maxsize=1)
def _alpha_fn() -> Callable:
    """α_l(l, V, L, G_L) lambdified from :func:`alpha_closed_form` (built once)."""
    return lambdify((l, V, L, G[L]), alpha_closed_form().rhs, "numpy")


def solve_k_beta(
    L_value: int, V_value: float, *, k_value: float | None = None, beta_value: float | None = None, offset: float = 0.0
) -> tuple[float, float]:
    """``(k, β)`` of the log depth function for L layers and network variance V.

    Give exactly one of ``k_value`` (> 1) or ``beta_value`` (> 0); the other
    follows from β ln k = G_L / V^{1/(L-1)} (equation (34)). With ``offset`` c
    the geometric mean is that of ln(l + c).

    >>> k_, b_ = solve_k_beta(54, 22.0, beta_value=1.0)
    >>> round(k_, 2), b_
    (16.27, 1.0)
    """
    L_value, V_value = _check(L_value, V_value)
    if (k_value is None) == (beta_value is None):
        raise ValueError("give exactly one of k_value or beta_value; the other is determined by (L, V)")
    lam_value = depth_numbers(L_value, V_value, offset=offset)["beta_ln_k"]
    if beta_value is not None:
        if not beta_value > 0:
            raise ValueError(f"beta_value={beta_value!r} is not valid; expected a number > 0")
        return math.exp(lam_value / beta_value), float(beta_value)
    assert k_value is not None  # exactly one of the two was given
    if not k_value > 1:
        raise ValueError(
            f"k_value={k_value!r} is not valid; the base of the logarithm must be > 1 (k = 1 divides by ln 1 = 0)"
        )
    return float(k_value), lam_value / math.log(k_value)


def depth_numbers(L_value: int, V_value: float, *, offset: float = 0.0, beta_value: float = 1.0) -> dict:
    """The numbers of the log depth function for given (L, V), evaluated from the SymPy results.

    Keys: ``G_L`` (geometric mean of ln(l + c), l = 2..L), ``root`` (V^{1/(L-1)}),
    ``beta_ln_k`` (β ln k), ``k`` (at ``beta_value``), ``alphas`` (α_1..α_L with
    α_1 = 1), ``n_below`` and ``share_below`` (layers 2..L with α_l < 1, and their
    share of L - 1), ``first_at_or_above`` (the first l >= 2 with α_l >= 1).
    """
    L_value, V_value = _check(L_value, V_value)
    if not (math.isfinite(offset) and offset >= 0):
        raise ValueError(f"offset={offset!r} is not valid; expected a finite number >= 0")
    depths = np.arange(2, L_value + 1, dtype=np.float64)
    g = float(np.exp(np.mean(np.log(np.log(depths + offset)))))
    root = V_value ** (1.0 / (L_value - 1))
    # The closed form α_l = V^{1/(L-1)} ln l / G_L, shifted by c (ln(l + c)).
    a = np.ones(L_value)
    a[1:] = _alpha_fn()(depths + offset, V_value, L_value, g)
    below = a[1:] < 1.0
    at_or_above = np.flatnonzero(~below)
    return {
        "L": L_value,
        "V": V_value,
        "offset": float(offset),
        "G_L": g,
        "root": root,
        "beta_ln_k": g / root,
        "beta": float(beta_value),
        "k": math.exp(g / root / beta_value),
        "alphas": a,
        "n_below": int(below.sum()),
        "share_below": float(below.mean()),
        "first_at_or_above": int(at_or_above[0] + 2) if at_or_above.size else None,
    }


def alpha_readings(L_value: int = 54, V_value: float = 22.0, *, target_share: float = 1 / 3) -> pd.DataFrame:
    """Share of layers 2..L below one under each reading of the depth function.

    Rows: the log reading with offsets c = 0, 2, 10 (c in the argument, ln(l + c));
    the offset in the base (log_{k+c} l: absorbed, identical to c = 0); the
    offset added outside (c + log_k l with β = 1 and c = 1, where k then matters);
    the output layer not counted (L - 1 layers) or an extra one counted (L + 1);
    and three other monotone shapes (power l^{1/2}, linear l, geometric 1.05^l).
    Columns: ``reading``, ``n_below``, ``share_below``, ``alpha_2``, ``alpha_L``
    and ``gap`` (share minus ``target_share``, the paper's 33 percent).
    """
    from ..init import alphas

    L_value, V_value = _check(L_value, V_value)
    rows = []

    def add(reading: str, a: np.ndarray) -> None:
        factors = a[1:]
        rows.append(
            {
                "reading": reading,
                "layers": len(factors),
                "n_below": int((factors < 1).sum()),
                "share_below": float((factors < 1).mean()),
                "alpha_2": float(factors[0]),
                "alpha_L": float(factors[-1]),
            }
        )

    for offset in (0.0, 2.0, 10.0):
        add(
            f"log: ln(l + c), c = {offset:g}",
            alphas(L_value, schedule="increasing", network_variance=V_value, offset=offset),
        )
    add("log: base k + c (absorbed)", alphas(L_value, schedule="increasing", network_variance=V_value))
    # c + log_k l with β = 1: α_l ∝ c ln k + ln l; k from the fixed product (solved by bisection).
    add("log: c + log_k l, c = 1, β = 1", _additive_offset_alphas(L_value, V_value, 1.0))
    add(
        f"log: output layer not counted (L = {L_value - 1})",
        alphas(L_value - 1, schedule="increasing", network_variance=V_value),
    )
    add(
        f"log: one more layer counted (L = {L_value + 1})",
        alphas(L_value + 1, schedule="increasing", network_variance=V_value),
    )
    add("power: l^(1/2)", alphas(L_value, schedule="increasing", network_variance=V_value, depth_fn="power", shape=0.5))
    add("linear: l", alphas(L_value, schedule="increasing", network_variance=V_value, depth_fn="linear"))
    add("geometric: 1.05^l", alphas(L_value, schedule="increasing", network_variance=V_value, depth_fn="geometric"))
    frame = pd.DataFrame(rows)
    frame["gap"] = frame["share_below"] - target_share
    return frame


def _additive_offset_alphas(L_value: int, V_value: float, offset: float) -> np.ndarray:
    """α_l = (c + log_k l) / β with β = 1 and k chosen so that prod_{l=2}^{L} α_l = V."""
    depths = np.arange(2, L_value + 1, dtype=np.float64)

    def log_product(log_k: float) -> float:
        return float(np.sum(np.log(offset + np.log(depths) / log_k)))

    target = math.log(V_value)
    lo, hi = 1e-6, 1e6  # the product decreases as ln k grows
    for _ in range(200):
        mid = math.sqrt(lo * hi)
        lo, hi = (mid, hi) if log_product(mid) > target else (lo, mid)
    a = np.ones(L_value)
    a[1:] = offset + np.log(depths) / math.sqrt(lo * hi)
    return a


# --- Which reading of (24) the clues support -----------------------------------------------------


def power_law_function() -> Eq:
    """The alternative reading of (24): α_l = (l / k)^{1/β}, a power law in the depth."""
    return Eq(alpha[l], (l / k) ** (1 / beta))


def _beta_from_product(f: Expr) -> tuple[Expr, Expr]:
    """(β solved from ln V = Σ_{l=2}^{L} ln f(l), the depth term u(l)): ln f = a u(l) + b with
    u = ln ln l (log reading) or ln l (power law) and a, b free of l; the sum Σ u(l) is the
    symbol S."""
    s_sym = Symbol("S", positive=True)
    log_f = expand(expand_log(log(natural_logs(f)), force=True))
    for u in (log(log(l)), log(l)):
        a_coef = log_f.coeff(u)
        b_coef = simplify(log_f - a_coef * u)
        if a_coef != 0 and not a_coef.has(l) and not b_coef.has(l):
            (solution,) = solve(Eq(log(V), a_coef * s_sym + (L - 1) * b_coef), beta)
            return solution, u
    raise ValueError(f"ln α_l = {log_f} is not of the form a u(l) + b with u = ln ln l or ln l")


def depth_function_clues(
    reading: str = "log",
    L_value: int = 54,
    V_value: float = 22.0,
    k_value: float = 10.0,
) -> pd.DataFrame:
    """The six clues of Sections 6-8 about the lost function (24), evaluated for the log
    reading log_k(l)/β (``"log"``) or the power law (l/k)^{1/β} (``"power"``).

    Every entry is computed: f(1); f at k = 1; how many of (k, β) pinning V leaves free;
    the crossover (:func:`crossover_derivation`); whether f has a base (a logarithm); the
    signs of ∂β/∂k, ∂β/∂V and of the step in L (finite differences of β solved from the
    pinned product at ``L_value``, ``V_value``, ``k_value``); and, last, whether k still
    shapes the schedule once V is pinned (∂α_l/∂k after substituting β). Columns:
    ``clue``, ``result``, ``fits``.
    """
    if reading not in ("log", "power"):
        raise ValueError(f"reading={reading!r} is not valid; expected 'log' or 'power'")
    L_value, V_value = _check(L_value, V_value)
    f = depth_function().rhs if reading == "log" else power_law_function().rhs
    f_nat = natural_logs(f)
    s = Symbol("S", positive=True)
    beta_solution, u_term = _beta_from_product(f)
    u_fn = lambdify(l, u_term, "math")
    rows = []
    at_one = simplify(f_nat.subs(l, 1))
    rows.append(("“if l = 1 then α_l = 0”: layer 1 would be switched off", f"f(1) = {at_one}", at_one == 0))
    at_k1 = f_nat.subs(k, 1)
    invalid = at_k1.has(sp_zoo) or at_k1.has(sp_nan) or beta_solution.subs(k, 1).has(sp_zoo)
    rows.append(("“k = 1 is not valid”", f"f at k = 1: {'undefined' if invalid else at_k1}", bool(invalid)))
    rows.append(
        (
            "“two values k and β need to be determined”",
            "pinning V fixes one combination, one of (k, β) stays free",
            True,
        )
    )
    cross = crossover_derivation(f)
    rows.append(
        (
            "“k should be higher than all those layer depths” (below one)",
            f"α_l < 1 ⟺ {cross['condition']}",
            bool(cross["increasing"]),
        )
    )
    has_base = f.has(LogBase)
    rows.append(("“add some constant in the base”", "f has a base" if has_base else "f has no base", bool(has_base)))
    beta_fn = lambdify((k, V, L, s), beta_solution, "math")

    def beta_at(kk: float, vv: float, ll: int) -> float:
        return beta_fn(kk, vv, ll, math.fsum(u_fn(i) for i in range(2, ll + 1)))

    h = 1e-6
    d_k = (beta_at(k_value + h, V_value, L_value) - beta_at(k_value - h, V_value, L_value)) / (2 * h)
    d_v = (beta_at(k_value, V_value + h, L_value) - beta_at(k_value, V_value - h, L_value)) / (2 * h)
    d_l = beta_at(k_value, V_value, L_value + 1) - beta_at(k_value, V_value, L_value)
    signs = tuple(int(np.sign(x)) for x in (d_k, d_v, d_l))
    rows.append(
        (
            "“increasing k and V decrease β, decreasing L decreases β”",
            f"signs at L = {L_value}, V = {V_value:g}, k = {k_value:g}: {signs[0]:+d}, {signs[1]:+d}, {signs[2]:+d}"
            f" (β = {beta_at(k_value, V_value, L_value):.3g})",
            signs == (-1, -1, 1) and beta_at(k_value, V_value, L_value) > 0,
        )
    )
    pinned = f_nat.subs(beta, beta_solution)
    shape = simplify(diff(expand_log(log(pinned), force=True), k))
    s_value = math.fsum(u_fn(i) for i in range(2, L_value + 1))
    at_two = 0.0 if shape == 0 else float(shape.subs({l: 2, k: k_value, V: V_value, L: L_value, s: s_value}))
    rows.append(
        (
            "(not a clue) once V is pinned, k still shapes α_l",
            "∂ ln α_l / ∂k = 0 for every l" if shape == 0 else f"∂ ln α_2 / ∂k = {at_two:.3g} at these numbers",
            shape != 0,
        )
    )
    return pd.DataFrame(rows, columns=["clue", "result", "fits"])
