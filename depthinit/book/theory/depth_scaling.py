"""Computations and figures of the chapter "Depth scaling: equations (16)–(23)".

The chapter compares the paper's three ways of spreading the network variance V over the
layers (:func:`schedule_paths`, :func:`plot_schedule_paths`), solves where the logarithmic
schedule leaves its crossover case (:func:`case_boundaries`, :func:`case_bounds`), and sets
the two readings of V (``fan_in`` and ``fan_out``) side by side on the paper's network
(:func:`mode_ratios`). The algebra comes from :mod:`depthinit.theory`; this module only
evaluates it for the chapter's parameters and returns DataFrames, floats and figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import sympy as sp

import depthinit
import depthinit.theory as T
from depthinit.models import MLP
from depthinit.theory import symbols as S

from ._checks import check_int, check_variance

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: The paper's three depth schedules, in the chapter's order.
SCHEDULES: tuple[str, ...] = ("constant", "increasing", "decreasing")
#: The schedules of the ``fan_in`` / ``fan_out`` table ("unit" is He's plain scheme).
MODE_SCHEDULES: tuple[str, ...] = ("unit", "constant", "increasing", "decreasing")
#: The columns of :func:`schedule_paths`.
PATH_COLUMNS: tuple[str, ...] = ("schedule", "layer", "alpha", "forward product", "backward product")
#: The columns of :func:`mode_ratios`.
RATIO_COLUMNS: tuple[str, ...] = (
    "schedule",
    "mode",
    "prod alpha (l=2..L)",
    "Var[w_1]",
    "Var[w_L]",
    "Var[y_L] / Var[y_1]",
    "Var[Δx_2] / Var[Δy_L]",
)


def case_boundaries() -> tuple[sp.Expr, sp.Expr]:
    """The network variances where the log schedule leaves case 3 (Sections 4.1.2–4.1.3).

    With α_l = V^{1/(L-1)} ln l / G_L, case 1 (every factor below one) needs α_L < 1 and
    case 2 (every factor above one) needs α_2 > 1; SymPy solves α_L = 1 and α_2 = 1 for V.

    Returns:
        ``(case_1, case_2)``: SymPy expressions in ``S.L`` and ``S.G[S.L]``; case 1 holds
        for V below the first, case 2 for V above the second.

    Chapter: "Depth scaling: equations (16)–(23)".
    """
    closed = T.alpha_closed_form().rhs.subs(sp.Product(sp.log(S.l), (S.l, 2, S.L)) ** (1 / (S.L - 1)), S.G[S.L])
    (case_1,) = sp.solve(sp.Eq(closed.subs(S.l, S.L), 1), S.V)  # alpha_L = 1: above this V, not case 1
    (case_2,) = sp.solve(sp.Eq(closed.subs(S.l, 2), 1), S.V)  # alpha_2 = 1: above this V, case 2
    return case_1, case_2


def case_bounds(depths: Sequence[int], case_1: sp.Expr, case_2: sp.Expr) -> pd.DataFrame:
    """:func:`case_boundaries` evaluated for each depth.

    Args:
        depths: numbers of weight layers L (each an integer >= 2); duplicates are dropped.
        case_1, case_2: the two expressions of :func:`case_boundaries`.

    Returns:
        A DataFrame indexed by ``L`` (sorted) with float columns ``"case 1 below V ="`` and
        ``"case 2 above V ="``.

    Chapter: "Depth scaling: equations (16)–(23)".
    """
    if len(depths) == 0:
        raise ValueError("depths=() is not valid; expected at least one depth")
    for depth in depths:
        check_int("depth", depth, minimum=2)
    rows = []
    for depth in sorted(set(depths)):
        g = T.depth_numbers(depth, 1.0)["G_L"]
        rows.append(
            {
                "L": depth,
                "case 1 below V =": float(case_1.subs({S.L: depth, S.G[S.L]: g})),
                "case 2 above V =": float(case_2.subs({S.L: depth, S.G[S.L]: g})),
            }
        )
    return pd.DataFrame(rows).set_index("L")


def schedule_paths(L: int, V: float, *, offset: float = 0.0, schedules: Sequence[str] = SCHEDULES) -> pd.DataFrame:
    """Per-layer factors and the cumulative products they imply, for each depth schedule.

    Args:
        L: number of weight layers (an integer >= 2).
        V: network variance, the product of α_2..α_L (finite, > 0).
        offset: offset c of the log depth function ln(l + c).
        schedules: schedules of :func:`depthinit.alphas` to include.

    Returns:
        A DataFrame with columns :data:`PATH_COLUMNS`, one row per schedule and layer
        l = 2..L: ``alpha`` α_l, ``forward product`` ∏_{m=2}^{l} α_m and ``backward
        product`` ∏_{m=l}^{L} α_m.

    Chapter: "Depth scaling: equations (16)–(23)" (figure "fig-depth-paths").
    """
    check_int("L", L, minimum=2)
    check_variance(V)
    if len(schedules) == 0:
        raise ValueError("schedules=() is not valid; expected at least one schedule")
    rows = []
    for name in schedules:
        a = depthinit.alphas(L, schedule=name, network_variance=V, offset=offset)  # type: ignore[arg-type]
        forward = np.cumprod(a[1:])  # prod_{m=2}^{l} alpha_m, l = 2..L
        backward = np.cumprod(a[1:][::-1])[::-1]  # prod_{m=l}^{L} alpha_m, l = 2..L
        for l, (af, fw, bw) in enumerate(zip(a[1:], forward, backward), start=2):
            rows.append({"schedule": name, "layer": l, "alpha": af, "forward product": fw, "backward product": bw})
    return pd.DataFrame(rows, columns=list(PATH_COLUMNS))


def path_numbers(paths: pd.DataFrame) -> dict[str, float | int]:
    """The numbers the chapter's prose quotes from :func:`schedule_paths`, by glue name.

    Args:
        paths: the output of :func:`schedule_paths`; it must contain the ``increasing`` and
            ``decreasing`` schedules.

    Returns:
        Plain Python numbers: ``inc-forward-argmin`` (int, the layer where the increasing
        schedule's forward product is lowest), ``inc-forward-min``, ``dec-forward-min``,
        ``inc-backward-max``, ``inc-backward-argmax`` (int), ``inc-alpha-L`` (α_L of the
        increasing schedule), ``dec-alpha-2`` and ``dec-alpha-L``.

    Chapter: "Depth scaling: equations (16)–(23)".
    """
    missing = [c for c in PATH_COLUMNS if c not in paths.columns]
    if missing:
        raise ValueError(f"paths lacks the column(s) {missing}; expected the output of schedule_paths")
    absent = [s for s in ("increasing", "decreasing") if s not in set(paths["schedule"])]
    if absent:
        raise ValueError(f"paths has no rows for schedule(s) {absent}; expected 'increasing' and 'decreasing'")
    lowest = paths.groupby("schedule")["forward product"].min()
    inc = paths[paths.schedule == "increasing"].set_index("layer")
    dec = paths[paths.schedule == "decreasing"].set_index("layer")
    return {
        "inc-forward-argmin": int(inc["forward product"].idxmin()),
        "inc-forward-min": float(lowest["increasing"]),
        "dec-forward-min": float(lowest["decreasing"]),
        "inc-backward-max": float(inc["backward product"].max()),
        "inc-backward-argmax": int(inc["backward product"].idxmax()),
        "inc-alpha-L": float(inc["alpha"].iloc[-1]),
        "dec-alpha-2": float(dec["alpha"].iloc[0]),
        "dec-alpha-L": float(dec["alpha"].iloc[-1]),
    }


def plot_schedule_paths(paths: pd.DataFrame, *, L: int, V: float) -> Figure:
    """Three panels (α_l, forward product, backward product) against the layer, one line per
    schedule, log scale, with a grey line at one.

    Args:
        paths: the output of :func:`schedule_paths`.
        L, V: the depth and network variance, for the title.

    Returns:
        A 6.8 × 2.5 in matplotlib Figure with three axes; the legend is on the first.

    Chapter: "Depth scaling: equations (16)–(23)" (figure "fig-depth-paths").
    """
    import matplotlib.pyplot as plt
    import seaborn as sns

    missing = [c for c in PATH_COLUMNS if c not in paths.columns]
    if missing:
        raise ValueError(f"paths lacks the column(s) {missing}; expected the output of schedule_paths")
    fig, axes = plt.subplots(1, 3, figsize=(6.8, 2.5))
    for ax, column, title in zip(
        axes,
        ["alpha", "forward product", "backward product"],
        [r"$\alpha_l$", r"forward: $\prod_{m=2}^{l}\alpha_m$", r"backward: $\prod_{m=l}^{L}\alpha_m$"],
    ):
        sns.lineplot(data=paths, x="layer", y=column, hue="schedule", ax=ax, legend=ax is axes[0])
        ax.axhline(1.0, color="0.5", lw=0.8)
        ax.set(yscale="log", title=title, xlabel="layer $l$", ylabel="")
    fig.suptitle(f"L = {L}, V = {V:g}: three schedules with the same product", y=1.02)
    fig.tight_layout()
    return fig


def mode_ratios(
    *,
    input_dim: int,
    output_dim: int,
    depth: int,
    width: int,
    V: float,
    offset: float = 0.0,
    schedules: Sequence[str] = MODE_SCHEDULES,
) -> pd.DataFrame:
    """The ``fan_in`` and ``fan_out`` readings of V on the paper's MLP, by ``T.predict``.

    Args:
        input_dim, output_dim: the first layer's fan-in and the number of logits (>= 1).
        depth: number of weight layers (>= 2); width: hidden width (>= 1).
        V: network variance of the ``depth`` scheme (finite, > 0).
        offset: offset c of the log depth function.
        schedules: schedules of the ``depth`` scheme (``"unit"`` is He's).

    Returns:
        A DataFrame with columns :data:`RATIO_COLUMNS`, one row per schedule and mode:
        the product of α_2..α_L, the first and last layer's weight variance, and the
        predicted end-to-end forward and backward variance ratios (unit input second
        moment and output gradient variance).

    Chapter: "Depth scaling: equations (16)–(23)" (section "One definition of V").
    """
    for name, value in (("input_dim", input_dim), ("output_dim", output_dim), ("width", width)):
        check_int(name, value, minimum=1)
    check_int("depth", depth, minimum=2)
    check_variance(V)
    model = MLP(input_dim, output_dim, depth=depth, width=width)
    rows = []
    for schedule in schedules:
        for mode in ("fan_in", "fan_out"):
            plan = depthinit.plan(model, "depth", schedule=schedule, network_variance=V, mode=mode, offset=offset)
            p = T.predict(plan, input_second_moment=1.0, output_grad_variance=1.0)
            frame = plan.to_frame()
            rows.append(
                {
                    "schedule": schedule,
                    "mode": mode,
                    "prod alpha (l=2..L)": float(np.prod(frame["alpha"].iloc[1:])),
                    "Var[w_1]": frame["variance"].iloc[0],
                    "Var[w_L]": frame["variance"].iloc[-1],
                    "Var[y_L] / Var[y_1]": p["forward_variance"].iloc[-1] / p["forward_variance"].iloc[0],
                    "Var[Δx_2] / Var[Δy_L]": p["backward_variance"].iloc[1] / 1.0,
                }
            )
    return pd.DataFrame(rows, columns=list(RATIO_COLUMNS))


def mode_numbers(ratios: pd.DataFrame) -> dict[str, float]:
    """The increasing schedule's numbers the chapter quotes from :func:`mode_ratios`, by glue name.

    Returns:
        Plain floats: ``wL-fan-in``, ``wL-fan-out``, ``w1-fan-in``, ``w1-fan-out`` (weight
        variances of the last and first layer), ``bwd-fan-in`` (backward ratio, ``fan_in``)
        and ``fwd-fan-out`` (forward ratio, ``fan_out``).

    Chapter: "Depth scaling: equations (16)–(23)".
    """
    if "schedule" not in ratios.columns or "increasing" not in set(ratios["schedule"]):
        raise ValueError("ratios has no rows for the 'increasing' schedule; expected the output of mode_ratios")
    inc = ratios[ratios["schedule"] == "increasing"].set_index("mode")
    return {
        "wL-fan-in": float(inc.loc["fan_in", "Var[w_L]"]),
        "wL-fan-out": float(inc.loc["fan_out", "Var[w_L]"]),
        "w1-fan-in": float(inc.loc["fan_in", "Var[w_1]"]),
        "w1-fan-out": float(inc.loc["fan_out", "Var[w_1]"]),
        "bwd-fan-in": float(inc.loc["fan_in", "Var[Δx_2] / Var[Δy_L]"]),
        "fwd-fan-out": float(inc.loc["fan_out", "Var[y_L] / Var[y_1]"]),
    }


__all__ = [
    "MODE_SCHEDULES",
    "PATH_COLUMNS",
    "RATIO_COLUMNS",
    "SCHEDULES",
    "case_boundaries",
    "case_bounds",
    "mode_numbers",
    "mode_ratios",
    "path_numbers",
    "plot_schedule_paths",
    "schedule_paths",
]
