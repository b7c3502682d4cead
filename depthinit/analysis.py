"""Turn a tidy results table into estimates with confidence intervals and verdicts.

Chapter: "The verdicts". Every verdict is computed from the results table by a
rule stated before the numbers:

* an *effect* is a difference in a measure (final test accuracy by default)
  between two groups of runs, paired by seed (each seed's runs are averaged over
  the other factors first), with a Student-t confidence interval over seeds;
* ``supported`` when the interval lies above zero, ``not supported`` when its
  upper end is below the practical margin ``delta`` (the effect is negative or
  negligible), ``inconclusive`` otherwise (the interval straddles the margin, or
  there are fewer than two seeds).

A diverged run (status ``"diverged"``) counts at chance accuracy from the epoch it
diverged: a run that cannot train has not trained.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

SUPPORTED, NOT_SUPPORTED, INCONCLUSIVE = "supported", "not supported", "inconclusive"


def final_rows(results: pd.DataFrame, *, chance: float = 0.1) -> pd.DataFrame:
    """One row per run: its last epoch, with accuracy set to ``chance`` (and loss to
    NaN) where the run diverged."""
    if results.empty:
        raise ValueError("the results table is empty; run the sweep first")
    missing = {"run_id", "epoch", "test_acc"} - set(results.columns)
    if missing:
        raise ValueError(f"the results table lacks column(s) {sorted(missing)}; pass the sweep's results table")
    last = results.sort_values("epoch").groupby("run_id", sort=False).tail(1).copy()
    if "status" in last.columns:
        bad = last["status"].eq("diverged") | ~np.isfinite(last["test_acc"].astype(float))
        for col in ("test_acc", "train_acc"):
            if col in last.columns:
                last.loc[bad, col] = chance
        for col in ("test_loss", "train_loss"):
            if col in last.columns:
                last.loc[bad, col] = np.nan
    return last.reset_index(drop=True)


@dataclass(frozen=True)
class Estimate:
    """A mean over seeds with its two-sided confidence interval."""

    mean: float
    low: float
    high: float
    n: int

    def as_text(self, scale: float = 100.0, unit: str = " pts") -> str:
        if self.n < 2:
            return f"{self.mean * scale:+.1f}{unit} (n={self.n})"
        return f"{self.mean * scale:+.1f}{unit} [{self.low * scale:+.1f}, {self.high * scale:+.1f}] (n={self.n})"


def t_interval(values: np.ndarray | pd.Series, *, level: float = 0.95) -> Estimate:
    """Mean of ``values`` and its Student-t interval (NaN bounds for fewer than two values)."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    n = len(v)
    if n == 0:
        return Estimate(math.nan, math.nan, math.nan, 0)
    m = float(v.mean())
    if n < 2:
        return Estimate(m, math.nan, math.nan, n)
    half = float(stats.t.ppf(0.5 + level / 2, n - 1) * v.std(ddof=1) / math.sqrt(n))
    return Estimate(m, m - half, m + half, n)


Selector = Mapping[str, Any] | Callable[[pd.DataFrame], pd.Series]


def select(frame: pd.DataFrame, where: Selector) -> pd.DataFrame:
    """Rows of ``frame`` matching ``where``: a mapping column -> value (or list of values),
    or a function returning a boolean mask."""
    if callable(where):
        return frame[where(frame)]
    mask = pd.Series(True, index=frame.index)
    for col, value in where.items():
        if col not in frame.columns:
            raise ValueError(f"no column {col!r} in the results; columns are {list(frame.columns)}")
        values = value if isinstance(value, (list, tuple, set)) else [value]
        mask &= frame[col].isin(values)
    return frame[mask]


def per_seed(final: pd.DataFrame, where: Selector, measure: str = "test_acc") -> pd.Series:
    """The measure averaged over all selected runs of each seed (index: seed)."""
    rows = select(final, where)
    return rows.groupby("seed")[measure].mean()


def effect(final: pd.DataFrame, a: Selector, b: Selector, *, measure: str = "test_acc",
           level: float = 0.95) -> Estimate:
    """Mean of (a - b) over the seeds both groups share, with its t interval."""
    sa, sb = per_seed(final, a, measure), per_seed(final, b, measure)
    common = sa.index.intersection(sb.index)
    return t_interval((sa[common] - sb[common]).to_numpy(), level=level)


def level_of(final: pd.DataFrame, where: Selector, *, measure: str = "test_acc", level: float = 0.95) -> Estimate:
    """Mean of the measure over seeds for one group, with its t interval."""
    return t_interval(per_seed(final, where, measure).to_numpy(), level=level)


def verdict_from(est: Estimate, *, delta: float) -> str:
    """The stated rule: above zero -> supported; upper end below ``delta`` -> not supported."""
    if est.n < 2 or not math.isfinite(est.low):
        return INCONCLUSIVE
    if est.low > 0:
        return SUPPORTED
    if est.high < delta:
        return NOT_SUPPORTED
    return INCONCLUSIVE


def combine(verdicts: list[str]) -> str:
    """All parts supported -> supported; any part not supported -> not supported; else inconclusive."""
    if verdicts and all(v == SUPPORTED for v in verdicts):
        return SUPPORTED
    if any(v == NOT_SUPPORTED for v in verdicts):
        return NOT_SUPPORTED
    return INCONCLUSIVE


@dataclass(frozen=True)
class Comparison:
    """One paired comparison inside a claim: label, group a, group b (a - b > 0 backs the claim)."""

    label: str
    a: Selector
    b: Selector | None = None  # None: compare a's level with ``threshold``
    threshold: float = 0.0
    sign: int = 1  # -1: the claim is that a's level lies BELOW the threshold


@dataclass(frozen=True)
class Claim:
    """A claim of the paper with its measure and the rule that decides it."""

    number: int
    text: str
    experiment: str
    measure: str
    rule: str
    comparisons: tuple[Comparison, ...]

    def evaluate(self, final: pd.DataFrame, *, delta: float, level: float = 0.95) -> dict[str, Any]:
        parts, verdicts = [], []
        for c in self.comparisons:
            if c.b is None:
                est = level_of(final, c.a, measure=self.measure, level=level)
                est = Estimate(est.mean - c.threshold, est.low - c.threshold, est.high - c.threshold, est.n)
                if c.sign < 0:
                    est = Estimate(-est.mean, -est.high, -est.low, est.n)
            else:
                est = effect(final, c.a, c.b, measure=self.measure, level=level)
            v = verdict_from(est, delta=delta)
            verdicts.append(v)
            parts.append({"comparison": c.label, "estimate": est, "verdict": v})
        return {"claim": self.number, "text": self.text, "experiment": self.experiment,
                "measure": self.measure, "rule": self.rule, "parts": parts, "verdict": combine(verdicts)}


def verdict_table(results: Mapping[str, pd.DataFrame], claims: list[Claim], *, delta: float = 0.01,
                  level: float = 0.95, chance: float = 0.1) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Evaluate ``claims`` on per-experiment results tables.

    Returns ``(summary, details)``: one row per claim (claim, text, experiment, measure,
    rule, estimate text, verdict) and one row per comparison (with mean, low, high, n).
    A claim whose experiment is missing from ``results`` gets ``inconclusive`` with the
    reason.
    """
    summary, details = [], []
    for claim in claims:
        if claim.experiment not in results:
            summary.append({"claim": claim.number, "text": claim.text, "experiment": claim.experiment,
                            "measure": claim.measure, "rule": claim.rule,
                            "estimate": "experiment not run", "verdict": INCONCLUSIVE})
            continue
        final = final_rows(results[claim.experiment], chance=chance)
        r = claim.evaluate(final, delta=delta, level=level)
        summary.append({k: r[k] for k in ("claim", "text", "experiment", "measure", "rule")}
                       | {"estimate": "; ".join(f"{p['comparison']}: {p['estimate'].as_text()}" for p in r["parts"]),
                          "verdict": r["verdict"]})
        for p in r["parts"]:
            e = p["estimate"]
            details.append({"claim": claim.number, "comparison": p["comparison"], "mean": e.mean,
                            "low": e.low, "high": e.high, "n": e.n, "verdict": p["verdict"]})
    return pd.DataFrame(summary), pd.DataFrame(details)


def config(*, scheme: str | None = None, base: str | None = None, distribution: str | None = None,
           schedule: str | None = None, network_variance: float | None = None,
           **extra: Any) -> Callable[[pd.DataFrame], pd.Series]:
    """A selector for runs of one configuration. Plain He/Glorot match both
    ``scheme="he"`` and ``scheme="depth", base="he", schedule="unit"``."""

    def mask(f: pd.DataFrame) -> pd.Series:
        m = pd.Series(True, index=f.index)
        if scheme is not None:
            m &= f["scheme"].eq(scheme)
        if base is not None:
            plain = f["scheme"].eq(base) if schedule in (None, "unit") else pd.Series(False, index=f.index)
            depth = f["scheme"].eq("depth") & f["base"].eq(base)
            if schedule is not None:
                depth &= f["schedule"].eq(schedule)
            m &= plain | depth
        elif schedule is not None:
            m &= f["scheme"].eq("depth") & f["schedule"].eq(schedule)
        if distribution is not None:
            m &= f["distribution"].eq(distribution)
        if network_variance is not None and schedule not in (None, "unit"):
            m &= np.isclose(f["network_variance"].astype(float), network_variance)
        for col, value in extra.items():
            m &= f[col].eq(value)
        return m

    return mask


def paper_claims(*, chance: float = 0.1, trains_margin: float = 0.05, V: float = 22.0) -> list[Claim]:
    """The seven claims of the paper, with the measure and the rule that decides each.

    ``experiment`` keys: ``"E1"`` (54 x 64 MLP, CIFAR-10), ``"E4"`` (uniform-He stall),
    ``"E5"`` (sensitivity). "Trains" means a final test accuracy above
    ``chance + trains_margin``; "stalls" means below it.
    """
    line = chance + trains_margin
    bases, dists = ("he", "glorot"), ("normal", "uniform")
    refs = {"He normal": config(base="he", schedule="unit", distribution="normal"),
            "Glorot normal": config(base="glorot", schedule="unit", distribution="normal"),
            "orthogonal": config(scheme="orthogonal"), "random walk": config(scheme="random_walk"),
            "LSUV": config(scheme="lsuv")}
    proposed = config(base="he", schedule="increasing", distribution="normal", network_variance=V)
    acc = "final test accuracy"
    paired = "paired by seed, 95 % t interval over seeds"
    return [
        Claim(1, "The increasing schedule trains better than the constant and the decreasing ones at the same V.",
              "E1", "test_acc",
              f"{acc}, increasing minus constant and minus decreasing, averaged over base and distribution, "
              f"{paired}; supported if both intervals lie above 0",
              (Comparison("increasing - constant", config(schedule="increasing"), config(schedule="constant")),
               Comparison("increasing - decreasing", config(schedule="increasing"), config(schedule="decreasing")))),
        Claim(2, "The decreasing schedule performs below par.", "E1", "test_acc",
              f"{acc}, plain (unit) minus decreasing with the same base and distribution, {paired}; "
              "supported if the interval lies above 0",
              (Comparison("unit - decreasing", lambda f: config(schedule="unit")(f) | config(scheme="he")(f)
                          | config(scheme="glorot")(f), config(schedule="decreasing")),)),
        Claim(3, "Plain He with a uniform distribution stalls on the 54-layer MLP with [0, 1] inputs, "
                 "while He normal trains.", "E1", "test_acc",
              f"{acc}: He uniform stays below chance + {trains_margin:.0%} (interval entirely below) and "
              f"He normal rises above it (interval entirely above)",
              (Comparison("He uniform stalls (line - acc)", config(base="he", schedule="unit", distribution="uniform"),
                          threshold=line, sign=-1),
               Comparison("He normal trains (acc - line)", config(base="he", schedule="unit", distribution="normal"),
                          threshold=line))),
        Claim(4, "The proposed method trains with both uniform and normal distributions.", "E1", "test_acc",
              f"{acc} of the increasing schedule minus (chance + {trains_margin:.0%}), for each base and "
              "distribution; supported if all four intervals lie above 0",
              tuple(Comparison(f"{b} {d} increasing", config(base=b, distribution=d, schedule="increasing"),
                               threshold=line) for b in bases for d in dists)),
        Claim(5, "Normal is superior to uniform in this setup.", "E1", "test_acc",
              f"{acc}, normal minus uniform over the depth-scaled schedules (constant, increasing, decreasing) "
              f"and both bases, {paired}; supported if the interval lies above 0",
              (Comparison("normal - uniform", lambda f: config(distribution="normal")(f) & f["scheme"].eq("depth")
                          & ~f["schedule"].eq("unit"),
                          lambda f: config(distribution="uniform")(f) & f["scheme"].eq("depth")
                          & ~f["schedule"].eq("unit")),)),
        Claim(6, "The proposed method beats the existing schemes.", "E1", "test_acc",
              f"{acc}, He normal with the increasing schedule minus each reference (He, Glorot, orthogonal, "
              f"random walk, LSUV), {paired}; supported if every interval lies above 0",
              tuple(Comparison(f"increasing - {name}", proposed, sel) for name, sel in refs.items())),
        Claim(7, "Unit variance throughout is not the best choice for deep networks (V > 1 helps).", "E1",
              "test_acc",
              f"{acc}, the increasing schedule at V = {V:g} minus the plain scheme (unit variance) with the same "
              f"base and distribution, {paired}; supported if the interval lies above 0",
              (Comparison(f"increasing V={V:g} - unit", config(schedule="increasing", network_variance=V),
                          lambda f: config(schedule="unit")(f) | config(scheme="he")(f) | config(scheme="glorot")(f)),)),
    ]
