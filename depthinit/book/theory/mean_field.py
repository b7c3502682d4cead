"""The computations and figures of the chapter "Mean-field signal propagation"
(notebooks/theory_mean_field.ipynb).

The maps themselves (arc-cosine map, tanh length and correlation maps, the order-chaos
edge, the Monte Carlo of ReLU chains) live in :mod:`depthinit.theory`; this module
iterates them over the chapter's parameters, builds its tables and draws its figures:

* :func:`derivation_latex`: the SymPy results the chapter shows, as LaTeX;
* :func:`relu_traces` and :func:`plot_relu_map`: the ReLU map and 1 − c_l over depth;
* :func:`tanh_edge` and :func:`tanh_phases`: the order-chaos edge of tanh and the three
  phases at one bias variance;
* :func:`trace_two_inputs`, :func:`two_input_summary`, :func:`two_input_stats` and
  :func:`plot_two_inputs`: two inputs through random networks of the paper's shape.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import sympy as sp
import torch

import depthinit
import depthinit.theory as T

from ._checks import check_int, check_variance

__all__ = [
    "PHASES",
    "derivation_latex",
    "plot_relu_map",
    "plot_two_inputs",
    "relu_traces",
    "tanh_edge",
    "tanh_phases",
    "trace_two_inputs",
    "two_input_stats",
    "two_input_summary",
]

#: The three phases of :func:`tanh_phases`: a factor on the critical σ_w² and its name.
PHASES: tuple[tuple[float, str], ...] = ((0.7, "ordered"), (1.0, "critical"), (1.6, "chaotic"))

#: The columns of :func:`trace_two_inputs`.
TRACE_COLUMNS = ("layer", "c_1", "scheme", "measured", "spread", "map", "one step")


def _check_correlations(c0: object, *, non_negative: bool = False) -> tuple[float, ...]:
    if isinstance(c0, str) or not isinstance(c0, Sequence) or len(c0) == 0:
        raise ValueError(f"c0={c0!r} is not valid; expected a non-empty sequence of correlations in [-1, 1]")
    lo = 0.0 if non_negative else -1.0
    out = []
    for c in c0:
        if isinstance(c, bool) or not isinstance(c, int | float | np.floating) or not lo <= float(c) <= 1.0:
            raise ValueError(f"c0={c0!r} is not valid; expected correlations in [{lo:g}, 1], got {c!r}")
        out.append(float(c))
    return tuple(out)


def derivation_latex() -> dict[str, str]:
    """The SymPy results of the chapter's ReLU section as LaTeX, keyed by the glue name.

    Returns ``{"radial", "angular", "kernel", "relu-map", "relu-slope", "relu-expansion",
    "relu-convex"}``: the two integrals of :func:`depthinit.theory.relu_kernel_derivation`,
    the arc-cosine kernel, the correlation map C(c), its slope, its expansion at
    c = 1 − ε and its second derivative, each with its left-hand side. The chapter glues
    each as ``Math(latex)``.
    """
    kernel = T.relu_kernel_derivation()
    c = sp.Symbol("c", real=True)
    slope = T.relu_correlation_slope()
    return {
        "radial": r"\int_0^\infty \frac{r^3 e^{-r^2/2}}{2\pi}\,dr = " + sp.latex(kernel["radial"]),
        "angular": r"\int_{\theta-\pi/2}^{\pi/2} \cos\varphi\,\cos(\varphi-\theta)\,d\varphi = "
        + sp.latex(kernel["angular"]),
        "kernel": r"\operatorname{E}[\mathrm{relu}(u)\,\mathrm{relu}(v)] = " + sp.latex(kernel["kernel"]),
        "relu-map": T.latex(T.relu_correlation_expression()),
        "relu-slope": r"\frac{dC}{dc} = " + sp.latex(slope["slope"]),
        "relu-expansion": r"C(1-\varepsilon) = " + sp.latex(slope["expansion"]) + r" + O(\varepsilon^2)",
        "relu-convex": r"\frac{d^2C}{dc^2} = " + sp.latex(sp.simplify(sp.diff(kernel["map"], c, 2))),
    }


def relu_traces(c0: Sequence[float], L: int) -> dict[float, np.ndarray]:
    """The bias-free ReLU correlation map iterated from each starting correlation.

    Args:
        c0: starting correlations c_1, each in [-1, 1].
        L: number of layers to iterate (>= 1).

    Returns:
        ``{c_1: array of c_1..c_{L+1}}`` (:func:`depthinit.theory.iterate_correlation`).
        Chapter: "Mean-field signal propagation", the ReLU section.
    """
    starts = _check_correlations(c0)
    L = check_int("L", L)
    return {c: T.iterate_correlation(c, L) for c in starts}


def plot_relu_map(traces: Mapping[float, np.ndarray], L: int) -> Any:
    """The figure ``fig-relu-map``: left, the ReLU map C(c) against the identity; right,
    1 − c_l over the layers for each trace of :func:`relu_traces`, against the asymptote
    9π²/(2 l²). ``L`` is the number of layers the traces were iterated. Returns the Figure."""
    import matplotlib.pyplot as plt

    L = check_int("L", L)
    if not traces or any(len(t) != L + 1 for t in traces.values()):
        raise ValueError(f"traces must be non-empty, each of length L + 1 = {L + 1} (from relu_traces(c0, L))")
    grid = np.linspace(-1, 1, 401)
    fig, axes = plt.subplots(1, 2, figsize=(6.8, 2.7))
    axes[0].plot(grid, T.relu_correlation_map(grid), label="ReLU map $C(c)$")
    axes[0].plot(grid, grid, color="0.6", lw=0.8, label="identity")
    axes[0].set(xlabel="$c_l$", ylabel="$c_{l+1}$", title="one layer")
    axes[0].legend(fontsize=9)
    layers = np.arange(1, L + 2)
    for c_start, trace in traces.items():
        axes[1].plot(layers, 1 - trace, label=f"$c_1$ = {c_start:g}")
    axes[1].plot(layers[5:], 9 * math.pi**2 / (2 * layers[5:] ** 2), "k--", lw=1, label=r"$9\pi^2/(2l^2)$")
    axes[1].set(xscale="log", yscale="log", xlabel="layer $l$", ylabel="$1 - c_l$", title=f"{L} layers")
    axes[1].legend(fontsize=9)
    fig.tight_layout()
    return fig


def _check_bias(sigma_b2: object) -> float:
    if isinstance(sigma_b2, bool) or not isinstance(sigma_b2, int | float | np.floating) or not sigma_b2 >= 0:
        raise ValueError(f"sigma_b2={sigma_b2!r} is not valid; expected a bias variance >= 0")
    return float(sigma_b2)


def tanh_edge(sigma_b2: Sequence[float]) -> pd.DataFrame:
    """The order-chaos edge of tanh for each bias variance.

    Args:
        sigma_b2: bias variances (each >= 0).

    Returns:
        A DataFrame with columns ``sigma_b2``, ``critical sigma_w2``
        (:func:`depthinit.theory.critical_init`) and ``q*`` (the length map's fixed point
        there). Chapter: "Mean-field signal propagation", the tanh section.
    """
    if isinstance(sigma_b2, str) or not isinstance(sigma_b2, Sequence) or len(sigma_b2) == 0:
        raise ValueError(f"sigma_b2={sigma_b2!r} is not valid; expected a non-empty sequence of variances >= 0")
    for b in sigma_b2:
        _check_bias(b)
    edge = pd.DataFrame(
        {"sigma_b2": list(sigma_b2), "critical sigma_w2": [T.critical_init("tanh", float(b)) for b in sigma_b2]}
    )
    edge["q*"] = [
        T.length_fixed_point("tanh", s, float(b)) for s, b in zip(edge["critical sigma_w2"], edge["sigma_b2"])
    ]
    return edge


def tanh_phases(sigma_b2: float, *, layers: int = 40, c_start: float = 0.5) -> pd.DataFrame:
    """tanh below, at and above the order-chaos edge at one bias variance.

    For each of :data:`PHASES` (0.7, 1 and 1.6 times the critical σ_w²), iterates the
    correlation map at the length fixed point ``layers`` times from ``c_start``.

    Args:
        sigma_b2: the bias variance (>= 0).
        layers: number of iterations (>= 1).
        c_start: the starting correlation, in [-1, 1].

    Returns:
        A DataFrame with columns ``phase``, ``sigma_w2``, ``chi_1`` and
        ``c after 40 layers from 0.5`` (the name follows ``layers`` and ``c_start``).
        Chapter: "Mean-field signal propagation", the tanh section.
    """
    b = _check_bias(sigma_b2)
    layers = check_int("layers", layers)
    (start,) = _check_correlations([c_start])
    critical = T.critical_init("tanh", b)
    rows = []
    for factor, name in PHASES:
        sw = factor * critical
        c_star = start
        for _ in range(layers):  # iterate the map at q* towards its stable fixed point
            c_star = float(T.correlation_map(c_star, activation="tanh", sigma_w2=sw, sigma_b2=b))
        rows.append(
            {
                "phase": name,
                "sigma_w2": sw,
                "chi_1": T.chi_1("tanh", sw, b),
                f"c after {layers} layers from {c_start:g}": c_star,
            }
        )
    return pd.DataFrame(rows)


def trace_two_inputs(c0: Sequence[float], *, L: int, width: int, V: float, n_networks: int, seed: int) -> pd.DataFrame:
    """Pairs of inputs through random bias-free ReLU networks of the paper's shape.

    For each starting correlation, ``n_networks`` chains of ``L`` layers (``L - 1`` hidden
    layers of ``width`` units and 10 outputs, :func:`depthinit.theory.simulate_chain` with
    two inputs) under He's initialization; for the first correlation also under the
    increasing depth schedule with network variance ``V``, drawn from the same generator
    state (its weights are √α_l times He's). One generator seeded with ``seed`` draws
    everything, in this order.

    Args:
        c0: starting correlations, each in [0, 1].
        L: weight layers (>= 2).
        width: hidden width (>= 1).
        V: network variance of the increasing schedule (> 0).
        n_networks: random networks per pair and scheme (>= 2).
        seed: the generator's seed.

    Returns:
        A DataFrame with :data:`TRACE_COLUMNS`: ``layer`` 1..L, ``c_1``, ``scheme``
        ("He" or "increasing"), the ``measured`` mean and ``spread`` (std) over networks of
        the cosine of the inputs of each layer, the iterated ``map`` and the ``one step``
        map applied to each network's own correlation one layer below (c_1 at layer 1).
        Chapter: "Mean-field signal propagation", "Two inputs through the paper's network".
    """
    starts = _check_correlations(c0, non_negative=True)
    L = check_int("L", L, minimum=2)
    width = check_int("width", width)
    n_networks = check_int("n_networks", n_networks, minimum=2)
    check_variance(V)
    gen = torch.Generator().manual_seed(seed)
    widths = [width] * (L - 1) + [10]
    alphas = [float(a) for a in depthinit.alphas(L, schedule="increasing", network_variance=V)]
    rows = []
    for c_start in starts:
        schemes = (("He", None), ("increasing", alphas)) if c_start == starts[0] else (("He", None),)
        state = gen.get_state()
        for scheme, factors in schemes:
            gen.set_state(state)  # the same draws: the increasing network is sqrt(alpha_l) times He's
            sim = T.simulate_chain(
                widths, n_networks=n_networks, generator=gen, batch_size=2, input_correlation=c_start, alphas=factors
            )
            corr = sim["correlation"]  # cosine of the inputs of layers 1..L
            one_step = np.asarray(T.relu_correlation_map(np.clip(corr[:, :-1], -1, 1))).mean(axis=0)
            rows.append(
                pd.DataFrame(
                    {
                        "layer": np.arange(1, L + 1),
                        "c_1": c_start,
                        "scheme": scheme,
                        "measured": corr.mean(axis=0),
                        "spread": corr.std(axis=0),
                        "map": T.iterate_correlation(c_start, L - 1),
                        "one step": np.concatenate([[c_start], one_step]),
                    }
                )
            )
    return pd.concat(rows, ignore_index=True)


def _check_traced(traced: object) -> pd.DataFrame:
    if not isinstance(traced, pd.DataFrame) or not set(TRACE_COLUMNS) <= set(traced.columns) or traced.empty:
        raise ValueError(f"traced must be a non-empty DataFrame with columns {TRACE_COLUMNS} (from trace_two_inputs)")
    return traced


def two_input_summary(traced: pd.DataFrame, n_networks: int) -> pd.DataFrame:
    """What separates the measured mean correlation from the map, per starting correlation.

    Args:
        traced: the frame of :func:`trace_two_inputs`.
        n_networks: the networks per pair it was measured on (>= 1), for the standard error.

    Returns:
        A DataFrame indexed by ``c_1`` (He only, means over layers 2..L) with columns
        ``measured − map``, ``Jensen: E[C(ĉ)] − C(E[ĉ])``, ``measured − one step``,
        ``largest |measured − map|`` and ``standard error per layer``.
        Chapter: "Mean-field signal propagation".
    """
    traced = _check_traced(traced)
    n_networks = check_int("n_networks", n_networks)
    he = traced[traced["scheme"] == "He"]
    summary = []
    for c_start in he["c_1"].unique():
        part = he[(he["c_1"] == c_start) & (he["layer"] >= 2)]
        jensen = part["one step"] - T.relu_correlation_map(
            np.clip(he[he["c_1"] == c_start]["measured"].to_numpy()[:-1], -1, 1)
        )
        summary.append(
            {
                "c_1": c_start,
                "measured − map": float((part["measured"] - part["map"]).mean()),
                "Jensen: E[C(ĉ)] − C(E[ĉ])": float(jensen.mean()),
                "measured − one step": float((part["measured"] - part["one step"]).mean()),
                "largest |measured − map|": float((part["measured"] - part["map"]).abs().max()),
                "standard error per layer": float((part["spread"] / math.sqrt(n_networks)).mean()),
            }
        )
    return pd.DataFrame(summary).set_index("c_1")


def two_input_stats(traced: pd.DataFrame) -> dict[str, float]:
    """Two numbers of the chapter's prose, as plain floats.

    Returns ``{"inc-vs-he", "spread-mid"}``: the largest difference between the increasing
    schedule's and He's mean correlation (first pair), and the spread over networks of He's
    correlation at layer min(10, L) for the first pair. ``traced`` is the frame of
    :func:`trace_two_inputs`. Chapter: "Mean-field signal propagation".
    """
    traced = _check_traced(traced)
    first = traced["c_1"].iloc[0]
    he = traced[traced["scheme"] == "He"]
    inc = traced[traced["scheme"] == "increasing"]["measured"].to_numpy()
    he_first = he[he["c_1"] == first]["measured"].to_numpy()
    if len(inc) != len(he_first):
        raise ValueError("traced must hold the increasing schedule for its first pair (from trace_two_inputs)")
    L = int(traced["layer"].max())
    return {
        "inc-vs-he": float(np.abs(inc - he_first).max()),
        "spread-mid": float(he[(he["layer"] == min(10, L)) & (he["c_1"] == first)]["spread"].iloc[0]),
    }


def plot_two_inputs(traced: pd.DataFrame, width: int) -> Any:
    """The figure ``fig-two-inputs``: left, the measured mean correlation (solid: He, dots:
    increasing schedule) against the iterated map (dashed); right, measured minus the map
    and minus the one-step map. ``traced`` is the frame of :func:`trace_two_inputs`,
    ``width`` its hidden width (for the title). Returns the Figure."""
    import matplotlib.pyplot as plt

    traced = _check_traced(traced)
    fig, axes = plt.subplots(1, 2, figsize=(6.8, 2.6))
    for i, c_start in enumerate(traced["c_1"].unique()):
        part = traced[(traced["c_1"] == c_start) & (traced["scheme"] == "He")]
        inc = traced[(traced["c_1"] == c_start) & (traced["scheme"] == "increasing")]  # empty but for the first
        axes[0].plot(part["layer"], part["map"], color=f"C{i}", lw=1, ls="--")
        axes[0].plot(part["layer"], part["measured"], color=f"C{i}", lw=1.5, label=f"$c_1$ = {c_start:g}")
        axes[0].plot(inc["layer"], inc["measured"], color=f"C{i}", lw=0, marker=".", ms=3)
        axes[1].plot(part["layer"], part["measured"] - part["map"], color=f"C{i}", label=f"$c_1$ = {c_start:g}: vs map")
        axes[1].plot(
            part["layer"],
            part["measured"] - part["one step"],
            color=f"C{i}",
            ls=":",
            label=f"$c_1$ = {c_start:g}: vs one step",
        )
    axes[0].set(
        xlabel="layer $l$",
        ylabel="mean correlation of the inputs of layer $l$",
        title="measured (solid, dots: increasing) and map (dashed)",
    )
    axes[0].legend(fontsize=9)
    axes[1].axhline(0, color="0.6", lw=0.8)
    axes[1].set(xlabel="layer $l$", ylabel="measured − predicted", title=f"finite-width deviation, width {width}")
    axes[1].legend(fontsize=9)
    fig.tight_layout()
    return fig
