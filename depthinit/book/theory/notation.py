"""The glossary table of the chapter "Notation and assumptions": every shared symbol of
:mod:`depthinit.theory.symbols`, what it means and the SymPy assumptions it carries, with a
check that the symbol really has them."""

from __future__ import annotations

from sympy import Basic

from ... import theory as T
from ...theory import symbols as S
from ._checks import check_int

__all__ = ["glossary", "glossary_markdown", "has_assumption"]

#: The SymPy property each stated assumption is checked with (the word that names it).
_CHECKS = {
    "positive": "is_positive",
    "real": "is_real",
    "integer": "is_integer",
    "non-negative": "is_nonnegative",
}


def glossary(L: int) -> list[tuple[Basic, str, str]]:
    """``(symbol, meaning, assumption)`` for every shared symbol, in the chapter's order; ``L``
    (an integer >= 2) is the depth the chapter's examples use."""
    L = check_int("L", L, minimum=2)
    return [
        (S.l, "layer index, 1 = first weight layer", "positive integer"),
        (S.L, f"number of weight layers ({L} in the examples; the paper's MLP has 54)", "positive integer"),
        (S.n[S.l], "fan-in of layer l: input connections of one unit (He's $k^2 c$)", "positive"),
        (S.n_hat[S.l], "fan-out of layer l: units one input feeds (He's $k^2 d$)", "positive"),
        (S.nu[S.l], "the fan the depth scheme's mode names: $n_l$ (fan_in) or $\\hat n_l$ (fan_out)", "positive"),
        (S.w[S.l], "a weight of layer l", "real"),
        (S.x[S.l], "an input of layer l; $x_{l+1} = f(y_l)$", "real"),
        (S.y[S.l], "an output (pre-activation) of layer l", "real"),
        (S.dx[S.l], r"gradient $\partial\varepsilon/\partial x_l$ of the loss", "real"),
        (S.dy[S.l], r"gradient $\partial\varepsilon/\partial y_l$", "real"),
        (S.alpha[S.l], "depth factor of layer l: $\\nu_l \\operatorname{Var}[w_l]/2$", "positive"),
        (S.alpha_c, "the constant factor of Section 4.1.1", "positive"),
        (S.V, "network variance: the product of the factors of layers 2..L", "positive"),
        (S.k, "base of the logarithm in the depth function", "positive (> 1 where used)"),
        (S.beta, "divisor of the depth function", "positive"),
        (S.c, "offset added to the depth (Section 8)", "non-negative"),
        (S.G[S.L], r"geometric mean of $\ln l$ over $l = 2..L$", "positive"),
        (S.G_c[S.L], r"geometric mean of $\ln(l + c)$ over $l = 2..L$ (a different quantity)", "positive"),
        (S.q, "a pre-activation variance", "positive"),
        (S.m_f, r"forward activation factor $\operatorname{E}[f(z)^2]/\operatorname{Var}[z]$", "positive"),
        (S.d_f, r"backward activation factor $\operatorname{E}[f'(z)^2]$", "positive"),
    ]


def has_assumption(symbol: Basic, assumption: str) -> bool:
    """Whether ``symbol`` carries the stated assumption: its last word for "... integer", else its
    first word ("positive (> 1 where used)" is checked as positive)."""
    word = assumption.split()[-1] if assumption.endswith("integer") else assumption.split()[0]
    return bool(getattr(symbol, _CHECKS[word], False)) if word in _CHECKS else False


def glossary_markdown(L: int) -> str:
    """The glossary as a Markdown table: symbol, meaning, assumptions, and whether SymPy agrees."""
    lines = ["| symbol | meaning | SymPy assumptions | checked |", "|---|---|---|---|"]
    for symbol, meaning, assumption in glossary(L):
        ok = "yes" if has_assumption(symbol, assumption) else "no"
        lines.append(f"| ${T.latex(symbol)}$ | {meaning} | {assumption} | {ok} |")
    return "\n".join(lines)
