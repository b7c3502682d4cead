"""depthinit.book.theory.mean_field: the computations behind "Mean-field signal propagation"
(ReLU traces, the tanh edge and phases, two inputs through random ReLU chains) and its figures."""

from __future__ import annotations

import math

import matplotlib
import numpy as np
import pandas as pd
import pytest

import depthinit.theory as T
from depthinit.book.theory import mean_field as MF

matplotlib.use("Agg")
pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def traced() -> pd.DataFrame:
    return MF.trace_two_inputs((0.0, 0.9), L=6, width=128, V=22.0, n_networks=300, seed=0)


def test_derivation_latex_has_every_glued_result():
    tex = MF.derivation_latex()
    assert set(tex) == {"radial", "angular", "kernel", "relu-map", "relu-slope", "relu-expansion", "relu-convex"}
    assert all(isinstance(v, str) and v for v in tex.values())
    assert tex["radial"].endswith(r"\frac{1}{\pi}")
    assert tex["relu-slope"].startswith(r"\frac{dC}{dc} = ")


def test_relu_traces_converge_to_one_polynomially():
    traces = MF.relu_traces((0.0, 0.9), 2000)
    assert set(traces) == {0.0, 0.9}
    for c, trace in traces.items():
        assert trace.shape == (2001,) and trace[0] == c
        assert np.all(np.diff(trace) > 0) and trace[-1] < 1
    layer = np.arange(1, 2002)
    ratio = (1 - traces[0.0][-1]) / (9 * math.pi**2 / (2 * layer[-1] ** 2))
    assert ratio == pytest.approx(1.0, abs=0.05)  # the asymptote 9 pi^2 / (2 l^2)


@pytest.mark.parametrize("c0", [(), (1.5,), "0.5", (0.2, -1.2)])
def test_relu_traces_rejects_bad_correlations(c0):
    with pytest.raises(ValueError, match="c0"):
        MF.relu_traces(c0, 5)


def test_relu_traces_rejects_bad_depth():
    with pytest.raises(ValueError, match="L=0"):
        MF.relu_traces((0.0,), 0)


def test_plot_relu_map_returns_two_axes():
    fig = MF.plot_relu_map(MF.relu_traces((0.0, 0.9), 10), 10)
    assert len(fig.axes) == 2 and fig.get_size_inches()[0] == pytest.approx(6.8)
    assert fig.axes[1].get_xscale() == "log" and fig.axes[1].get_title() == "10 layers"
    with pytest.raises(ValueError, match="traces"):
        MF.plot_relu_map(MF.relu_traces((0.0,), 10), 12)


def test_tanh_edge_rises_with_the_bias_and_sits_at_a_length_fixed_point():
    edge = MF.tanh_edge((0.0, 0.05, 0.3))
    assert list(edge.columns) == ["sigma_b2", "critical sigma_w2", "q*"]
    assert edge["critical sigma_w2"].iloc[0] == pytest.approx(1.0, abs=1e-6)  # tanh without bias: sigma_w2 = 1
    assert edge["critical sigma_w2"].is_monotonic_increasing
    for _, row in edge.iloc[1:].iterrows():
        q = row["q*"]
        mapped = T.length_map(q, activation="tanh", sigma_w2=row["critical sigma_w2"], sigma_b2=row["sigma_b2"])
        assert mapped == pytest.approx(q, rel=1e-6)
        assert T.chi_1("tanh", row["critical sigma_w2"], row["sigma_b2"]) == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("bad", [(), (-0.1,), "0.1"])
def test_tanh_edge_rejects_bad_bias(bad):
    with pytest.raises(ValueError, match="sigma_b2"):
        MF.tanh_edge(bad)


def test_tanh_phases_order_and_chaos():
    phases = MF.tanh_phases(0.05, layers=3)  # each map call solves for q*: a few layers keep it fast
    assert list(phases["phase"]) == ["ordered", "critical", "chaotic"]
    assert list(phases.columns) == ["phase", "sigma_w2", "chi_1", "c after 3 layers from 0.5"]
    chi = phases["chi_1"].to_numpy()
    assert chi[0] < 1 and chi[1] == pytest.approx(1.0, abs=1e-6) and chi[2] > 1
    c = phases["c after 3 layers from 0.5"].to_numpy()
    assert c[0] > c[1] > c[2] and c[0] > 0.5  # order merges inputs, chaos pulls them apart
    assert phases["c after 3 layers from 0.5"].dtype == np.float64
    with pytest.raises(ValueError, match="layers=0"):
        MF.tanh_phases(0.05, layers=0)
    with pytest.raises(ValueError, match="sigma_b2"):
        MF.tanh_phases(-1.0)


def test_trace_two_inputs_follows_the_map_at_modest_width(traced):
    assert list(traced.columns) == list(MF.TRACE_COLUMNS)
    assert len(traced) == 6 * 3  # He for both pairs, the increasing schedule for the first
    assert set(traced["scheme"]) == {"He", "increasing"}
    first = traced[traced["layer"] == 1]
    np.testing.assert_allclose(first["measured"], first["c_1"], atol=1e-12)  # exact input cosines
    he = traced[traced["scheme"] == "He"]
    assert np.abs(he["measured"] - he["map"]).max() < 0.03
    assert np.abs(he["measured"] - he["one step"]).max() < 0.03


def test_trace_two_inputs_is_seeded():
    small = [MF.trace_two_inputs((0.3,), L=3, width=16, V=4.0, n_networks=20, seed=s) for s in (5, 5, 6)]
    pd.testing.assert_frame_equal(small[0], small[1])
    assert not small[0]["measured"].equals(small[2]["measured"])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"c0": (-0.5,)}, "c0"),
        ({"L": 1}, "L=1"),
        ({"width": 0}, "width=0"),
        ({"V": 0.0}, "V=0.0"),
        ({"n_networks": 1}, "n_networks=1"),
    ],
)
def test_trace_two_inputs_rejects_bad_inputs(kwargs, match):
    args = {"c0": (0.0,), "L": 3, "width": 8, "V": 2.0, "n_networks": 4, "seed": 0, **kwargs}
    with pytest.raises(ValueError, match=match):
        MF.trace_two_inputs(**args)


def test_schedule_leaves_correlations_unchanged_network_by_network(traced):
    stats = MF.two_input_stats(traced)
    assert set(stats) == {"inc-vs-he", "spread-mid"}
    assert all(type(v) is float for v in stats.values())
    assert stats["inc-vs-he"] < 1e-10
    assert 0 < stats["spread-mid"] < 0.2


def test_two_input_summary(traced):
    summary = MF.two_input_summary(traced, 300)
    assert list(summary.index) == [0.0, 0.9]
    assert list(summary.columns) == [
        "measured − map",
        "Jensen: E[C(ĉ)] − C(E[ĉ])",
        "measured − one step",
        "largest |measured − map|",
        "standard error per layer",
    ]
    assert (summary["largest |measured − map|"] >= summary["measured − map"].abs()).all()
    assert (summary["standard error per layer"] > 0).all()
    assert summary.loc[0.0, "Jensen: E[C(ĉ)] − C(E[ĉ])"] > 0  # the map is convex
    with pytest.raises(ValueError, match="traced"):
        MF.two_input_summary(pd.DataFrame({"layer": [1]}), 300)
    with pytest.raises(ValueError, match="n_networks=0"):
        MF.two_input_summary(traced, 0)


def test_plot_two_inputs_returns_two_axes(traced):
    fig = MF.plot_two_inputs(traced, 128)
    assert len(fig.axes) == 2 and fig.get_size_inches()[0] == pytest.approx(6.8)
    assert fig.axes[1].get_title() == "finite-width deviation, width 128"
    assert len(fig.axes[0].get_lines()) == 2 * 3
