"""depthinit.book.theory.finite_width: the computations of the chapter "Finite width"."""

import math

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

import depthinit.book.theory.finite_width as fw
import depthinit.theory as T


def test_profile_sizes_and_widths_text():
    assert fw.profile_sizes("default") == (300, 2_000_000)
    assert fw.profile_sizes("smoke", 7) == (7, 200_000)
    assert fw.widths_text((16, 64, 256)) == "16, 64 and 256"
    assert fw.widths_text([8]) == "8"
    with pytest.raises(ValueError, match="profile='fast'"):
        fw.profile_sizes("fast")
    with pytest.raises(ValueError, match="n_networks=0"):
        fw.profile_sizes("smoke", 0)
    with pytest.raises(ValueError, match="widths"):
        fw.widths_text(())


def test_sample_log_ratios_mean_one_and_seeded():
    a = fw.sample_log_ratios(64, 20_000, generator=torch.Generator().manual_seed(0))
    b = fw.sample_log_ratios(64, 20_000, generator=torch.Generator().manual_seed(0))
    np.testing.assert_array_equal(a, b)
    assert a.shape == (20_000,) and a.dtype == np.float64
    # E[r] = 1 exactly for He's ReLU layer; Var[r] = 5/N
    r = np.exp(a)
    assert abs(r.mean() - 1) < 4 * math.sqrt(5 / 64 / len(r))
    # c = 1: every input of the batch is the same, so the batch mean is one ratio
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    one = fw.sample_log_ratios(16, 2_000, generator=g1, batch=1, c=1.0)
    many = fw.sample_log_ratios(16, 2_000, generator=g2, batch=4, c=1.0)
    assert abs(one.var() - many.var()) / one.var() < 0.15


@pytest.mark.parametrize(
    "kwargs, match",
    [({"n_units": 0}, "n_units=0"), ({"n": 0}, "n=0"), ({"batch": 0}, "batch=0"), ({"c": 1.5}, "c=1.5")],
)
def test_sample_log_ratios_rejects_bad_inputs(kwargs, match):
    args = {"n_units": 8, "n": 10, **kwargs}
    with pytest.raises(ValueError, match=match):
        fw.sample_log_ratios(args.pop("n_units"), args.pop("n"), generator=torch.Generator(), **args)


def test_one_layer_table_exact_matches_samples(gen):
    table = fw.one_layer_table((16, 64), 10, draws=200_000, generator=gen)
    assert list(table.index) == [("relu", 16), ("linear", 16), ("relu", 64), ("linear", 64), ("output", 10)]
    assert list(table.columns) == [
        "E[ln r] exact",
        "E[ln r] sampled",
        "Var exact",
        "Var order 1",
        "Var order 2",
        "Var sampled",
        "± (s.e.)",
    ]
    assert np.all(np.abs(table["Var sampled"] - table["Var exact"]) < 5 * table["± (s.e.)"])
    assert table.loc[("relu", 64), "Var order 1"] == pytest.approx(5 / 64)
    assert table.loc[("output", 10), "Var exact"] == pytest.approx(T.log_ratio_moments(10, activation="linear")[1])
    # the exact ReLU variance exceeds the leading order 5/N, by about 6 % at N = 64
    assert 1.04 < table.loc[("relu", 64), "Var exact"] / (5 / 64) < 1.08


def test_batch_table_effective_width_at_64(gen):
    table = fw.batch_table((64,), 4, draws=400_000, generator=gen)
    assert list(table.index) == [(64, 8, 0.5), (64, 4, 0.0), (64, 4, 0.9)]
    assert table.loc[(64, 4, 0.0), "b"] == pytest.approx(1 / 4 + 3 / 4 * float(T.ratio_correlation(0.0)))
    assert np.all(np.abs(table["Var predicted"] / table["Var sampled"] - 1) < 0.1)
    assert isinstance(fw.batch_overshoot(table, 64), float)
    with pytest.raises(ValueError, match="width=16"):
        fw.batch_overshoot(table, 16)


def test_failure_modes_schedule_leaves_spread_alone(gen):
    modes = fw.failure_modes(10, n_networks=200, generator=gen, widths=(16,), depths=(6, 12))
    assert list(modes["L"]) == [6, 12]
    assert list(modes.columns[:4]) == ["N", "L", "beta = sum 1/N", "predicted"]
    # positive homogeneity: the schedule scales every draw, so the log variances coincide
    np.testing.assert_allclose(modes["He"], modes["increasing (V = 4)"], atol=1e-9)
    np.testing.assert_allclose(modes["He"], modes["predicted"], rtol=0.3)
    assert np.all((modes["mean ratio, He"] > 0.5) & (modes["mean ratio, He"] < 2.0))
    # failure mode 1: the schedule moves the mean by V = 4, draw by draw
    np.testing.assert_allclose(modes["mean ratio, increasing"] / modes["mean ratio, He"], 4.0, rtol=1e-6)
    fig = fw.plot_failure_modes(modes)
    assert isinstance(fig, Figure) and len(fig.axes) == 1
    assert fig.get_figwidth() <= 6.8
    plt.close(fig)
    with pytest.raises(ValueError, match="depth=1"):
        fw.failure_modes(10, n_networks=5, generator=gen, depths=(1,))


def test_paper_shape_small_network_agrees_with_prediction(gen):
    shape = fw.paper_shape(8, 32, 10, 4, n_networks=400, generator=gen)
    assert list(shape.table.index) == [1, 4]
    assert shape.runs[1]["forward"].shape == (400, 8)
    assert shape.old == pytest.approx(7 * 5 / 32)
    for batch in (1, 4):
        row = shape.table.loc[batch]
        assert abs(row["measured"] - row["exact"]) < 4 * row["± (s.e.)"] + 0.05 * row["exact"]
    # a batch of independent inputs lowers the spread
    assert shape.table.loc[4, "exact"] < shape.table.loc[1, "exact"]
    assert isinstance(fw.backward_rate(shape, margin=1), float)
    fig = fw.plot_paper_shape(shape)
    assert isinstance(fig, Figure) and len(fig.axes) == 2 and fig.get_figwidth() == pytest.approx(6.8)
    plt.close(fig)
    with pytest.raises(ValueError, match="margin=4"):
        fw.backward_rate(shape, margin=4)
    with pytest.raises(ValueError, match="batch_size=1"):
        fw.paper_shape(8, 32, 10, 1, n_networks=4, generator=gen)
