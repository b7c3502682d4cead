"""Findings of E5, the sensitivity of the schedules: where each trains and where it breaks, as
V, the depth L, the depth function and the offset c vary.

Chapter: "E5: sensitivity". Every setting of a configuration is read from its own
column of the results (``schedule``, ``network_variance``, ``depth_fn``, ``offset``
and the depth from ``layers``), never from a variant's name.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import analysis
from ..init import SCHEDULES
from ..sweep import PAPER_V
from ._grid import TRAINS_MARGIN
from ._provenance import join_words
from ._tables import at_chosen_lr

#: The states a configuration can end in (:func:`configurations`).
STATES: tuple[str, ...] = ("trains", "diverged", "stuck", "unclear")
#: The depth functions' readings in the order the map shows them.
READINGS: tuple[str, ...] = ("log", "log, c=1", "log, c=5", "power", "linear", "geometric")


def configurations(
    results: pd.DataFrame, *, chance: float = analysis.CHANCE, margin: float = TRAINS_MARGIN
) -> pd.DataFrame:
    """One row per configuration (depth ``L`` and initialization) at its chosen learning rate:
    :func:`depthinit.analysis.summary` with ``schedule``, ``V`` (1 for the unit schedule),
    ``depth_fn`` (``"log"`` where unset), ``offset`` (0 where unset), ``reading`` (the depth
    function, with ", c=…" for a non-zero offset) and ``state``: ``"diverged"`` (a run
    diverged), ``"trains"`` (the whole interval above chance + ``margin``), ``"stuck"`` (the
    whole interval below it) or ``"unclear"``."""
    rows, _ = at_chosen_lr(results)
    s = analysis.summary(rows, by=["layers", "init"], chance=chance)
    cols = rows.drop_duplicates(["layers", "init"]).set_index(["layers", "init"])[
        ["schedule", "network_variance", "depth_fn", "offset"]
    ]
    s = s.join(cols, on=["layers", "init"]).rename(columns={"layers": "L"})
    s["V"] = np.where(s["schedule"].eq("unit"), 1.0, s["network_variance"].astype(float))
    s["depth_fn"] = s["depth_fn"].fillna("log")
    s["offset"] = s["offset"].astype(float).fillna(0.0)
    s["reading"] = [f"{fn}, c={c:g}" if c else str(fn) for fn, c in zip(s["depth_fn"], s["offset"])]
    line = chance + margin
    low, high = s["low"].fillna(s["mean"]), s["high"].fillna(s["mean"])
    s["state"] = np.select([s["diverged"] > 0, low > line, high < line], ["diverged", "trains", "stuck"], "unclear")
    return s


def main_depth(configs: pd.DataFrame) -> int:
    """The depth most configurations share (the paper's L = 54 in E5)."""
    return int(configs["L"].value_counts().idxmax())


def maps(configs: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The three views of E5 as long tables (schedule, column value, mean, state, ...):
    ``"V"`` (the network variance at the main depth, log reading, no offset), ``"L"`` (the
    depth at V = 22, unit schedule included) and ``"reading"`` (the depth-function readings
    and offsets of the increasing and decreasing schedules at V = 22 and the main depth)."""
    L = main_depth(configs)
    plain = configs["reading"].eq("log")
    at_v = configs["schedule"].eq("unit") | np.isclose(configs["V"], PAPER_V)
    out = {
        "V": configs[configs["L"].eq(L) & plain].assign(column=lambda f: f["V"]),
        "L": configs[at_v & plain].assign(column=lambda f: f["L"]),
        "reading": configs[
            configs["schedule"].isin(["increasing", "decreasing"])
            & np.isclose(configs["V"], PAPER_V)
            & configs["L"].eq(L)
        ].assign(column=lambda f: f["reading"]),
    }
    return {
        k: v.sort_values(
            ["schedule", "column"],
            key=lambda c: c.map(_rank) if c.name == "schedule" else c.map(_reading_rank) if k == "reading" else c,
        ).reset_index(drop=True)
        for k, v in out.items()
    }


def _rank(s: str) -> int:
    return SCHEDULES.index(s) if s in SCHEDULES else len(SCHEDULES)


def _reading_rank(s: object) -> int:
    return READINGS.index(str(s)) if str(s) in READINGS else len(READINGS)


def _values(values: list, unit: str) -> str:
    shown = [f"{v:g}" if isinstance(v, (int, float)) else str(v) for v in values]
    return f"{unit} = {join_words(shown)}" if unit else join_words(shown)


@dataclass(frozen=True)
class ScheduleSensitivity:
    """Where one schedule trains and breaks along one axis."""

    schedule: str
    axis: str  # "V", "L" or "reading"
    trains: tuple
    breaks: tuple  # diverged or stuck
    unclear: tuple
    best: object
    best_mean: float

    def sentence(self) -> str:
        """One sentence, e.g. "The increasing schedule trains at V = 5, 22 and 100 and breaks at V = 1 and 2."."""
        unit = {"V": "V", "L": "L", "reading": ""}[self.axis]
        where = {"V": "at", "L": "at", "reading": "with the readings"}[self.axis]
        name = "Plain He (the unit schedule)" if self.schedule == "unit" else f"The {self.schedule} schedule"
        n = len(self.trains) + len(self.breaks) + len(self.unclear)
        every = "with every reading tried" if self.axis == "reading" else "at every value tried"
        if len(self.trains) == n:
            return f"{name} trains {every} ({_values(list(self.trains), unit)})."
        if len(self.breaks) == n:
            return f"{name} breaks {every} ({_values(list(self.breaks), unit)})."
        parts = []
        if self.trains:
            parts.append(f"trains {where} {_values(list(self.trains), unit)}")
        if self.breaks:
            parts.append(f"breaks {where} {_values(list(self.breaks), unit)}")
        if self.unclear:
            parts.append(f"is unclear {where} {_values(list(self.unclear), unit)}")
        return f"{name} {join_words(parts)}."


@dataclass(frozen=True)
class SensitivityFinding:
    """E5's findings: per axis and schedule, where it trains and breaks; the counts of states."""

    schedules: tuple[ScheduleSensitivity, ...]
    counts: dict[str, int]
    n_configs: int
    main_depth: int

    def of(self, schedule: str, axis: str) -> ScheduleSensitivity | None:
        """The entry for ``schedule`` along ``axis`` (None when it was not varied)."""
        return next((s for s in self.schedules if s.schedule == schedule and s.axis == axis), None)

    def headline(self) -> str:
        """The V axis in sentences, then the counts (Markdown)."""
        lines = [s.sentence() for s in self.schedules if s.axis == "V" and s.schedule != "unit"]
        c = self.counts
        lines.append(
            f"Of the {self.n_configs} configurations, {c.get('trains', 0)} train, {c.get('diverged', 0)} "
            f"have a diverged run, {c.get('stuck', 0)} are stuck at chance and {c.get('unclear', 0)} are "
            "unclear (their interval straddles the line)."
        )
        return " ".join(lines)


def sensitivity_findings(
    results: pd.DataFrame, *, chance: float = analysis.CHANCE, margin: float = TRAINS_MARGIN
) -> SensitivityFinding:
    """:class:`SensitivityFinding` of E5's results (see :func:`configurations`, :func:`maps`)."""
    configs = configurations(results, chance=chance, margin=margin)
    out = []
    for axis, frame in maps(configs).items():
        for sched, g in frame.groupby("schedule", sort=False):
            if g["column"].nunique() < 2:
                continue
            best = g.loc[g["mean"].idxmax()]
            by_state = {
                name: tuple(g[g["state"].isin(states)]["column"].tolist())
                for name, states in (
                    ("trains", ["trains"]),
                    ("breaks", ["diverged", "stuck"]),
                    ("unclear", ["unclear"]),
                )
            }
            out.append(
                ScheduleSensitivity(
                    str(sched),
                    axis,
                    by_state["trains"],
                    by_state["breaks"],
                    by_state["unclear"],
                    best["column"],
                    float(best["mean"]),
                )
            )
    counts = {s: int((configs["state"] == s).sum()) for s in STATES}
    return SensitivityFinding(tuple(out), counts, len(configs), main_depth(configs))


def output_gain(probes: pd.DataFrame, results: pd.DataFrame) -> pd.DataFrame:
    """At initialization (epoch 0), the output layer's E[y²] of each schedule and V at the main
    depth, divided by plain He's (mean over seeds); the schedules' ratios are V exactly when the
    network is a bias-free ReLU chain (positive homogeneity). Columns: schedule, V, ratio."""
    cols = results.drop_duplicates("run_id").set_index("run_id")[["schedule", "network_variance", "layers"]]
    p = probes[(probes["epoch"] == 0) & (probes["kind"] == "activation")].join(cols, on="run_id")
    L = int(p["layers"].value_counts().idxmax())
    p = p[(p["layers"] == L) & (p["depth"] == L)]
    p = p.assign(
        V=np.where(p["schedule"].eq("unit"), 1.0, p["network_variance"].astype(float)),
        moment=p["std"] ** 2 + p["mean"] ** 2,
    )
    m = p.groupby(["schedule", "V", "init"], sort=False)["moment"].mean().reset_index()
    he = m[m["schedule"] == "unit"]["moment"]
    if he.empty:
        raise ValueError("no plain He (unit schedule) runs at the main depth; the ratio needs them")
    m["ratio"] = m["moment"] / float(he.iloc[0])
    return m[m["schedule"] != "unit"][["schedule", "V", "init", "ratio"]].reset_index(drop=True)


def largest_step(V: float, L: int, schedule: str) -> tuple[float, int]:
    """The largest per-layer SGD learning-rate factor 1/α_l of ``schedule`` at (``V``, ``L``)
    and the layer that gets it (the He-equivalent form of the depth schedule)."""
    from ..init import alphas

    a = np.asarray(alphas(L, schedule=schedule, network_variance=V), dtype=np.float64)  # type: ignore[arg-type]
    inv = 1.0 / a
    i = int(np.argmax(inv))
    return float(inv[i]), i + 1


def why_text(configs: pd.DataFrame, gain: pd.DataFrame | None = None) -> str:
    """What V does and does not explain in E5's runs, from the data (Markdown): the output's
    second moment at initialization is V times He's for every schedule (``gain``, measured),
    so where two schedules at the same V end differently the difference is their per-layer
    learning rates, whose largest factor (1/α_l) is quoted."""
    v = maps(configs)["V"]
    L = main_depth(configs)
    out = []
    if gain is not None and len(gain):
        worst = float((gain["ratio"] / gain["V"] - 1).abs().max())
        vs = join_words([f"{x:g}" for x in sorted(set(gain["V"]))])
        out.append(
            f"Measured at initialization, the output's second moment is V times plain He's for every schedule "
            f"and every V tried ({vs}; largest relative deviation from V: {worst:.1e}): V sets the output's "
            "scale and nothing else about the initial function."
        )
    split = []
    for value, g in v[v["schedule"] != "unit"].groupby("column"):
        ok = g[g["state"] == "trains"]["schedule"].tolist()
        bad = g[g["state"].isin(["diverged", "stuck"])]["schedule"].tolist()
        if ok and bad:
            steps = "; ".join(
                f"{s} {largest_step(float(value), L, s)[0]:.2f} (layer {largest_step(float(value), L, s)[1]})"
                for s in bad + ok
                if s != "unit"
            )
            split.append(
                f"at V = {value:g} {join_words(ok)} train{'s' if len(ok) == 1 else ''} while "
                f"{join_words(bad)} {'breaks' if len(bad) == 1 else 'break'} (largest per-layer SGD step "
                f"factors 1/α_l: {steps})"
            )
    if split:
        out.append(
            "So where schedules with the same V end differently, the output variance they share cannot be the "
            "reason; what differs is the per-layer learning rates: " + "; ".join(split) + "."
        )
    else:
        out.append(
            "No value of V separates the schedules in these runs (where one trains, every one does, or the "
            "intervals are too wide to tell)."
        )
    return " ".join(out)


__all__ = [
    "READINGS",
    "STATES",
    "ScheduleSensitivity",
    "SensitivityFinding",
    "configurations",
    "largest_step",
    "main_depth",
    "maps",
    "output_gain",
    "sensitivity_findings",
    "why_text",
]
