"""Results tables turned into per-run finals and per-configuration summaries, with ONE rule
for runs that diverge, shared by ``depthinit report`` and every chapter.

Chapter: "The verdicts" (the rules) and every experiment chapter (the tables).

The rules, fixed here and nowhere else:

* **Divergence.** A run whose loss became NaN or infinite (status ``"diverged"``)
  scores chance accuracy from the epoch it diverged to the end, and its losses are
  left out: a run that cannot train has not trained. (The runs table records
  its final accuracy as NaN: it has none.)
* **Failure.** A run *fails* when it diverged or its final test accuracy is below
  ``chance + FAILURE_MARGIN``: it ended where an untrained network is.
* **Tuning.** Each configuration's learning rate is the one with the highest mean
  final *validation* accuracy over seeds (diverged runs at chance; ties to the
  smaller rate); the test accuracy of that setting is what the verdicts read.
* **Plateau.** A curve has reached its plateau when the last 20 % of its epochs add
  less than ``PLATEAU_GAIN`` (one point) of accuracy.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ._stats import t_interval, wilson_interval

#: Chance accuracy of the ten-class data sets of the book.
CHANCE = 0.1
#: A run ending below chance + this margin has failed (it did not learn).
FAILURE_MARGIN = 0.02
#: The plateau rule: the last ``PLATEAU_SHARE`` of the epochs add less than this accuracy.
PLATEAU_GAIN = 0.01
PLATEAU_SHARE = 0.2
#: What identifies one configuration (its seeds vary), where these columns exist.
CONFIG_KEYS: tuple[str, ...] = ("variant", "optimizer", "lr", "init")

_ACC = ("train_acc", "val_acc", "test_acc")
_LOSS = ("train_loss", "val_loss", "test_loss")


def _check(results: pd.DataFrame, need: Sequence[str] = ("run_id", "epoch", "test_acc")) -> None:
    if not isinstance(results, pd.DataFrame):
        raise ValueError(
            f"the results table must be a pandas DataFrame, got {type(results).__name__}; pass the "
            "sweep's results table (depthinit.sweep.load(out).results)"
        )
    if results.empty:
        raise ValueError("the results table is empty; run the sweep first")
    missing = set(need) - set(results.columns)
    if missing:
        raise ValueError(f"the results table lacks column(s) {sorted(missing)}; pass the sweep's results table")
    if not pd.api.types.is_numeric_dtype(results["epoch"]) or pd.api.types.is_bool_dtype(results["epoch"]):
        raise ValueError(
            f"the results column 'epoch' holds {results['epoch'].dtype} values, not numbers (the last "
            "epoch would be found by text order); read the table with depthinit.sweep.load, or cast it "
            "with .astype(int)"
        )
    for col in _ACC:
        if col in results.columns:
            v = pd.to_numeric(results[col], errors="coerce")
            bad = v[(v < 0) | (v > 1)]
            if len(bad):
                raise ValueError(
                    f"the results column {col!r} holds {float(bad.iloc[0])!r}, outside [0, 1]; "
                    "accuracies are fractions (divide percentages by 100)"
                )


def _check_by(frame: pd.DataFrame, by: Sequence[str] | None) -> None:
    unknown = [k for k in (by or ()) if k not in frame.columns]
    if unknown:
        raise ValueError(
            f"by={list(by or ())!r} names column(s) {unknown} the results do not have; group by some "
            f"of {list(frame.columns)}"
        )


def _diverged(frame: pd.DataFrame) -> pd.Series:
    bad = frame["status"].eq("diverged") if "status" in frame else pd.Series(False, index=frame.index)
    return bad | ~np.isfinite(frame["test_acc"].astype(float))


def final_rows(results: pd.DataFrame, *, chance: float = CHANCE) -> pd.DataFrame:
    """One row per run: its last epoch, with the divergence rule applied (accuracies
    at ``chance``, losses NaN where the run diverged) and ``failed`` added."""
    _check(results)
    last = results.sort_values("epoch").groupby("run_id", sort=False).tail(1).copy()
    bad = _diverged(last)
    for col in _ACC:
        if col in last.columns:
            last[col] = last[col].astype(float).where(~bad, chance)
    for col in _LOSS:
        if col in last.columns:
            last.loc[bad, col] = np.nan
    last["diverged"] = bad.to_numpy()
    last["failed"] = (bad | (last["test_acc"].astype(float) < chance + FAILURE_MARGIN)).to_numpy()
    return last.reset_index(drop=True)


def filled_curves(results: pd.DataFrame, *, chance: float = CHANCE) -> pd.DataFrame:
    """Every run's history with the divergence rule applied over epochs: a diverged run
    is at ``chance`` accuracy (losses NaN) from the epoch it diverged to the last epoch
    any run of the table reached."""
    _check(results)
    last = int(results["epoch"].max())
    out = []
    for _, g in results.groupby("run_id", sort=False):
        g = g.sort_values("epoch")
        if _diverged(g).any():
            stop = int(g.loc[_diverged(g), "epoch"].min())
            pad = g.iloc[[-1] * (last - stop + 1)].copy()
            pad["epoch"] = range(stop, last + 1)
            g = pd.concat([g[g["epoch"] < stop], pad], ignore_index=True)
            after = g["epoch"] >= stop
            for col in _ACC:
                if col in g:
                    g[col] = g[col].astype(float).where(~after, chance)
            for col in _LOSS:
                if col in g:
                    g.loc[after, col] = np.nan
        out.append(g)
    return pd.concat(out, ignore_index=True)


def _keys(frame: pd.DataFrame, by: Sequence[str] | None) -> list[str]:
    keys = [k for k in (CONFIG_KEYS if by is None else by) if k in frame.columns]
    if by is None and "lr" in keys and frame["lr"].nunique() <= 1:
        keys.remove("lr")
    if by is None and "optimizer" in keys and frame["optimizer"].nunique() <= 1:
        keys.remove("optimizer")
    return keys


def _groups(frame: pd.DataFrame, keys: list[str]):
    if not keys:
        yield (), frame
        return
    for key, g in frame.groupby(keys, sort=False, dropna=False):
        yield (key if isinstance(key, tuple) else (key,)), g


def summary(
    results: pd.DataFrame,
    *,
    by: Sequence[str] | None = None,
    measure: str = "test_acc",
    chance: float = CHANCE,
    level: float = 0.95,
) -> pd.DataFrame:
    """One row per configuration (``by``; default the columns of ``CONFIG_KEYS`` that
    vary): ``seeds``, ``diverged``, ``failed`` with its Wilson interval (``failed_low``,
    ``failed_high``), the mean, median and std over seeds of the final ``measure`` with the
    t interval (``low``, ``high``, clipped to [0, 1] for accuracies), the mean best
    accuracy over epochs, and the mean final training loss of runs that did not diverge.
    Sorted by the mean, best first. The divergence rule is :func:`final_rows`'s.
    """
    final = final_rows(results, chance=chance)
    if measure not in final:
        raise ValueError(
            f"measure={measure!r} is not a column of the results; use one of "
            f"{', '.join(c for c in (*_ACC, *_LOSS) if c in final)}"
        )
    _check_by(final, by)
    curves = filled_curves(results, chance=chance)
    best = curves[curves["epoch"] > 0].groupby("run_id")[measure].max() if measure in _ACC else None
    keys = _keys(final, by)
    rows = []
    for key, g in _groups(final, keys):
        per_seed = g.groupby("seed")[measure].mean() if "seed" in g else g[measure]
        est = t_interval(per_seed.to_numpy(), level=level)
        low, high = est.low, est.high
        if measure in _ACC:
            low, high = (max(0.0, low), min(1.0, high)) if math.isfinite(low) else (low, high)
        k, n = int(g["failed"].sum()), len(g)
        p, flo, fhi = wilson_interval(k, n, level=level)
        row = dict(zip(keys, key))
        row.update(
            seeds=int(g["seed"].nunique()) if "seed" in g else n,
            runs=n,
            diverged=int(g["diverged"].sum()),
            failed=k,
            failed_rate=p,
            failed_low=flo,
            failed_high=fhi,
            mean=est.mean,
            median=float(per_seed.median()),
            std=float(per_seed.std(ddof=1)) if n > 1 else math.nan,
            low=low,
            high=high,
            best=float(best.reindex(g["run_id"]).mean()) if best is not None else math.nan,
            final_train_loss=float(g["train_loss"].mean()) if "train_loss" in g else math.nan,
        )
        rows.append(row)
    cols = keys + [
        "seeds",
        "runs",
        "diverged",
        "failed",
        "failed_rate",
        "failed_low",
        "failed_high",
        "mean",
        "median",
        "std",
        "low",
        "high",
        "best",
        "final_train_loss",
    ]
    return (
        pd.DataFrame(rows, columns=cols)
        .sort_values("mean", ascending=False, kind="stable", na_position="last")
        .reset_index(drop=True)
    )


def tune(
    results: pd.DataFrame,
    *,
    group: Sequence[str] = ("variant", "optimizer", "init"),
    select_on: str = "val_acc",
    chance: float = CHANCE,
) -> pd.DataFrame:
    """The chosen learning rate of each configuration of ``group``: the one whose mean final
    ``select_on`` over seeds is highest (diverged runs at chance; ties to the smaller rate).

    Returns one row per configuration: ``group`` columns, ``lr`` (chosen),
    ``select_mean`` (its mean validation accuracy), ``grid`` (every rate tried, as
    text), ``edge`` (True when the choice is the smallest or largest rate of the
    grid: the grid may be too narrow there)."""
    final = final_rows(results, chance=chance)
    if select_on not in final or final[select_on].isna().all():
        raise ValueError(
            f"select_on={select_on!r} has no values; the runs have no validation split "
            "(set train.n_val) — select on validation accuracy, never on the test set"
        )
    keys = [k for k in group if k in final.columns]
    rows = []
    for key, g in _groups(final, keys):
        means = g.groupby("lr")[select_on].mean().sort_index()
        best = float(means.idxmax())
        grid = sorted(float(x) for x in means.index)
        rows.append(
            {
                **dict(zip(keys, key)),
                "lr": best,
                "select_mean": float(means.max()),
                "grid": ", ".join(f"{x:g}" for x in grid),
                "edge": len(grid) > 1 and best in (grid[0], grid[-1]),
            }
        )
    return pd.DataFrame(rows)


def tuned(
    results: pd.DataFrame,
    *,
    group: Sequence[str] = ("variant", "optimizer", "init"),
    select_on: str = "val_acc",
    chance: float = CHANCE,
) -> pd.DataFrame:
    """The rows of ``results`` at each configuration's chosen learning rate (:func:`tune`)."""
    choice = tune(results, group=group, select_on=select_on, chance=chance)
    keys = [k for k in group if k in results.columns] + ["lr"]
    picked = results.merge(choice[keys], on=keys, how="inner")
    return picked.reset_index(drop=True)


def best_epochs(results: pd.DataFrame, *, measure: str = "test_acc", chance: float = CHANCE) -> pd.DataFrame:
    """Per run: the epoch of its best ``measure`` (diverged runs: NaN), the number of epochs,
    and whether the run is on its plateau (``PLATEAU_GAIN``)."""
    curves = filled_curves(results, chance=chance)
    keep = [c for c in ("variant", "optimizer", "lr", "init", "seed") if c in curves]
    rows = []
    for rid, g in curves.groupby("run_id", sort=False):
        g = g.sort_values("epoch")
        trained = g[g["epoch"] > 0]
        div = bool(_diverged(results[results["run_id"] == rid]).any())
        epochs = int(g["epoch"].max())
        start = math.floor(epochs * (1 - PLATEAU_SHARE))
        v = g.set_index("epoch")[measure]
        gain = float(v.iloc[-1] - v.get(start, v.iloc[0])) if len(v) else math.nan
        rows.append(
            {
                "run_id": rid,
                **{c: g[c].iloc[0] for c in keep},
                "best_epoch": math.nan
                if div or trained.empty
                else int(trained.loc[trained[measure].idxmax(), "epoch"]),
                "epochs": epochs,
                "late_gain": gain,
                "plateau": (not div) and gain < PLATEAU_GAIN,
            }
        )
    return pd.DataFrame(rows)


def time_to(
    results: pd.DataFrame, threshold: float, *, measure: str = "test_acc", chance: float = CHANCE
) -> pd.DataFrame:
    """Per run: the first epoch at which ``measure`` reaches ``threshold`` (NaN: never)."""
    curves = filled_curves(results, chance=chance)
    keep = [c for c in ("variant", "optimizer", "lr", "init", "seed") if c in curves]
    rows = []
    for rid, g in curves.groupby("run_id", sort=False):
        hit = g[(g["epoch"] > 0) & (g[measure] >= threshold)]
        rows.append(
            {
                "run_id": rid,
                **{c: g[c].iloc[0] for c in keep},
                "epoch": float(hit["epoch"].min()) if len(hit) else math.nan,
            }
        )
    return pd.DataFrame(rows)


def curve_frame(
    results: pd.DataFrame,
    *,
    by: Sequence[str] = ("init",),
    measure: str = "test_acc",
    chance: float = CHANCE,
    level: float = 0.95,
) -> pd.DataFrame:
    """Mean and t interval over seeds of ``measure`` at every epoch, per group of ``by``
    (divergence rule of :func:`filled_curves`; accuracy intervals clipped to [0, 1]).
    Columns: ``by``, ``epoch``, ``mean``, ``median``, ``low``, ``high``, ``n``."""
    _check(results)
    if measure not in results.columns:
        raise ValueError(
            f"measure={measure!r} is not a column of the results; use one of test_acc, train_acc, "
            "val_acc, test_loss, train_loss"
        )
    _check_by(results, by)
    full = filled_curves(results, chance=chance)
    keys = [k for k in by if k in full.columns]
    rows = []
    for key, g in _groups(full, keys + ["epoch"]):
        per_seed = g.groupby("seed")[measure].mean()
        est = t_interval(per_seed.to_numpy(), level=level)
        low, high = est.low, est.high
        if measure in _ACC and math.isfinite(low):
            low, high = max(0.0, low), min(1.0, high)
        rows.append(
            {
                **dict(zip(keys + ["epoch"], key)),
                "mean": est.mean,
                "median": float(per_seed.median()),
                "low": low,
                "high": high,
                "n": est.n,
            }
        )
    return pd.DataFrame(rows)
