"""Computations and figures of the chapter "The reparameterization theorem".

The chapter gives the He-equivalent factors of the paper's network for each schedule
(:func:`he_equivalents`, :func:`factor_table`, :func:`plot_lr_scales`) and trains the
network beside its He equivalent in float64 (:func:`side_by_side_runs`,
:func:`side_by_side_table`, :func:`plot_side_by_side`). The theorem and the training
harness are :func:`depthinit.theory.he_equivalent` and
:func:`depthinit.theory.compare_reparameterized`; this module runs them with the chapter's
parameters and returns dictionaries, DataFrames, floats and figures.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import torch
from torch import nn

import depthinit
import depthinit.theory as T
from depthinit.theory import HeEquivalent, ReparameterizedRun

from ._checks import check_variance

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: The optimizer label of the exact Adam run of :func:`side_by_side_runs`.
ADAM_SCALED = "Adam, ε scaled"
#: The optimizer label of the SGD runs of :func:`side_by_side_runs`.
SGD_MOMENTUM = "SGD, momentum 0.9"
#: The two ε of the Adam runs with one ε on both sides.
SAME_EPS: tuple[float, float] = (1e-8, 1e-12)
#: The columns of :func:`side_by_side_table`.
TABLE_COLUMNS: tuple[str, ...] = (
    "schedule",
    "optimizer",
    "largest relative difference",
    "final loss (depth)",
    "init_ vs √α U (float32 sampler)",
)
_DIFFS = ["output_rel_diff", "weight_rel_diff", "bias_rel_diff"]


def same_eps_label(eps: float) -> str:
    """The optimizer label of the Adam run with one ``eps`` on both sides (``"Adam, one ε = 1e-08"``)."""
    return f"Adam, one ε = {eps:.0e}"


def _check_schedules(schedules: Sequence[str]) -> None:
    if len(schedules) == 0:
        raise ValueError("schedules=() is not valid; expected at least one depth schedule")


def he_equivalents(
    model: nn.Module, schedules: Sequence[str], *, V: float, offset: float = 0.0
) -> dict[str, HeEquivalent]:
    """The He-equivalent form (:func:`depthinit.theory.he_equivalent`) of ``model``'s ``depth``
    plan under each schedule.

    Args:
        model: the network (e.g. the paper's ``MLP``).
        schedules: depth schedules (at least one).
        V: network variance (finite, > 0); offset: offset c of the log depth function.

    Returns:
        ``{schedule: HeEquivalent}`` in the order of ``schedules``.

    Chapter: "The reparameterization theorem" (section "The factors of the paper's network").
    """
    _check_schedules(schedules)
    check_variance(V)
    return {
        s: T.he_equivalent(depthinit.plan(model, "depth", schedule=s, network_variance=V, offset=offset))
        for s in schedules
    }


def factor_table(equivalents: Mapping[str, HeEquivalent]) -> pd.DataFrame:
    """One row per schedule: the output scale √V, the largest and smallest SGD factor 1/α_l,
    the factor at layer 2 and at layer L, and the bias factor 1/V at layer L.

    Args:
        equivalents: the output of :func:`he_equivalents` (non-empty).

    Returns:
        A DataFrame indexed by ``schedule``; the columns that name L use the number of layers.

    Chapter: "The reparameterization theorem".
    """
    if not equivalents:
        raise ValueError("equivalents is empty; expected the output of he_equivalents")
    rows = []
    for s, eq in equivalents.items():
        L = len(eq.lr_scale)
        rows.append(
            {
                "schedule": s,
                "output scale √V": eq.output_scale,
                "largest SGD factor": max(eq.lr_scale),
                "smallest SGD factor": min(eq.lr_scale),
                "at layer 2": eq.lr_scale[1],
                f"at layer {L}": eq.lr_scale[-1],
                f"bias factor at layer {L} (1/V)": eq.bias_lr_scale[-1],
            }
        )
    return pd.DataFrame(rows).set_index("schedule")


def lr_numbers(equivalents: Mapping[str, HeEquivalent]) -> dict[str, float]:
    """The increasing schedule's SGD factors at layer 2 and at layer L, by glue name
    (``inc-lr-2``, ``inc-lr-L``); empty when ``equivalents`` has no increasing schedule.

    Chapter: "The reparameterization theorem".
    """
    if "increasing" not in equivalents:
        return {}
    inc = equivalents["increasing"]
    return {"inc-lr-2": float(inc.lr_scale[1]), "inc-lr-L": float(inc.lr_scale[-1])}


def plot_lr_scales(equivalents: Mapping[str, HeEquivalent], *, V: float) -> Figure:
    """The per-layer SGD factor 1/α_l of each schedule against the layer (log scale).

    Args:
        equivalents: the output of :func:`he_equivalents` (non-empty).
        V: the network variance, for the title.

    Returns:
        A 6.8 × 3.6 in matplotlib Figure with one axes and a legend.

    Chapter: "The reparameterization theorem" (figure "fig-lr-scales").
    """
    import matplotlib.pyplot as plt

    if not equivalents:
        raise ValueError("equivalents is empty; expected the output of he_equivalents")
    L = len(next(iter(equivalents.values())).lr_scale)
    fig, ax = plt.subplots(figsize=(6.8, 3.6))
    for s, eq in equivalents.items():
        ax.plot(np.arange(1, L + 1), eq.lr_scale, label=s)
    ax.axhline(1.0, color="0.6", lw=0.8)
    ax.set(
        yscale="log",
        xlabel="layer $l$",
        ylabel=r"SGD learning-rate factor $1/\alpha_l$",
        title=f"He-equivalent learning rates, L = {L}, V = {V:g}",
    )
    ax.legend(fontsize=9)
    return fig


def side_by_side_runs(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    schedules: Sequence[str],
    steps: int,
    lr_sgd: float,
    lr_adam: float,
    V: float,
    offset: float = 0.0,
    seed: int = 0,
) -> dict[tuple[str, str], ReparameterizedRun]:
    """Train ``model`` under depth schedules beside its He equivalent
    (:func:`depthinit.theory.compare_reparameterized`, full batch, float64).

    One generator seeded with ``seed`` is shared by the runs, in this order: SGD with
    momentum 0.9 at ``lr_sgd`` for every schedule but ``"constant"``; then, for the first
    of these, Adam at ``lr_adam`` with ε scaled (exact), and Adam with one ε on both sides
    for each ε of :data:`SAME_EPS`, both from the same generator state (the same networks).

    Args:
        model: the network; x, y: the training batch (inputs and integer labels).
        schedules: depth schedules; at least one must differ from ``"constant"``.
        steps: optimizer steps (>= 0); lr_sgd, lr_adam: learning rates.
        V: network variance; offset: offset c of the log depth function; seed: generator seed.

    Returns:
        ``{(schedule, optimizer label): ReparameterizedRun}`` in the order above.

    Chapter: "The reparameterization theorem" (section "Checked by training").
    """
    trained = [s for s in schedules if s != "constant"]
    if not trained:
        raise ValueError(f"schedules={tuple(schedules)!r} is not valid; expected at least one schedule but 'constant'")
    check_variance(V)
    gen = torch.Generator().manual_seed(seed)
    depth: dict[str, Any] = {"network_variance": V, "offset": offset}
    runs: dict[tuple[str, str], ReparameterizedRun] = {}
    for schedule in trained:
        runs[(schedule, SGD_MOMENTUM)] = T.compare_reparameterized(
            model,
            x,
            y,
            generator=gen,
            steps=steps,
            lr=lr_sgd,
            optimizer="sgd",
            momentum=0.9,
            schedule=schedule,
            **depth,
        )
    first = trained[0]
    runs[(first, ADAM_SCALED)] = T.compare_reparameterized(
        model, x, y, generator=gen, steps=steps, lr=lr_adam, optimizer="adam", schedule=first, scale_eps=True, **depth
    )
    state = gen.get_state()
    for eps in SAME_EPS:  # the same networks, only ε differs
        gen.set_state(state)
        runs[(first, same_eps_label(eps))] = T.compare_reparameterized(
            model,
            x,
            y,
            generator=gen,
            steps=steps,
            lr=lr_adam,
            optimizer="adam",
            schedule=first,
            scale_eps=False,
            eps=eps,
            **depth,
        )
    return runs


def side_by_side_table(runs: Mapping[tuple[str, str], ReparameterizedRun]) -> pd.DataFrame:
    """One row per run of :func:`side_by_side_runs`, with columns :data:`TABLE_COLUMNS`: the
    largest relative difference over the run, the depth network's final loss, and how far
    ``init_`` lands from √α_l U_l.

    Chapter: "The reparameterization theorem".
    """
    if not runs:
        raise ValueError("runs is empty; expected the output of side_by_side_runs")
    return pd.DataFrame(
        [
            {
                "schedule": s,
                "optimizer": o,
                "largest relative difference": r.max_rel_diff,
                "final loss (depth)": r.trajectory["loss_depth"].iloc[-1],
                "init_ vs √α U (float32 sampler)": r.init_rel_diff,
            }
            for (s, o), r in runs.items()
        ],
        columns=list(TABLE_COLUMNS),
    )


def side_by_side_numbers(runs: Mapping[tuple[str, str], ReparameterizedRun]) -> dict[str, float]:
    """The numbers the chapter quotes from :func:`side_by_side_runs`, by glue name.

    Returns:
        Plain floats: ``max-exact`` (largest difference of the SGD and scaled-ε Adam runs),
        ``eps-step-1`` (the one-ε run with ε = 1e-8 after its first step), ``max-eps`` and
        ``max-eps-small`` (the one-ε runs over the whole run) and ``init-diff`` (the largest
        ``init_rel_diff``).

    Chapter: "The reparameterization theorem".
    """
    firsts = [s for s, o in runs if o == ADAM_SCALED]
    if not firsts:
        raise ValueError("runs has no scaled-ε Adam run; expected the output of side_by_side_runs")
    first = firsts[0]
    big, small = (runs[(first, same_eps_label(eps))] for eps in SAME_EPS)
    exact = [r.max_rel_diff for (s, o), r in runs.items() if "one ε" not in o]
    one_eps = big.trajectory
    worst_eps = one_eps[_DIFFS].max(axis=1)
    return {
        "max-exact": float(max(exact)),
        "eps-step-1": float(worst_eps.iloc[min(1, len(one_eps) - 1)]),
        "max-eps": float(big.max_rel_diff),
        "max-eps-small": float(small.max_rel_diff),
        "init-diff": float(max(r.init_rel_diff for r in runs.values())),
    }


def plot_side_by_side(runs: Mapping[tuple[str, str], ReparameterizedRun]) -> Figure:
    """Two panels: the training loss of each depth network (thick) and of its He equivalent
    (dashed), and the largest relative difference of outputs, weights and biases per step
    (log scale, clipped at 1e-18).

    Returns:
        A 6.8 × 2.5 in matplotlib Figure with two axes, each with a legend.

    Chapter: "The reparameterization theorem" (figure "fig-side-by-side").
    """
    import matplotlib.pyplot as plt

    if not runs:
        raise ValueError("runs is empty; expected the output of side_by_side_runs")
    fig, axes = plt.subplots(1, 2, figsize=(6.8, 2.5))
    for i, ((schedule, opt), run) in enumerate(runs.items()):
        t = run.trajectory
        axes[0].plot(t["step"], t["loss_depth"], color=f"C{i}", lw=2, alpha=0.5, label=f"{schedule}, {opt}: depth")
        axes[0].plot(t["step"], t["loss_he"], color=f"C{i}", lw=1, ls="--", label="He equivalent")
        worst = t[_DIFFS].max(axis=1)
        axes[1].plot(t["step"], worst.clip(lower=1e-18), color=f"C{i}", label=f"{schedule}, {opt}")
    axes[0].set(xlabel="step", ylabel="training loss", title="the two networks")
    axes[0].legend(fontsize=9)
    axes[1].set(yscale="log", xlabel="step", ylabel="largest relative difference", title="outputs, weights and biases")
    axes[1].legend(fontsize=9)
    fig.tight_layout()
    return fig


__all__ = [
    "ADAM_SCALED",
    "SAME_EPS",
    "SGD_MOMENTUM",
    "TABLE_COLUMNS",
    "factor_table",
    "he_equivalents",
    "lr_numbers",
    "plot_lr_scales",
    "plot_side_by_side",
    "same_eps_label",
    "side_by_side_numbers",
    "side_by_side_runs",
    "side_by_side_table",
]
