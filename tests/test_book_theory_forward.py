"""depthinit.book.theory.forward: the activation-factor curves of the forward-pass chapter."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure

import depthinit.theory as T
from depthinit.book.theory import forward as F

Q = np.logspace(-3, 3, 25)


def test_curves_shape_and_exact_limits():
    curves = F.activation_factor_curves(Q)
    assert tuple(curves.columns) == F.CURVE_COLUMNS
    assert len(curves) == len(F.ACTIVATIONS) * len(Q)
    assert list(dict.fromkeys(curves["activation"])) == list(F.ACTIVATIONS)
    by = {name: group for name, group in curves.groupby("activation")}
    np.testing.assert_allclose(by["relu"][["m", "d"]], 0.5)  # E[relu(z)^2] = q/2, E[relu'(z)^2] = 1/2
    np.testing.assert_allclose(by["linear"][["m", "d"]], 1.0)
    tanh = by["tanh"]
    assert tanh["m"].iloc[0] == pytest.approx(1.0, abs=5e-3)  # tanh is the identity near q = 0
    assert np.all(np.diff(tanh["m"]) < 0) and np.all(np.diff(tanh["d"]) < 0)  # and saturates
    assert np.all(by["sigmoid"]["d"] <= 1 / 16 + 1e-12)
    m, d = T.activation_factors("tanh", Q)
    np.testing.assert_array_equal(tanh["m"], m)
    np.testing.assert_array_equal(tanh["d"], d)


def test_numbers_are_plain_floats():
    numbers = F.activation_factor_numbers()
    assert set(numbers) == {"tanh-m-small", "sig-m-one", "sig-d-one"}
    assert all(type(v) is float for v in numbers.values())
    assert numbers["tanh-m-small"] == pytest.approx(1.0, abs=5e-3)
    assert numbers["sig-m-one"] > 0.25  # E[sigmoid(z)^2] > 1/4 at q = 1
    assert 0 < numbers["sig-d-one"] < 1 / 16


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="non-empty 1-d"):
        F.activation_factor_curves([])
    with pytest.raises(ValueError, match="non-empty 1-d"):
        F.activation_factor_curves(np.ones((2, 2)))
    with pytest.raises(ValueError, match="q="):
        F.activation_factor_curves([1.0, -1.0])
    with pytest.raises(ValueError, match="activations"):
        F.activation_factor_curves(Q, ("relu", "swish"))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="column"):
        F.plot_activation_factors(F.activation_factor_curves(Q).drop(columns="d"))


def test_plot_activation_factors():
    fig = F.plot_activation_factors(F.activation_factor_curves(Q))
    try:
        assert isinstance(fig, Figure)
        assert len(fig.axes) == 2
        assert fig.get_figwidth() == pytest.approx(6.8)
        assert all(ax.get_xscale() == "log" and ax.get_yscale() == "log" for ax in fig.axes)
        assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == list(F.ACTIVATIONS)
        assert all(len(ax.get_lines()) == len(F.ACTIVATIONS) for ax in fig.axes)
    finally:
        plt.close(fig)
