"""The forward pass, the paper's equations (1)-(6), after He et al. (2015).

Chapter: "The forward pass: equations (1)-(6)".

A unit of layer l computes y_l = sum_{j=1}^{n_l} w_{l,j} x_{l,j} (no bias), with
x_l = f(y_{l-1}). Under the assumptions named in each step,

    Var[y_l] = n_l Var[w_l] E[x_l^2] = m_f n_l Var[w_l] Var[y_{l-1}],

m_f = 1/2 for ReLU, and over layers 2..L

    Var[y_L] = Var[y_1] prod_{l=2}^{L} m_f n_l Var[w_l].

He's initialization makes every factor one: (1/2) n_l Var[w_l] = 1.
"""

from __future__ import annotations

from sympy import Eq, Expr, Product, Sum, expand, solve

from ._activations import activation_factor_expressions
from ._derivation import Derivation, Step
from .symbols import Expect, L, Var, j, l, m_f, n, w, x, y

__all__ = [
    "forward_derivation",
    "forward_product",
    "forward_recursion",
    "he_forward_condition",
    "he_forward_variance",
    "neuron_output",
    "product_variance",
    "rhs_of_three",
    "variance_as_sum",
    "variance_of_sum",
]


def _factor(activation: str | None) -> Expr:
    return m_f if activation is None else activation_factor_expressions(activation)[0]


def neuron_output() -> Eq:
    """Equation (1): y_l = sum_{j=1}^{n_l} w_{l,j} x_{l,j} (one unit, bias ignored)."""
    return Eq(y[l], Sum(w[l, j] * x[l, j], (j, 1, n[l])))


def variance_as_sum() -> Eq:
    """Var[y_l] = sum_j Var[w_{l,j} x_{l,j}]: the variance of a sum of uncorrelated terms
    (independent zero-mean weights, independent of the inputs) is the sum of the variances."""
    return Eq(Var(y[l]), Sum(Var(w[l, j] * x[l, j]), (j, 1, n[l])))


def variance_of_sum() -> Eq:
    """Equation (2): Var[y_l] = n_l Var[w_l x_l].

    :func:`variance_as_sum` with identically distributed terms: the sum of n_l
    equal terms is n_l times one of them (SymPy evaluates the sum).
    """
    identical = variance_as_sum().rhs.xreplace({w[l, j]: w[l], x[l, j]: x[l]}).doit()
    return Eq(Var(y[l]), identical)


def product_variance() -> Expr:
    """Var[w x] for independent w and x with E[w] = 0: Var[w] E[x^2] (derived, not typed).

    Var[wx] = E[w^2 x^2] - E[wx]^2 = E[w^2] E[x^2] - E[w]^2 E[x]^2 (independence),
    E[w^2] = Var[w] + E[w]^2, then E[w] = 0.
    """
    mean_w, mean_x = Expect(w[l]), Expect(x[l])
    independent = Expect(w[l] ** 2) * Expect(x[l] ** 2) - mean_w**2 * mean_x**2
    with_variance = independent.subs(Expect(w[l] ** 2), Var(w[l]) + mean_w**2)
    return expand(with_variance).subs(mean_w, 0)


def forward_recursion(activation: str | None = "relu") -> Eq:
    """Equation (4): Var[y_l] = m_f n_l Var[w_l] Var[y_{l-1}], with E[x_l^2] = m_f Var[y_{l-1}].

    ``activation=None`` keeps the factor as the symbol m_f; ``"relu"`` gives 1/2,
    ``"linear"`` 1 (see :func:`activation_factor_expressions`).
    """
    general = rhs_of_three().subs(Expect(x[l] ** 2), _factor(activation) * Var(y[l - 1]))
    return Eq(Var(y[l]), general)


def rhs_of_three() -> Expr:
    """Right-hand side of equation (3): n_l Var[w_l] E[x_l^2] (equation (2) with
    :func:`product_variance` substituted)."""
    return variance_of_sum().rhs.subs(Var(w[l] * x[l]), product_variance())


def forward_product(activation: str | None = "relu") -> Eq:
    """Equation (5): Var[y_L] = Var[y_1] prod_{l=2}^{L} m_f n_l Var[w_l] (m_f = 1/2 for ReLU).

    The product starts at l = 2 because Var[y_1] depends on the input's second
    moment, not on a previous layer (checked against the unrolled recursion).
    """
    one_layer = forward_recursion(activation).rhs / Var(y[l - 1])
    return Eq(Var(y[L]), Var(y[1]) * Product(one_layer, (l, 2, L)))


def he_forward_condition() -> Eq:
    """Equation (6): each factor of (5) equals one, (1/2) n_l Var[w_l] = 1 (ReLU)."""
    return Eq(forward_recursion("relu").rhs / Var(y[l - 1]), 1)


def he_forward_variance() -> Eq:
    """Equation (6) solved for the weights: Var[w_l] = 2 / n_l."""
    (solution,) = solve(he_forward_condition(), Var(w[l]))
    return Eq(Var(w[l]), solution)


def forward_derivation(activation: str = "relu") -> Derivation:
    """Equations (1)-(6) as steps with their reasons and assumptions."""
    m = _factor(activation)
    return Derivation(
        "forward",
        (
            Step(neuron_output(), "a unit's output; the paper ignores the bias", ("no_bias",), 1),
            Step(
                variance_as_sum(),
                "the n_l products are uncorrelated, so their variances add",
                ("iid_weights", "zero_mean_weights", "weights_indep_inputs"),
            ),
            Step(variance_of_sum(), "the n_l products are identically distributed", ("iid_weights", "iid_inputs"), 2),
            Step(
                Eq(Var(w[l] * x[l]), product_variance()),
                "Var[wx] = E[w²]E[x²] − E[w]²E[x]² for independent w, x; then E[w] = 0",
                ("weights_indep_inputs", "zero_mean_weights"),
            ),
            Step(Eq(Var(y[l]), rhs_of_three()), "(2) with the product rule substituted", (), 3),
            Step(
                Eq(Expect(x[l] ** 2), m * Var(y[l - 1])),
                f"x_l = f(y_(l-1)); E[f(z)²] = m_f Var[z] with m_f = {m} for {activation}",
                ("symmetric_preactivation", "symmetric_weights", "no_bias"),
            ),
            Step(forward_recursion(activation), "(3) with E[x_l²] substituted", (), 4),
            Step(forward_product(activation), "(4) applied from layer L down to layer 2", (), 5),
            Step(he_forward_condition(), "He et al.: make every factor of the product one", (), 6),
        ),
    )
