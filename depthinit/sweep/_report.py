"""Summaries of a sweep's results: ``depthinit report`` and the chapters read the same numbers.

Chapter: the experiment chapters (their tables) and ``depthinit report``. The
summary is :func:`depthinit.analysis.summary`, whose rule for diverged runs
(they score chance accuracy) is the book's only one.
"""

from __future__ import annotations

import os

import pandas as pd

from ._store import load


def summary(results: pd.DataFrame) -> pd.DataFrame:
    """One row per configuration: :func:`depthinit.analysis.summary` of the final test accuracy."""
    from ..analysis import summary as analysis_summary

    return analysis_summary(results)


def report(out: str | os.PathLike) -> str:
    """A plain-text report of the sweep in ``out``: provenance lines, damaged records, and
    :func:`summary` with accuracies in percent."""
    r = load(out, probes=False, warn=False)
    p = r.provenance
    head = [f"sweep folder: {r.out}"]
    if p:
        dev = p.get("device", {})
        code = p.get("code", {})
        commit = (code.get("commit") or "")[:12] or code.get("depthinit", "?")
        shard = f", shard {p['shard']}" if p.get("shard") else ""
        intact = len(r.finished)  # what the folder holds now; the record says what the last sweep saw
        if r.problems or p.get("runs_done") != intact:
            count = (
                f"{intact} runs intact here; the last sweep recorded {p.get('runs_done')} of "
                f"{p.get('runs_total')} done ({p.get('status')})"
            )
            if r.problems:
                count += "; damaged records: run the same sweep again to train their runs again"
        else:
            count = f"{intact} of {p.get('runs_total')} runs done ({p.get('status')})"
        head.append(
            f"experiment {p.get('experiment')!r}, profile {p.get('profile')!r}{shard}: {count}; device "
            f"{dev.get('type')} ({dev.get('name')}); code {commit}{' (dirty)' if code.get('dirty') else ''}; "
            f"updated {p.get('updated')}"
        )
        for d in p.get("data", []):
            sha = d.get("sha256") or {}
            digest = ", ".join(f"{k} {str(v)[:12]}" for k, v in sha.items()) if isinstance(sha, dict) else str(sha)
            head.append(f"data: {d.get('name')} from {d.get('source')} ({digest}); sizes {d.get('sizes')}")
    if r.layout == 1:
        head.append(f"older folder layout: convert it with `depthinit migrate {r.out}` before adding runs")
    head += [f"damaged: {m}" for m in r.problems]
    if r.results.empty:
        return "\n".join(head + ["no finished runs yet"])
    s = summary(r.results)
    shown = s.drop(columns=[c for c in ("failed_low", "failed_high", "runs") if c in s]).copy()
    for c in ("failed_rate", "mean", "median", "std", "low", "high", "best"):
        shown[c] = 100 * shown[c]
    shown = shown.rename(
        columns={
            "mean": "test_acc_%",
            "median": "median_%",
            "std": "std_%",
            "low": "low_%",
            "high": "high_%",
            "best": "best_%",
            "failed_rate": "failed_%",
        }
    )
    if "lr" in shown:
        shown["lr"] = shown["lr"].map(lambda v: f"{v:g}")
    epochs = int(r.results["epoch"].max())
    with pd.option_context("display.width", 200, "display.max_columns", 30, "display.max_rows", 500):
        table = shown.to_string(index=False, float_format=lambda x: f"{x:.2f}")
    rule = (
        "diverged runs count at chance accuracy; failed = diverged or below chance + 2 points; "
        "intervals: 95 % t over seeds"
    )
    return "\n".join(head + [f"{r.results['run_id'].nunique()} runs, up to epoch {epochs}; {rule}", "", table])
