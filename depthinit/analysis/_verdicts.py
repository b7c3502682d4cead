"""Claims decided by rules fixed before the numbers: paired effects over seeds, four verdicts,
Holm's correction over every comparison of a table.

Chapter: "The verdicts". An *effect* is a difference in a measure (final test
accuracy by default) between two groups of runs, paired by seed (each seed's
runs are averaged over the other factors first); a *level* is one group's
measure against a stated threshold. Each comparison states which sign backs
its claim, so its effect e is positive when the claim holds. With the margin
delta (the smallest effect that matters) and alpha = 0.05:

* ``supported``: e > +delta, i.e. the one-sided test of e <= delta rejects (the
  lower end of the one-sided 95 % interval lies above +delta);
* ``contradicted``: e < 0 (the test of e >= 0 rejects: the upper end lies below 0);
* ``equivalent``: |e| < delta by a TOST (the 90 % interval lies inside (-delta, +delta));
* ``inconclusive``: none of these (too few seeds, or an interval that spans them).

The p-values of each kind are Holm-corrected over all the comparisons of the
table (:func:`verdict_table`), so a table of many comparisons does not find
effects by chance. A claim of several comparisons is ``supported`` when every
part is, ``contradicted`` when any part is, ``equivalent`` when every part is,
and ``inconclusive`` otherwise. For a level against a threshold the threshold
is the margin (delta = 0 for ``supported``/``contradicted``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ._stats import Estimate, holm, p_equivalent, p_greater, p_less, t_interval
from ._tables import CHANCE, final_rows

SUPPORTED, CONTRADICTED, EQUIVALENT, INCONCLUSIVE = "supported", "contradicted", "equivalent", "inconclusive"
#: The four verdicts, in the order tables list them.
VERDICTS: tuple[str, ...] = (SUPPORTED, CONTRADICTED, EQUIVALENT, INCONCLUSIVE)
#: The margin of the book's verdicts (accuracy, 0.02 = two points), argued in "The verdicts".
DELTA = 0.02
ALPHA = 0.05

Selector = Mapping[str, Any] | Callable[[pd.DataFrame], pd.Series]


def select(frame: pd.DataFrame, where: Selector) -> pd.DataFrame:
    """Rows of ``frame`` matching ``where``: a mapping column -> value (or list of values),
    or a function returning a boolean mask."""
    if callable(where):
        return frame[where(frame)]
    mask = pd.Series(True, index=frame.index)
    for col, value in where.items():
        if col not in frame.columns:
            raise ValueError(f"no column {col!r} in the results; select by one of {list(frame.columns)}")
        values = value if isinstance(value, (list, tuple, set)) else [value]
        mask &= frame[col].isin(values)
    return frame[mask]


@dataclass(frozen=True)
class Contrast:
    """A group that is itself a difference: per seed, the mean of ``a`` minus the mean of ``b``.
    A comparison of two contrasts is a difference of differences (an interaction)."""

    a: Selector
    b: Selector


def per_seed(final: pd.DataFrame, where: Selector | Contrast, measure: str = "test_acc") -> pd.Series:
    """The measure averaged over all selected runs of each seed (index: seed); for a
    :class:`Contrast`, the per-seed difference of its two groups (seeds both have)."""
    if isinstance(where, Contrast):
        a, b = per_seed(final, where.a, measure), per_seed(final, where.b, measure)
        common = a.index.intersection(b.index)
        return a[common] - b[common]
    return select(final, where).groupby("seed")[measure].mean()


def effect(
    final: pd.DataFrame,
    a: Selector | Contrast,
    b: Selector | Contrast,
    *,
    measure: str = "test_acc",
    level: float = 0.95,
) -> Estimate:
    """Mean of (a - b) over the seeds both groups share, with its t interval."""
    sa, sb = per_seed(final, a, measure), per_seed(final, b, measure)
    common = sa.index.intersection(sb.index)
    return t_interval((sa[common] - sb[common]).to_numpy(), level=level)


def level_of(
    final: pd.DataFrame, where: Selector | Contrast, *, measure: str = "test_acc", level: float = 0.95
) -> Estimate:
    """Mean of the measure over seeds for one group, with its t interval."""
    return t_interval(per_seed(final, where, measure).to_numpy(), level=level)


@dataclass(frozen=True)
class Tests:
    """The three one-sided p-values that decide a comparison (before or after Holm)."""

    supported: float
    contradicted: float
    equivalent: float


def tests_of(est: Estimate, *, delta: float, level_margin: bool = False) -> Tests:
    """p-values of e <= delta (supported), e >= 0 (contradicted) and abs(e) >= delta (TOST)."""
    up = 0.0 if level_margin else delta
    return Tests(p_greater(est, up), p_less(est, 0.0), p_equivalent(est, delta))


def decide(t: Tests, *, alpha: float = ALPHA) -> str:
    """The verdict of one comparison from its (adjusted) p-values."""
    if t.supported < alpha:
        return SUPPORTED
    if t.contradicted < alpha:
        return CONTRADICTED
    if t.equivalent < alpha:
        return EQUIVALENT
    return INCONCLUSIVE


def verdict_from(est: Estimate, *, delta: float = DELTA, alpha: float = ALPHA) -> str:
    """The verdict of one estimate on its own (no multiplicity correction)."""
    if est.n < 2 or not math.isfinite(est.mean):
        return INCONCLUSIVE
    return decide(tests_of(est, delta=delta), alpha=alpha)


def combine(verdicts: Sequence[str]) -> str:
    """A claim's verdict from its parts: all supported -> supported; any contradicted ->
    contradicted; all equivalent -> equivalent; else inconclusive."""
    v = list(verdicts)
    unknown = sorted({str(x) for x in v} - set(VERDICTS))
    if unknown:
        raise ValueError(f"verdict(s) {unknown} are not verdicts; expected some of {', '.join(map(repr, VERDICTS))}")
    if v and all(x == SUPPORTED for x in v):
        return SUPPORTED
    if any(x == CONTRADICTED for x in v):
        return CONTRADICTED
    if v and all(x == EQUIVALENT for x in v):
        return EQUIVALENT
    return INCONCLUSIVE


@dataclass(frozen=True)
class Comparison:
    """One paired comparison inside a claim: ``a - b > 0`` backs the claim.

    With ``b`` None the comparison is ``a``'s level against ``threshold``
    (``sign=-1``: the claim is that the level lies *below* the threshold).
    ``expect="equivalent"`` states the opposite kind of claim, that a and b do not
    differ by delta: ``supported`` then means the TOST shows abs(a - b) < delta and
    ``contradicted`` that abs(a - b) > delta (one-sided tests, Bonferroni over the two
    sides); ``equivalent`` is not used.
    """

    label: str
    a: Selector | Contrast
    b: Selector | Contrast | None = None
    threshold: float = 0.0
    sign: int = 1
    expect: str = "greater"

    def __post_init__(self) -> None:
        if self.expect not in ("greater", "equivalent"):
            raise ValueError(f"expect={self.expect!r} is not valid; expected 'greater' or 'equivalent'")

    def estimate(self, final: pd.DataFrame, measure: str, level: float) -> Estimate:
        if self.b is None:
            return level_of(final, self.a, measure=measure, level=level).shifted(self.threshold, self.sign)
        return effect(final, self.a, self.b, measure=measure, level=level)


@dataclass(frozen=True)
class Claim:
    """A claim with its measure and the rule that decides it.

    ``experiment`` is the key of the results it reads (``"E1"``); ``fallbacks`` are
    keys to read instead, in order, when that experiment did not run (a claim
    measured best on E4 falls back to E1, whose runs include the same setting).
    ``source`` says whose claim it is (``"paper"`` or ``"book"``, the book's own).
    """

    number: int | str
    text: str
    experiment: str
    measure: str
    rule: str
    comparisons: tuple[Comparison, ...]
    fallbacks: tuple[str, ...] = ()
    source: str = "paper"
    where: Selector | None = field(default=None, compare=False)  # rows the claim reads (None: all)

    def reads(self, available: Sequence[str]) -> str | None:
        """The experiment key this claim reads among ``available`` (None: none ran)."""
        for key in (self.experiment, *self.fallbacks):
            if key in available:
                return key
        return None


def verdict_table(
    results: Mapping[str, pd.DataFrame],
    claims: Sequence[Claim],
    *,
    delta: float = DELTA,
    alpha: float = ALPHA,
    level: float = 0.95,
    chance: float = CHANCE,
    correction: str = "holm",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Evaluate ``claims`` on per-experiment results tables (already at their chosen
    learning rates where the experiment tunes them).

    Returns ``(summary, details)``: one row per claim (claim, source, text, experiment
    read, measure, rule, estimate text, verdict) and one row per comparison (mean,
    low, high, n, the three raw and adjusted p-values, verdict). ``correction``
    ``"holm"`` (default) adjusts each kind of p-value over every comparison of the
    table; ``"none"`` does not. A claim whose experiments did not run is
    ``inconclusive`` with that reason.
    """
    if correction not in ("holm", "none"):
        raise ValueError(f"correction={correction!r} is not valid; expected 'holm' or 'none'")
    finals: dict[str, pd.DataFrame] = {}
    parts: list[dict[str, Any]] = []
    for claim in claims:
        key = claim.reads(list(results))
        if key is None:
            continue
        if key not in finals:
            finals[key] = final_rows(results[key], chance=chance)
        final = finals[key] if claim.where is None else select(finals[key], claim.where)
        for c in claim.comparisons:
            est = c.estimate(final, claim.measure, level)
            if c.expect == "equivalent":
                raw = Tests(
                    p_equivalent(est, delta), min(1.0, 2 * min(p_greater(est, delta), p_less(est, -delta))), 1.0
                )
            else:
                raw = tests_of(est, delta=delta, level_margin=c.b is None)
            parts.append({"claim": claim.number, "comparison": c.label, "estimate": est, "experiment": key, "raw": raw})
    if parts:
        adjusted: dict[str, list[float]] = {}
        for kind in ("supported", "contradicted", "equivalent"):
            pvalues = [float(getattr(p["raw"], kind)) for p in parts]
            adjusted[kind] = holm(pvalues) if correction == "holm" else pvalues
        for i, p in enumerate(parts):
            p["adjusted"] = Tests(adjusted["supported"][i], adjusted["contradicted"][i], adjusted["equivalent"][i])
            p["verdict"] = decide(p["adjusted"], alpha=alpha) if p["estimate"].n >= 2 else INCONCLUSIVE
    summary, details = [], []
    for claim in claims:
        mine = [p for p in parts if p["claim"] == claim.number]
        base = {
            "claim": claim.number,
            "source": claim.source,
            "text": claim.text,
            "measure": claim.measure,
            "rule": claim.rule,
        }
        if not mine:
            summary.append(
                {**base, "experiment": claim.experiment, "estimate": "experiment not run", "verdict": INCONCLUSIVE}
            )
            continue
        summary.append(
            {
                **base,
                "experiment": mine[0]["experiment"],
                "estimate": "; ".join(f"{p['comparison']}: {p['estimate'].as_text()}" for p in mine),
                "verdict": combine([p["verdict"] for p in mine]),
            }
        )
        for p in mine:
            e, raw, adj = p["estimate"], p["raw"], p["adjusted"]
            details.append(
                {
                    "claim": claim.number,
                    "comparison": p["comparison"],
                    "experiment": p["experiment"],
                    "mean": e.mean,
                    "low": e.low,
                    "high": e.high,
                    "n": e.n,
                    "p_supported": raw.supported,
                    "p_contradicted": raw.contradicted,
                    "p_equivalent": raw.equivalent,
                    "p_supported_adj": adj.supported,
                    "p_contradicted_adj": adj.contradicted,
                    "p_equivalent_adj": adj.equivalent,
                    "verdict": p["verdict"],
                }
            )
    cols = [
        "claim",
        "comparison",
        "experiment",
        "mean",
        "low",
        "high",
        "n",
        "p_supported",
        "p_contradicted",
        "p_equivalent",
        "p_supported_adj",
        "p_contradicted_adj",
        "p_equivalent_adj",
        "verdict",
    ]
    return pd.DataFrame(summary), pd.DataFrame(details, columns=cols)


def config(
    *,
    scheme: str | None = None,
    base: str | None = None,
    distribution: str | None = None,
    schedule: str | None = None,
    network_variance: float | None = None,
    **extra: Any,
) -> Callable[[pd.DataFrame], pd.Series]:
    """A selector for runs of one configuration. Plain He/Glorot match both
    ``scheme="he"`` and ``scheme="depth", base="he", schedule="unit"``; ``extra``
    columns must equal their values (``preprocess="unit"``, ``variant="sgd"``). A scheme,
    base, distribution or schedule that does not exist is a ValueError (a typo would
    otherwise select nothing, and read as a verdict without data)."""
    from ..init import SCHEDULES, schemes

    for name, value, valid in (
        ("scheme", scheme, tuple(schemes())),
        ("base", base, ("he", "glorot")),
        ("distribution", distribution, ("normal", "uniform", "orthogonal")),
        ("schedule", schedule, SCHEDULES),
    ):
        if value is not None and value not in valid:
            raise ValueError(f"{name}={value!r} is not valid; expected one of {', '.join(map(repr, valid))}")

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
            if col not in f.columns:
                raise ValueError(f"no column {col!r} in the results; select by one of {list(f.columns)}")
            m &= f[col].eq(value)
        return m

    return mask


def prepare(results: pd.DataFrame, *, optimizer: str | None = None, chance: float = CHANCE) -> pd.DataFrame:
    """The rows a verdict reads: ``optimizer``'s runs (None: all), each configuration at the
    learning rate chosen on validation accuracy (:func:`depthinit.analysis.tune`) when the
    table holds several rates (which needs a validation split: ValueError otherwise);
    otherwise the table as it is."""
    from ._tables import tuned

    f = results
    if optimizer is not None and "optimizer" in f.columns:
        f = f[f["optimizer"].eq(optimizer)]
    if f.empty:
        return f
    several = (
        "lr" in f.columns and f.groupby([c for c in ("variant", "init") if c in f.columns])["lr"].nunique().max() > 1
    )
    if several:
        if "val_acc" not in f.columns or f["val_acc"].isna().all():
            raise ValueError(
                "the results hold several learning rates per configuration but no validation "
                "accuracy to choose among them; train with train.n_val > 0 (the test set never "
                "chooses), or select one learning rate before deciding claims"
            )
        f = tuned(f, chance=chance)
    return f.reset_index(drop=True)


def decide_claims(
    results: Mapping[str, pd.DataFrame],
    claims: Sequence[Claim] | None = None,
    *,
    optimizer: str = "sgd",
    chance: float = CHANCE,
    **options: Any,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The book's verdict table: every experiment's results through :func:`prepare` (one
    optimizer, tuned learning rates), then :func:`verdict_table` (``options`` go to it).
    ``claims`` default to :func:`depthinit.analysis.paper_claims`. The landing page and
    the verdicts chapter both call this, so they cannot disagree."""
    from ._claims import paper_claims

    ready = {
        k: p for k, p in ((k, prepare(v, optimizer=optimizer, chance=chance)) for k, v in results.items()) if len(p)
    }
    return verdict_table(ready, paper_claims() if claims is None else claims, chance=chance, **options)
