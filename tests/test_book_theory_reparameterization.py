"""depthinit.book.theory.reparameterization: He-equivalent factors and side-by-side training."""

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

import depthinit
from depthinit.book.theory import reparameterization as R
from depthinit.models import MLP

SCHEDULES = ("increasing", "decreasing", "constant")
V = 6.0
L = 4


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return MLP(8, 3, depth=L, width=6)


@pytest.fixture(scope="module")
def runs(model):
    torch.set_num_threads(1)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(16, 8, generator=g)
    y = torch.randint(0, 3, (16,), generator=g)
    return R.side_by_side_runs(
        model, x, y, schedules=SCHEDULES, steps=3, lr_sgd=0.01, lr_adam=1e-3, V=V, offset=0.0, seed=0
    )


def test_he_equivalents_and_factor_table(model):
    equivalents = R.he_equivalents(model, SCHEDULES, V=V)
    assert list(equivalents) == list(SCHEDULES)
    for s, eq in equivalents.items():
        alphas = depthinit.alphas(L, schedule=s, network_variance=V)
        np.testing.assert_allclose(eq.lr_scale, 1 / alphas)
        assert eq.output_scale == pytest.approx(math.sqrt(V))
    table = R.factor_table(equivalents)
    assert list(table.index) == list(SCHEDULES)
    assert list(table.columns) == [
        "output scale √V",
        "largest SGD factor",
        "smallest SGD factor",
        "at layer 2",
        f"at layer {L}",
        f"bias factor at layer {L} (1/V)",
    ]
    np.testing.assert_allclose(table[f"bias factor at layer {L} (1/V)"], 1 / V)
    numbers = R.lr_numbers(equivalents)
    assert numbers == {
        "inc-lr-2": equivalents["increasing"].lr_scale[1],
        "inc-lr-L": equivalents["increasing"].lr_scale[-1],
    }
    assert all(type(v) is float for v in numbers.values())
    assert numbers["inc-lr-2"] > numbers["inc-lr-L"]  # early layers train faster under "increasing"
    assert R.lr_numbers({s: equivalents[s] for s in ("constant",)}) == {}


def test_side_by_side_runs_agree(runs):
    assert list(runs) == [
        ("increasing", R.SGD_MOMENTUM),
        ("decreasing", R.SGD_MOMENTUM),
        ("increasing", R.ADAM_SCALED),
        ("increasing", "Adam, one ε = 1e-08"),
        ("increasing", "Adam, one ε = 1e-12"),
    ]
    assert all(len(r.trajectory) == 4 for r in runs.values())
    numbers = R.side_by_side_numbers(runs)
    assert set(numbers) == {"max-exact", "eps-step-1", "max-eps", "max-eps-small", "init-diff"}
    assert all(type(v) is float for v in numbers.values())
    assert numbers["max-exact"] < 1e-8  # the theorem: SGD and Adam with scaled ε are exact
    assert numbers["init-diff"] < 1e-5  # init_ samples in float32
    assert numbers["max-eps"] >= numbers["eps-step-1"]
    table = R.side_by_side_table(runs)
    assert tuple(table.columns) == R.TABLE_COLUMNS
    assert len(table) == len(runs)
    assert table["init_ vs √α U (float32 sampler)"].max() == numbers["init-diff"]


def test_bad_inputs_raise(model):
    x, y = torch.zeros(4, 8), torch.zeros(4, dtype=torch.long)
    with pytest.raises(ValueError, match="'constant'"):
        R.side_by_side_runs(model, x, y, schedules=("constant",), steps=1, lr_sgd=0.1, lr_adam=0.1, V=V)
    with pytest.raises(ValueError, match="V=-1"):
        R.side_by_side_runs(model, x, y, schedules=SCHEDULES, steps=1, lr_sgd=0.1, lr_adam=0.1, V=-1.0)
    with pytest.raises(ValueError, match="schedules"):
        R.he_equivalents(model, (), V=V)
    with pytest.raises(ValueError, match="V=inf"):
        R.he_equivalents(model, SCHEDULES, V=math.inf)
    with pytest.raises(ValueError, match="empty"):
        R.factor_table({})
    with pytest.raises(ValueError, match="empty"):
        R.plot_side_by_side({})
    with pytest.raises(ValueError, match="scaled-ε Adam"):
        R.side_by_side_numbers({})


def test_plots(model, runs):
    fig = R.plot_lr_scales(R.he_equivalents(model, SCHEDULES, V=V), V=V)
    try:
        assert isinstance(fig, Figure) and len(fig.axes) == 1
        ax = fig.axes[0]
        assert ax.get_yscale() == "log" and len(ax.get_lines()) == len(SCHEDULES) + 1  # and the line at one
        assert ax.get_title() == f"He-equivalent learning rates, L = {L}, V = {V:g}"
        assert fig.get_figwidth() == pytest.approx(6.8)
    finally:
        plt.close(fig)
    fig = R.plot_side_by_side(runs)
    try:
        assert isinstance(fig, Figure) and len(fig.axes) == 2
        assert len(fig.axes[0].get_lines()) == 2 * len(runs) and len(fig.axes[1].get_lines()) == len(runs)
        assert fig.axes[1].get_yscale() == "log"
        assert all(ax.get_legend() is not None for ax in fig.axes)
    finally:
        plt.close(fig)
