"""Reliability of the analysis (issue 14, found by benchmarks/attacks.py): inputs that used to
give a silently wrong table (a group column that does not exist, accuracies in percent, p-values
outside [0, 1], a confidence level of 0 or 1.5, a typo in a selector) are refused, naming the value."""

import math

import pandas as pd
import pytest

from depthinit import analysis as A


def _results():
    rows = [
        {
            "run_id": f"r{s}{i}",
            "init": i,
            "seed": s,
            "epoch": e,
            "test_acc": 0.3 + 0.1 * e + 0.01 * s,
            "train_loss": 1.0,
            "status": "ok",
            "scheme": "he",
        }
        for i in ("He normal", "Glorot normal")
        for s in (0, 1, 2)
        for e in (0, 1)
    ]
    return pd.DataFrame(rows)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: A.summary(_results(), by=["nope"]), r"by=\['nope'\] names column\(s\) \['nope'\]"),
        (lambda: A.curve_frame(_results(), by=["nope"]), "names column"),
        (
            lambda: A.summary(_results().assign(test_acc=lambda f: f.test_acc * 100)),
            r"'test_acc' holds 30.0, outside \[0, 1\]",
        ),
        (lambda: A.summary(_results(), measure="nope"), "measure='nope' is not a column of the results; use one of"),
        (lambda: A.final_rows(_results().astype({"epoch": str})), "'epoch' holds .* values, not numbers"),
        (lambda: A.curve_frame(None), "must be a pandas DataFrame, got NoneType"),
        (lambda: A.curve_frame(_results().to_dict("list")), "must be a pandas DataFrame, got dict"),
        (lambda: A.t_interval([0.1, 0.2], level=1.5), "level=1.5 is not valid"),
        (lambda: A.t_interval(["a", "b"]), "are not numbers"),
        (lambda: A.wilson_interval(1, 3, level=0), "level=0 is not valid"),
        (lambda: A.holm([0.5, 1.5]), r"p-value 1.5 is not in \[0, 1\]"),
        (lambda: A.holm([0.1, math.nan]), r"p-value nan is not in \[0, 1\]"),
        (lambda: A.holm("abc"), "is text"),
        (lambda: A.config(scheme="nope"), "scheme='nope' is not valid; expected one of"),
        (lambda: A.config(schedule="Increasing"), "schedule='Increasing' is not valid"),
        (lambda: A.combine(["maybe"]), r"verdict\(s\) \['maybe'\] are not verdicts"),
        (lambda: A.select(_results(), {"nope": 1}), "no column 'nope' in the results; select by one of"),
    ],
)
def test_bad_analysis_inputs_are_refused(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_valid_inputs_still_work():
    s = A.summary(_results(), by=["init"])
    assert len(s) == 2 and s["mean"].between(0, 1).all()
    assert A.holm([]) == [] and A.combine([A.SUPPORTED, A.SUPPORTED]) == A.SUPPORTED
    assert A.t_interval([]).n == 0  # no finite value: a NaN estimate, as documented
