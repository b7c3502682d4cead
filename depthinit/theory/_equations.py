"""The registry of the paper's equations (1)-(47): each lost expression, rebuilt.

Chapter: every theory chapter shows its equations from here; "The depth function
and its hyperparameters" closes with the list by confidence.

The extracted paper kept the numbers (1)-(47) and the words around them but lost
every formula and inline symbol. Each :class:`Equation` record holds the SymPy
object this book reads there, a confidence, the sentence it rests on (a lost
symbol shown as ⟨·⟩, or as ⟨this book's reading⟩ where the reading matters)
and the other readings the text allows. Confidence:

* ``"high"``: the words and He et al. (2015), which the paper follows step by
  step, leave one expression;
* ``"medium"``: the content is forced by later text, but its exact form or place
  in a multi-line block is not;
* ``"low"``: a reconstruction that fits the surrounding words and the clues of
  Sections 7-8, with a real chance that the line held something else.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import pandas as pd
from sympy import Basic, Eq, IndexedBase, Product, Symbol, log, powdenest, powsimp, simplify

from . import _backward as bw
from . import _depth as dp
from . import _forward as fw
from ._printing import latex
from .symbols import (
    G,
    L,
    LogBase,
    V,
    Var,
    W,
    W_hat,
    alpha,
    alpha_c,
    beta,
    dx,
    dy,
    k,
    l,
    n,
    n_hat,
    natural_logs,
    w,
    x,
    y,
)

__all__ = [
    "CONFIDENCES",
    "Alternative",
    "Equation",
    "depth_weight_closed",
    "equation_frame",
    "equation_latex",
    "equations",
    "record_markdown",
]

CONFIDENCES = ("high", "medium", "low")


@dataclass(frozen=True)
class Alternative:
    """Another reading of an equation: its expression (None when it is not one) and why."""

    expression: Basic | None
    reading: str


@dataclass(frozen=True)
class Equation:
    """One of the paper's numbered equations, as this book reads it."""

    number: int
    expression: Basic
    confidence: str
    section: str
    sentence: str
    why: str
    alternatives: tuple[Alternative, ...]
    derived_by: str

    def latex(self) -> str:
        """The expression in LaTeX (no delimiters)."""
        return latex(self.expression)


# --- symbols used only by the registry's alternatives -------------------------------------------
_b = IndexedBase("b", real=True)
_W_nc = IndexedBase("W", commutative=False)
_x_nc = IndexedBase("x", commutative=False)
_dy_nc = IndexedBase(r"\Delta y", commutative=False)
_kernel, _channels = Symbol("k", positive=True), Symbol("d", positive=True)
_beta_L = IndexedBase(r"\beta", positive=True)
_width = Symbol("n", positive=True)


def _sub_g(expr: Basic) -> Basic:
    """Write the geometric mean of ln l as G_L."""
    return expr.subs(Product(log(l), (l, 2, L)) ** (1 / (L - 1)), G[L])


def _alpha_substituted() -> Eq:
    return Eq(alpha[l], dp.depth_function().rhs.subs(beta, dp.depth_solution().rhs))


def _alpha_natural_substituted() -> Basic:
    return natural_logs(_alpha_substituted().rhs)


def _log_beta() -> Eq:
    from sympy import expand_log

    value = expand_log(log(dp.depth_solution().rhs), force=True)
    return Eq(log(_beta_L[L]), value)


def _log_beta_step() -> Eq:
    """ln β_{L+1} - ln β_L = ((L-1)(ln ln(L+1) - ln G_L) + ln V) / (L(L-1)), checked against
    the difference computed by :func:`depthinit.theory.hyperparameter_derivatives`."""
    step = dp.hyperparameter_derivatives()["L"].expression.subs(Symbol("S_L", real=True), (L - 1) * log(G[L]))
    readable = ((L - 1) * (log(log(L + 1)) - log(G[L])) + log(V)) / (L * (L - 1))
    if simplify(step - readable) != 0:  # pragma: no cover - guards the hand-arranged form
        raise RuntimeError("the arranged form of ln β_{L+1} - ln β_L does not match the derived one")
    return Eq(log(_beta_L[L + 1]) - log(_beta_L[L]), readable)


def _root_of_network_variance() -> Eq:
    """(32) to the power 1/(L-1), with prod ln l = G_L^{L-1}: V^{1/(L-1)} = G_L / (β ln k)."""
    written = dp.depth_network_variance().rhs.subs(Product(log(l), (l, 2, L)), G[L] ** (L - 1))
    return Eq(V ** (1 / (L - 1)), powdenest(powsimp(written, force=True) ** (1 / (L - 1)), force=True))


def _k_independence() -> Eq:
    return Eq(Symbol(r"\frac{\partial \alpha_l}{\partial k}"), simplify(_alpha_substituted().rhs.diff(k)))


def _depth_weight_closed(mode: str | None = None) -> Eq:
    """(47): Var[w_l] = 2 V^{1/(L-1)} ln l / (ν_l G_L), the weight variance of the ``depth``
    scheme (base He) for layers l >= 2, ν_l the fan named by its mode (n_l for ``"fan_in"``,
    n̂_l for ``"fan_out"``)."""
    value = dp.alpha_weight_variance(mode).rhs.subs(alpha[l], dp.alpha_closed_form().rhs)
    return Eq(Var(w[l]), _sub_g(value))


def depth_weight_closed(mode: str | None = None) -> Eq:
    """Equation (47) for a given mode (``None``: the fan kept as ν_l): the weight variance the
    ``depth`` scheme with base He gives layer l >= 2 (layer 1 keeps He's variance, α_1 = 1).
    Chapter: "The depth function and its hyperparameters"."""
    return _depth_weight_closed(dp._check_mode(mode))


# Each entry: number -> (builder, confidence, section, sentence, why, alternatives builder).
_Alt = Callable[[], tuple[Alternative, ...]]
_TABLE: dict[int, tuple[Callable[[], Basic], str, str, str, str, _Alt]] = {
    1: (
        fw.neuron_output,
        "high",
        "3.2",
        "Let ⟨·⟩ is the neuron output, ⟨·⟩ is the number of input connections to the neuron, and ⟨·⟩ is the "
        "input to the neuron. In a neural network (CNN/FCNN) neuron output of any layer is given as (as of now "
        "ignore the bias term):",
        "The three lost symbols are defined just before: one unit's output, its n_l input connections and its "
        "input; He et al.'s layer equation with the bias dropped.",
        lambda: (
            Alternative(Eq(y[l], _W_nc[l] * _x_nc[l]), "He's matrix form y_l = W_l x_l"),
            Alternative(Eq(y[l], W[l] * x[l] + _b[l]), "with the bias the sentence says to ignore"),
        ),
    ),
    2: (
        fw.variance_of_sum,
        "high",
        "3.2",
        ", ⟨·⟩ is the activation of the layer. Variance of ⟨·⟩ is given by,",
        "First line of an aligned pair (2)-(3): the variance of a sum of n_l i.i.d. uncorrelated terms, as in He.",
        lambda: (Alternative(fw.variance_as_sum(), "the sum over j written out before identical terms are merged"),),
    ),
    3: (
        lambda: Eq(Var(y[l]), fw.rhs_of_three()),
        "medium",
        "3.2",
        "Assumption is made that mean of ⟨·⟩ and ⟨·⟩ is zero. ⟨·⟩, when ⟨·⟩ is ReLU.",
        "Second line of the pair. The content (the variance of one product) is forced; its form is not: "
        "n_l Var[w_l] E[x_l^2] is He's, which the paper says it follows and which the ReLU step (4) needs, "
        "but Glorot's n_l Var[w_l] Var[x_l] fits the surviving words ('mean of ⟨·⟩ and ⟨·⟩ is zero') as "
        "well. The two agree only for zero-mean inputs; the forward chapter measures both on [0, 1] inputs.",
        lambda: (
            Alternative(
                Eq(Var(y[l]), n[l] * Var(w[l]) * Var(x[l])),
                "Glorot's form with Var[x_l]: equal only if x_l has zero mean, which ReLU outputs "
                "and the paper's [0, 1] pixels do not",
            ),
        ),
    ),
    4: (
        fw.forward_recursion,
        "high",
        "3.2",
        "⟨E[x_l^2] = Var[y_{l-1}] / 2⟩, when ⟨f⟩ is ReLU.",
        "First line of the aligned pair (4)-(5): He's ReLU step, (3) with E[x_l^2] = Var[y_{l-1}]/2.",
        lambda: (
            Alternative(Eq(Symbol("E[x_l^2]"), Var(y[l - 1]) / 2), "the pair may open with the ReLU identity itself"),
        ),
    ),
    5: (
        fw.forward_product,
        "high",
        "3.2",
        "⟨·⟩, expression will define the variance of the ⟨·⟩, with respect to ⟨·⟩.",
        "The product of (4) over layers relates the last layer to the first, as in He. Starting the "
        "product at l = 2 (not 1) is He's choice and fits 'with respect to' the first layer (medium on that detail).",
        lambda: (
            Alternative(
                Eq(Var(y[L]), Var(x[1]) * Product(n[l] * Var(w[l]) / 2, (l, 1, L))),
                "product from l = 1, relative to the input",
            ),
        ),
    ),
    6: (
        fw.he_forward_condition,
        "high",
        "3.2",
        "Make this expression as ⟨1⟩.",
        "He's sufficient condition: every factor of (5) equals one.",
        lambda: (Alternative(fw.he_forward_variance(), "the same condition solved for the weights"),),
    ),
    7: (
        bw.gradient_of_input,
        "medium",
        "3.3",
        "The gradient of a neural network is calculated using:",
        "Five one-line equations (7)-(11) introduce the gradient; He's sequence is Δx_l = Ŵ_l Δy_l, "
        "Δy_l = f'(y_l) Δx_{l+1}, the zero means and Var[Δy_l] = Var[Δx_{l+1}]/2. Which line holds which is "
        "not recoverable.",
        lambda: (
            Alternative(Eq(dx[l], W_hat[l] * _dy_nc[l]), "He's matrix form Δx_l = Ŵ_l Δy_l"),
            Alternative(
                Eq(dx[l], Symbol(r"\frac{\partial \varepsilon}{\partial x_l}")),
                "the block may open with the definitions ∂ε/∂x_l",
            ),
        ),
    ),
    8: (
        bw.gradient_of_output,
        "medium",
        "3.3",
        "The gradient of a neural network is calculated using:",
        "The chain rule through the activation; needed by (13), which brings in the ReLU factor.",
        lambda: (
            Alternative(
                Eq(dy[l], Symbol(r"\frac{\partial \varepsilon}{\partial y_l}")), "a definition line Δy_l = ∂ε/∂y_l"
            ),
            Alternative(Eq(n_hat[l], _kernel**2 * _channels), "He's fan-out n̂_l = k² d"),
        ),
    ),
    9: (
        bw.gradient_mean,
        "low",
        "3.3",
        "The gradient of a neural network is calculated using:",
        "He states E[Δx_l] = 0 in words; the paper may have set it as a line. Needed for Var = E[·²] in (12).",
        lambda: (
            Alternative(Eq(n_hat[l], _kernel**2 * _channels), "He's fan-out n̂_l = k² d"),
            Alternative(None, "a definition of Ŵ_l (the rearranged transpose of W_l)"),
        ),
    ),
    10: (
        bw.output_gradient_mean,
        "low",
        "3.3",
        "The gradient of a neural network is calculated using:",
        "He's E[Δy_l] = E[Δx_{l+1}]/2 = 0 for ReLU (f' is 0 or 1 with equal probability).",
        lambda: (Alternative(bw.gradient_of_output(), "the chain-rule line, if (7)-(8) held definitions"),),
    ),
    11: (
        bw.output_gradient_variance,
        "low",
        "3.3",
        "The gradient of a neural network is calculated using:",
        "He's E[(Δy_l)^2] = Var[Δy_l] = Var[Δx_{l+1}]/2, the step that (13) uses.",
        lambda: (Alternative(None, "an independence statement between f'(y_l) and Δx_{l+1}"),),
    ),
    12: (
        bw.input_gradient_variance,
        "high",
        "3.3",
        "Derivation of the variance of gradient reached at any layer is as follow,",
        "A single line for any activation: He's Var[Δx_l] = n̂_l Var[w_l] Var[Δy_l].",
        lambda: (),
    ),
    13: (
        bw.backward_recursion,
        "high",
        "3.3",
        "If activation is RElu, then expression becomes,",
        "First line of the aligned pair (13)-(14): (12) with Var[Δy_l] = Var[Δx_{l+1}]/2, as in He.",
        lambda: (),
    ),
    14: (
        bw.backward_product,
        "high",
        "3.3",
        "If activation is RElu, then expression becomes,",
        "Second line: (13) over layers 2..L, as in He; Section 4.1 builds on its factors.",
        lambda: (
            Alternative(
                Eq(Var(dx[1]), Var(dx[L + 1]) * Product(n_hat[l] * Var(w[l]) / 2, (l, 1, L))), "product from l = 1"
            ),
        ),
    ),
    15: (
        bw.he_backward_condition,
        "high",
        "3.3",
        "As per equation 15, assume that, ⟨·⟩, i.e, variance of weight of each layer depends on the ⟨·⟩, "
        "which changes with ⟨l⟩.",
        "Stands alone after (14); Section 4.1 then replaces its 1 by a layer-dependent factor, so it holds "
        "Var[w_l]: He's backward condition.",
        lambda: (Alternative(bw.he_backward_variance(), "the same condition solved for the weights"),),
    ),
    16: (
        dp.alpha_scaling,
        "medium",
        "4.1",
        "As per equation 15, assume that, ⟨·⟩, i.e, variance of weight of each layer depends on the ⟨·⟩, which "
        "changes with ⟨·⟩. If, as per the [3], set ⟨·⟩ [PUT SOME MORE DESCRIPTION ABOUT THIS ASSIGNMENT].",
        "The six lines (16)-(21) carry (15) with its 1 replaced by α_l through (13)-(14). Content forced by "
        "Sections 4.1.1-6 (they multiply α's to V); line order unknown. Written with ν_l, the fan named by "
        "the depth scheme's mode: V is the product of the per-layer gains in that direction. The paper, "
        "starting from (15), writes the backward gain (ν_l = n̂_l, mode='fan_out'); the library's default "
        "and every experiment of this book use the forward gain (ν_l = n_l, mode='fan_in').",
        lambda: (
            Alternative(dp.alpha_scaling("fan_out"), "mode='fan_out': the backward gain, as the paper writes it"),
            Alternative(dp.alpha_scaling("fan_in"), "mode='fan_in': the forward gain, the library's default"),
            Alternative(None, "the assumption may be inline before (16), which would then start at (17)"),
        ),
    ),
    17: (
        dp.alpha_weight_variance,
        "medium",
        "4.1",
        "i.e, variance of weight of each layer depends on the ⟨·⟩, which changes with ⟨·⟩.",
        "(16) solved for the weights: the paper says the weight variance 'depends on' α_l. This is the "
        "depth scheme with base He: Var[w_l] = α_l times He's variance in the scheme's mode.",
        lambda: (
            Alternative(dp.alpha_weight_variance("fan_out"), "mode='fan_out' (the paper's backward reading)"),
            Alternative(dp.alpha_weight_variance("fan_in"), "mode='fan_in' (the library's default)"),
        ),
    ),
    18: (
        dp.alpha_recursion,
        "low",
        "4.1",
        "In below section, we will see the impact of changing ⟨α_l⟩, with respect to layer ⟨l⟩.",
        "(13) with (17) in mode 'fan_out': one layer multiplies the gradient variance by α_l.",
        lambda: (
            Alternative(
                dp.alpha_recursion("fan_in"),
                "mode='fan_in': (4) with (17), the forward analogue (the paper says the forward case is 'almost same')",
            ),
        ),
    ),
    19: (
        dp.alpha_product,
        "medium",
        "4.1",
        "In below section, we will see the impact of changing ⟨α_l⟩, with respect to layer ⟨l⟩.",
        "(14) with α_l: the product that Sections 4.1.1-4.1.3 and 6 set equal to the network variance.",
        lambda: (Alternative(dp.alpha_product("fan_in"), "mode='fan_in': the forward product (5) with α_l"),),
    ),
    20: (
        lambda: dp.he_from_alpha()[0],
        "low",
        "4.1",
        "If, as per the [3], set ⟨α_l = 1⟩ [PUT SOME MORE DESCRIPTION ABOUT THIS ASSIGNMENT].",
        "α_l = 1 recovers He; the bracketed author note marks this part as unfinished.",
        lambda: (Alternative(dp.network_variance(), "a definition of the network variance V as the product"),),
    ),
    21: (
        lambda: dp.he_from_alpha()[1],
        "low",
        "4.1",
        "If, as per the [3], set ⟨α_l = 1⟩ [PUT SOME MORE DESCRIPTION ABOUT THIS ASSIGNMENT].",
        "He's weight variance recovered from (17).",
        lambda: (),
    ),
    22: (
        dp.constant_product,
        "medium",
        "4.1.1",
        "One way to scale the weights of each layer with any fixed constant ⟨α⟩, then",
        "The product (19) with every factor equal to α.",
        lambda: (Alternative(Eq(V, alpha_c ** (L - 1)), "the total written as the network variance directly"),),
    ),
    23: (
        dp.constant_schedule,
        "medium",
        "4.1.1",
        "We need to scale the variance of each layer weight with factor of ⟨·⟩ to give total variance of ⟨V⟩. "
        "⟨·⟩, and ⟨·⟩.",
        "α^{L-1} = V solved for α; the inline ⟨·⟩ after it may already state these. L - 1 factors (layers 2..L) "
        "follows (14); the text alone cannot exclude L factors.",
        lambda: (
            Alternative(Eq(alpha_c, V ** (1 / L)), "L factors (product from l = 1)"),
            Alternative(Eq(Var(w[l]), 2 * V ** (1 / (L - 1)) / n_hat[l]), "the resulting weight variance"),
        ),
    ),
    24: (
        dp.depth_function,
        "medium",
        "6",
        "Let introduce, a function ⟨f(l)⟩ which is the function of layers depth ⟨l⟩, which will be used to scale "
        "the weights depth-wise and will be work as ⟨α_l⟩.",
        "A logarithm of l in base k divided by β explains every later clue: 'k = 1 is not valid' (ln 1 = 0 in the "
        "denominator), l = 1 gives 0 so products start at 2, 'two values need to be determined' (only β ln k is "
        "fixed), 'add some constant in the base', and layers 'below one scale' when l < k.",
        lambda: (
            Alternative(Eq(alpha[l], (l / k) ** (1 / beta)), "a power law: also grows with l, but k = 1 is valid"),
            Alternative(Eq(alpha[l], beta * LogBase(l, k)), "β multiplying instead of dividing"),
            Alternative(
                Eq(Var(w[l]), LogBase(l, k) / beta),
                "f scales the weight variance directly, which would explain the equal-width "
                "assumption before (30); but then β ln k = n G_L / (2 V^{1/(L-1)}), so at β = 1 "
                "k ≈ e^89 for the 54 × 64 network and V = 22, against 'k should be higher than "
                "all those layer depths'",
            ),
        ),
    ),
    25: (
        lambda: Eq(alpha_scaling_lhs(), dp.depth_function().rhs),
        "medium",
        "6",
        "By putting value of ⟨α_l⟩ in equation 15.",
        "First of five aligned lines (25)-(29): (15) with its 1 replaced by f(l).",
        lambda: (),
    ),
    26: (
        dp.depth_weight_variance,
        "low",
        "6",
        "By putting value of ⟨α_l⟩ in equation 15.",
        "(25) solved for the weight variance.",
        lambda: (),
    ),
    27: (
        lambda: dp.alpha_product().xreplace({alpha[l]: dp.depth_function().rhs}),
        "low",
        "6",
        "By putting value of ⟨α_l⟩ in equation 15.",
        "The product (19) with f(l).",
        lambda: (),
    ),
    28: (
        lambda: dp.network_variance().xreplace({alpha[l]: dp.depth_function().rhs}),
        "low",
        "6",
        "By putting value of ⟨α_l⟩ in equation 15.",
        "The network variance as a product of f(l).",
        lambda: (),
    ),
    29: (
        dp.depth_network_variance_base_k,
        "low",
        "6",
        "By putting value of ⟨α_l⟩ in equation 15.",
        "β taken out of the product.",
        lambda: (Alternative(dp.depth_network_variance(), "the same with the change of base already done"),),
    ),
    30: (
        dp.equal_width_variance,
        "low",
        "6",
        "Let assume that, ⟨n̂_l = n⟩, is same for all the hidden layers.",
        "Equal widths only matter where a width appears: in the weight variance. Under the 'f scales Var[w] "
        "directly' reading of (24) they would enter V instead.",
        lambda: (
            Alternative(
                Eq(V, Product(_width * LogBase(l, k) / (2 * beta), (l, 2, L))), "V under the reading Var[w_l] = f(l)"
            ),
        ),
    ),
    31: (
        dp.change_of_base,
        "low",
        "6",
        "Let assume that, ⟨·⟩, is same for all the hidden layers.",
        "A change of base to natural logarithms, which (32)-(34) need to isolate k.",
        lambda: (),
    ),
    32: (
        dp.depth_network_variance,
        "low",
        "6",
        "In above expression, two values ⟨k⟩ and ⟨β⟩ need to be determined.",
        "'Two values need to be determined' fits an expression in which only β ln k appears.",
        lambda: (),
    ),
    33: (
        _root_of_network_variance,
        "low",
        "6",
        "For sake of easy calculation, take ⟨·⟩.",
        "The (L-1)-th root of (32), with the geometric mean G_L of ln l.",
        lambda: (Alternative(Eq(k, dp.depth_solution_k(1).rhs), "β = 1 taken, and k solved for"),),
    ),
    34: (
        dp.depth_solution,
        "medium",
        "6",
        "For sake of easy calculation, take ⟨·⟩.",
        "Section 8 uses 'equation in 34' to say how β moves with k, V and L, so (34) gives β in terms of them.",
        lambda: (Alternative(dp.depth_solution_k(1), "k in terms of V and L once β = 1 is taken"),),
    ),
    35: (
        lambda: Eq(beta * log(k), dp.depth_solution().rhs * log(k)),
        "low",
        "8",
        "Using equation in 34, for ⟨·⟩,",
        "Only the product β ln k is fixed by V; this is why one of the two can be 'taken'.",
        lambda: (Alternative(None, "(35)-(47) may instead be numeric evaluations of (34) for chosen k, V, L"),),
    ),
    36: (
        lambda: Eq(Symbol(r"\frac{\partial \beta}{\partial k}"), dp.hyperparameter_derivatives()["k"].expression),
        "low",
        "8",
        "It implies that increasing the value of ⟨k⟩ and ⟨V⟩ will decrease the value of ⟨β⟩,",
        "The first monotonicity statement of Section 8 (negative for k > 1).",
        lambda: (),
    ),
    37: (
        lambda: Eq(Symbol(r"\frac{\partial \beta}{\partial V}"), dp.hyperparameter_derivatives()["V"].expression),
        "low",
        "8",
        "It implies that increasing the value of ⟨k⟩ and ⟨V⟩ will decrease the value of ⟨β⟩,",
        "The second monotonicity statement (negative).",
        lambda: (),
    ),
    38: (_log_beta, "low", "8", "For ⟨·⟩,", "Taking logs of (34) before varying the integer L.", lambda: ()),
    39: (
        _log_beta_step,
        "low",
        "8",
        "while decreasing the value of ⟨L⟩ will also decrease the value of ⟨β⟩.",
        "The change of ln β from L to L + 1: positive for V >= 1 because ln G_L, the mean of ln ln l up to L, is "
        "below ln ln(L+1).",
        lambda: (),
    ),
    40: (
        _alpha_substituted,
        "low",
        "8",
        "Low value of ⟨β⟩ leads to higher weights.",
        "(24) with β from (34).",
        lambda: (),
    ),
    41: (
        lambda: Eq(alpha[l], _sub_g(dp.alpha_closed_form().rhs)),
        "low",
        "8",
        "In above expression, it can seen that ⟨·⟩.",
        "Simplified, k and β cancel: once V is fixed the schedule no longer depends on them.",
        lambda: (),
    ),
    42: (
        _k_independence,
        "low",
        "8",
        "In above expression, it can seen that ⟨·⟩.",
        "The cancellation stated as a derivative.",
        lambda: (),
    ),
    43: (
        lambda: dp.crossover_steps()[0],
        "low",
        "8",
        "To make the layers below one scale, ⟨k⟩ should be higher than all those layer depths, and vice-versa is "
        "also true.",
        "α_l − 1 multiplied by β ln k, which SymPy confirms is positive for k > 1, and simplified "
        "(depthinit.theory.crossover_derivation).",
        lambda: (),
    ),
    44: (
        dp.crossover_condition,
        "low",
        "8",
        "To make the layers below one scale, ⟨k⟩ should be higher than all those layer depths, and vice-versa is "
        "also true.",
        "The crossover, derived: the unique root of α_l = 1 is k^β and α_l increases with l (SymPy decides "
        "both); with β = 1 exactly the layers l < k are below one, as the sentence says.",
        lambda: (),
    ),
    45: (
        lambda: dp.crossover_steps()[1],
        "low",
        "8",
        "it has been observed that, 33 percent weights should be below one scale and rest are at above one.",
        "The exponential step of the crossover, read as a rule for choosing k (derived as (44)).",
        lambda: (),
    ),
    46: (
        lambda: Eq(k, _sub_g(dp.depth_solution_k(beta).rhs)),
        "low",
        "8",
        "To make the layers below one scale, ⟨k⟩ should be higher than all those layer depths",
        "k for a chosen β (k ≈ 16.27 for L = 54, V = 22, β = 1).",
        lambda: (),
    ),
    47: (
        _depth_weight_closed,
        "low",
        "8",
        "Low value of ⟨β⟩ leads to higher weights.",
        "(17) with the closed form (41), for layers l >= 2 (layer 1 keeps He's variance): the depth scheme's "
        "weight variance in the fan ν_l its mode names. The two readings differ only where n_l ≠ n̂_l: in the "
        "paper's 54 × 64 network on CIFAR-10, the last layer (64 in, 10 out) gets 2α_L/64 in mode 'fan_in' "
        "(the default, what the experiments ran) and 2α_L/10 in mode 'fan_out' (the paper's backward "
        "reading); the first layer, α_1 = 1, gets 2/3072 or 2/64.",
        lambda: (
            Alternative(_depth_weight_closed("fan_in"), "mode='fan_in': the library's default"),
            Alternative(_depth_weight_closed("fan_out"), "mode='fan_out': the paper's backward reading"),
            Alternative(dp.offset_alpha(), "the offset form α_l ∝ ln(l + c) of the last paragraph"),
        ),
    ),
}


def alpha_scaling_lhs() -> Basic:
    """(1/2) n̂_l Var[w_l], the left side of (15), (16) and (25)."""
    return dp.alpha_scaling().lhs


@lru_cache(maxsize=1)
def _build() -> tuple[Equation, ...]:
    records = []
    for number in range(1, 48):
        builder, confidence, section, sentence, why, alternatives = _TABLE[number]
        name = getattr(builder, "__name__", "<lambda>")
        records.append(
            Equation(
                number=number,
                expression=builder(),
                confidence=confidence,
                section=section,
                sentence=sentence,
                why=why,
                alternatives=alternatives(),
                derived_by=name if not name.startswith(("<", "_")) else "depthinit.theory (composed)",
            )
        )
    return tuple(records)


def equations() -> dict[int, Equation]:
    """An ordered mapping 1..47 -> :class:`Equation`, in the paper's order.

    Built once (about a second of SymPy work) and then copied, so callers may
    change the mapping they get.

    >>> eqs = equations()
    >>> len(eqs), eqs[6].confidence
    (47, 'high')
    """
    return {e.number: e for e in _build()}


def _check_number(number: int) -> int:
    if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= 47:
        raise ValueError(f"equation number {number!r} is not valid; the paper numbers its equations 1 to 47")
    return number


def equation_latex(number: int, expression: Basic | None = None, *, tag: str | None = None) -> str:
    """``\\begin{equation} ... \\tag{n} \\end{equation}`` for the paper's equation ``number``
    (or for ``expression``, tagged ``tag``, e.g. an alternative "7a").

    For the ``{glue:math}`` directive with ``:nowrap:`` so that the number shown
    is the paper's, not Sphinx's.
    """
    _check_number(number)
    expr = equations()[number].expression if expression is None else expression
    return rf"\begin{{equation}}{latex(expr)}\tag{{{tag or number}}}\end{{equation}}"


def equation_frame(numbers: list[int] | range | None = None) -> pd.DataFrame:
    """The records as a table: ``equation, confidence, section, latex, sentence, why,
    alternatives`` (alternatives as text), one row per number (all 47 by default)."""
    eqs = equations()
    numbers = list(range(1, 48)) if numbers is None else [_check_number(n_) for n_ in numbers]
    rows = []
    for number in numbers:
        e = eqs[number]
        rows.append(
            {
                "equation": number,
                "confidence": e.confidence,
                "section": e.section,
                "latex": e.latex(),
                "sentence": e.sentence,
                "why": e.why,
                "alternatives": "; ".join(
                    (f"{latex(a.expression)}: {a.reading}" if a.expression is not None else a.reading)
                    for a in e.alternatives
                ),
            }
        )
    return pd.DataFrame(rows)


def record_markdown(number: int) -> str:
    """MyST markdown for one record: an admonition titled with the number and confidence,
    holding the paper's words, the reading and the alternatives with their math (paste with
    ``{glue:md}`` and ``:format: myst``, or render a cell with ``markdown_format: myst``)."""
    e = equations()[_check_number(number)]
    lines = [
        f":::{{admonition}} ({e.number}) · confidence: {e.confidence}",
        f":class: {_ADMONITION_CLASS[e.confidence]}",
        "",
        f"**The paper (Section {e.section}):** “{e.sentence}”",
        "",
        f"**Reading:** {e.why}",
    ]
    if e.alternatives:
        lines += ["", "**Other readings:**", ""]
        for a in e.alternatives:
            math = f"${latex(a.expression)}$ — " if a.expression is not None else ""
            lines.append(f"- {math}{a.reading}")
    lines += ["", f"Built by `{e.derived_by}`.", ":::"]
    return "\n".join(lines)


_ADMONITION_CLASS = {"high": "tip", "medium": "note", "low": "warning"}
