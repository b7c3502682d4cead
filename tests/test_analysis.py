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
    grid = [
        ("depth", b, d, s, 22.0)
        for b in ("he", "glorot")
        for d in ("normal", "uniform")
        for s in ("unit", "constant", "increasing", "decreasing")
    ]
    grid += [
        ("orthogonal", None, None, None, None),
        ("random_walk", None, "normal", None, None),
        ("lsuv", None, None, None, None),
    ]
    for scheme, base, dist, sched, V in grid:
        for seed in seeds:
            run = f"{scheme}-{base}-{dist}-{sched}-{seed}"
            final = acc_of(scheme, base, dist, sched)
            for epoch in range(1, epochs + 1):
                rows.append(
                    dict(
                        run_id=run,
                        scheme=scheme,
                        base=base,
                        distribution=dist,
                        schedule=sched,
                        network_variance=V,
                        seed=seed,
                        epoch=epoch,
                        preprocess="unit",
                        test_acc=final * epoch / epochs + rng.normal(0, noise),
                        status="ok",
                    )
                )
    return pd.DataFrame(rows)


def test_t_interval_matches_scipy():
    v = np.array([0.1, 0.3, 0.2, 0.25])
    e = A.t_interval(v)
    lo, hi = stats.t.interval(0.95, 3, loc=v.mean(), scale=stats.sem(v))
    assert (e.low, e.high, e.n) == pytest.approx((lo, hi, 4))
    assert math.isnan(A.t_interval([0.5]).low)


def test_verdict_rules_name_what_happened():
    d = 0.02
    assert A.verdict_from(A.Estimate(0.08, 0.05, 0.11, 5, 0.01), delta=d) == A.SUPPORTED
    assert A.verdict_from(A.Estimate(0.015, 0.012, 0.018, 5, 0.001), delta=d) == A.EQUIVALENT  # real but small
    assert A.verdict_from(A.Estimate(-0.05, -0.09, -0.01, 5, 0.01), delta=d) == A.CONTRADICTED
    assert A.verdict_from(A.Estimate(0.0, -0.004, 0.005, 5, 0.0015), delta=d) == A.EQUIVALENT
    assert A.verdict_from(A.Estimate(0.02, -0.05, 0.09, 5, 0.025), delta=d) == A.INCONCLUSIVE
    assert A.verdict_from(A.Estimate(0.5, math.nan, math.nan, 1), delta=d) == A.INCONCLUSIVE
    assert A.VERDICTS == ("supported", "contradicted", "equivalent", "inconclusive")


def test_one_sided_tests_and_tost_match_scipy():
    v = np.array([0.031, 0.052, 0.044, 0.038, 0.06])
    e = A.t_interval(v)
    assert A.p_greater(e, 0.02) == pytest.approx(stats.ttest_1samp(v, 0.02, alternative="greater").pvalue)
    assert A.p_less(e, 0.0) == pytest.approx(stats.ttest_1samp(v, 0.0, alternative="less").pvalue)
    tost = max(
        stats.ttest_1samp(v, -0.1, alternative="greater").pvalue, stats.ttest_1samp(v, 0.1, alternative="less").pvalue
    )
    assert A.p_equivalent(e, 0.1) == pytest.approx(tost)
    # TOST at alpha is the (1 - 2 alpha) interval inside (-delta, delta)
    lo, hi = stats.t.interval(0.90, 4, loc=v.mean(), scale=stats.sem(v))
    for delta in (hi * 0.99, hi * 1.01):
        assert (A.p_equivalent(e, delta) < 0.05) == (-delta < lo and hi < delta)


def test_holm_matches_the_textbook_example():
    p = [0.01, 0.04, 0.03, 0.005]
    # sorted 0.005, 0.01, 0.03, 0.04 -> x4, x3, x2, x1, made monotone
    assert A.holm(p) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert A.holm([0.9, 0.8]) == pytest.approx([1.0, 1.0]) and A.holm([0.5, 0.01]) == pytest.approx([0.5, 0.02])
    assert A.holm([]) == []


def test_wilson_interval_matches_the_closed_form_and_counts():
    p, lo, hi = A.wilson_interval(1, 5)
    z = stats.norm.ppf(0.975)
    centre = (0.2 + z * z / 10) / (1 + z * z / 5)
    half = z * math.sqrt(0.2 * 0.8 / 5 + z * z / 100) / (1 + z * z / 5)
    assert (p, lo, hi) == pytest.approx((0.2, centre - half, centre + half))
    assert A.wilson_interval(0, 5)[1] == 0.0 and A.wilson_interval(5, 5)[2] == 1.0
    with pytest.raises(ValueError, match="not a count"):
        A.wilson_interval(6, 5)


def test_diverged_runs_count_at_chance():
    r = pd.DataFrame(
        dict(
            run_id=["a", "a", "b"],
            epoch=[1, 2, 1],
            test_acc=[0.3, float("nan"), 0.4],
            status=["diverged", "diverged", "ok"],
            seed=[0, 0, 0],
        )
    )
    f = A.final_rows(r, chance=0.1).set_index("run_id")
    assert f.loc["a", "test_acc"] == 0.1 and f.loc["b", "test_acc"] == 0.4
    assert f.loc["a", "failed"] and not f.loc["b", "failed"]
    s = A.summary(r.assign(init="x"), by=("init",))
    assert s.loc[0, "mean"] == pytest.approx(0.25) and s.loc[0, "diverged"] == 1 and s.loc[0, "failed"] == 1


def test_paper_claims_follow_the_data():
    def world(scheme, base, dist, sched):  # the paper's story, made true
        if scheme != "depth":
            return 0.30
        if base == "he" and sched == "unit" and dist == "uniform":
            return 0.10
        acc = {"unit": 0.30, "constant": 0.33, "increasing": 0.40, "decreasing": 0.20}[sched]
        return acc + (0.05 if dist == "normal" else 0.0)

    summary, details = A.verdict_table({"E1": _results(world, seeds=range(6), noise=0.004)}, A.paper_claims())
    assert summary["verdict"].tolist() == [A.SUPPORTED] * 7
    assert set(details["claim"]) == set(range(1, 8)) and (details["experiment"] == "E1").all()
    assert (details["p_supported_adj"] >= details["p_supported"]).all()  # Holm never makes a p-value smaller


def test_paper_claims_can_fail():
    def flat(scheme, base, dist, sched):  # nothing matters: every claim of a difference fails
        return 0.30

    summary, _ = A.verdict_table({"E1": _results(flat, seeds=range(6))}, A.paper_claims())
    v = dict(zip(summary["claim"], summary["verdict"]))
    assert v[1] == v[2] == v[5] == v[6] == v[7] == A.EQUIVALENT  # no difference, and the data say so
    assert v[3] == A.CONTRADICTED  # He uniform trains: no stall
    assert v[4] == A.SUPPORTED  # everything trains

    def reversed_world(scheme, base, dist, sched):  # the paper's story, reversed
        if scheme != "depth":
            return 0.40
        return {"unit": 0.35, "constant": 0.33, "increasing": 0.20, "decreasing": 0.38}[sched]

    summary, _ = A.verdict_table({"E1": _results(reversed_world, seeds=range(6))}, A.paper_claims())
    v = dict(zip(summary["claim"], summary["verdict"]))
    assert v[1] == v[2] == v[6] == v[7] == A.CONTRADICTED


def test_holm_can_turn_a_lone_effect_inconclusive():
    rng = np.random.default_rng(3)
    diffs = 0.03 + rng.normal(0, 0.012, size=4)  # a modest effect on 4 seeds
    rows = [
        dict(run_id=f"{g}{s}", seed=s, epoch=1, status="ok", test_acc=0.3 + (d if g == "a" else 0.0), grp=g)
        for s, d in enumerate(diffs)
        for g in ("a", "b")
    ]
    res = pd.DataFrame(rows)
    claim = A.Claim(1, "a beats b", "X", "test_acc", "a - b", (A.Comparison("a - b", {"grp": "a"}, {"grp": "b"}),))
    alone, _ = A.verdict_table({"X": res}, [claim], delta=0.0)
    many, details = A.verdict_table(
        {"X": res},
        [claim]
        + [
            A.Claim(k, "noise", "X", "test_acc", "", (A.Comparison("n", {"grp": "b"}, {"grp": "b"}),))
            for k in range(2, 12)
        ],
        delta=0.0,
    )
    raw = details.loc[0, "p_supported"]
    assert alone.loc[0, "verdict"] == A.SUPPORTED and raw < 0.05
    assert (
        details.loc[0, "p_supported_adj"] == pytest.approx(min(1.0, 11 * raw))
        or details.loc[0, "p_supported_adj"] >= raw
    )
    assert (many.loc[0, "verdict"] == A.SUPPORTED) == (details.loc[0, "p_supported_adj"] < 0.05)


def test_learning_rates_are_chosen_on_validation_never_on_test():
    rows = []
    for lr, val, test in ((0.01, 0.30, 0.50), (0.1, 0.40, 0.20)):  # the test set would pick the other rate
        for s in range(3):
            rows.append(
                dict(
                    run_id=f"{lr}-{s}",
                    init="x",
                    optimizer="sgd",
                    variant="v",
                    lr=lr,
                    seed=s,
                    epoch=1,
                    val_acc=val,
                    test_acc=test,
                    status="ok",
                )
            )
    res = pd.DataFrame(rows)
    choice = A.tune(res)
    assert choice.loc[0, "lr"] == 0.1 and choice.loc[0, "edge"]
    assert set(A.tuned(res)["lr"]) == {0.1}
    with pytest.raises(ValueError, match="never on the test set"):
        A.tune(res.assign(val_acc=float("nan")))


def test_best_epoch_time_to_threshold_and_plateau():
    rows = []
    for e, acc in enumerate([0.1, 0.2, 0.3, 0.35, 0.355, 0.356]):  # flat at the end
        rows.append(dict(run_id="flat", seed=0, epoch=e, test_acc=acc, status="ok"))
    for e, acc in enumerate([0.1, 0.12, 0.14, 0.16, 0.18, 0.25]):  # still rising
        rows.append(dict(run_id="rising", seed=1, epoch=e, test_acc=acc, status="ok"))
    res = pd.DataFrame(rows)
    b = A.best_epochs(res).set_index("run_id")
    assert b.loc["flat", "best_epoch"] == 5 and b.loc["flat", "plateau"] and not b.loc["rising", "plateau"]
    t = A.time_to(res, 0.3).set_index("run_id")
    assert t.loc["flat", "epoch"] == 2 and math.isnan(t.loc["rising", "epoch"])


def test_missing_experiment_is_inconclusive_with_reason():
    summary, _ = A.verdict_table({}, A.paper_claims()[:1])
    assert summary.loc[0, "verdict"] == A.INCONCLUSIVE and "not run" in summary.loc[0, "estimate"]
    claim3 = A.paper_claims()[2]
    assert claim3.experiment == "E4" and claim3.reads(["E1"]) == "E1" and claim3.reads(["E1", "E4"]) == "E4"


def test_bad_tables():
    with pytest.raises(ValueError, match="empty"):
        A.final_rows(pd.DataFrame())
    with pytest.raises(ValueError, match="lacks column"):
        A.final_rows(pd.DataFrame({"run_id": [1]}))
    with pytest.raises(ValueError, match="no column 'nope'"):
        A.select(pd.DataFrame({"a": [1]}), {"nope": 1})


def test_claim_4_reads_glorot_under_either_reading_of_v():
    def world(scheme, base, dist, sched):
        return 0.30 if base == "he" or scheme != "depth" else 0.10  # Glorot at chance (V multiplies)

    res = _results(world, seeds=range(4))
    res["v_reading"] = np.where(res["scheme"].eq("depth"), "multiplier", None)
    gain = res[(res["base"] == "glorot") & (res["schedule"] == "increasing")].copy()
    gain["v_reading"], gain["run_id"] = "gain", gain["run_id"] + "-gain"
    gain["test_acc"] = gain["test_acc"] + 0.2  # read as the network's gain, Glorot trains
    both = pd.concat([res, gain], ignore_index=True)
    lit, _ = A.verdict_table({"E1": both}, A.paper_claims(glorot_reading="multiplier"))
    alt, _ = A.verdict_table({"E1": both}, A.paper_claims(glorot_reading="gain"))
    assert lit.set_index("claim").loc[4, "verdict"] == A.CONTRADICTED
    assert alt.set_index("claim").loc[4, "verdict"] == A.SUPPORTED
    # the other claims never read the gain-reading runs
    assert (
        (lit.drop(columns="rule").set_index("claim").drop(4) == alt.drop(columns="rule").set_index("claim").drop(4))
        .all()
        .all()
    )
    with pytest.raises(ValueError, match="glorot_reading"):
        A.paper_claims(glorot_reading="both")


def test_decide_claims_reads_one_optimizer_at_tuned_rates():
    rows = []
    for opt, lr, val, test in (("sgd", 0.01, 0.2, 0.25), ("sgd", 0.1, 0.4, 0.45), ("adam", 0.001, 0.3, 0.9)):
        for s in range(3):
            rows.append(
                dict(
                    run_id=f"{opt}{lr}{s}",
                    init="x",
                    scheme="he",
                    optimizer=opt,
                    variant=opt,
                    lr=lr,
                    seed=s,
                    epoch=1,
                    val_acc=val,
                    test_acc=test + 0.001 * s,
                    status="ok",
                )
            )
    res = pd.DataFrame(rows)
    picked = A.prepare(res, optimizer="sgd")
    assert set(picked["lr"]) == {0.1} and set(picked["optimizer"]) == {"sgd"}
    claim = A.Claim(1, "x trains", "E1", "test_acc", "", (A.Comparison("acc - 0.3", {"init": "x"}, threshold=0.3),))
    _, d = A.decide_claims({"E1": res}, [claim], optimizer="sgd")
    assert d.loc[0, "mean"] == pytest.approx(0.151)
    _, d = A.decide_claims({"E1": res}, [claim], optimizer="adam")
    assert d.loc[0, "mean"] == pytest.approx(0.601)


def test_a_claim_of_no_difference_is_supported_by_equivalence_and_contradicted_by_a_gap():
    def frame(gap):
        rows = []
        for s in range(6):
            for g, acc in (("a", 0.40 + gap + 0.001 * (s % 3)), ("b", 0.40 + 0.001 * (s % 2))):
                rows.append(dict(run_id=f"{g}{s}", seed=s, epoch=1, status="ok", test_acc=acc, grp=g))
        return pd.DataFrame(rows)

    claim = A.Claim(
        "B9",
        "a equals b",
        "X",
        "test_acc",
        "",
        (A.Comparison("a - b", {"grp": "a"}, {"grp": "b"}, expect="equivalent"),),
        source="book",
    )
    same, _ = A.verdict_table({"X": frame(0.0)}, [claim])
    apart, _ = A.verdict_table({"X": frame(-0.08)}, [claim])
    assert same.loc[0, "verdict"] == A.SUPPORTED and apart.loc[0, "verdict"] == A.CONTRADICTED
    assert same.loc[0, "source"] == "book" and same.loc[0, "claim"] == "B9"
    with pytest.raises(ValueError, match="expect"):
        A.Comparison("x", {"grp": "a"}, expect="less")


def test_a_contrast_compares_two_effects_seed_by_seed():
    rows = []
    for s in range(5):
        for width, inc, he in ((32, 0.20, 0.30), (256, 0.27, 0.30)):  # the deficit shrinks from 10 to 3 points
            for init, acc in (("inc", inc), ("he", he)):
                rows.append(
                    dict(
                        run_id=f"{width}{init}{s}",
                        seed=s,
                        epoch=1,
                        status="ok",
                        width=width,
                        init=init,
                        test_acc=acc + 0.002 * s,
                    )
                )
    f = A.final_rows(pd.DataFrame(rows))
    c = A.Contrast({"width": 256, "init": "inc"}, {"width": 256, "init": "he"})
    d = A.Contrast({"width": 32, "init": "inc"}, {"width": 32, "init": "he"})
    e = A.effect(f, c, d)
    assert e.mean == pytest.approx(0.07) and e.n == 5


def test_the_books_own_claims_are_labelled_and_read_e6_to_e8():
    claims = A.book_claims()
    assert [c.number for c in claims] == ["B1", "B2", "B3", "B4", "B5", "B6"]
    assert {c.source for c in claims} == {"book"} and {c.experiment for c in claims} == {"E6", "E7", "E8"}
    assert {c.source for c in A.paper_claims()} == {"paper"}


def test_several_rates_without_validation_cannot_be_decided():
    rows = [
        dict(
            run_id=f"{lr}{s}", init="x", optimizer="sgd", variant="v", lr=lr, seed=s, epoch=1, test_acc=0.3, status="ok"
        )
        for lr in (0.01, 0.1)
        for s in range(2)
    ]
    with pytest.raises(ValueError, match="no validation"):
        A.prepare(pd.DataFrame(rows))
