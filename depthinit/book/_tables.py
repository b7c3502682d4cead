"""Tables to show: accuracies with medians and intervals, failure rates, learning-rate choices,
best epochs, time to a threshold, and the verdict table in full text.

Chapter: every experiment chapter and "The verdicts". Every number comes from
:mod:`depthinit.analysis` (one divergence rule: a diverged run scores chance;
intervals clipped to [0, 1]); these functions only choose, order and format.
``depthinit report`` prints the same :func:`depthinit.analysis.summary`.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence

import pandas as pd

from .. import analysis
from ..init import SCHEDULES

#: Reference schemes, in the order the tables list them after the depth grid.
REFERENCE_ORDER: tuple[str, ...] = ("orthogonal", "random_walk", "lsuv")


# -- choosing the learning rate ------------------------------------------------------------
def lr_counts(results: pd.DataFrame) -> int:
    """The largest number of learning rates any configuration of ``results`` was trained with."""
    keys = [k for k in ("variant", "optimizer", "init") if k in results.columns]
    if "lr" not in results.columns or results.empty:
        return 1
    return int(results.groupby(keys, dropna=False)["lr"].nunique().max())


def at_chosen_lr(results: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The rows of ``results`` at each configuration's learning rate, and the choice.

    The rows are :func:`depthinit.analysis.prepare`'s (what the verdicts read). With one
    learning rate per configuration nothing is chosen (the choice is None); with a grid,
    each configuration's rate is the one chosen on validation accuracy (never on the test
    set) and the choice is :func:`depthinit.analysis.tune`'s table. A grid without a
    validation split raises ValueError: a table would otherwise average over rates."""
    if lr_counts(results) <= 1:
        return results, None
    choice = analysis.tune(results)  # raises without a validation split
    return analysis.prepare(results), choice


def design_variants(results: pd.DataFrame) -> list[str]:
    """The values of the ``variant`` column when it is a design factor of the experiment (E6's
    widths and depths, E8's batch norm and residual arms), not just the optimizer's name
    (E1's "sgd" and "adam") or a single value; else ``[]``."""
    if "variant" not in results.columns or results["variant"].nunique() <= 1:
        return []
    if "optimizer" in results.columns and (results["variant"].astype(str) == results["optimizer"].astype(str)).all():
        return []
    return list(dict.fromkeys(results["variant"].astype(str)))


def design_view(results: pd.DataFrame) -> pd.DataFrame:
    """``results`` with each ``init`` label prefixed by its design variant (``"batch norm: He
    normal"``) when the experiment has design variants (:func:`design_variants`), so that
    tables and figures keyed by initialization keep the variants apart; otherwise as is."""
    if not design_variants(results):
        return results
    return results.assign(init=results["variant"].astype(str) + ": " + results["init"].astype(str))


def optimizers(results: pd.DataFrame) -> list[str]:
    """The optimizers of ``results`` in the order SGD, Adam, others (one ``""`` when the column is absent)."""
    if "optimizer" not in results.columns:
        return [""]
    found = list(dict.fromkeys(results["optimizer"].astype(str)))
    return sorted(found, key=lambda o: ({"sgd": 0, "adam": 1}.get(o, 2), o))


def by_optimizer(results: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """``results`` split by optimizer (see :func:`optimizers`)."""
    if "optimizer" not in results.columns:
        return {"": results}
    return {o: results[results["optimizer"].astype(str) == o] for o in optimizers(results)}


OPTIMIZER_NAMES: Mapping[str, str] = {"sgd": "SGD with momentum", "adam": "Adam", "": "the spec's optimizer"}


# -- ordering ---------------------------------------------------------------------------------
def init_order(results: pd.DataFrame) -> list[str]:
    """The ``init`` labels of ``results`` in the book's order: the depth grid by base (He,
    Glorot, others), distribution (normal first) and schedule (``depthinit.init.SCHEDULES``),
    then the references (orthogonal, random walk, LSUV), then anything else as it appears."""
    cols = [c for c in ("init", "scheme", "base", "distribution", "schedule") if c in results.columns]
    rows = results[cols].drop_duplicates("init").to_dict("records")
    bases = {"he": 0, "glorot": 1, "lecun": 2}

    def rank(i_row: tuple[int, dict]) -> tuple:
        i, row = i_row
        scheme, sched = row.get("scheme"), row.get("schedule")
        if isinstance(sched, str) and sched in SCHEDULES and scheme in ("depth", "he", "glorot", "lecun"):
            base = row.get("base") if isinstance(row.get("base"), str) else scheme
            return (
                0,
                bases.get(str(base), 3),
                0 if row.get("distribution") == "normal" else 1,
                SCHEDULES.index(sched),
                i,
            )
        if scheme in REFERENCE_ORDER:
            return (1, REFERENCE_ORDER.index(str(scheme)), 0, 0, i)
        return (2, 0, 0, 0, i)

    return [str(r["init"]) for _, r in sorted(enumerate(rows), key=rank)]


# -- accuracy ---------------------------------------------------------------------------------
def _pct(x: float, digits: int = 1) -> str:
    return "–" if x is None or not math.isfinite(x) else f"{100 * x:.{digits}f}"


def interval_text(low: float, high: float) -> str:
    """``"[31.2, 40.5]"`` in percent, or ``"–"`` when there is no interval (one seed)."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return "–"
    return f"[{100 * low:.1f}, {100 * high:.1f}]"


def accuracy_table(
    results: pd.DataFrame, *, by: Sequence[str] | None = None, chance: float = analysis.CHANCE
) -> pd.DataFrame:
    """Final test accuracy per configuration, to show: one row per group of ``by`` (default:
    :func:`depthinit.analysis.summary`'s configuration columns) in :func:`init_order`.

    Index: the variant, optimizer and initialization where present; columns: the other group
    columns, ``seeds``, mean and median in percent, the 95 % t interval over seeds clipped to
    [0, 100], the failed runs (diverged or ended at chance) with their Wilson 95 % interval.
    Nothing is tuned here: pass the rows at the chosen learning rates (:func:`at_chosen_lr`)."""
    s = analysis.summary(results, by=by, chance=chance)
    keys = [c for c in s.columns if c in (by or analysis.CONFIG_KEYS)]
    if "init" in keys:
        order = {name: i for i, name in enumerate(init_order(results))}
        s = (
            s.assign(_o=s["init"].map(order))
            .sort_values(
                [k for k in keys if k not in ("init", "lr")] + ["_o"] + (["lr"] if "lr" in keys else []), kind="stable"
            )
            .drop(columns="_o")
        )
    out = s[keys].copy()
    if "lr" in out:
        out["lr"] = out["lr"].map(lambda v: f"{v:g}")
    out["seeds"] = s["seeds"].astype(int)
    out["mean %"] = s["mean"].map(_pct)
    out["median %"] = s["median"].map(_pct)
    out["95 % interval"] = [interval_text(lo, hi) for lo, hi in zip(s["low"], s["high"])]
    out["failed [Wilson 95 %]"] = [
        f"{int(k)} of {int(n)} {interval_text(lo, hi)}"
        for k, n, lo, hi in zip(s["failed"], s["runs"], s["failed_low"], s["failed_high"])
    ]
    out = out.rename(columns={"init": "initialization"}).reset_index(drop=True)
    if "variant" in out and not design_variants(results):
        out = out.drop(columns="variant")
    return out.set_index([c for c in out.columns if c in ("variant", "optimizer", "initialization")] or None)


def tuned_table(results: pd.DataFrame, *, chance: float = analysis.CHANCE) -> pd.DataFrame:
    """Per optimizer and initialization: the test accuracy (mean, median, interval) at the
    learning rate chosen on validation, and the chosen rate, marked "(edge)" when it lies at
    the edge of the grid (the grid may then be too narrow). With one rate per configuration
    the column is "lr" (nothing was chosen)."""
    frames = []
    for part in by_optimizer(results).values():
        rows, choice = at_chosen_lr(part)
        table = accuracy_table(rows, by=[k for k in ("optimizer", "init") if k in rows.columns], chance=chance)
        lr = rows.groupby("init")["lr"].first() if "lr" in rows else pd.Series(dtype=float)
        edge = choice.groupby("init")["edge"].any() if choice is not None else pd.Series(dtype=bool)
        inits = table.index.get_level_values("initialization")
        table.insert(
            0,
            "lr" if choice is None else "lr chosen on validation",
            [f"{lr.get(i, math.nan):g}" + (" (edge)" if edge.get(i, False) else "") for i in inits],
        )
        frames.append(table)
    return pd.concat(frames)


def failure_table(results: pd.DataFrame, *, chance: float = analysis.CHANCE) -> pd.DataFrame:
    """Per configuration: runs, diverged (loss became NaN or infinite), collapsed (ended
    below chance + ``depthinit.analysis.FAILURE_MARGIN`` without diverging), the failure
    rate in percent with its Wilson 95 % interval; only configurations with a failure."""
    final = analysis.final_rows(results, chance=chance)
    s = analysis.summary(results, chance=chance)
    keys = [c for c in s.columns if c in analysis.CONFIG_KEYS]
    rows = []
    for r in s[s["failed"] > 0].to_dict("records"):
        mask = pd.Series(True, index=final.index)
        for k in keys:
            mask &= final[k].eq(r[k]) if r[k] == r[k] else final[k].isna()
        g = final[mask]
        rows.append(
            {
                **{("initialization" if k == "init" else k): r[k] for k in keys},
                "runs": int(r["runs"]),
                "diverged": int(g["diverged"].sum()),
                "collapsed": int((g["failed"] & ~g["diverged"]).sum()),
                "failure rate %": _pct(r["failed_rate"], 0),
                "Wilson 95 %": interval_text(r["failed_low"], r["failed_high"]),
            }
        )
    cols = [("initialization" if k == "init" else k) for k in keys] + [
        "runs",
        "diverged",
        "collapsed",
        "failure rate %",
        "Wilson 95 %",
    ]
    out = pd.DataFrame(rows, columns=cols)
    if "variant" in out and not design_variants(results):
        out = out.drop(columns="variant")
    return out.set_index([c for c in out.columns if c in ("variant", "optimizer", "initialization")])


def epoch_table(results: pd.DataFrame, *, threshold: float, chance: float = analysis.CHANCE) -> pd.DataFrame:
    """Per configuration: the median epoch of the best test accuracy, how many runs have their
    best in the last 20 % of the epochs (still improving), how many are on their plateau
    (``depthinit.analysis.PLATEAU_GAIN``), and the median epochs to reach ``threshold``
    (with how many runs never did)."""
    best = analysis.best_epochs(results, chance=chance)
    hit = analysis.time_to(results, threshold, chance=chance)
    keys = [
        k
        for k in ("variant", "optimizer", "lr", "init")
        if k in best.columns and (k == "init" or best[k].nunique() > 1) and (k != "variant" or design_variants(results))
    ]
    merged = best.merge(hit[["run_id", "epoch"]].rename(columns={"epoch": "hit"}), on="run_id")
    order = {name: i for i, name in enumerate(init_order(results))}
    rows = []
    for key, g in merged.groupby(keys, sort=False, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        late = g["best_epoch"] >= g["epochs"] * (1 - analysis.PLATEAU_SHARE)
        rows.append(
            {
                **dict(zip(keys, key)),
                "runs": len(g),
                "median best epoch": float(g["best_epoch"].median()),
                "best in the last 20 %": f"{int(late.sum())} of {len(g)}",
                "on the plateau": f"{int(g['plateau'].sum())} of {len(g)}",
                f"median epochs to {100 * threshold:.0f} %": float(g["hit"].median()),
                "never reached": int(g["hit"].isna().sum()),
            }
        )
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    opt_rank = {"sgd": 0, "adam": 1}
    out = out.assign(
        _o=out["init"].map(order), _p=out["optimizer"].map(lambda o: opt_rank.get(o, 2)) if "optimizer" in out else 0
    )
    out = out.sort_values([k for k in ("variant",) if k in keys] + ["_p", "_o"], kind="stable").drop(
        columns=["_o", "_p"]
    )
    out = out.rename(columns={"init": "initialization"}).reset_index(drop=True)
    return out.set_index([c for c in ("variant", "optimizer", "initialization") if c in out.columns])


def side_by_side(tables: Mapping[str, pd.DataFrame], *, chance: float = analysis.CHANCE) -> pd.DataFrame:
    """Mean test accuracy % [95 % interval] per initialization from several results tables (e.g.
    the stored paper-profile run and this build's), one column per source, in :func:`init_order`
    of the first; each table at its chosen learning rates, per optimizer when there are several."""
    cols: dict[str, pd.Series] = {}
    order: list[str] = []
    for source, results in tables.items():
        for opt, part in by_optimizer(results).items():
            rows, _ = at_chosen_lr(part)
            s = analysis.summary(rows, by=["init"], chance=chance).set_index("init")
            name = source + (f", {OPTIMIZER_NAMES.get(opt, opt)}" if len(by_optimizer(results)) > 1 else "")
            cols[name] = pd.Series(
                {i: f"{_pct(r['mean'])} {interval_text(r['low'], r['high'])}" for i, r in s.iterrows()}
            )
            order += [i for i in init_order(rows) if i not in order]
    return pd.DataFrame(cols).reindex(order).fillna("not run").rename_axis("initialization")


# -- verdicts ---------------------------------------------------------------------------------
#: The CSS class of each verdict in the HTML tables (the site's stylesheet colours them).
VERDICT_CLASSES: Mapping[str, str] = {v: f"verdict-{v}" for v in analysis.VERDICTS}


def verdict_html(summary: pd.DataFrame, *, details: pd.DataFrame | None = None) -> str:
    """The verdict table in full text as HTML: one row per claim (number, source, what it says,
    the experiment it was read on, each comparison's estimate in points with its interval,
    the verdict). Each verdict cell has the class ``verdict-<name>`` (``VERDICT_CLASSES``);
    the table has the class ``verdict-table``. Nothing is cut."""
    head = (
        '<table class="verdict-table"><thead><tr><th>claim</th><th>what it says</th>'
        "<th>read on</th><th>estimate, accuracy points [95 % interval] (seeds)</th><th>verdict</th></tr>"
        "</thead><tbody>"
    )
    rows = []
    for r in summary.to_dict("records"):
        number = f"{r['claim']}" + (" (the book's)" if r.get("source") == "book" else "")
        parts = details[details["claim"] == r["claim"]] if details is not None and len(details) else None
        if parts is not None and len(parts):
            est = "<br>".join(
                html.escape(f"{p['comparison']}: {_points(p['mean'], p['low'], p['high'], p['n'])}")
                + f' <span class="{VERDICT_CLASSES.get(p["verdict"], "")}">({p["verdict"]})</span>'
                for p in parts.to_dict("records")
            )
        else:
            est = html.escape(str(r["estimate"]))
        cls = VERDICT_CLASSES.get(str(r["verdict"]), "")
        rows.append(
            f"<tr><td>{number}</td><td>{html.escape(str(r['text']))}</td>"
            f"<td>{html.escape(str(r['experiment']))}</td><td>{est}</td>"
            f'<td class="verdict {cls}"><strong>{html.escape(str(r["verdict"]))}</strong></td></tr>'
        )
    return head + "".join(rows) + "</tbody></table>"


def _points(mean: float, low: float, high: float, n: int) -> str:
    if not math.isfinite(mean):
        return "no estimate"
    text = f"{100 * mean:+.1f}"
    if math.isfinite(low) and math.isfinite(high):
        text += f" [{100 * low:+.1f}, {100 * high:+.1f}]"
    return text + f" ({int(n)} seed{'s' if n != 1 else ''})"


def rules_table(claims: Sequence[analysis.Claim]) -> pd.DataFrame:
    """Each claim's number, source, text, the experiment it reads (and its fallbacks) and its rule."""
    return pd.DataFrame(
        [
            {
                "claim": c.number,
                "source": c.source,
                "what it says": c.text,
                "read on": " or ".join((c.experiment, *c.fallbacks)),
                "measure and rule": c.rule,
            }
            for c in claims
        ]
    ).set_index("claim")


__all__ = [
    "OPTIMIZER_NAMES",
    "REFERENCE_ORDER",
    "VERDICT_CLASSES",
    "accuracy_table",
    "at_chosen_lr",
    "by_optimizer",
    "design_variants",
    "design_view",
    "epoch_table",
    "failure_table",
    "init_order",
    "interval_text",
    "lr_counts",
    "optimizers",
    "rules_table",
    "side_by_side",
    "tuned_table",
    "verdict_html",
]
