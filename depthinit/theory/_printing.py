"""LaTeX printing for the book: factors in the order a reader expects (numbers, fans,
variances, expectations, the rest) and ln for the natural logarithm.

Chapter: "Notation and assumptions".
"""

from __future__ import annotations

from sympy import Add, Basic, Indexed, Mul, Number, NumberSymbol, Product, fraction
from sympy.printing.latex import LatexPrinter

from .symbols import Expect, FPrime, Var, dx, dy, n, n_hat, w, x, y

__all__ = ["latex"]


def _rank(factor: Basic) -> tuple[float, str]:
    """Sort key of a factor: numbers, fans, other symbols, Var[w], other variances,
    expectations, f′, signals (x, y, Δx, Δy), products."""
    base = factor.base if factor.is_Pow else factor
    group: float
    if isinstance(base, (Number, NumberSymbol)):
        group = 0
    elif isinstance(base, Indexed) and base.base in (n, n_hat):
        group = 1
    elif isinstance(base, Var):
        arg = base.args[0]
        group = 3 if isinstance(arg, Indexed) and arg.base == w else 4
    elif isinstance(base, Expect):
        group = 5
    elif isinstance(base, FPrime):
        group = 6
    elif isinstance(base, Indexed) and base.base in (x, y, dx, dy):
        group = 7
    elif isinstance(base, Product):
        group = 8
    elif base.is_Function:
        group = 2.5  # ln k, log_k l: after plain symbols and their powers
    else:
        group = 2
    return group, str(base)


class _BookPrinter(LatexPrinter):
    def _with_order(self, order, method, expr):
        saved = self._settings["order"]
        self._settings["order"] = order
        try:
            return method(expr)
        finally:
            self._settings["order"] = saved

    def _print_Mul(self, expr: Mul) -> str:
        if expr.is_commutative:
            if expr.could_extract_minus_sign():
                return "- " + self._print(-expr)
            # Move powers with symbolic negative exponents (V^{-1/(L-1)}) below the fraction bar.
            numer, denom = fraction(expr)
            if denom != 1:
                return rf"\frac{{{self._print_factors(numer)}}}{{{self._print_factors(denom)}}}"
        return self._print_factors(expr)

    def _print_factors(self, expr: Basic) -> str:
        if not isinstance(expr, Mul):
            return self._print(expr)
        commuting, rest = expr.args_cnc()
        ordered = Mul._from_args(sorted(commuting, key=_rank) + rest, is_commutative=not rest)
        return self._with_order("none", super()._print_Mul, ordered)

    def _print_Add(self, expr: Add, order=None) -> str:
        return self._with_order(None, super()._print_Add, expr)


def latex(expr: Basic, **settings) -> str:
    """``sympy.latex`` with the book's settings: ln for natural logs, factors ordered
    as numbers, fans, other symbols, Var[w], other variances, E[·], f′(·), signals,
    products."""
    settings.setdefault("ln_notation", True)
    return _BookPrinter(settings).doprint(expr)
