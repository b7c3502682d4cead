"""Verdicts computed from a results table: intervals, rules, the paper's claims."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from depthinit import analysis as A


def _results(acc_of, seeds=(0, 1, 2, 3), epochs=2, noise=0.002):
    rng = np.random.default_rng(0)
    rows = []
    grid = [("depth", b, d, s, 22.0) for b in ("he", "glorot") for d in ("normal", "uniform")
            for s in ("unit", "constant", "increasing", "decreasing")]
    grid += [("orthogonal", None, None, None, None), ("random_walk", None, "normal", None, None),
             ("lsuv", None, None, None, None)]
    for scheme, base, dist, sched, V in grid:
        for seed in seeds:
            run = f"{scheme}-{base}-{dist}-{sched}-{seed}"
            final = acc_of(scheme, base, dist, sched)
            for epoch in range(1, epochs + 1):
                rows.append(dict(run_id=run, scheme=scheme, base=base, distribution=dist, schedule=sched,
                                 network_variance=V, seed=seed, epoch=epoch,
                                 test_acc=final * epoch / epochs + rng.normal(0, noise), status="ok"))
    return pd.DataFrame(rows)


def test_t_interval_matches_scipy():
    v = np.array([0.1, 0.3, 0.2, 0.25])
    e = A.t_interval(v)
    lo, hi = stats.t.interval(0.95, 3, loc=v.mean(), scale=stats.sem(v))
    assert (e.low, e.high, e.n) == pytest.approx((lo, hi, 4))
    assert math.isnan(A.t_interval([0.5]).low)


def test_verdict_rule():
    assert A.verdict_from(A.Estimate(0.05, 0.01, 0.09, 3), delta=0.01) == A.SUPPORTED
    assert A.verdict_from(A.Estimate(-0.05, -0.09, -0.01, 3), delta=0.01) == A.NOT_SUPPORTED
    assert A.verdict_from(A.Estimate(0.0, -0.004, 0.005, 3), delta=0.01) == A.NOT_SUPPORTED  # negligible
    assert A.verdict_from(A.Estimate(0.02, -0.01, 0.05, 3), delta=0.01) == A.INCONCLUSIVE
    assert A.verdict_from(A.Estimate(0.5, math.nan, math.nan, 1), delta=0.01) == A.INCONCLUSIVE


def test_diverged_runs_count_at_chance():
    r = pd.DataFrame(dict(run_id=["a", "a", "b"], epoch=[1, 2, 1], test_acc=[0.3, float("nan"), 0.4],
                          status=["diverged", "diverged", "ok"], seed=[0, 0, 0]))
    f = A.final_rows(r, chance=0.1).set_index("run_id")
    assert f.loc["a", "test_acc"] == 0.1 and f.loc["b", "test_acc"] == 0.4


def test_paper_claims_follow_the_data():
    def world(scheme, base, dist, sched):  # the paper's story, made true
        if scheme != "depth":
            return 0.30
        if base == "he" and sched == "unit" and dist == "uniform":
            return 0.10
        acc = {"unit": 0.30, "constant": 0.33, "increasing": 0.40, "decreasing": 0.20}[sched]
        return acc + (0.02 if dist == "normal" else 0.0)

    summary, details = A.verdict_table({"E1": _results(world)}, A.paper_claims())
    assert summary["verdict"].tolist() == [A.SUPPORTED] * 7
    assert set(details["claim"]) == set(range(1, 8))


def test_paper_claims_can_fail():
    def flat(scheme, base, dist, sched):  # nothing matters: every claim of a difference fails
        return 0.30

    summary, _ = A.verdict_table({"E1": _results(flat)}, A.paper_claims())
    v = dict(zip(summary["claim"], summary["verdict"]))
    assert v[1] == v[2] == v[5] == v[6] == v[7] == A.NOT_SUPPORTED
    assert v[3] == A.NOT_SUPPORTED  # He uniform trains: no stall
    assert v[4] == A.SUPPORTED  # everything trains


def test_missing_experiment_is_inconclusive_with_reason():
    summary, _ = A.verdict_table({}, A.paper_claims()[:1])
    assert summary.loc[0, "verdict"] == A.INCONCLUSIVE and "not run" in summary.loc[0, "estimate"]


def test_bad_tables():
    with pytest.raises(ValueError, match="empty"):
        A.final_rows(pd.DataFrame())
    with pytest.raises(ValueError, match="lacks column"):
        A.final_rows(pd.DataFrame({"run_id": [1]}))
    with pytest.raises(ValueError, match="no column 'nope'"):
        A.select(pd.DataFrame({"a": [1]}), {"nope": 1})
