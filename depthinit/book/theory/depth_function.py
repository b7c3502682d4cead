"""Computations and figures of the chapter "The depth function and its hyperparameters:
equations (24)–(47)" (``notebooks/theory_depth_function.ipynb``).

The algebra (the closed forms, :func:`depthinit.theory.solve_k_beta`,
:func:`depthinit.theory.depth_numbers`, the clues, the equation registry) lives in
:mod:`depthinit.theory`; this module evaluates it over the chapter's grids of depths,
variances, bases and offsets, builds its tables and draws its figures. Nothing here is random.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

import depthinit
import depthinit.theory as T

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: The layers whose factors the offset figure follows.
OFFSET_LAYERS: tuple[int, ...] = (2, 4, 7)

__all__ = [
    "OFFSET_LAYERS",
    "BetaCurves",
    "beta_curves",
    "clue_markdown",
    "clue_table",
    "confidence_ranges",
    "crossover_layers",
    "equation_markdown",
    "offset_sweep",
    "plot_beta_curves",
    "plot_offset_sweep",
    "plot_schedule_grid",
    "plot_share_by_variance",
    "power_fits",
    "schedule_curves",
    "schedules_by_base",
    "share_by_variance",
    "solutions_table",
]


def _check_values(name: str, values: Sequence[float], *, what: str) -> list[float]:
    values = list(values)
    if not values:
        raise ValueError(f"{name}={values!r} is not valid; expected at least one {what}")
    return values


def _check_depths(depths: Sequence[int]) -> list[int]:
    depths = list(depths)
    if not depths:
        raise ValueError(f"depths={depths!r} is not valid; expected at least one depth")
    for depth in depths:
        if isinstance(depth, bool) or not isinstance(depth, (int, np.integer)) or depth < 2:
            raise ValueError(f"depth={depth!r} is not valid; expected an integer number of weight layers >= 2")
    return [int(d) for d in depths]


def clue_table(L: int, V: float, k_value: float) -> pd.DataFrame:
    """The six clues of Sections 6–8 (and the row on what survives pinning V), evaluated for
    the log reading and for the power law (l/k)^(1/β) (:func:`depthinit.theory.depth_function_clues`).

    Args:
        L: weight layers (>= 2).
        V: network variance (> 0).
        k_value: the base k (> 1).

    Returns:
        A DataFrame with columns ``clue``, ``log reading``, ``log fits``,
        ``power law (l/k)^(1/β)`` and ``power fits``, one row per clue. Chapter: "The depth function".
    """
    clues = T.depth_function_clues("log", L, V, k_value).rename(columns={"result": "log reading", "fits": "log fits"})
    power = T.depth_function_clues("power", L, V, k_value)
    clues["power law (l/k)^(1/β)"] = power["result"]
    clues["power fits"] = power["fits"]
    return clues


def power_fits(clues: pd.DataFrame) -> list[int]:
    """The numbers (1 to 6) of the six clues the power law fits, from :func:`clue_table`.
    Chapter: "The depth function"."""
    if "power fits" not in clues.columns:
        raise ValueError(f"clues has columns {list(clues.columns)}; expected the output of clue_table")
    return [int(i) + 1 for i in np.flatnonzero(clues["power fits"].iloc[:6])]


def clue_markdown(clues: pd.DataFrame) -> str:
    """The clue table of :func:`clue_table` as a Markdown table (the first six rows numbered).
    Chapter: "The depth function"."""
    lines = ["| # | the paper says | log reading | fits | power law | fits |", "|---|---|---|---|---|---|"]
    for i, row in clues.iterrows():
        number = str(i + 1) if i < 6 else ""
        lines.append(
            f"| {number} | {row['clue']} | `{row['log reading']}` | {'yes' if row['log fits'] else 'no'} | "
            f"`{row['power law (l/k)^(1/β)']}` | {'yes' if row['power fits'] else 'no'} |"
        )
    return "\n".join(lines)


def solutions_table(depths: Sequence[int], variances: Sequence[float], k_value: float) -> pd.DataFrame:
    """G_L, V^(1/(L-1)), β ln k, k at β = 1, β at k = ``k_value`` and the layers below one,
    for every depth and network variance (equations (34)–(35)).

    Returns:
        A DataFrame indexed by (``L``, ``V``). Chapter: "The depth function", "Solving for k and β".
    """
    rows = []
    for depth in _check_depths(depths):
        for variance in _check_values("variances", variances, what="network variance"):
            d = T.depth_numbers(depth, variance)
            rows.append(
                {
                    "L": depth,
                    "V": variance,
                    "G_L": d["G_L"],
                    "V^(1/(L-1))": d["root"],
                    "β ln k": d["beta_ln_k"],
                    "k at β = 1": d["k"],
                    f"β at k = {k_value:g}": T.solve_k_beta(depth, variance, k_value=k_value)[1],
                    "layers below one": f"{d['n_below']} of {depth - 1}",
                }
            )
    return pd.DataFrame(rows).set_index(["L", "V"])


@dataclass
class BetaCurves:
    """β of equation (34) against each hyperparameter (:func:`beta_curves`).

    ``ks``/``beta_k``: against k at (L, V); ``Vs``/``beta_V``: against V at (L, k);
    ``Ls``/``beta_L``: against L at k, one curve per network variance (the keys).
    """

    L: int
    V: float
    k_value: float
    ks: np.ndarray
    beta_k: np.ndarray
    Vs: np.ndarray
    beta_V: np.ndarray
    Ls: np.ndarray
    beta_L: dict[float, np.ndarray]


def beta_curves(L: int, V: float, k_value: float) -> BetaCurves:
    """β from :func:`depthinit.theory.solve_k_beta` for k in [2, 100] (200 points), V in
    [0.1, 1000] (200 log-spaced points) and L = 3..120 at V = 0.5, 1 and ``V``.
    Chapter: "The depth function", "How β moves"."""
    if not k_value > 1:
        raise ValueError(f"k_value={k_value!r} is not valid; the base of the logarithm must be > 1")
    ks = np.linspace(2, 100, 200)
    Vs = np.logspace(-1, 3, 200)
    Ls = np.arange(3, 121)
    return BetaCurves(
        L=L,
        V=V,
        k_value=k_value,
        ks=ks,
        beta_k=np.array([T.solve_k_beta(L, V, k_value=float(k))[1] for k in ks]),
        Vs=Vs,
        beta_V=np.array([T.solve_k_beta(L, float(v), k_value=k_value)[1] for v in Vs]),
        Ls=Ls,
        beta_L={
            v: np.array([T.solve_k_beta(int(depth), v, k_value=k_value)[1] for depth in Ls])
            for v in sorted({0.5, 1.0, V})
        },
    )


def plot_beta_curves(curves: BetaCurves) -> Figure:
    """Three panels of β against k, V and L (:func:`beta_curves`). Returns a 6.8 × 2.4 in
    Figure with three axes. Chapter: "The depth function"."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(6.8, 2.4))
    axes[0].plot(curves.ks, curves.beta_k)
    axes[0].set(xlabel="$k$", ylabel=r"$\beta$", title=f"$L$ = {curves.L}, $V$ = {curves.V:g}")
    axes[1].plot(curves.Vs, curves.beta_V)
    axes[1].set(xscale="log", xlabel="$V$", title=f"$L$ = {curves.L}, $k$ = {curves.k_value:g}")
    for v, beta in curves.beta_L.items():
        axes[2].plot(curves.Ls, beta, label=f"V = {v:g}")
    axes[2].set(xlabel="$L$", title=f"$k$ = {curves.k_value:g}")
    axes[2].legend(fontsize=9)
    fig.tight_layout()
    return fig


def schedules_by_base(L: int, V: float, ks: Sequence[float]) -> pd.DataFrame:
    """The schedule ln l / (β ln k), equation (24), for layers l = 2..L at each base k with the
    β that pins the product to V (equation (34)).

    Returns:
        A DataFrame indexed by ``l`` with one column per base, named ``"k = …, β = …"``.
        Chapter: "The depth function", "Once V is fixed, k and β drop out".
    """
    curves = {}
    layers = np.arange(2, L + 1)
    for k in _check_values("ks", ks, what="base k > 1"):
        _, beta = T.solve_k_beta(L, V, k_value=k)
        curves[f"k = {k:.2f}, β = {beta:.3f}"] = np.log(layers) / (beta * np.log(k))
    return pd.DataFrame(curves, index=pd.Index(layers, name="l"))


def crossover_layers(L: int, V: float) -> list[int]:
    """Layers 2, 7, the last below one, the first at or above one and L (sorted, without
    repeats): the rows the chapter shows of a schedule. Chapter: "The depth function"."""
    first = T.depth_numbers(L, V)["first_at_or_above"] or L
    return sorted({2, min(7, L), max(2, first - 1), first, L})


def offset_sweep(L: int, V: float, offsets: Sequence[float], layers: Sequence[int] = OFFSET_LAYERS) -> pd.DataFrame:
    """The factors α_l of ``layers`` and the share of layers 2..L below one for the log reading
    ln(l + c), at each offset c (:func:`depthinit.theory.depth_numbers`).

    Args:
        L: weight layers (>= 2, and >= every layer of ``layers``).
        V: network variance.
        offsets: the offsets c >= 0.
        layers: the layers whose factor is reported.

    Returns:
        A DataFrame with columns ``c``, ``α_<l>`` for each layer and ``share below one``
        (a fraction). Chapter: "The depth function", "The constant added in the base".
    """
    offsets = _check_values("offsets", offsets, what="offset")
    bad = [layer for layer in layers if not 1 <= layer <= L]
    if bad:
        raise ValueError(f"layers={tuple(layers)!r} is not valid; expected layers between 1 and L = {L}")
    rows = []
    for c in offsets:
        d = T.depth_numbers(L, V, offset=float(c))
        rows.append(
            {"c": c, **{f"α_{layer}": d["alphas"][layer - 1] for layer in layers}, "share below one": d["share_below"]}
        )
    return pd.DataFrame(rows)


def plot_offset_sweep(shifted: pd.DataFrame, L: int, V: float, target_share: float) -> Figure:
    """Left: the early factors against the offset; right: the share of layers below one
    against the offset, with the paper's target share. ``shifted`` is the output of
    :func:`offset_sweep`. Returns a 6.8 × 2.6 in Figure with two axes. Chapter: "The depth function"."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(6.8, 2.6))
    for column in (c for c in shifted.columns if c.startswith("α_")):
        axes[0].plot(shifted["c"], shifted[column], label=f"${column}$".replace("α_", r"\alpha_"))
    axes[0].axhline(1, color="0.5", lw=0.8)
    axes[0].set(
        xlabel="offset $c$", ylabel=r"$\alpha_l$", title=f"early factors, $\\ln(l + c)$, $L$ = {L}, $V$ = {V:g}"
    )
    axes[0].legend(fontsize=9)
    axes[1].plot(shifted["c"], 100 * shifted["share below one"])
    axes[1].axhline(100 * target_share, color="C3", lw=0.8, ls="--", label=f"{100 * target_share:.0f} percent")
    axes[1].set(xlabel="offset $c$", ylabel="% of layers 2..L below one", title="share below one")
    axes[1].legend(fontsize=9)
    fig.tight_layout()
    return fig


def share_by_variance(L: int, Vs: Sequence[float]) -> pd.DataFrame:
    """The share of layers 2..L below one for the log reading ln l at each network variance.

    Returns:
        A DataFrame with columns ``V`` and ``share below one`` (a fraction).
        Chapter: "The depth function", "33 percent weights should be below one scale".
    """
    Vs = _check_values("Vs", Vs, what="network variance")
    return pd.DataFrame({"V": Vs, "share below one": [T.depth_numbers(L, float(v))["share_below"] for v in Vs]})


def plot_share_by_variance(shares: pd.DataFrame, L: int, V: float, target_share: float) -> Figure:
    """The share below one against V (:func:`share_by_variance`), with the target share and
    the chapter's V marked. Returns a 6.5 × 3.2 in Figure with one axes. Chapter: "The depth function"."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 3.2))
    ax.plot(shares["V"], 100 * np.array(shares["share below one"]))
    ax.axhline(100 * target_share, color="C3", lw=0.8, ls="--", label=f"{100 * target_share:.0f} percent")
    ax.axvline(V, color="0.5", lw=0.8, label=f"V = {V:g}")
    ax.set(
        xscale="log",
        xlabel="network variance $V$",
        ylabel="% of layers 2..L below one",
        title=f"log reading, $\\ln l$, $L$ = {L}",
    )
    ax.legend(fontsize=9)
    return fig


def schedule_curves(depths: Sequence[int], variances: Sequence[float]) -> pd.DataFrame:
    """α_l of ``depthinit.alphas(L, schedule="increasing", network_variance=V)`` for layers
    2..L, for every depth and variance.

    Returns:
        A long DataFrame with columns ``L`` ("L = 54"), ``V`` ("V = 22"), ``layer l`` and
        ``alpha``. Chapter: "The depth function", "The schedules for other depths and variances".
    """
    rows = []
    for depth in _check_depths(depths):
        for variance in _check_values("variances", variances, what="network variance"):
            a = depthinit.alphas(depth, schedule="increasing", network_variance=variance)
            rows += [
                {"L": f"L = {depth}", "V": f"V = {variance:g}", "layer l": i, "alpha": a[i - 1]}
                for i in range(2, depth + 1)
            ]
    return pd.DataFrame(rows)


def plot_schedule_grid(curves: pd.DataFrame) -> Figure:
    """One panel per depth of :func:`schedule_curves`, a line per network variance and the
    line α = 1 (seaborn ``relplot``, four panels a row, 2.8 in high). Returns the Figure.
    Chapter: "The depth function"."""
    import seaborn as sns

    grid = sns.relplot(
        data=curves,
        x="layer l",
        y="alpha",
        hue="V",
        col="L",
        kind="line",
        col_wrap=4,
        height=2.8,
        aspect=1.0,
        facet_kws={"sharex": False},
    )
    for ax in grid.axes.flat:
        ax.axhline(1.0, color="0.5", lw=0.8)
    grid.set_titles("{col_name}")
    grid.set_axis_labels("layer $l$", r"$\alpha_l$")
    return grid.figure


def confidence_ranges(frame: pd.DataFrame | None = None) -> dict[str, str]:
    """The equations of each confidence level as ranges, ``"(1)–(23), (48)"``, from
    :func:`depthinit.theory.equation_frame` (``frame``; all 47 by default).

    Returns:
        A dict from each level of :data:`depthinit.theory.CONFIDENCES` that has equations to
        its ranges. Chapter: "The depth function", the closing note.
    """
    frame = T.equation_frame() if frame is None else frame
    ranges: dict[str, str] = {}
    for level in T.CONFIDENCES:
        numbers = frame.loc[frame["confidence"] == level, "equation"].tolist()
        if not numbers:
            continue
        runs: list[str] = []
        start = numbers[0]
        for a, b in zip(numbers, numbers[1:] + [None]):
            if b != a + 1:
                runs.append(f"({start})" if start == a else f"({start})–({a})")
                start = b
        ranges[level] = ", ".join(runs)
    return ranges


def equation_markdown(frame: pd.DataFrame | None = None) -> str:
    """The equation registry as a Markdown table: number, expression, confidence and why.
    Chapter: "The depth function", the closing note."""
    frame = T.equation_frame() if frame is None else frame
    lines = ["| eq. | expression | confidence | why |", "|---|---|---|---|"]
    for _, row in frame.iterrows():
        lines.append(f"| ({row['equation']}) | ${row['latex']}$ | {row['confidence']} | {row['why']} |")
    return "\n".join(lines)
