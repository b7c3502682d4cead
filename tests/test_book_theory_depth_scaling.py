"""depthinit.book.theory.depth_scaling: the computations of the depth-scaling chapter."""

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure

import depthinit
from depthinit.book.theory import depth_scaling as D


def test_schedule_paths_shape_and_products():
    L, V = 8, 5.0
    paths = D.schedule_paths(L, V)
    assert tuple(paths.columns) == D.PATH_COLUMNS
    assert len(paths) == 3 * (L - 1)
    for name, group in paths.groupby("schedule"):
        assert list(group["layer"]) == list(range(2, L + 1))
        # the forward product ends at V, the backward product starts at V (eq. (19))
        assert group["forward product"].iloc[-1] == pytest.approx(V, rel=1e-9)
        assert group["backward product"].iloc[0] == pytest.approx(V, rel=1e-9)
        assert group["backward product"].iloc[-1] == pytest.approx(group["alpha"].iloc[-1])
        np.testing.assert_allclose(group["alpha"], depthinit.alphas(L, schedule=name, network_variance=V)[1:])
    constant = paths[paths.schedule == "constant"]["alpha"]
    np.testing.assert_allclose(constant, V ** (1 / (L - 1)))


def test_path_numbers_types_and_symmetry():
    numbers = D.path_numbers(D.schedule_paths(12, 22.0))
    assert set(numbers) == {
        "inc-forward-argmin",
        "inc-forward-min",
        "dec-forward-min",
        "inc-backward-max",
        "inc-backward-argmax",
        "inc-alpha-L",
        "dec-alpha-2",
        "dec-alpha-L",
    }
    assert type(numbers["inc-forward-argmin"]) is int and type(numbers["inc-backward-argmax"]) is int
    assert all(type(v) is float for k, v in numbers.items() if not k.endswith(("argmin", "argmax")))
    # the decreasing schedule is the increasing one reversed over l = 2..L
    assert numbers["dec-alpha-2"] == pytest.approx(numbers["inc-alpha-L"])
    assert numbers["inc-forward-min"] < 1.0 < numbers["inc-backward-max"]
    assert 2 <= numbers["inc-forward-argmin"] <= 12


@pytest.fixture(scope="module")
def cases():
    return D.case_boundaries()  # SymPy's solve: a few seconds, once


def test_case_boundaries_are_where_alpha_crosses_one(cases):
    case_1, case_2 = cases
    bounds = D.case_bounds([10, 6, 10], case_1, case_2)
    assert list(bounds.index) == [6, 10]
    assert list(bounds.columns) == [
        "case 1 below V =",
        "case 2 above V =",
    ]
    for L in bounds.index:
        low, high = bounds.loc[L]
        assert depthinit.alphas(L, schedule="increasing", network_variance=low)[-1] == pytest.approx(1.0, rel=1e-6)
        assert depthinit.alphas(L, schedule="increasing", network_variance=high)[1] == pytest.approx(1.0, rel=1e-6)
        assert low < 1.0 < high


def test_mode_ratios_match_the_closed_forms():
    V, width, out = 5.0, 6, 3
    ratios = D.mode_ratios(input_dim=8, output_dim=out, depth=4, width=width, V=V)
    assert tuple(ratios.columns) == D.RATIO_COLUMNS
    assert len(ratios) == 2 * len(D.MODE_SCHEDULES)
    depth_rows = ratios[ratios.schedule != "unit"]
    np.testing.assert_allclose(depth_rows["prod alpha (l=2..L)"], V)
    fan_in = depth_rows[depth_rows["mode"] == "fan_in"]
    np.testing.assert_allclose(fan_in["Var[y_L] / Var[y_1]"], V, rtol=1e-9)
    numbers = D.mode_numbers(ratios)
    assert all(type(v) is float for v in numbers.values())
    # no ReLU after the logits (factor 2), and the last layer's fan ratio out/width
    assert numbers["bwd-fan-in"] == pytest.approx(2 * V * out / width, rel=1e-9)
    assert numbers["w1-fan-in"] == pytest.approx(2 / 8)
    assert numbers["w1-fan-out"] == pytest.approx(2 / width)


def test_bad_inputs_raise(cases):
    with pytest.raises(ValueError, match="L=1"):
        D.schedule_paths(1, 22.0)
    with pytest.raises(ValueError, match="V=0"):
        D.schedule_paths(10, 0.0)
    with pytest.raises(ValueError, match="V=nan"):
        D.schedule_paths(10, math.nan)
    with pytest.raises(ValueError, match="decreasing"):
        D.path_numbers(D.schedule_paths(5, 2.0, schedules=("increasing",)))
    with pytest.raises(ValueError, match="column"):
        D.path_numbers(D.schedule_paths(5, 2.0).drop(columns="alpha"))
    case_1, case_2 = cases
    with pytest.raises(ValueError, match="depths"):
        D.case_bounds([], case_1, case_2)
    with pytest.raises(ValueError, match="depth=1"):
        D.case_bounds([1], case_1, case_2)
    with pytest.raises(ValueError, match="width=0"):
        D.mode_ratios(input_dim=8, output_dim=3, depth=4, width=0, V=5.0)
    with pytest.raises(ValueError, match="increasing"):
        D.mode_numbers(D.mode_ratios(input_dim=8, output_dim=3, depth=4, width=6, V=5.0, schedules=("unit",)))


def test_plot_schedule_paths():
    fig = D.plot_schedule_paths(D.schedule_paths(6, 4.0), L=6, V=4.0)
    try:
        assert isinstance(fig, Figure)
        assert len(fig.axes) == 3
        assert fig.get_figwidth() == pytest.approx(6.8)
        assert all(ax.get_yscale() == "log" for ax in fig.axes)
        assert fig.axes[0].get_legend() is not None and fig.axes[1].get_legend() is None
        assert "L = 6, V = 4" in fig._suptitle.get_text()
    finally:
        plt.close(fig)
