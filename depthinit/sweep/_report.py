"""Summaries of a sweep's results.

Chapter: the experiment chapters (their first table) and ``depthinit report``.
"""

from __future__ import annotations

import os

import pandas as pd

from ._store import load

GROUP = ["variant", "init"]


def summary(results: pd.DataFrame) -> pd.DataFrame:
    """One row per (variant, init): seeds, diverged runs, and the mean and std over
    seeds of the final and best test accuracy and the final train loss.

    A diverged run counts in ``diverged`` and is left out of the accuracy means.
    """
    if results.empty:
        return pd.DataFrame(columns=[*GROUP, "seeds", "diverged", "final_test_acc", "final_test_acc_std",
                                     "best_test_acc", "final_train_loss"])
    last = results.sort_values("epoch").groupby("run_id").tail(1)
    ok = results[results["status"] == "ok"]
    best = ok.groupby("run_id")["test_acc"].max().rename("best")
    last = last.join(best, on="run_id")
    rows = []
    keys = [k for k in GROUP if k in last]
    for key, g in last.groupby(keys, sort=False, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        good = g[g["status"] == "ok"]
        rows.append({
            **dict(zip(keys, key)),
            "seeds": len(g), "diverged": int((g["status"] == "diverged").sum()),
            "final_test_acc": good["test_acc"].mean(), "final_test_acc_std": good["test_acc"].std(ddof=1),
            "best_test_acc": good["best"].mean(), "final_train_loss": good["train_loss"].mean(),
        })
    return pd.DataFrame(rows).sort_values("final_test_acc", ascending=False, na_position="last") \
        .reset_index(drop=True)


def report(out: str | os.PathLike) -> str:
    """A plain-text report of the sweep in ``out``: provenance line and :func:`summary` table."""
    r = load(out, probes=False)
    p = r.provenance
    head = [f"sweep folder: {r.out}"]
    if p:
        dev = p.get("device", {})
        code = p.get("code", {})
        commit = (code.get("commit") or "")[:12] or code.get("depthinit", "?")
        head.append(
            f"experiment {p.get('experiment')!r}, profile {p.get('profile')!r}: {p.get('runs_done')} of "
            f"{p.get('runs_total')} runs done ({p.get('status')}); device {dev.get('type')} ({dev.get('name')}); "
            f"code {commit}{' (dirty)' if code.get('dirty') else ''}; updated {p.get('updated')}"
        )
        for d in p.get("data", []):
            sha = d.get("sha256") or {}
            digest = ", ".join(f"{k} {str(v)[:12]}" for k, v in sha.items()) if isinstance(sha, dict) else str(sha)
            head.append(f"data: {d.get('name')} from {d.get('source')} ({digest}); sizes {d.get('sizes')}")
    if r.results.empty:
        return "\n".join(head + ["no finished runs yet"])
    s = summary(r.results)
    epochs = int(r.results["epoch"].max())
    table = s.to_string(index=False, float_format=lambda x: f"{x:.4f}")
    return "\n".join(head + [f"{r.results['run_id'].nunique()} runs, up to epoch {epochs}", "", table])
