"""Derivations as data: each step is an equation, the reason it holds and the
assumptions it needs.

Chapter: "Notation and assumptions" lists :data:`ASSUMPTIONS`; the forward and
backward chapters print the steps of :func:`depthinit.theory.forward_derivation`
and :func:`depthinit.theory.backward_derivation`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sympy import Basic, Eq, Expr

#: The assumptions the paper inherits from He et al. (2015), by key. Each derivation
#: step names the ones it needs.
ASSUMPTIONS: dict[str, str] = {
    "no_bias": "biases are zero (the paper: 'as of now ignore the bias term')",
    "iid_weights": "the weights of layer l are identically distributed and mutually independent",
    "zero_mean_weights": "the weights of layer l have zero mean (E[w_l] = 0)",
    "symmetric_weights": "the weights of layer l are symmetric around zero",
    "weights_indep_inputs": "the weights of layer l are independent of the layer's inputs x_l",
    "iid_inputs": "the n_l inputs of a unit share one second moment E[x_l^2] "
    "(an average over the inputs when they differ)",
    "symmetric_preactivation": "y_{l-1} is symmetric around zero (follows from symmetric weights "
    "and zero bias in layer l-1)",
    "weights_indep_grads": "the weights of layer l are independent of the gradient Δy_l",
    "fprime_indep_grads": "f'(y_l) is independent of the incoming gradient Δx_{l+1}",
    "iid_grads": "the n̂_l gradients Δy_l reaching a unit share one variance",
    "equal_widths": "all hidden layers have the same fan-out n̂_l = n",
    "gaussian_preactivation": "y_l is Gaussian (central limit theorem over the fan-in); "
    "only needed for tanh and sigmoid",
}


@dataclass(frozen=True)
class Step:
    """One step of a derivation: ``equation`` holds because of ``reason``, under ``assumptions``."""

    equation: Basic
    reason: str
    assumptions: tuple[str, ...] = ()
    paper: int | None = None  # the paper's equation number this step is, if any


@dataclass(frozen=True)
class Derivation:
    """An ordered list of steps; ``result`` is the last step's equation."""

    title: str
    steps: tuple[Step, ...]

    @property
    def result(self) -> Basic:
        return self.steps[-1].equation

    def assumptions(self) -> tuple[str, ...]:
        """Every assumption any step needs, in first-use order."""
        seen: list[str] = []
        for s in self.steps:
            seen.extend(a for a in s.assumptions if a not in seen)
        return tuple(seen)

    def to_frame(self):
        """The steps as a table (LaTeX in the ``equation`` column)."""
        import pandas as pd

        from ._printing import latex

        return pd.DataFrame(
            {
                "paper": [s.paper for s in self.steps],
                "equation": [latex(s.equation) for s in self.steps],
                "reason": [s.reason for s in self.steps],
                "assumptions": [", ".join(s.assumptions) for s in self.steps],
            }
        )

    def to_markdown(self) -> str:
        """The steps as a MyST table with inline math (render with ``markdown_format: myst``)."""
        from ._printing import latex

        lines = ["| paper | step | why | assumptions |", "|---|---|---|---|"]
        for s in self.steps:
            number = f"({s.paper})" if s.paper else ""
            assumptions = ", ".join(f"`{a}`" for a in s.assumptions)
            lines.append(f"| {number} | ${latex(s.equation)}$ | {s.reason} | {assumptions} |")
        return "\n".join(lines)


def unroll(step: Callable[[int, Expr], Expr], first: Expr, start: int, stop: int) -> Expr:
    """Apply a one-layer recursion ``value_l = step(l, value_{l-1})`` for l = start..stop.

    Used to check a closed-form product against the recursion for concrete depths.
    """
    value = first
    for layer in range(start, stop + 1):
        value = step(layer, value)
    return value


def rhs(relation: Basic) -> Expr:
    """Right-hand side of an :class:`~sympy.Eq` (the expression itself otherwise)."""
    return relation.rhs if isinstance(relation, Eq) else relation
