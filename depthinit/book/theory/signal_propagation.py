"""The computations and figures of the chapter "Signal propagation at initialization"
(notebooks/theory_signal_propagation.ipynb).

The predictions and measurements live in :mod:`depthinit.theory` (:func:`~depthinit.theory.predict`,
:func:`~depthinit.theory.sample_variances`, :func:`~depthinit.theory.lognormal_spread`);
this module assembles the chapter's figures and its study of one network's spread:

* :func:`plot_panels`: predicted against measured per scheme, forward and backward;
* :func:`tail_study`, :class:`TailStudy` and :func:`plot_tail`: the spread of the ratio
  measured / predicted over many He-initialized networks;
* :func:`width_comparison`: the same at two widths.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch

import depthinit
import depthinit.theory as T
from depthinit.models import MLP

from ._checks import check_int

__all__ = ["FAMILIES", "PANEL_COLUMNS", "TailStudy", "plot_panels", "plot_tail", "tail_study", "width_comparison"]

#: The scheme families of :func:`plot_panels`, one column each, in the chapter's order.
FAMILIES: tuple[str, ...] = ("He", "Glorot", "constant", "increasing", "decreasing")

#: The columns :func:`plot_panels` reads (the chapter's ``summary`` frame).
PANEL_COLUMNS: tuple[str, ...] = (
    "family",
    "distribution",
    "depth",
    *(
        f"{d}_{s}"
        for d in ("forward", "backward")
        for s in ("variance_pred", "median_factor", "variance_mean", "variance_median")
    ),
)


def plot_panels(data: pd.DataFrame, title: str, *, families: Sequence[str] = FAMILIES) -> Any:
    """The predicted-against-measured figure (``fig-cifar``): a 2 x 5 grid, one column per
    scheme family, forward (top) and backward (bottom) variance per layer on a log scale.

    Args:
        data: one input's rows of the chapter's ``summary`` frame, with :data:`PANEL_COLUMNS`
            (``family`` the first word of the configuration, ``distribution`` "normal" or
            "uniform"; ``*_variance_pred`` the prediction, ``*_median_factor`` the median over
            mean of :func:`depthinit.theory.lognormal_spread`, ``*_variance_mean`` and
            ``*_variance_median`` the measured mean and median over networks).
        title: the figure's title.
        families: the families to draw, one column each (default :data:`FAMILIES`).

    Returns:
        The Figure (6.8 x 4.2 in). Chapter: "Signal propagation at initialization".
    """
    import matplotlib.pyplot as plt

    missing = [c for c in PANEL_COLUMNS if not isinstance(data, pd.DataFrame) or c not in data.columns]
    if missing:
        raise ValueError(f"data must be a DataFrame with columns {PANEL_COLUMNS}; missing {missing}")
    if isinstance(families, str) or len(families) == 0:
        raise ValueError(f"families={families!r} is not valid; expected a non-empty sequence of family names")
    fig, axes = plt.subplots(2, len(families), figsize=(6.8, 4.2), sharex=True, squeeze=False)
    for col, family in enumerate(families):
        part = data[data["family"] == family]
        for row, direction in enumerate(("forward", "backward")):
            ax = axes[row, col]
            first = part[part["distribution"] == "normal"]
            ax.plot(first["depth"], first[f"{direction}_variance_pred"], color="k", lw=1.5, label="predicted mean")
            ax.plot(
                first["depth"],
                first[f"{direction}_variance_pred"] * first[f"{direction}_median_factor"],
                color="k",
                lw=1,
                ls="--",
                label="predicted median",
            )
            for color, distribution in zip(("C0", "C1"), ("normal", "uniform")):
                d = part[part["distribution"] == distribution]
                ax.plot(d["depth"], d[f"{direction}_variance_mean"], color=color, lw=1.2, label=f"{distribution}: mean")
                ax.plot(
                    d["depth"],
                    d[f"{direction}_variance_median"],
                    color=color,
                    lw=1,
                    ls=":",
                    label=f"{distribution}: median",
                )
            ax.set_yscale("log")
            if row == 0:
                ax.set_title(family)
            if col == 0:
                ax.set_ylabel(r"E$[y_l^2]$" if direction == "forward" else r"E$[\Delta x_l^2]$")
            if row == 1:
                ax.set_xlabel("layer $l$")
    axes[0, 0].legend(fontsize=9, loc="lower left")
    fig.suptitle(title, y=1.0)
    fig.tight_layout()
    return fig


@dataclass(frozen=True)
class TailStudy:
    """One He-initialized plain ReLU MLP measured on many random networks (:func:`tail_study`).

    Attributes:
        width: its hidden width.
        spread: :func:`depthinit.theory.lognormal_spread` for the batch (per ``depth``:
            ``forward_log_mean``, ``forward_log_variance``, ``forward_median_factor``, ...).
        one_input: the same for one example (the backward law of reference).
        forward: measured forward variance over its prediction, networks x depths.
        backward: measured backward variance over its prediction, networks x depths.
    """

    width: int
    spread: pd.DataFrame
    one_input: pd.DataFrame
    forward: pd.DataFrame
    backward: pd.DataFrame

    @property
    def depth(self) -> int:
        """The last layer's depth (L)."""
        return int(self.forward.columns[-1])

    @property
    def s2(self) -> float:
        """The predicted variance of the log ratio at the last layer."""
        return float(self.spread["forward_log_variance"].iloc[-1])

    @property
    def mu(self) -> float:
        """The predicted mean of the log ratio at the last layer."""
        return float(self.spread["forward_log_mean"].iloc[-1])

    @property
    def top(self) -> pd.Series:
        """The measured forward ratio at the last layer, one value per network."""
        return self.forward[self.depth]


def tail_study(L: int, width: int, xs: torch.Tensor, *, n_networks: int, generator: torch.Generator) -> TailStudy:
    """He's normal initialization of ``MLP(xs[0].numel(), 10, depth=L, width=width)`` measured
    on ``n_networks`` random networks with the batch ``xs``, against its prediction and the
    finite-width law of one network.

    The model is built with torch's global generator (as ``MLP`` always is); every
    initialization draws from ``generator``.

    Args:
        L: weight layers (>= 2).
        width: hidden width (>= 1).
        xs: the batch of inputs [B, features], B >= 2.
        n_networks: random networks (>= 2).
        generator: the generator the initializations draw from.

    Returns:
        A :class:`TailStudy`. Chapter: "Signal propagation at initialization", "Why one
        network is not the average".
    """
    L, width, n_networks = check_int("L", L, 2), check_int("width", width), check_int("n_networks", n_networks, 2)
    if not isinstance(xs, torch.Tensor) or xs.dim() < 2 or xs.shape[0] < 2:
        raise ValueError(f"xs must be a batch tensor [B, features] with B >= 2; got {type(xs).__name__}")
    model = MLP(xs[0].numel(), 10, depth=L, width=width)
    plan = depthinit.plan(model, "he")
    pred = T.predict(plan, input_second_moment=float(xs.pow(2).mean()))
    spread = T.lognormal_spread(plan, batch_size=len(xs), input_correlation=T.input_correlation(xs))
    one_input = T.lognormal_spread(plan)  # the backward law for one example, for reference
    tail = T.sample_variances(model, "he", xs, n_networks=n_networks, generator=generator)
    fwd = tail.pivot(index="network", columns="depth", values="forward_variance") / pred["forward_variance"].to_numpy()
    bwd = (
        tail.pivot(index="network", columns="depth", values="backward_variance") / pred["backward_variance"].to_numpy()
    )
    return TailStudy(width=width, spread=spread, one_input=one_input, forward=fwd, backward=bwd)


def plot_tail(study: TailStudy) -> Any:
    """The figure ``fig-tail``: left, the variance across networks of the log ratio per layer
    against its prediction; middle, the log ratio at the last layer against the Gaussian with
    the predicted mean and variance; right, median over mean per layer. Returns the Figure
    (6.8 x 2.6 in). Chapter: "Signal propagation at initialization"."""
    import matplotlib.pyplot as plt

    if not isinstance(study, TailStudy):
        raise ValueError(f"study must be a TailStudy (from tail_study); got {type(study).__name__}")
    fwd, bwd, spread, one_input = study.forward, study.backward, study.spread, study.one_input
    fig, axes = plt.subplots(1, 3, figsize=(6.8, 2.6))
    axes[0].plot(spread["depth"], spread["forward_log_variance"], "k--", label="forward, predicted (batch)")
    axes[0].plot(fwd.columns, np.log(fwd).var(), "C0", label="forward, measured")
    axes[0].plot(one_input["depth"], one_input["backward_log_variance"], "k:", label="backward, one example")
    axes[0].plot(bwd.columns, np.log(bwd).var(), "C1", label="backward, measured (batch)")
    axes[0].set(xlabel="layer $l$", ylabel="variance of the log ratio", title="spread across networks")
    axes[0].legend(fontsize=9)
    top = np.log(study.top)
    s2, mu = study.s2, study.mu
    grid = np.linspace(top.min() - 1, top.max() + 1, 300)
    axes[1].hist(top, bins=30, density=True, color="C0", alpha=0.6, label="measured")
    axes[1].plot(
        grid,
        np.exp(-((grid - mu) ** 2) / (2 * s2)) / math.sqrt(2 * math.pi * s2),
        "k--",
        label="Gaussian, predicted mean and variance",
    )
    axes[1].axvline(np.log(study.top.median()), color="C3", lw=1, label="median")
    axes[1].axvline(np.log(study.top.mean()), color="C2", lw=1, label="mean")
    axes[1].set(xlabel=r"$\ln(E[y_L^2] / \mathrm{prediction})$", title=f"last layer, {len(top)} networks")
    axes[1].legend(fontsize=9)
    axes[2].plot(fwd.columns, fwd.median() / fwd.mean(), "C0", label="forward, measured")
    axes[2].plot(spread["depth"], spread["forward_median_factor"], "k--", label=r"forward, $e^{E[\ln]}$")
    axes[2].plot(bwd.columns, bwd.median() / bwd.mean(), "C1", label="backward, measured")
    axes[2].set(xlabel="layer $l$", ylabel="median / mean", yscale="log", title="how far the typical network is")
    axes[2].legend(fontsize=9)
    fig.tight_layout()
    return fig


def width_comparison(*studies: TailStudy) -> pd.DataFrame:
    """The last layer's spread at several widths, predicted and measured.

    Args:
        studies: :class:`TailStudy` objects (one or more), e.g. at the paper's width and wider.

    Returns:
        A DataFrame with one row per study: ``width``, ``predicted s²``, ``measured s²``
        (the variance of the log ratio across networks), ``predicted median / mean``,
        ``measured median`` and ``measured mean`` (of the ratio). Chapter: "Signal
        propagation at initialization".
    """
    if not studies or not all(isinstance(s, TailStudy) for s in studies):
        raise ValueError("width_comparison needs one or more TailStudy objects (from tail_study)")
    return pd.DataFrame(
        {
            "width": [s.width for s in studies],
            "predicted s²": [s.s2 for s in studies],
            "measured s²": [float(np.log(s.top).var()) for s in studies],
            "predicted median / mean": [math.exp(s.mu) for s in studies],
            "measured median": [float(s.top.median()) for s in studies],
            "measured mean": [float(s.top.mean()) for s in studies],
        }
    )
