"""Folders written by depthinit 0.1 (layout 1): read them, and convert them to layout 2.

Chapter: "Reproducibility". Layout 1 kept ``results.csv``, ``runs.csv`` and
``plans.csv`` at the top of the folder, rewritten whole after every stack, and
probes as ``probes/part-*.csv``; initialization labels were short keys
(``he-normal-increasing``). Reading maps it onto the declared schema of layout 2:
the labels are rebuilt from each run's recorded configuration, columns that did
not exist yet get their neutral values (no validation split, logit scale 1,
ReLU, no batch norm).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from . import _schema as schema
from ._spec import InitConfig, SweepError

_NEW_DEFAULTS = {"n_val": 0, "logit_scale": 1.0, "activation": "relu", "batch_norm": False}
# columns that did not exist in layout 1 and have a value only for some schemes
_NEW_BY_SCHEME = {"v_reading": {"depth": "multiplier"}}


def _csv(path: Path) -> pd.DataFrame | None:
    if not path.exists():
        return None
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as err:
        raise SweepError(f"{path} is not a readable CSV table ({err}); move it away and restart the sweep") from None


def _labels(runs: pd.DataFrame, where: Path) -> dict[str, str]:
    out = {}
    for rid, cfg in zip(runs["run_id"], runs["config"]):
        try:
            init = json.loads(cfg)["init"]
            out[rid] = InitConfig(init["scheme"], tuple(init["options"].items())).label
        except (json.JSONDecodeError, TypeError, KeyError, AttributeError, ValueError) as err:
            raise SweepError(
                f"{where}: the config of run {rid} is not a readable run configuration "
                f"({type(err).__name__}: {err}); restore the file from a backup, or move the folder "
                "away and run the sweep again"
            ) from None
    return out


def _fit(frame: pd.DataFrame, table: str, labels: dict[str, str]) -> pd.DataFrame:
    cols = schema.TABLES.get(table)
    f = frame.copy()
    if "init" in f.columns and labels:
        f["init"] = f["run_id"].map(labels).fillna(f["init"])
    if cols is None:
        return f
    for k, v in _NEW_DEFAULTS.items():
        if k in cols and k not in f.columns:
            f[k] = v
    for k, by in _NEW_BY_SCHEME.items():
        if k in cols and k not in f.columns and "scheme" in f.columns:
            f[k] = f["scheme"].map(by)
    if table == "runs" and "best_epoch" not in f.columns:
        f["best_epoch"] = None
    return schema.conform(f[[c for c in f.columns if c in cols]], cols, table)


def load_layout1(out: Path, *, probes: bool = True):
    """A layout-1 folder as :class:`~depthinit.sweep._store.Results` (read only)."""
    from ._store import Results, _read_provenance

    r = Results(out, provenance=_read_provenance(out), layout=1)
    res = _csv(out / "results.csv")
    if res is None or res.empty:
        return r
    runs = _csv(out / "runs.csv")
    labels = _labels(runs, out / "runs.csv") if runs is not None and "config" in runs else {}
    r.results = _fit(res.drop_duplicates(["run_id", "epoch"]), "results", labels)
    done = r.finished
    if runs is not None:
        r.runs = _fit(runs[runs["run_id"].isin(done)].drop_duplicates("run_id"), "runs", labels)
    plans = _csv(out / "plans.csv")
    if plans is not None:
        r.plans = _fit(plans[plans["run_id"].isin(done)], "plans", labels)
    if probes:
        for name in ("probes", "histograms"):
            parts = [
                pd.read_csv(p, dtype={"run_id": str, "layer": str, "kind": str, "init": str, "variant": str})
                for p in sorted((out / name).glob("part-*.csv"))
            ]
            parts = [p[p["run_id"].isin(done)] for p in parts]
            if parts:
                t = pd.concat(parts, ignore_index=True)
                t["init"] = t["run_id"].map(labels).fillna(t["init"])
                setattr(r, name, t.reset_index(drop=True))
    return r


def migrate(out: str | Path) -> int:
    """Convert a layout-1 sweep folder to layout 2 in place; returns the number of runs kept.

    Each layout-1 stack becomes one part of every table; probes become Parquet.
    The old files are removed only after every new part is written. A folder that
    is already in layout 2 is left as it is (returns its run count).
    """
    from . import _store as store

    out = Path(out)
    if not out.is_dir():
        what = "it does not exist" if not out.exists() else "it is a file"
        raise SweepError(f"{out} is not a folder ({what}); pass the --out folder of a sweep written by depthinit 0.1")
    if store.layout_of(out) != 1:
        if store.layout_of(out) == store.LAYOUT:
            return len(store.load(out, probes=False, warn=False).finished)
        raise SweepError(
            f"{out} holds no depthinit results to migrate (no results.csv at its top); pass the --out "
            "folder of a sweep written by depthinit 0.1"
        )
    r = load_layout1(out)
    stacks = r.runs.set_index("run_id")["stack"] if len(r.runs) else pd.Series(dtype=str)
    groups = r.results.groupby(r.results["run_id"].map(stacks).fillna(r.results["run_id"]), sort=False)
    with store.Lock(out):
        for number, (stack, g) in enumerate(groups):
            ids = set(g["run_id"])
            stem = f"{number:06x}-{stack}"
            for name in ("runs", "plans", "probes", "histograms"):
                t = getattr(r, name)
                if len(t):
                    part = t[t["run_id"].isin(ids)]
                    if len(part):
                        store.write_part(out, name, stem, part)
            store.write_part(out, "results", stem, g)
        prov = dict(r.provenance)
        prov.update(layout=store.LAYOUT, migrated_from_layout=1)
        prov.setdefault("shard", None)
        store.atomic_write_text(out / store.PROVENANCE, json.dumps(prov, indent=2, default=str) + "\n")
        for name in ("results.csv", "runs.csv", "plans.csv"):
            (out / name).unlink(missing_ok=True)
        for name in ("probes", "histograms"):
            for p in (out / name).glob("part-*.csv"):
                p.unlink()
    kept = len(store.load(out, probes=False, warn=False).finished)
    if kept != len(r.finished):
        raise SweepError(
            f"migration of {out} kept {kept} of {len(r.finished)} runs; restore the folder from "
            "version control and report this"
        )
    return kept


__all__ = ["load_layout1", "migrate"]
