"""The shared SymPy symbols of the theory chapters, with their assumptions.

Chapter: "Notation and assumptions". Letters follow He et al. (2015), whom the
paper follows, except where the paper's own text forces a new one:

* ``l`` layer index, ``L`` number of weight layers (both positive integers);
* ``n[l]`` fan-in n_l and ``n_hat[l]`` fan-out n̂_l of layer l (positive);
* ``w``, ``x``, ``y`` a weight, an input and an output (pre-activation) of a
  layer; ``x[l + 1] = f(y[l])``; ``dx``, ``dy`` the gradients Δx_l = ∂ε/∂x_l and
  Δy_l = ∂ε/∂y_l;
* ``alpha[l]`` the depth factor α_l, ``alpha_c`` the constant factor α of
  Section 4.1.1, ``V`` the network variance;
* ``k`` the logarithm's base and ``beta`` its divisor (α_l = log_k(l) / β);
  He et al. use k for the kernel size, which this book writes as part of n_l;
* ``nu[l]`` the fan named by the ``depth`` scheme's mode: n_l for ``fan_in`` (the
  library's default, forward gains), n̂_l for ``fan_out`` (the paper's backward gains);
* ``c`` the offset added to the depth, ``G[L]`` the geometric mean of ln l over
  l = 2..L and ``G_c[L]`` that of ln(l + c), ``q`` a pre-activation variance;
* ``m_f = E[f(z)²] / Var[z]`` and ``d_f = E[f′(z)²]``, the activation factors.

``Var`` and ``Expect`` are undefined SymPy functions that print as Var[·] and
E[·]; the algebra rules they obey (independence, zero means) are applied
explicitly by the derivations, never assumed silently.
"""

from __future__ import annotations

from sympy import Basic, Function, IndexedBase, Symbol, log

__all__ = [
    "Expect",
    "FPrime",
    "G",
    "G_c",
    "Iff",
    "L",
    "LogBase",
    "V",
    "Var",
    "W",
    "W_hat",
    "alpha",
    "alpha_c",
    "beta",
    "c",
    "d_f",
    "dx",
    "dy",
    "j",
    "k",
    "l",
    "m_f",
    "n",
    "n_hat",
    "natural_logs",
    "nu",
    "q",
    "w",
    "w_hat",
    "x",
    "y",
]


class Var(Function):
    """Var[X], the variance of a random variable X (positive: no degenerate variables)."""

    nargs = 1
    is_real = True
    is_positive = True

    def _latex(self, printer, exp=None):
        out = rf"\operatorname{{Var}}\left[{printer._print(self.args[0])}\right]"
        return out if exp is None else rf"{out}^{{{exp}}}"


class Expect(Function):
    """E[X], the expectation of a random variable X."""

    nargs = 1
    is_real = True

    def _latex(self, printer, exp=None):
        out = rf"\operatorname{{E}}\left[{printer._print(self.args[0])}\right]"
        return out if exp is None else rf"\left({out}\right)^{{{exp}}}"


class FPrime(Function):
    """f′(y), the derivative of the activation function evaluated at y."""

    nargs = 1
    is_real = True

    def _latex(self, printer, exp=None):
        out = rf"f'\left({printer._print(self.args[0])}\right)"
        return out if exp is None else rf"{out}^{{{exp}}}"


#: Layer index and number of weight layers.
l = Symbol("l", integer=True, positive=True)
L = Symbol("L", integer=True, positive=True)
#: Index of an input connection inside one layer.
j = Symbol("j", integer=True, positive=True)

#: Fan-in n_l (input connections of a unit) and fan-out n̂_l (He's k²d).
n = IndexedBase("n", positive=True)
n_hat = IndexedBase(r"\hat{n}", positive=True)
#: The fan named by the depth scheme's mode: ν_l = n_l (``fan_in``) or n̂_l (``fan_out``).
nu = IndexedBase(r"\nu", positive=True)

#: A weight, an input and an output (pre-activation) of layer l.
w = IndexedBase("w", real=True)
x = IndexedBase("x", real=True)
y = IndexedBase("y", real=True)
#: Weight matrix of layer l and the matrix of the backward pass, as non-commuting symbols.
W = IndexedBase("W", commutative=False)
W_hat = IndexedBase(r"\hat{W}", commutative=False)
#: Gradients of the loss ε with respect to x_l and y_l.
dx = IndexedBase(r"\Delta x", real=True)
dy = IndexedBase(r"\Delta y", real=True)

#: Depth factor α_l of layer l and the constant factor α of Section 4.1.1 (different symbols).
alpha = IndexedBase(r"\alpha", positive=True)
alpha_c = Symbol("alpha", positive=True)
#: Network variance: the product of the factors of layers 2..L.
V = Symbol("V", positive=True)
#: Base of the logarithm and its divisor in α_l = log_k(l) / β.
k = Symbol("k", positive=True)
beta = Symbol("beta", positive=True)
#: Offset added to the depth inside the logarithm.
c = Symbol("c", nonnegative=True)
#: Geometric mean of ln l over l = 2..L, and of ln(l + c) (a different quantity, its own symbol).
G = IndexedBase("G", positive=True)
G_c = IndexedBase("G^{(c)}", positive=True)
#: A pre-activation variance (argument of the activation factors).
q = Symbol("q", positive=True)
#: Activation factors: m_f = E[f(z)^2] / Var[z] (forward) and d_f = E[f'(z)^2] (backward).
m_f = Symbol("m_f", positive=True)
d_f = Symbol("d_f", positive=True)
#: A weight of the backward matrix Ŵ_l (the same entries as W_l, rearranged).
w_hat = IndexedBase(r"\hat{w}", real=True)


class Iff(Basic):
    """``A ⟺ B`` for two relations, printed in the given order (SymPy's ``Equivalent``
    sorts its arguments)."""

    def __new__(cls, left: Basic, right: Basic) -> Iff:
        return Basic.__new__(cls, left, right)

    @property
    def left(self) -> Basic:
        return self.args[0]

    @property
    def right(self) -> Basic:
        return self.args[1]

    def _latex(self, printer) -> str:
        return rf"{printer._print(self.left)} \iff {printer._print(self.right)}"

    def _sympystr(self, printer) -> str:
        return f"{printer._print(self.left)} <=> {printer._print(self.right)}"


class LogBase(Function):
    """log_b(x), kept unevaluated so that the book can print it as the paper writes it.

    ``.doit()`` (or :func:`natural_logs`) turns it into ln x / ln b.
    """

    nargs = 2

    def doit(self, **hints):
        x_arg, base = (a.doit(**hints) if hints.get("deep", True) else a for a in self.args)
        return log(x_arg) / log(base)

    def _eval_rewrite_as_log(self, x_arg, base, **kwargs):
        return log(x_arg) / log(base)

    def _eval_evalf(self, prec):
        return self.doit()._eval_evalf(prec)

    def fdiff(self, argindex=1):
        x_arg, base = self.args
        if argindex == 1:
            return 1 / (x_arg * log(base))
        return -log(x_arg) / (base * log(base) ** 2)

    def _latex(self, printer, exp=None):
        x_arg, base = self.args
        inner = printer._print(x_arg)
        inner = inner if x_arg.is_Atom or x_arg.is_Indexed else rf"\left({inner}\right)"
        out = rf"\log_{{{printer._print(base)}}} {inner}"
        return out if exp is None else rf"\left({out}\right)^{{{exp}}}"


def natural_logs(expr: Basic) -> Basic:
    """Replace every log_b(x) by ln x / ln b."""
    return expr.replace(LogBase, lambda x_arg, base: log(x_arg) / log(base))
