"""depthinit.book.theory.depth_function: the computations of the chapter "The depth function"."""

import math

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure

import depthinit
import depthinit.book.theory.depth_function as dfn
import depthinit.theory as T


def test_clue_table_and_markdown():
    clues = dfn.clue_table(54, 22.0, 10.0)
    assert list(clues.columns) == ["clue", "log reading", "log fits", "power law (l/k)^(1/β)", "power fits"]
    assert clues["log fits"].iloc[:6].all()  # the log reading fits all six clues
    fits = dfn.power_fits(clues)
    assert fits == sorted(fits) and set(fits) <= set(range(1, 7)) and len(fits) < 6
    md = dfn.clue_markdown(clues).splitlines()
    assert md[0].startswith("| # |") and len(md) == 2 + len(clues)
    assert md[2].startswith("| 1 |")
    with pytest.raises(ValueError, match="clue_table"):
        dfn.power_fits(clues.drop(columns="power fits"))


def test_solutions_table_product_is_pinned():
    table = dfn.solutions_table((10, 54), (1.0, 22.0), 10.0)
    assert list(table.index) == [(10, 1.0), (10, 22.0), (54, 1.0), (54, 22.0)]
    # β ln k = G_L / V^(1/(L-1)), and k at β = 1 is its exponential
    np.testing.assert_allclose(table["β ln k"], table["G_L"] / table["V^(1/(L-1))"])
    np.testing.assert_allclose(table["k at β = 1"], np.exp(table["β ln k"]))
    np.testing.assert_allclose(table["β at k = 10"], table["β ln k"] / math.log(10))
    assert table.loc[(54, 22.0), "k at β = 1"] == pytest.approx(16.27, abs=0.01)
    with pytest.raises(ValueError, match="depth=1"):
        dfn.solutions_table((1,), (1.0,), 10.0)
    with pytest.raises(ValueError, match="variances"):
        dfn.solutions_table((10,), (), 10.0)


def test_beta_curves_monotone_and_plot():
    curves = dfn.beta_curves(54, 22.0, 10.0)
    assert curves.ks.shape == curves.beta_k.shape == (200,)
    assert np.all(np.diff(curves.beta_k) < 0) and np.all(np.diff(curves.beta_V) < 0)  # decreasing in k and V
    assert sorted(curves.beta_L) == [0.5, 1.0, 22.0]
    assert np.all(np.diff(curves.beta_L[22.0]) > 0)  # increasing in L for V >= 1
    fig = dfn.plot_beta_curves(curves)
    assert isinstance(fig, Figure) and len(fig.axes) == 3 and fig.get_figwidth() == pytest.approx(6.8)
    plt.close(fig)
    with pytest.raises(ValueError, match="k_value=1"):
        dfn.beta_curves(54, 22.0, 1.0)


def test_schedules_by_base_do_not_depend_on_k():
    ks = (2.0, math.e, 10.0, 100.0)
    schedules = dfn.schedules_by_base(54, 22.0, ks)
    assert schedules.shape == (53, 4) and schedules.index.name == "l" and schedules.index[0] == 2
    np.testing.assert_allclose(schedules.to_numpy(), schedules.iloc[:, [0]].to_numpy() * np.ones((1, 4)), rtol=1e-12)
    # equation (41): the schedule is depthinit.alphas' increasing schedule
    np.testing.assert_allclose(
        schedules.iloc[:, 0], depthinit.alphas(54, schedule="increasing", network_variance=22.0)[1:]
    )
    shown = dfn.crossover_layers(54, 22.0)
    first = T.depth_numbers(54, 22.0)["first_at_or_above"]
    assert shown == sorted(set(shown)) and {2, 7, first - 1, first, 54} == set(shown)


def test_offset_sweep_limits_and_plot():
    shifted = dfn.offset_sweep(54, 22.0, [0.0, 2.0, 1e6])
    assert list(shifted.columns) == ["c", "α_2", "α_4", "α_7", "share below one"]
    d0 = T.depth_numbers(54, 22.0)
    assert shifted.loc[0, "α_2"] == pytest.approx(d0["alphas"][1])
    assert shifted.loc[0, "share below one"] == pytest.approx(d0["share_below"])
    # an offset raises the early factors; a huge one flattens ln(l + c) to V^(1/(L-1))
    assert shifted.loc[1, "α_2"] > shifted.loc[0, "α_2"]
    assert shifted.loc[2, "α_2"] == pytest.approx(22.0 ** (1 / 53), rel=1e-4)
    assert shifted.loc[2, "share below one"] == 0.0
    fig = dfn.plot_offset_sweep(shifted, 54, 22.0, 1 / 3)
    assert isinstance(fig, Figure) and len(fig.axes) == 2 and fig.get_figwidth() == pytest.approx(6.8)
    assert len(fig.axes[0].get_lines()) == 4  # three factors and the line at one
    plt.close(fig)
    with pytest.raises(ValueError, match="layers"):
        dfn.offset_sweep(5, 22.0, [0.0], layers=(2, 7))
    with pytest.raises(ValueError, match="offsets"):
        dfn.offset_sweep(54, 22.0, [])


def test_share_by_variance_falls_with_v_and_plot():
    shares = dfn.share_by_variance(54, [0.1, 1.0, 22.0, 1000.0])
    assert list(shares.columns) == ["V", "share below one"]
    assert np.all(np.diff(shares["share below one"]) <= 0)
    assert shares["share below one"].iloc[2] == pytest.approx(T.depth_numbers(54, 22.0)["share_below"])
    fig = dfn.plot_share_by_variance(shares, 54, 22.0, 1 / 3)
    assert isinstance(fig, Figure) and len(fig.axes) == 1 and fig.axes[0].get_xscale() == "log"
    plt.close(fig)


def test_schedule_curves_and_grid():
    curves = dfn.schedule_curves((10, 20), (1.0, 22.0))
    assert list(curves.columns) == ["L", "V", "layer l", "alpha"]
    assert len(curves) == 2 * 9 + 2 * 19
    for (_, _), group in curves.groupby(["L", "V"]):
        depth = int(group["L"].iloc[0].split("= ")[1])
        variance = float(group["V"].iloc[0].split("= ")[1])
        assert np.prod(group["alpha"]) == pytest.approx(variance)  # the product is pinned to V
        assert len(group) == depth - 1
    fig = dfn.plot_schedule_grid(curves)
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    plt.close(fig)


def test_confidence_ranges_and_equation_markdown():
    frame = T.equation_frame()
    ranges = dfn.confidence_ranges(frame)
    assert set(ranges) <= set(T.CONFIDENCES)
    covered = []
    for text in ranges.values():
        for part in text.split(", "):
            ends = [int(x.strip("()")) for x in part.split("–")]
            covered += list(range(ends[0], ends[-1] + 1))
    assert sorted(covered) == list(range(1, 48))
    sub = frame[frame["equation"].isin([1, 2, 3, 5])].assign(confidence="high")
    assert dfn.confidence_ranges(sub) == {"high": "(1)–(3), (5)"}
    md = dfn.equation_markdown(frame).splitlines()
    assert len(md) == 2 + 47 and md[2].startswith("| (1) |")
