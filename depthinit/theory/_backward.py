"""The backward pass, the paper's equations (7)-(15), after He et al. (2015).

Chapter: "The backward pass: equations (7)-(15)".

With Δx_l = ∂ε/∂x_l and Δy_l = ∂ε/∂y_l, a unit's input gradient is
Δx_l = sum_{i=1}^{n̂_l} ŵ_{l,i} Δy_{l,i} (n̂_l = fan-out) and Δy_l = f'(y_l) Δx_{l+1}.
Under the assumptions named in each step,

    Var[Δx_l] = n̂_l Var[w_l] Var[Δy_l] = d_f n̂_l Var[w_l] Var[Δx_{l+1}],

d_f = E[f'(y)^2] = 1/2 for ReLU, and

    Var[Δx_2] = Var[Δx_{L+1}] prod_{l=2}^{L} d_f n̂_l Var[w_l].

He's backward condition makes every factor one: (1/2) n̂_l Var[w_l] = 1.
"""

from __future__ import annotations

from sympy import Eq, Expr, Product, Sum, expand, solve

from ._activations import activation_factor_expressions, mean_derivative_expression
from ._derivation import Derivation, Step
from .symbols import Expect, FPrime, L, Var, d_f, dx, dy, j, l, n_hat, w, w_hat, y

__all__ = [
    "backward_derivation",
    "backward_product",
    "backward_recursion",
    "gradient_mean",
    "gradient_of_input",
    "gradient_of_output",
    "he_backward_condition",
    "he_backward_variance",
    "input_gradient_variance",
    "output_gradient_mean",
    "output_gradient_variance",
]


def _factor(activation: str | None) -> Expr:
    return d_f if activation is None else activation_factor_expressions(activation)[1]


def gradient_of_input() -> Eq:
    """Equation (7): Δx_l = sum_{i=1}^{n̂_l} ŵ_{l,i} Δy_{l,i} (one input's gradient, He's Δx_l = Ŵ_l Δy_l)."""
    return Eq(dx[l], Sum(w_hat[l, j] * dy[l, j], (j, 1, n_hat[l])))


def gradient_of_output() -> Eq:
    """Equation (8): Δy_l = f'(y_l) Δx_{l+1} (chain rule through the activation)."""
    return Eq(dy[l], FPrime(y[l]) * dx[l + 1])


def gradient_mean() -> Eq:
    """Equation (9): E[Δx_l] = n̂_l E[w_l] E[Δy_l] = 0 (weights independent of Δy_l, zero mean)."""
    independent = n_hat[l] * Expect(w[l]) * Expect(dy[l])
    return Eq(Expect(dx[l]), independent.subs(Expect(w[l]), 0))


def output_gradient_mean(activation: str | None = "relu") -> Eq:
    """Equation (10): E[Δy_l] = E[f'(y_l)] E[Δx_{l+1}] = 0 (E[f'] = 1/2 for ReLU; E[Δx_{l+1}] = 0 by (9))."""
    mean_fprime = Expect(FPrime(y[l])) if activation is None else mean_derivative_expression(activation)
    return Eq(Expect(dy[l]), mean_fprime * Expect(dx[l + 1]))


def output_gradient_variance(activation: str | None = "relu") -> Eq:
    """Equation (11): Var[Δy_l] = E[f'(y_l)^2] E[Δx_{l+1}^2] = d_f Var[Δx_{l+1}] (zero-mean gradients)."""
    independent = Expect(FPrime(y[l]) ** 2) * Expect(dx[l + 1] ** 2)
    value = independent.subs({Expect(FPrime(y[l]) ** 2): _factor(activation), Expect(dx[l + 1] ** 2): Var(dx[l + 1])})
    return Eq(Var(dy[l]), value)


def input_gradient_variance() -> Eq:
    """Equation (12): Var[Δx_l] = n̂_l Var[w_l] Var[Δy_l].

    The same steps as the forward (2)-(3) with n̂_l terms ŵ Δy: variances of
    uncorrelated terms add, Var[ŵΔy] = E[ŵ²]E[Δy²] − E[ŵ]²E[Δy]², E[ŵ] = 0, and
    E[Δy²] = Var[Δy] because E[Δy] = 0 by (10).
    """
    mean_w, mean_dy = Expect(w[l]), Expect(dy[l])
    one = Expect(w[l] ** 2) * Expect(dy[l] ** 2) - mean_w**2 * mean_dy**2
    one = expand(one.subs(Expect(w[l] ** 2), Var(w[l]) + mean_w**2)).subs(mean_w, 0)
    one = one.subs(Expect(dy[l] ** 2), Var(dy[l]) + mean_dy**2).subs(mean_dy, 0)
    summed = Sum(one, (j, 1, n_hat[l])).doit()
    return Eq(Var(dx[l]), summed)


def backward_recursion(activation: str | None = "relu") -> Eq:
    """Equation (13): Var[Δx_l] = d_f n̂_l Var[w_l] Var[Δx_{l+1}] (d_f = 1/2 for ReLU)."""
    value = input_gradient_variance().rhs.subs(Var(dy[l]), output_gradient_variance(activation).rhs)
    return Eq(Var(dx[l]), value)


def backward_product(activation: str | None = "relu") -> Eq:
    """Equation (14): Var[Δx_2] = Var[Δx_{L+1}] prod_{l=2}^{L} d_f n̂_l Var[w_l].

    Δx_{L+1} is the gradient arriving at the last layer's activation (He's
    convention: every layer, the last included, is followed by f).
    """
    one_layer = backward_recursion(activation).rhs / Var(dx[l + 1])
    return Eq(Var(dx[2]), Var(dx[L + 1]) * Product(one_layer, (l, 2, L)))


def he_backward_condition() -> Eq:
    """Equation (15): (1/2) n̂_l Var[w_l] = 1 for every layer (ReLU)."""
    return Eq(backward_recursion("relu").rhs / Var(dx[l + 1]), 1)


def he_backward_variance() -> Eq:
    """Equation (15) solved for the weights: Var[w_l] = 2 / n̂_l."""
    (solution,) = solve(he_backward_condition(), Var(w[l]))
    return Eq(Var(w[l]), solution)


def backward_derivation(activation: str = "relu") -> Derivation:
    """Equations (7)-(15) as steps with their reasons and assumptions."""
    return Derivation(
        "backward",
        (
            Step(gradient_of_input(), "chain rule: x_l feeds n̂_l outputs of layer l", ("no_bias",), 7),
            Step(gradient_of_output(), "chain rule through x_{l+1} = f(y_l)", (), 8),
            Step(
                gradient_mean(),
                "weights independent of Δy_l with zero mean",
                ("weights_indep_grads", "zero_mean_weights"),
                9,
            ),
            Step(
                output_gradient_mean(activation),
                "f'(y_l) independent of Δx_{l+1}; E[Δx_{l+1}] = 0 by (9)",
                ("fprime_indep_grads", "symmetric_preactivation"),
                10,
            ),
            Step(
                output_gradient_variance(activation),
                "E[(f'Δx)²] = E[f'²]E[Δx²] by independence; E[Δx²] = Var[Δx] by (9)",
                ("fprime_indep_grads",),
                11,
            ),
            Step(
                input_gradient_variance(),
                "as in (2)-(3): n̂_l uncorrelated, identically distributed terms",
                ("iid_weights", "zero_mean_weights", "weights_indep_grads", "iid_grads"),
                12,
            ),
            Step(backward_recursion(activation), "(11) substituted into (12)", (), 13),
            Step(backward_product(activation), "(13) applied from layer 2 up to layer L", (), 14),
            Step(he_backward_condition(), "He et al.: make every factor of the product one", (), 15),
        ),
    )
