"""Computations and figures of the chapter "Finite width: why one network is not the average".

The notebook ``notebooks/theory_finite_width.ipynb`` calls these functions in order with one
shared :class:`torch.Generator`; each function draws from it in the order the chapter's
cells always did, so the chapter's numbers depend only on its seed. The algebra (exact
one-layer moments, batch factors, the log-normal spread, the chain simulation) lives in
:mod:`depthinit.theory`; this module only loops over the chapter's configurations,
tabulates and plots.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

import numpy as np
import pandas as pd
import torch

import depthinit
import depthinit.theory as T
from depthinit.models import MLP

from ._checks import check_int

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: Simulated networks at the paper's shape, by profile (the chapter's ``n_networks=None``).
PROFILE_NETWORKS: dict[str, int] = {"smoke": 40, "default": 300, "paper": 4000}
#: Sampled normals per one-layer check, by profile.
PROFILE_DRAWS: dict[str, int] = {"smoke": 200_000, "default": 2_000_000, "paper": 30_000_000}
#: The (batch size, input correlation) pairs of the batch table; ``None`` is the chapter's batch size.
BATCH_CASES: tuple[tuple[int | None, float], ...] = ((8, 0.5), (None, 0.0), (None, 0.9))

__all__ = [
    "BATCH_CASES",
    "PROFILE_DRAWS",
    "PROFILE_NETWORKS",
    "PaperShape",
    "backward_rate",
    "batch_overshoot",
    "batch_table",
    "failure_modes",
    "one_layer_table",
    "paper_shape",
    "plot_failure_modes",
    "plot_paper_shape",
    "profile_sizes",
    "sample_log_ratios",
    "widths_text",
]


def _check_widths(widths: Sequence[int]) -> list[int]:
    widths = list(widths)
    if not widths:
        raise ValueError(f"widths={widths!r} is not valid; expected at least one width")
    return [check_int("width", w) for w in widths]


def profile_sizes(profile: str, n_networks: int | None = None) -> tuple[int, int]:
    """The chapter's simulation sizes for a run profile.

    Args:
        profile: ``"smoke"``, ``"default"`` or ``"paper"``.
        n_networks: networks at the paper's shape; ``None`` takes the profile's number.

    Returns:
        ``(n_networks, draws)``: networks simulated at the paper's shape and sampled
        normals per one-layer check. Chapter: "Finite width".
    """
    if profile not in PROFILE_NETWORKS:
        raise ValueError(f"profile={profile!r} is not valid; expected one of {', '.join(map(repr, PROFILE_NETWORKS))}")
    if n_networks is not None:
        n_networks = check_int("n_networks", n_networks)
    return n_networks or PROFILE_NETWORKS[profile], PROFILE_DRAWS[profile]


def widths_text(widths: Sequence[int]) -> str:
    """``"16, 64 and 256"`` for ``(16, 64, 256)``: the widths as the chapter's prose names them."""
    widths = _check_widths(widths)
    if len(widths) == 1:
        return str(widths[0])
    return ", ".join(map(str, widths[:-1])) + f" and {widths[-1]}"


def sample_log_ratios(
    n_units: int,
    n: int,
    *,
    generator: torch.Generator,
    relu: bool = True,
    batch: int = 1,
    c: float = 0.0,
) -> np.ndarray:
    """ln of ``n`` sampled one-layer squared-norm ratios, each a mean over a batch of inputs.

    The pre-activations of ``n_units`` units are standard Gaussians, correlated across the
    ``batch`` inputs with correlation ``c`` (a common part √c z₀ plus √(1 − c) ε_b); the
    ratio is the mean over units and batch of 2 relu(z)² (``relu=True``, He's ReLU layer)
    or z² (a linear layer). Dead layers (ratio 0) are dropped.

    Args:
        n_units: the layer's width N (>= 1).
        n: the number of sampled layers (>= 1).
        generator: the source of every draw (two ``torch.randn`` calls, float64).
        relu: a ReLU layer with He's gain 2, or a linear one.
        batch: inputs per layer (>= 1).
        c: their pairwise pre-activation correlation, in [0, 1].

    Returns:
        A float64 array of at most ``n`` log ratios. Chapter: "Finite width".
    """
    n_units = check_int("n_units", n_units)
    n = check_int("n", n)
    batch = check_int("batch", batch)
    if not 0.0 <= c <= 1.0:
        raise ValueError(f"c={c!r} is not valid; expected a correlation in [0, 1]")
    common = torch.randn(n, 1, n_units, generator=generator, dtype=torch.float64)
    noise = torch.randn(n, batch, n_units, generator=generator, dtype=torch.float64)
    z = math.sqrt(c) * common + math.sqrt(1 - c) * noise
    r = (2 * torch.relu(z).pow(2) if relu else z.pow(2)).mean(dim=-1).mean(dim=-1)
    return torch.log(r[r > 0]).numpy()


def _sampled_row(s: np.ndarray) -> dict[str, float]:
    return {"Var sampled": s.var(), "± (s.e.)": s.var() * math.sqrt(2 / len(s))}


def one_layer_table(widths: Sequence[int], output_dim: int, *, draws: int, generator: torch.Generator) -> pd.DataFrame:
    """Exact, large-N and sampled moments of ln r for one layer, at each width and for the logits.

    For every width a ReLU and a linear layer, then the linear output layer of ``output_dim``
    units, each sampled ``max(10_000, draws // N)`` times (in that order, from ``generator``).

    Args:
        widths: the hidden widths checked (e.g. 16, 64, 256).
        output_dim: the number of logits.
        draws: the budget of sampled normals per check.
        generator: the source of every draw.

    Returns:
        A DataFrame indexed by (``layer``: "relu" / "linear" / "output", ``N``) with columns
        ``E[ln r] exact``, ``E[ln r] sampled``, ``Var exact``, ``Var order 1``,
        ``Var order 2``, ``Var sampled``, ``± (s.e.)``. Chapter: "Finite width", "One layer, exactly".
    """
    widths = _check_widths(widths)
    output_dim = check_int("output_dim", output_dim)
    draws = check_int("draws", draws)
    rows = []
    for n_units in widths:
        for kind in ("relu", "linear"):
            s = sample_log_ratios(n_units, max(10_000, draws // n_units), generator=generator, relu=kind == "relu")
            mean, var = T.log_ratio_moments(n_units, activation=kind)
            rows.append(
                {
                    "layer": kind,
                    "N": n_units,
                    "E[ln r] exact": mean,
                    "E[ln r] sampled": s.mean(),
                    "Var exact": var,
                    "Var order 1": T.log_ratio_moments(n_units, activation=kind, form="large_n")[1],
                    "Var order 2": T.log_ratio_moments(n_units, activation=kind, form="large_n", order=2)[1],
                    **_sampled_row(s),
                }
            )
    s = sample_log_ratios(output_dim, max(10_000, draws // output_dim), generator=generator, relu=False)
    mean, var = T.log_ratio_moments(output_dim, activation="linear")
    rows.append(
        {
            "layer": "output",
            "N": output_dim,
            "E[ln r] exact": mean,
            "E[ln r] sampled": s.mean(),
            "Var exact": var,
            "Var order 1": 2 / output_dim,
            "Var order 2": 2 / output_dim + 2 / output_dim**2,
            **_sampled_row(s),
        }
    )
    return pd.DataFrame(rows).set_index(["layer", "N"])


def batch_table(widths: Sequence[int], batch_size: int, *, draws: int, generator: torch.Generator) -> pd.DataFrame:
    """Predicted and sampled moments of ln r̄, the ratio averaged over a batch of correlated inputs.

    For every width the cases of :data:`BATCH_CASES` (a batch of 8 at c = 0.5, then
    ``batch_size`` inputs at c = 0 and at c = 0.9), each sampled
    ``max(4_000, draws // (N B))`` times from ``generator``, against
    :func:`depthinit.theory.batch_log_ratio_moments`.

    Args:
        widths: the widths checked.
        batch_size: the chapter's batch size B.
        draws: the budget of sampled normals per check.
        generator: the source of every draw.

    Returns:
        A DataFrame indexed by (``N``, ``B``, ``c``) with columns ``b`` (the batch factor),
        ``Var predicted``, ``Var sampled``, ``± (s.e.)``, ``E predicted``, ``E sampled``.
        Chapter: "Finite width", "A batch of inputs".
    """
    widths = _check_widths(widths)
    batch_size = check_int("batch_size", batch_size)
    draws = check_int("draws", draws)
    rows = []
    for n_units in widths:
        for batch_or_none, c in BATCH_CASES:
            batch = batch_size if batch_or_none is None else batch_or_none
            s = sample_log_ratios(
                n_units, max(4_000, draws // (n_units * batch)), generator=generator, batch=batch, c=c
            )
            mean, var = T.batch_log_ratio_moments(n_units, batch, c)
            rows.append(
                {
                    "N": n_units,
                    "B": batch,
                    "c": c,
                    "b": float(T.batch_factor(c, batch)),
                    "Var predicted": var,
                    **_sampled_row(s),
                    "E predicted": mean,
                    "E sampled": s.mean(),
                }
            )
    return pd.DataFrame(rows).set_index(["N", "B", "c"])


def batch_overshoot(table: pd.DataFrame, width: int = 16) -> float:
    """The largest relative excess, in percent, of the predicted over the sampled batch
    variance at ``width`` (a width of ``table``, the output of :func:`batch_table`).
    Chapter: "Finite width" (the effective-width rule at width 16)."""
    widths = table.index.get_level_values("N")
    if width not in set(widths):
        raise ValueError(f"width={width!r} is not valid; expected one of the table's widths {sorted(set(widths))}")
    rows = table.loc[width]
    return float((rows["Var predicted"] / rows["Var sampled"] - 1).max() * 100)


def failure_modes(
    output_dim: int,
    *,
    n_networks: int,
    generator: torch.Generator,
    widths: Sequence[int] = (16, 32, 64),
    depths: Sequence[int] = (10, 20, 40),
) -> pd.DataFrame:
    """Hanin and Rolnick's two failure modes, simulated under He and the increasing schedule.

    For every width N and depth L, a chain of L - 1 ReLU layers of width N and ``output_dim``
    logits is simulated ``n_networks`` times under He and, from the same draws (the
    generator's state is restored), under ``depthinit.alphas(L, schedule="increasing",
    network_variance=4.0)``.

    Args:
        output_dim: the number of logits.
        n_networks: networks per configuration (one input each).
        generator: the source of every draw.
        widths: the hidden widths.
        depths: the numbers of weight layers (>= 2).

    Returns:
        A DataFrame, one row per (N, L), with columns ``N``, ``L``, ``beta = sum 1/N``,
        ``predicted`` (exact variance of the log ratio at the top, :func:`depthinit.theory.lognormal_spread`),
        ``He``, ``increasing (V = 4)`` (measured variances), ``mean ratio, He`` and
        ``mean ratio, increasing`` (mean of the ratio, the latter against V times He's
        prediction). Chapter: "Finite width", "Over the layers".
    """
    output_dim = check_int("output_dim", output_dim)
    n_networks = check_int("n_networks", n_networks)
    widths = _check_widths(widths)
    depths = [check_int("depth", d, minimum=2) for d in depths]
    rows = []
    for n_units in widths:
        for depth in depths:
            net_widths = [n_units] * (depth - 1) + [output_dim]
            a = depthinit.alphas(depth, schedule="increasing", network_variance=4.0)
            state = generator.get_state()
            he = T.simulate_chain(net_widths, n_networks=n_networks, generator=generator)["forward"][:, -1]
            generator.set_state(state)
            inc = T.simulate_chain(
                net_widths, n_networks=n_networks, generator=generator, alphas=cast(Sequence[float], a)
            )["forward"][:, -1]
            plan = depthinit.plan(MLP(n_units, output_dim, depth=depth, width=n_units), "he")
            rows.append(
                {
                    "N": n_units,
                    "L": depth,
                    "beta = sum 1/N": (depth - 1) / n_units,
                    "predicted": T.lognormal_spread(plan)["forward_log_variance"].iloc[-1],
                    "He": he.var(),
                    "increasing (V = 4)": inc.var(),
                    "mean ratio, He": np.exp(he).mean(),
                    # inc is measured against its own mean-field value, V times He's
                    "mean ratio, increasing": np.exp(inc).mean() * float(np.prod(a)),
                }
            )
    return pd.DataFrame(rows)


def plot_failure_modes(modes: pd.DataFrame) -> Figure:
    """The spread of the log ratio at the top against β = Σ 1/N: measured under He and the
    increasing schedule, the exact prediction and 5β. ``modes`` is the output of
    :func:`failure_modes`. Returns a 6.2 × 3.6 in Figure with one axes. Chapter: "Finite width"."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.2, 3.6))
    ax.plot(modes["beta = sum 1/N"], modes["He"], "o", label="measured, He")
    ax.plot(modes["beta = sum 1/N"], modes["increasing (V = 4)"], "x", label="measured, increasing (same draws)")
    order = modes.sort_values("beta = sum 1/N")
    ax.plot(order["beta = sum 1/N"], order["predicted"], "k.", label="exact prediction")
    beta_grid = np.linspace(0, modes["beta = sum 1/N"].max(), 50)
    ax.plot(beta_grid, 5 * beta_grid, "k--", lw=0.8, label=r"$5\beta$")
    ax.set(
        xlabel=r"$\beta = \sum_l 1/N_l$ (ReLU layers)",
        ylabel="variance of the log ratio at the top",
        title="failure mode 2: the spread grows with depth / width",
    )
    ax.legend(fontsize=9)
    return fig


@dataclass
class PaperShape:
    """The simulation at the paper's shape and its predictions (:func:`paper_shape`).

    ``runs`` and ``spreads`` map the batch size (1 and ``batch_size``) to the output of
    :func:`depthinit.theory.simulate_chain` and of :func:`depthinit.theory.lognormal_spread`;
    ``table`` is indexed by ``inputs per batch``; ``old`` is the leading-order one-input
    prediction (L − 1) 5 / N. Chapter: "Finite width", "At the paper's shape".
    """

    L: int
    width: int
    output_dim: int
    batch_size: int
    runs: dict[int, dict[str, np.ndarray]]
    spreads: dict[int, pd.DataFrame]
    table: pd.DataFrame
    old: float


def paper_shape(
    L: int, width: int, output_dim: int, batch_size: int, *, n_networks: int, generator: torch.Generator
) -> PaperShape:
    """Simulate ``n_networks`` He-initialized L × ``width`` ReLU chains with ``output_dim``
    logits for one Gaussian input, then for a batch of ``batch_size`` (in that order, from
    ``generator``), and compare the log ratio at the top with the exact prediction.

    Args:
        L: weight layers (>= 2).
        width: hidden width.
        output_dim: logits.
        batch_size: the batch (>= 2; the one-input case is always included).
        n_networks: networks per batch size.
        generator: the source of every draw.

    Returns:
        A :class:`PaperShape` whose ``table`` has, per batch size, the old leading order,
        the ``exact`` and ``measured`` variance of the log ratio at the top with its
        ``± (s.e.)``, and the exact and measured mean of the log. Chapter: "Finite width".
    """
    L = check_int("L", L, minimum=2)
    width = check_int("width", width)
    output_dim = check_int("output_dim", output_dim)
    batch_size = check_int("batch_size", batch_size, minimum=2)
    n_networks = check_int("n_networks", n_networks)
    plan = depthinit.plan(MLP(3072, output_dim, depth=L, width=width), "he")
    net_widths = [width] * (L - 1) + [output_dim]
    runs = {
        batch: T.simulate_chain(net_widths, n_networks=n_networks, generator=generator, batch_size=batch)
        for batch in (1, batch_size)
    }
    old = (L - 1) * 5 / width
    spreads = {batch: T.lognormal_spread(plan, batch_size=batch) for batch in runs}
    rows = []
    for batch, sim in runs.items():
        spread = spreads[batch]
        top = sim["forward"][:, -1]
        rows.append(
            {
                "inputs per batch": batch,
                "leading order, one input, no output term": old,
                "exact": spread["forward_log_variance"].iloc[-1],
                "measured": top.var(),
                "± (s.e.)": top.var() * math.sqrt(2 / len(top)),
                "mean of log: exact": spread["forward_log_mean"].iloc[-1],
                "mean of log: measured": top.mean(),
            }
        )
    table = pd.DataFrame(rows).set_index("inputs per batch")
    return PaperShape(L, width, output_dim, batch_size, runs, spreads, table, old)


def backward_rate(shape: PaperShape, margin: int = 5) -> float:
    """The measured growth of the backward spread for the batch, per 1/N per layer: minus the
    slope of the per-layer variance of the backward log ratio over layers ``margin + 1`` to
    ``L - margin``, times the width. Chapter: "Finite width" (the backward pass)."""
    margin = check_int("margin", margin, minimum=0)
    if shape.L - 2 * margin < 2:
        raise ValueError(f"margin={margin!r} is not valid; expected L - 2 margin >= 2 layers to fit (L = {shape.L})")
    layers = np.arange(1, shape.L + 1)
    mid = slice(margin, shape.L - margin)
    variance = shape.runs[shape.batch_size]["backward"].var(axis=0)
    return float(-np.polyfit(layers[mid], variance[mid], 1)[0] * shape.width)


def plot_paper_shape(shape: PaperShape) -> Figure:
    """Per-layer variance of the log ratio at the paper's shape, measured and exact, forward
    (left) and backward (right), for one input and for the batch. Returns a 6.8 × 2.5 in
    Figure with two axes. Chapter: "Finite width"."""
    import matplotlib.pyplot as plt

    L, B = shape.L, shape.batch_size
    spread_1, spread_B = shape.spreads[1], shape.spreads[B]
    layers = np.arange(1, L + 1)
    fig, axes = plt.subplots(1, 2, figsize=(6.8, 2.5))
    axes[0].plot(layers, shape.runs[1]["forward"].var(axis=0), "C0", label="measured, one input")
    axes[0].plot(layers, spread_1["forward_log_variance"], "C0--", label="exact, one input")
    axes[0].plot(layers, shape.runs[B]["forward"].var(axis=0), "C1", label=f"measured, batch of {B}")
    axes[0].plot(layers, spread_B["forward_log_variance"], "C1--", label=f"exact, batch of {B}")
    axes[0].plot(layers, 5 * np.arange(L) / shape.width, "k:", lw=1, label=r"$\sum 5/N$ (old)")
    axes[0].set(xlabel="layer $l$", ylabel="variance of the log ratio", title="forward")
    axes[0].legend(fontsize=9)
    bwd_1, bwd_B = shape.runs[1]["backward"], shape.runs[B]["backward"]
    axes[1].plot(layers[1:], bwd_1[:, 1:].var(axis=0), "C0", label="measured, one example")
    axes[1].plot(layers[1:], spread_1["backward_log_variance"].iloc[1:], "C0--", label="exact, one example")
    axes[1].plot(layers[1:], bwd_B[:, 1:].var(axis=0), "C1", label=f"measured, batch of {B}")
    axes[1].set(xlabel="layer $l$", title="backward (independent output gradients)")
    axes[1].legend(fontsize=9)
    fig.tight_layout()
    return fig
