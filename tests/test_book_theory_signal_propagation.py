"""depthinit.book.theory.signal_propagation: the computations behind "Signal propagation at
initialization" (the spread of one network around the prediction, at two widths) and its figures."""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
import pytest
import torch

from depthinit.book.theory import signal_propagation as SP
from depthinit.plotting import book_rc

matplotlib.use("Agg")
pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def study() -> SP.TailStudy:
    gen = torch.Generator().manual_seed(0)
    xs = torch.randn(16, 48, generator=gen)
    return SP.tail_study(4, 64, xs, n_networks=300, generator=gen)


def test_tail_study_shapes(study):
    assert study.width == 64 and study.depth == 4
    assert study.forward.shape == (300, 4) and study.backward.shape == (300, 4)
    assert list(study.forward.columns) == [1, 2, 3, 4]
    assert list(study.spread["depth"]) == [1, 2, 3, 4]
    assert study.top.equals(study.forward[4])
    assert type(study.s2) is float and type(study.mu) is float
    assert study.s2 > 0 and study.mu < 0  # the median lies below the mean


def test_tail_study_measures_what_the_theory_predicts(study):
    # The prediction is the mean over networks: the mean ratio is one within a few standard errors.
    for layer in (1, 4):
        ratio = study.forward[layer]
        assert ratio.mean() == pytest.approx(1.0, abs=4 * ratio.std() / np.sqrt(len(ratio)))
    # The finite-width law of the log ratio: its variance and mean at the last layer.
    log_top = np.log(study.top)
    assert log_top.var() == pytest.approx(study.s2, rel=0.25)
    assert log_top.mean() == pytest.approx(study.mu, abs=0.05)


def test_tail_study_is_seeded():
    def run(seed: int) -> pd.DataFrame:
        gen = torch.Generator().manual_seed(seed)
        return SP.tail_study(3, 8, torch.randn(4, 6, generator=gen), n_networks=3, generator=gen).forward

    pd.testing.assert_frame_equal(run(1), run(1))
    assert not run(1).equals(run(2))


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        ((1, 8, torch.zeros(4, 6)), {"n_networks": 3}, "L=1"),
        ((3, 0, torch.zeros(4, 6)), {"n_networks": 3}, "width=0"),
        ((3, 8, torch.zeros(4, 6)), {"n_networks": 1}, "n_networks=1"),
        ((3, 8, torch.zeros(6)), {"n_networks": 3}, "xs"),
        ((3, 8, np.zeros((4, 6))), {"n_networks": 3}, "xs"),
    ],
)
def test_tail_study_rejects_bad_inputs(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        SP.tail_study(*args, generator=torch.Generator().manual_seed(0), **kwargs)


def test_width_comparison(study):
    table = SP.width_comparison(study, study)
    assert list(table.columns) == [
        "width",
        "predicted s²",
        "measured s²",
        "predicted median / mean",
        "measured median",
        "measured mean",
    ]
    assert list(table["width"]) == [64, 64]
    row = table.iloc[0]
    assert row["predicted s²"] == study.s2
    assert row["predicted median / mean"] == pytest.approx(np.exp(study.mu))
    assert row["measured median"] == pytest.approx(study.top.median())
    with pytest.raises(ValueError, match="TailStudy"):
        SP.width_comparison()
    with pytest.raises(ValueError, match="TailStudy"):
        SP.width_comparison(study, "wide")


def test_plot_tail_returns_three_axes(study):
    fig = SP.plot_tail(study)
    assert len(fig.axes) == 3 and fig.get_size_inches()[0] == pytest.approx(6.8)
    assert fig.axes[1].get_title() == "last layer, 300 networks"
    assert fig.axes[2].get_yscale() == "log"
    with pytest.raises(ValueError, match="TailStudy"):
        SP.plot_tail(study.forward)


def panel_frame() -> pd.DataFrame:
    rows = []
    for family in SP.FAMILIES:
        for distribution in ("normal", "uniform"):
            for depth in (1, 2, 3):
                row = {"family": family, "distribution": distribution, "depth": depth}
                row.update({c: 1.0 + depth for c in SP.PANEL_COLUMNS[3:]})
                rows.append(row)
    return pd.DataFrame(rows)


def test_plot_panels_draws_a_grid_of_families():
    with matplotlib.rc_context(book_rc()):  # the book's style, as the chapter sets it
        fig = SP.plot_panels(panel_frame(), "a title")
    assert len(fig.axes) == 10 and fig.get_size_inches()[0] == pytest.approx(6.8)
    assert [ax.get_title(loc="left") for ax in fig.axes[:5]] == list(SP.FAMILIES)  # the book titles on the left
    assert all(ax.get_yscale() == "log" for ax in fig.axes)
    assert len(fig.axes[0].get_lines()) == 2 + 2 * 2  # predicted mean and median; measured mean and median
    assert fig._suptitle.get_text() == "a title"


def test_plot_panels_rejects_bad_data():
    with pytest.raises(ValueError, match="missing"):
        SP.plot_panels(panel_frame().drop(columns="forward_median_factor"), "t")
    with pytest.raises(ValueError, match="families"):
        SP.plot_panels(panel_frame(), "t", families=())
