"""The chapters' figures: one message per panel, direct labels, the page's width.

Chapter: every chapter with a figure. Each function takes results (or findings) and
returns a matplotlib Figure made with :func:`depthinit.plotting.figure` (at most
``depthinit.plotting.FIG_WIDTH`` inches at ``depthinit.plotting.DPI``, no
text below ``depthinit.plotting.MIN_FONT_PT`` points, the Okabe-Ito palette).
Accuracy axes stay in [0, 1] (in percent on the axis), as the measure does.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .. import analysis
from ..init import SCHEDULES
from ..plotting import (
    MIN_FONT_PT,
    PALETTE,
    REFERENCE_COLORS,
    SCHEDULE_COLORS,
    VERDICT_COLORS,
    direct_labels,
    figure,
)
from ._tables import at_chosen_lr, init_order

Figure = Any


# -- styles ---------------------------------------------------------------------------------
def init_style(row: Mapping[str, Any]) -> dict[str, Any]:
    """Colour, line style and short name of one initialization (a results row): colour by
    schedule (plain = black), the reference schemes their own colours, dashed for the
    uniform distribution; the short name is what a direct label says inside its panel."""
    scheme = row.get("scheme")
    schedule = row.get("schedule")
    if isinstance(schedule, str) and schedule in SCHEDULE_COLORS and scheme in ("depth", "he", "glorot", "lecun"):
        color, short = SCHEDULE_COLORS[schedule], ("plain" if schedule == "unit" else schedule)
    elif scheme in REFERENCE_COLORS:
        color, short = REFERENCE_COLORS[str(scheme)], str(row.get("init"))
    else:
        color, short = PALETTE["grey"], str(row.get("init"))
    return {"color": color, "ls": "--" if row.get("distribution") == "uniform" else "-", "short": short}


def _styles(results: pd.DataFrame) -> dict[str, dict[str, Any]]:
    cols = [c for c in ("init", "scheme", "schedule", "distribution") if c in results.columns]
    return {str(r["init"]): init_style(r) for r in results[cols].drop_duplicates("init").to_dict("records")}


def _percent_axis(ax: Any, axis: str = "y") -> None:
    from matplotlib.ticker import FuncFormatter

    fmt = FuncFormatter(lambda v, _: f"{100 * v:.0f}")
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(fmt)


def _empty(message: str, height: float = 1.2) -> Figure:
    fig, axes = figure(height=height)
    ax = axes[0, 0]
    ax.axis("off")
    ax.text(0.5, 0.5, message, ha="center", va="center", fontsize=10, wrap=True)
    return fig


# -- accuracy per initialization ------------------------------------------------------------------
def plot_accuracy_dots(
    tables: Mapping[str, pd.DataFrame],
    *,
    order: Sequence[str] | None = None,
    highlight: Sequence[str] = (),
    chance: float = analysis.CHANCE,
) -> Figure:
    """Final test accuracy per initialization, one panel per results table (e.g. the stored
    paper-profile run and this build's, per optimizer): mean (dot), median (tick) and the 95 %
    interval over seeds (bar, clipped to [0, 1]); rows in :func:`depthinit.book.init_order`;
    labels in ``highlight`` in bold. Each table should hold one optimizer at its chosen rates."""
    tables = {k: v for k, v in tables.items() if len(v)}
    if not tables:
        return _empty("no finished runs to show")
    first = next(iter(tables.values()))
    order = list(order) if order is not None else init_order(first)
    for t in tables.values():
        order += [i for i in init_order(t) if i not in order]
    height = 0.8 + 0.24 * len(order)
    fig, axes = figure(1, len(tables), height=height, sharey=True)
    styles: dict[str, dict[str, Any]] = {}
    for t in tables.values():
        styles.update(_styles(t))
    ys = {name: len(order) - 1 - i for i, name in enumerate(order)}
    for ax, (title, t) in zip(axes[0], tables.items()):
        s = analysis.summary(t, by=["init"], chance=chance).set_index("init")
        for name, y in ys.items():
            if name not in s.index:
                continue
            r, st = s.loc[name], styles.get(name, {"color": "0.3"})
            if math.isfinite(r["low"]):
                ax.plot([r["low"], r["high"]], [y, y], color=st["color"], lw=2.2, alpha=0.55, solid_capstyle="butt")
            ax.plot(r["mean"], y, "o", color=st["color"], ms=6)
            ax.plot(r["median"], y, "|", color="0.15", ms=9, mew=1.5)
        ax.axvline(chance, color="0.45", ls=":", lw=1.2)
        ax.set_xlim(0, min(1.0, max(0.5, float(np.nanmax(s["high"].fillna(s["mean"]))) + 0.05)))
        _percent_axis(ax, "x")
        ax.set_xlabel("final test accuracy %")
        ax.set_title(title, fontsize=10)
        ax.grid(axis="y", visible=False)
    axes[0, 0].set_yticks(list(ys.values()), list(ys))
    for label in axes[0, 0].get_yticklabels():
        if label.get_text() in highlight:
            label.set_fontweight("bold")
    return fig


def score_panels(sources: Mapping[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The panels of :func:`plot_accuracy_dots` for several runs (e.g. ``{"stored (paper)": ...,
    "this build (default)": ...}``): one per run and optimizer, each at its chosen rates."""
    from ._tables import by_optimizer

    short = {"sgd": "SGD", "adam": "Adam", "": ""}
    out = {}
    for name, frame in sources.items():
        for opt, part in by_optimizer(frame).items():
            out[f"{name}, {short.get(opt, opt)}".rstrip(", ")] = at_chosen_lr(part)[0]
    return out


def plot_hero(results: pd.DataFrame, *, title: str, chance: float = analysis.CHANCE) -> Figure:
    """The landing page's figure: the paper's proposal against plain He normal and the
    references, from one run (mean, median, interval as :func:`plot_accuracy_dots`)."""
    rows, _ = at_chosen_lr(results)
    final = analysis.final_rows(rows, chance=chance)
    keep = analysis.config(base="he", distribution="normal")(final) | final["scheme"].isin(
        ("orthogonal", "random_walk", "lsuv")
    )
    sub = rows[rows["init"].isin(set(final[keep]["init"]))]
    highlight = list(
        dict.fromkeys(
            analysis.select(final, analysis.config(base="he", schedule="increasing", distribution="normal"))["init"]
        )
    )
    return plot_accuracy_dots({title: sub}, highlight=highlight, chance=chance)


# -- learning curves --------------------------------------------------------------------------------
def curve_panels(results: pd.DataFrame) -> dict[str, list[str]]:
    """The inits of each curve panel: He normal's schedules, He uniform's, the references with
    plain He normal, and Glorot's (only those that leave chance; see :func:`plot_curves`)."""
    cols = [c for c in ("init", "scheme", "base", "schedule", "distribution") if c in results.columns]
    rows = results[cols].drop_duplicates("init").to_dict("records")
    panels: dict[str, list[str]] = {}
    order = init_order(results)
    for r in sorted(rows, key=lambda r: order.index(str(r["init"]))):
        scheme = r.get("scheme")
        base = r.get("base") if isinstance(r.get("base"), str) else scheme
        if scheme in ("orthogonal", "random_walk", "lsuv"):
            key = "references (He normal for comparison)"
        elif base in ("he", "glorot", "lecun"):
            key = f"{ {'he': 'He', 'glorot': 'Glorot', 'lecun': 'LeCun'}[str(base)] } {r.get('distribution')}"
        else:
            key = "other"
        panels.setdefault(key, []).append(str(r["init"]))
    he = next((i for i in panels.get("He normal", []) if i == "He normal"), None)
    if he and "references (He normal for comparison)" in panels:
        panels["references (He normal for comparison)"].append(he)
    return panels


def plot_curves(results: pd.DataFrame, *, measure: str = "test_acc", chance: float = analysis.CHANCE) -> Figure:
    """Learning curves in small multiples (one family per panel, at most four lines each),
    mean over seeds with the 95 % interval shaded, a direct label at each line's end. A
    family whose every curve stays at chance is left out and named under the figure."""
    rows, _ = at_chosen_lr(results)
    curves = analysis.curve_frame(rows, measure=measure, chance=chance)
    styles = _styles(rows)
    panels = curve_panels(rows)
    flat = []
    for name, inits in list(panels.items()):
        c = curves[curves["init"].isin(inits)]
        if measure.endswith("acc") and len(c) and float(c["high"].fillna(c["mean"]).max()) < chance + 0.02:
            flat.append(name)
    if len(flat) < len(panels):  # leave out the flat families, unless nothing else is left
        for name in flat:
            panels.pop(name)
    else:
        flat = []
    n = max(1, len(panels))
    ncols = 2 if n > 1 else 1
    nrows = math.ceil(n / ncols)
    fig, axes = figure(nrows, ncols, height=2.5 * nrows + 0.3, sharex=True, sharey=True)
    for ax in axes.ravel()[n:]:
        ax.axis("off")
    for ax, (name, inits) in zip(axes.ravel(), panels.items()):
        ends, colors = {}, {}
        for init in inits:
            g = curves[curves["init"] == init].sort_values("epoch")
            if g.empty:
                continue
            st = styles[init]
            short = "He normal" if name.startswith("references") and init == "He normal" else st["short"]
            ax.plot(g["epoch"], g["mean"], color=st["color"], ls=st["ls"], lw=1.8)
            if g["low"].notna().any():
                ax.fill_between(g["epoch"], g["low"], g["high"], color=st["color"], alpha=0.12, lw=0)
            ends[short] = (float(g["epoch"].iloc[-1]), float(g["mean"].iloc[-1]))
            colors[short] = st["color"]
        if measure.endswith("acc"):
            ax.axhline(chance, color="0.45", ls=":", lw=1.2)
            ax.set_ylim(0, min(1.0, max(0.3, float(curves["high"].fillna(curves["mean"]).max()) + 0.05)))
            _percent_axis(ax)
        ax.set_title(name, fontsize=10)
        direct_labels(ax, ends, colors)
    label = {
        "test_acc": "test accuracy %",
        "train_acc": "training accuracy %",
        "val_acc": "validation accuracy %",
        "train_loss": "training loss",
        "test_loss": "test loss",
    }.get(measure, measure)
    for ax in axes[:, 0]:
        ax.set_ylabel(label)
    for ax in axes[-1, :]:
        ax.set_xlabel("epoch")
    if flat:
        fig.supxlabel("at chance throughout, not drawn: " + "; ".join(flat), fontsize=MIN_FONT_PT, color="0.3")
    return fig


def plot_best_epochs(results: pd.DataFrame, *, chance: float = analysis.CHANCE) -> Figure:
    """How many runs reach their best test accuracy at each epoch (per optimizer, at the
    chosen learning rates); the shaded band is the last 20 % of the epochs, where a run is
    still improving when training stops."""
    from ._tables import by_optimizer

    parts = {opt: at_chosen_lr(p)[0] for opt, p in by_optimizer(results).items()}
    fig, axes = figure(1, len(parts), height=2.4, sharey=True)
    for ax, (opt, rows) in zip(axes[0], parts.items()):
        b = analysis.best_epochs(rows, chance=chance)
        epochs = int(b["epochs"].max())
        counts = b["best_epoch"].dropna().astype(int).value_counts().reindex(range(1, epochs + 1), fill_value=0)
        ax.bar(counts.index, counts.to_numpy(), color=PALETTE["blue"], width=0.8)
        ax.axvspan(epochs * (1 - analysis.PLATEAU_SHARE) - 0.5, epochs + 0.5, color=PALETTE["yellow"], alpha=0.25, lw=0)
        ax.set_xlabel("epoch of the best test accuracy")
        ax.set_title({"sgd": "SGD", "adam": "Adam"}.get(opt, opt or "all runs"), fontsize=10)
    axes[0, 0].set_ylabel("runs")
    return fig


# -- per-layer statistics ---------------------------------------------------------------------
def plot_layer_profiles(
    probes: pd.DataFrame,
    results: pd.DataFrame,
    *,
    inits: Sequence[str] | None = None,
    kinds: Sequence[str] = ("activation", "gradient"),
) -> Figure:
    """Standard deviation of each layer's pre-activations and weight gradients (mean over
    seeds, log scale) at initialization (left) and after the last probed epoch (right), for
    a few initializations (default: He normal's schedules, Glorot normal and LSUV); one kind
    per row, a direct label per line."""
    if probes.empty:
        return _empty("no per-layer probes were recorded for this run")
    available = list(dict.fromkeys(probes["init"]))
    if inits is None:
        wanted = ["He normal", "He normal, increasing", "He normal, decreasing", "Glorot normal", "LSUV"]
        inits = [i for i in wanted if i in available] or available[:5]
    palette = [PALETTE[k] for k in ("black", "vermillion", "blue", "purple", "sky", "green", "orange")]
    colors = {init: palette[i % len(palette)] for i, init in enumerate(inits)}
    epochs = sorted(set(probes["epoch"]))
    shown = [epochs[0], epochs[-1]] if len(epochs) > 1 else epochs
    fig, axes = figure(len(kinds), len(shown), height=2.3 * len(kinds) + 0.4, sharex=True, sharey="row")
    names = {"activation": "pre-activation std", "gradient": "weight-gradient std", "weight": "weight std"}
    for i, kind in enumerate(kinds):
        for j, epoch in enumerate(shown):
            ax = axes[i, j]
            p = probes[(probes["kind"] == kind) & (probes["epoch"] == epoch)]
            ends = {}
            for init in inits:
                g = p[p["init"] == init].groupby("depth")["std"].mean()
                g = g[g > 0]
                if g.empty:
                    continue
                ax.plot(g.index, g.to_numpy(), color=colors[init])
                ends[init] = (float(g.index[-1]), float(g.iloc[-1]))
            ax.set_yscale("log")
            if i == 0:
                ax.set_title("at initialization" if epoch == 0 else f"after epoch {epoch}", fontsize=10)
            if j == len(shown) - 1:
                direct_labels(ax, ends, colors)
        axes[i, 0].set_ylabel(f"{names.get(kind, kind)} (log)")
    for ax in axes[-1, :]:
        ax.set_xlabel("layer depth")
    return fig


def plot_scheme_stds(table: pd.DataFrame, panels: Mapping[str, Sequence[str]]) -> Figure:
    """Each layer's weight standard deviation under several schemes (``table``: the plans'
    ``to_frame()`` rows with the init's columns, :meth:`depthinit.sweep.InitConfig.columns`),
    one panel per group of labels in ``panels`` (title -> labels), log scale, direct labels; a
    panel of depth schedules is coloured by schedule as everywhere in the book (dashed: Glorot)."""
    palette = [PALETTE[k] for k in ("black", "vermillion", "blue", "green", "purple", "sky", "orange", "grey")]
    fig, axes = figure(1, len(panels), height=3.2, sharey=True)
    for ax, (title, labels) in zip(axes[0], panels.items()):
        ends, colors = {}, {}
        rows = table[table["init"].isin(labels)]
        by_schedule = "schedule" in rows and rows["schedule"].notna().all()
        for i, label in enumerate(labels):
            g = table[table["init"] == label].sort_values("depth")
            if g.empty:
                continue
            if by_schedule:
                st = init_style(g.iloc[0].to_dict())
                colors[label], ls = st["color"], ("--" if g["base"].iloc[0] == "glorot" else "-")
            else:
                colors[label], ls = palette[i % len(palette)], "-"
            ax.plot(g["depth"], g["std"], color=colors[label], ls=ls)
            ends[label] = (float(g["depth"].iloc[-2]), float(g["std"].iloc[-2]))  # the last hidden layer
        ax.set_yscale("log")
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("layer depth l")
        direct_labels(ax, ends, colors, min_gap=0.085)
    axes[0, 0].set_ylabel("weight std (log scale)")
    return fig


# -- the mechanism and the ablation -------------------------------------------------------------
def plot_mechanism(L: int, V: float, *, schedules: Sequence[str] = ("constant", "increasing", "decreasing")) -> Figure:
    """What a depth schedule is, in its He-equivalent form: left, each layer's variance factor
    α_l; right, the learning-rate factor 1/α_l that SGD on He's weights needs to follow the
    same trajectory (every schedule also scales the logits by √V)."""
    from ..init import alphas

    fig, axes = figure(1, 2, height=2.8, sharex=True)
    ends_a, ends_b, colors = {}, {}, {}
    layers = np.arange(1, L + 1)
    for s in schedules:
        a = np.asarray(alphas(L, schedule=s, network_variance=V), dtype=np.float64)  # type: ignore[arg-type]
        c = SCHEDULE_COLORS.get(s, "0.3")
        axes[0, 0].plot(layers, a, color=c)
        axes[0, 1].plot(layers, 1 / a, color=c)
        ends_a[s], ends_b[s], colors[s] = (L, float(a[-1])), (L, float(1 / a[-1])), c
    for ax in axes[0]:
        ax.axhline(1.0, color="0.45", ls=":", lw=1.2)
        ax.set_yscale("log")
        ax.set_xlabel("layer l")
    axes[0, 0].set_title(f"variance factor α_l (V = {V:g})", fontsize=10)
    axes[0, 1].set_title(f"SGD step factor 1/α_l; logits × √V = {math.sqrt(V):.2f}", fontsize=10)
    direct_labels(axes[0, 0], ends_a, colors)
    direct_labels(axes[0, 1], ends_b, colors)
    return fig


def plot_ablation(finding: Any) -> Figure:
    """Each ablation arm's final test accuracy (mean dot, median tick, interval bar), grouped
    by the schedule whose pieces it carries; the schedule itself in its colour."""
    scores = list(finding.scores)
    if not scores:
        return _empty("the ablation has no finished runs")
    fig, axes = figure(height=0.8 + 0.3 * len(scores))
    ax = axes[0, 0]
    for i, (arm, s) in enumerate(scores):
        y = len(scores) - 1 - i
        color = (
            SCHEDULE_COLORS.get(arm.schedule or "unit", "0.3")
            if (arm.is_schedule or arm.layer_lrs)
            else SCHEDULE_COLORS["unit"]
        )
        if math.isfinite(s.low):
            ax.plot([s.low, s.high], [y, y], color=color, lw=2.2, alpha=0.55, solid_capstyle="butt")
        ax.plot(s.mean, y, "o" if not arm.is_schedule else "s", color=color, ms=6)
        ax.plot(s.median, y, "|", color="0.15", ms=9, mew=1.5)
    ax.set_yticks(range(len(scores) - 1, -1, -1), [a.name for a, _ in scores])
    ax.axvline(analysis.CHANCE, color="0.45", ls=":", lw=1.2)
    ax.set_xlim(0, min(1.0, max(0.5, max((s.high if math.isfinite(s.high) else s.mean) for _, s in scores) + 0.05)))
    _percent_axis(ax, "x")
    ax.set_xlabel("final test accuracy % (square: the schedule itself)")
    ax.grid(axis="y", visible=False)
    return fig


# -- E4 ---------------------------------------------------------------------------------------
def plot_signals(summary: pd.DataFrame) -> Figure:
    """E4 at initialization, per layer: the median second moment of the pre-activations with
    the theory's mean (dotted), the share common to all examples, and the cosine between two
    examples' inputs; colour by input scaling, dashed for He uniform."""
    from ._stall import INPUTS

    colors = {"unit": PALETTE["vermillion"], "standardize": PALETTE["blue"]}
    fig, axes = figure(2, 2, height=5.0, sharex=True)
    panels = [
        ("median", "second moment E[y²] (log)"),
        ("common_share", "share of E[y²] common to all examples"),
        ("cosine", "cosine between two examples' inputs"),
    ]
    for ax, (col, title) in zip(axes.ravel(), panels):
        for (inputs, init), g in summary.groupby(["inputs", "init"], sort=False):
            ls = "--" if "uniform" in str(init) else "-"
            ax.plot(g["depth"], g[col], color=colors.get(inputs, "0.3"), ls=ls)
            if col == "median" and "normal" in str(init):
                ax.plot(g["depth"], g["forward_variance"], color=colors.get(inputs, "0.3"), ls=":", lw=1.4)
        ax.set_title(title, fontsize=10)
        if col == "median":
            ax.set_yscale("log")
    legend = axes[1, 1]
    legend.axis("off")
    handles = []
    import matplotlib.lines as mlines

    for inputs, c in colors.items():
        if inputs in set(summary["inputs"]):
            handles.append(mlines.Line2D([], [], color=c, label=INPUTS.get(inputs, inputs)))
    handles += [
        mlines.Line2D([], [], color="0.2", ls="-", label="He normal"),
        mlines.Line2D([], [], color="0.2", ls="--", label="He uniform"),
        mlines.Line2D([], [], color="0.2", ls=":", label="theory, mean E[y²]"),
    ]
    legend.legend(handles=handles, loc="center", fontsize=MIN_FONT_PT + 1)
    for ax in (axes[1, 0],):
        ax.set_xlabel("layer depth")
    axes[0, 1].set_xlabel("layer depth")
    return fig


def plot_stall_curves(results: pd.DataFrame, *, chance: float = analysis.CHANCE) -> Figure:
    """E4's test accuracy per epoch, one panel per input scaling (``preprocess``), one line per
    initialization (mean over seeds, interval shaded), direct labels."""
    from ._stall import INPUTS

    preps = list(dict.fromkeys(results["preprocess"]))
    fig, axes = figure(1, len(preps), height=2.8, sharey=True)
    styles = _styles(results)
    for ax, prep in zip(axes[0], preps):
        sub = results[results["preprocess"] == prep]
        c = analysis.curve_frame(sub, measure="test_acc", chance=chance)
        ends, colors = {}, {}
        for init in init_order(sub):
            g = c[c["init"] == init].sort_values("epoch")
            st = styles[init]
            ax.plot(g["epoch"], g["mean"], color=st["color"], ls=st["ls"])
            if g["low"].notna().any():
                ax.fill_between(g["epoch"], g["low"], g["high"], color=st["color"], alpha=0.12, lw=0)
            ends[init] = (float(g["epoch"].iloc[-1]), float(g["mean"].iloc[-1]))
            colors[init] = st["color"]
        ax.axhline(chance, color="0.45", ls=":", lw=1.2)
        ax.set_ylim(0, min(1.0, max(0.3, float(c["high"].fillna(c["mean"]).max()) + 0.05)))
        _percent_axis(ax)
        ax.set_title(INPUTS.get(prep, prep), fontsize=10)
        ax.set_xlabel("epoch")
        direct_labels(ax, ends, colors, min_gap=0.09)
    axes[0, 0].set_ylabel("test accuracy %")
    return fig


# -- E5 ---------------------------------------------------------------------------------------
def plot_sensitivity_maps(configs: pd.DataFrame) -> Figure:
    """E5 as three annotated maps, one per axis (V at the main depth, L at V = 22, the
    depth-function readings): each cell the mean final test accuracy %, with "div." for a
    diverged run and "stuck" for an interval wholly at chance; colour the accuracy."""
    from ._sensitivity import maps

    views = {k: v for k, v in maps(configs).items() if v["column"].nunique() > 1}
    titles = {"V": "network variance V", "L": "depth L (V = 22)", "reading": "depth function and offset (V = 22)"}
    if not views:
        return _empty("no axis of the sensitivity grid has two values in these results")
    heights = [max(1, v["schedule"].nunique()) for v in views.values()]
    fig, axes = figure(
        len(views), 1, height=0.9 * len(views) + 0.42 * sum(heights), gridspec_kw={"height_ratios": heights}
    )
    vmax = float(configs["mean"].max())
    for ax, (axis, v) in zip(axes[:, 0], views.items()):
        rows = [s for s in SCHEDULES if s in set(v["schedule"])]
        cols = list(dict.fromkeys(v["column"]))
        grid = np.full((len(rows), len(cols)), np.nan)
        text = [["" for _ in cols] for _ in rows]
        for r in v.to_dict("records"):
            i, j = rows.index(r["schedule"]), cols.index(r["column"])
            grid[i, j] = r["mean"]
            mark = {"diverged": f"\n{int(r['diverged'])}/{int(r['runs'])} div.", "stuck": "\nstuck"}.get(r["state"], "")
            text[i][j] = f"{100 * r['mean']:.1f}{mark}"
        im = ax.imshow(grid, aspect="auto", cmap="viridis", vmin=analysis.CHANCE, vmax=max(vmax, 0.15))
        for i in range(len(rows)):
            for j in range(len(cols)):
                val = grid[i, j]
                ax.text(
                    j,
                    i,
                    text[i][j],
                    ha="center",
                    va="center",
                    fontsize=MIN_FONT_PT,
                    color="white" if math.isnan(val) or val < (analysis.CHANCE + vmax) / 2 else "black",
                )
        ax.set_xticks(range(len(cols)), [f"{c:g}" if isinstance(c, (int, float)) else str(c) for c in cols])
        ax.set_yticks(range(len(rows)), ["plain He" if r == "unit" else r for r in rows])
        ax.set_title(titles[axis], fontsize=10)
        ax.grid(False)
    fig.colorbar(
        im,
        ax=axes[:, 0].tolist(),
        label="final test accuracy",
        shrink=0.8,
        format=__import__("matplotlib.ticker", fromlist=["FuncFormatter"]).FuncFormatter(
            lambda x, _: f"{100 * x:.0f} %"
        ),
    )
    return fig


def plot_v_response(configs: pd.DataFrame) -> Figure:
    """E5: final test accuracy against V at the main depth for each schedule (mean, interval
    as error bars), plain He as a dashed line; direct labels."""
    from ._sensitivity import maps

    v = maps(configs)["V"]
    fig, axes = figure(height=3.0)
    ax = axes[0, 0]
    ends, colors = {}, {}
    for sched, g in v.groupby("schedule", sort=False):
        g = g.sort_values("column")
        c = SCHEDULE_COLORS.get(str(sched), "0.3")
        if sched == "unit":
            ax.axhline(float(g["mean"].iloc[0]), color=c, ls="--", lw=1.2)
            ends["plain He"], colors["plain He"] = (float(v["column"].max()), float(g["mean"].iloc[0])), c
            continue
        lo = (g["mean"] - g["low"].fillna(g["mean"])).clip(lower=0)
        hi = (g["high"].fillna(g["mean"]) - g["mean"]).clip(lower=0)
        ax.errorbar(g["column"], g["mean"], yerr=[lo, hi], color=c, marker="o", capsize=3, lw=1.8)
        ends[str(sched)], colors[str(sched)] = (float(g["column"].iloc[-1]), float(g["mean"].iloc[-1])), c
    ax.axhline(analysis.CHANCE, color="0.45", ls=":", lw=1.2)
    ax.set_xscale("log")
    ax.set_ylim(0, min(1.0, max(0.3, float(v["high"].fillna(v["mean"]).max()) + 0.05)))
    _percent_axis(ax)
    ax.set_xlabel("network variance V")
    ax.set_ylabel("final test accuracy %")
    direct_labels(ax, ends, colors)
    return fig


# -- verdicts and timings -----------------------------------------------------------------------
def plot_verdict_forest(details: pd.DataFrame, *, delta: float = analysis.DELTA) -> Figure:
    """Each comparison's estimate (dot) and 95 % interval (bar) in accuracy points, coloured by its
    verdict; solid line at zero, dotted at ±δ."""
    if details.empty:
        return _empty("no comparison could be evaluated: no experiment ran")
    fig, axes = figure(height=0.9 + 0.28 * len(details))
    ax = axes[0, 0]
    labels = []
    for i, r in enumerate(details.to_dict("records")):
        y = len(details) - 1 - i
        c = VERDICT_COLORS.get(r["verdict"], "0.3")
        lo = r["low"] if math.isfinite(r["low"]) else r["mean"]
        hi = r["high"] if math.isfinite(r["high"]) else r["mean"]
        ax.plot([100 * lo, 100 * hi], [y, y], color=c, lw=2.5)
        ax.plot(100 * r["mean"], y, "o", color=c, ms=6)
        labels.append(f"{r['claim']}: {r['comparison']}" + ("" if math.isfinite(r["mean"]) else " (no runs)"))
    ax.set_yticks(range(len(details) - 1, -1, -1), labels)
    ax.axvline(0, color="0.2", lw=1)
    for d in (-delta, delta):
        ax.axvline(100 * d, color="0.3", lw=1, ls=":")
    ax.set_xlabel("estimate, accuracy points (95 % interval)")
    import matplotlib.lines as mlines

    ax.legend(
        handles=[mlines.Line2D([], [], color=c, lw=2.5, label=v) for v, c in VERDICT_COLORS.items()],
        loc="upper center",
        bbox_to_anchor=(0.5, -0.12 - 0.5 / max(len(details), 1)),
        ncol=4,
        fontsize=MIN_FONT_PT,
    )
    ax.grid(axis="y", visible=False)
    return fig


def plot_chapter_times(table: pd.DataFrame) -> Figure:
    """Measured wall time of each chapter (bar) against its default-profile budget (tick)."""
    if table.empty:
        return _empty("no chapter timings were recorded in this build")
    fig, axes = figure(height=0.8 + 0.24 * len(table))
    ax = axes[0, 0]
    ys = np.arange(len(table))[::-1]
    over = table["status"].isin(["over", "fails"])
    ax.barh(ys, table["seconds"], color=np.where(over, PALETTE["vermillion"], PALETTE["blue"]), height=0.6)
    ax.plot(table["budget"], ys, "|", color="0.1", ms=12, mew=2)
    ax.set_yticks(ys, table["chapter"])
    ax.set_xscale("log")
    ax.set_xlabel("wall time, s (tick: the default-profile budget)")
    ax.grid(axis="y", visible=False)
    return fig


__all__ = [
    "curve_panels",
    "init_style",
    "plot_ablation",
    "plot_accuracy_dots",
    "plot_best_epochs",
    "plot_chapter_times",
    "plot_curves",
    "plot_hero",
    "plot_layer_profiles",
    "plot_mechanism",
    "plot_scheme_stds",
    "plot_sensitivity_maps",
    "plot_signals",
    "plot_stall_curves",
    "plot_v_response",
    "plot_verdict_forest",
    "score_panels",
]
