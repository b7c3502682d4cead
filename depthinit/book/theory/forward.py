"""Computations and figures of the chapter "The forward pass: equations (1)–(6)".

For activations without a closed form the forward and backward factors m_f(q) and d_f(q)
depend on the pre-activation variance q; :func:`activation_factor_curves` evaluates them
on a grid with :func:`depthinit.theory.activation_factors`, :func:`plot_activation_factors`
draws them and :func:`activation_factor_numbers` returns the values the prose quotes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, get_args

import numpy as np
import pandas as pd

import depthinit.theory as T
from depthinit.theory._activations import ActivationName

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: The activations of the chapter's figure, in legend order.
ACTIVATIONS: tuple[ActivationName, ...] = ("tanh", "sigmoid", "relu", "linear")
#: The columns of :func:`activation_factor_curves`.
CURVE_COLUMNS: tuple[str, ...] = ("activation", "q", "m", "d")


def activation_factor_curves(
    q_grid: Sequence[float] | np.ndarray, activations: Sequence[ActivationName] = ACTIVATIONS
) -> pd.DataFrame:
    """m_f(q) = E[f(z)^2]/q and d_f(q) = E[f'(z)^2] for z ~ N(0, q), on a grid of q.

    Args:
        q_grid: pre-activation variances (a non-empty 1-d grid of finite values > 0).
        activations: names accepted by :func:`depthinit.theory.activation_factors`.

    Returns:
        A long DataFrame with columns :data:`CURVE_COLUMNS`, one row per activation and q,
        in the order of ``activations`` and ``q_grid``.

    Chapter: "The forward pass: equations (1)–(6)" (figure "fig-activation-factors").
    """
    q = np.asarray(q_grid, dtype=np.float64)
    if q.ndim != 1 or q.size == 0:
        raise ValueError(f"q_grid of shape {q.shape} is not valid; expected a non-empty 1-d grid")
    known = get_args(ActivationName)
    unknown = [a for a in activations if a not in known]
    if unknown or len(activations) == 0:
        raise ValueError(f"activations={tuple(activations)!r} is not valid; expected a non-empty subset of {known}")
    frames = []
    for name in activations:
        m, d = T.activation_factors(name, q)  # ValueError for q <= 0 or not finite
        frames.append(pd.DataFrame({"activation": name, "q": q, "m": m, "d": d}))
    return pd.concat(frames, ignore_index=True)


def plot_activation_factors(curves: pd.DataFrame) -> Figure:
    """Two log-log panels, the forward factor m_f(q) and the backward factor d_f(q), one line
    per activation; the legend is on the first.

    Args:
        curves: the output of :func:`activation_factor_curves`.

    Returns:
        A 6.8 × 3.0 in matplotlib Figure with two axes sharing x.

    Chapter: "The forward pass: equations (1)–(6)" (figure "fig-activation-factors").
    """
    import matplotlib.pyplot as plt

    missing = [c for c in CURVE_COLUMNS if c not in curves.columns]
    if missing:
        raise ValueError(f"curves lacks the column(s) {missing}; expected the output of activation_factor_curves")
    fig, axes = plt.subplots(1, 2, figsize=(6.8, 3.0), sharex=True)
    for name, curve in curves.groupby("activation", sort=False):
        axes[0].plot(curve["q"].to_numpy(), curve["m"].to_numpy(), label=name)
        axes[1].plot(curve["q"].to_numpy(), curve["d"].to_numpy(), label=name)
    axes[0].set(
        xscale="log",
        yscale="log",
        xlabel="pre-activation variance $q$",
        ylabel="$m_f(q)$",
        title="forward factor $E[f(z)^2]/q$",
    )
    axes[1].set(
        xscale="log",
        yscale="log",
        xlabel="pre-activation variance $q$",
        ylabel="$d_f(q)$",
        title="backward factor $E[f'(z)^2]$",
    )
    axes[0].legend(fontsize=9)
    fig.tight_layout()
    return fig


def activation_factor_numbers() -> dict[str, float]:
    """The factors the chapter quotes, by glue name, as plain floats: ``tanh-m-small`` (m_f of
    tanh at q = 1e-3), ``sig-m-one`` and ``sig-d-one`` (m_f and d_f of sigmoid at q = 1).

    Chapter: "The forward pass: equations (1)–(6)".
    """
    tanh_small = T.activation_factors("tanh", 1e-3)
    sig_one = T.activation_factors("sigmoid", 1.0)
    return {
        "tanh-m-small": float(tanh_small[0]),
        "sig-m-one": float(sig_one[0]),
        "sig-d-one": float(sig_one[1]),
    }


__all__ = [
    "ACTIVATIONS",
    "CURVE_COLUMNS",
    "activation_factor_curves",
    "activation_factor_numbers",
    "plot_activation_factors",
]
