"""depthinit.theory mean-field maps: the SymPy derivation of the arc-cosine map, the NumPy
maps against Monte Carlo, the order-chaos edge against simulated wide layers."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp
import torch

import depthinit.theory as T

pytestmark = pytest.mark.usefixtures("one_thread")

C = sp.Symbol("c", real=True)


def correlated_normals(c: float, n: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    u = torch.randn(n, generator=gen, dtype=torch.float64)
    w = torch.randn(n, generator=gen, dtype=torch.float64)
    return u, c * u + math.sqrt(1 - c * c) * w


def test_sympy_integrates_the_arc_cosine_kernel():
    d = T.relu_kernel_derivation()
    assert d["radial"] == 1 / sp.pi and d["second_moment"] == sp.Rational(1, 2)
    closed = (sp.sqrt(1 - C**2) + (sp.pi - sp.acos(C)) * C) / sp.pi
    assert sp.simplify(d["map"] - closed) == 0
    assert d["map"].subs(C, 1) == 1 and d["map"].subs(C, -1) == 0
    slope = T.relu_correlation_slope()
    assert slope["slope_at_one"] == 1  # marginal stability of c* = 1
    eps = sp.Symbol("epsilon", positive=True)
    assert sp.simplify(slope["expansion"] - (1 - eps + 2 * sp.sqrt(2) * eps ** sp.Rational(3, 2) / (3 * sp.pi))) == 0


@pytest.mark.parametrize("c", [-0.9, -0.3, 0.0, 0.5, 0.95])
def test_relu_map_matches_monte_carlo(c, gen):
    u, v = correlated_normals(c, 2_000_000, gen)
    joint = torch.relu(u) * torch.relu(v)
    measured = float(joint.mean() / 0.5)
    # standard error of the mean of relu(u) relu(v) over 2e6 draws is below 1e-3 / 2
    se = float(joint.std()) / math.sqrt(len(u)) / 0.5
    assert T.relu_correlation_map(c) == pytest.approx(measured, abs=5 * se)


def test_relu_map_numpy_equals_the_sympy_expression():
    f = sp.lambdify(C, T.relu_kernel_derivation()["map"], "numpy")
    grid = np.linspace(-1, 1, 41)
    assert np.allclose(T.relu_correlation_map(grid), f(grid), rtol=0, atol=1e-14)


def test_relu_map_is_vectorised_and_rejects_bad_input():
    out = T.relu_correlation_map(np.zeros((2, 3)))
    assert out.shape == (2, 3) and np.allclose(out, 1 / math.pi)
    assert isinstance(T.relu_correlation_map(0.25), float)
    assert T.relu_correlation_map(1 + 1e-13) == 1.0  # rounding of a computed cosine is clipped
    c = np.linspace(-1, 0.999, 50)
    assert np.all(T.relu_correlation_map(c) > c)  # ReLU makes inputs more alike
    for bad in (1.5, -1.01, float("nan"), [0.2, 2.0]):
        with pytest.raises(ValueError, match="not a correlation"):
            T.relu_correlation_map(bad)
    with pytest.raises(ValueError, match="boolean"):
        T.relu_correlation_map(True)
    with pytest.raises(ValueError, match="not a number"):
        T.relu_correlation_map("high")
    it = T.iterate_correlation(0.0, 3)
    assert it[0] == 0 and it[1] == pytest.approx(1 / math.pi) and len(it) == 4
    with pytest.raises(ValueError, match="layers"):
        T.iterate_correlation(0.0, -1)


def test_a_depth_factor_never_changes_the_relu_correlation(gen):
    # symbolically: α and q cancel
    assert sp.simplify(T.relu_schedule_invariance() - T.relu_kernel_derivation()["map"]) == 0
    assert T.relu_homogeneity()["positive"] == 0 and T.relu_homogeneity()["negative"] == 0
    assert T.relu_homogeneity()["tanh"] != 0
    # on a wide layer: two inputs with cosine 0.3, weight variance 2α/n for very different α
    n_in, n_out = 512, 20_000
    a, e = torch.randn(2, n_in, generator=gen, dtype=torch.float64)
    a = a / a.norm()
    e = e - (e @ a) * a
    x = torch.stack([a, 0.3 * a + math.sqrt(1 - 0.09) * e / e.norm()])
    cos_in = float(x[0] @ x[1])
    w = torch.randn(n_out, n_in, generator=gen, dtype=torch.float64)
    for alpha in (0.2, 1.0, 5.0):
        h = torch.relu(x @ (w * math.sqrt(2 * alpha / n_in)).T)
        cos_out = float(h[0] @ h[1] / (h[0].norm() * h[1].norm()))
        assert cos_out == pytest.approx(T.relu_correlation_map(cos_in), abs=0.01)
    # tanh is not homogeneous: a depth factor rescales q, and tanh's map moves with q
    low = T.correlation_map(0.3, activation="tanh", sigma_w2=1.0, q=0.1)
    high = T.correlation_map(0.3, activation="tanh", sigma_w2=1.0, q=10.0)
    assert abs(high - low) > 0.05


@pytest.mark.parametrize("activation", ["tanh", "leaky_relu", "sigmoid"])
def test_general_correlation_map_matches_monte_carlo(activation, gen):
    f = {"tanh": torch.tanh, "sigmoid": torch.sigmoid, "leaky_relu": lambda z: torch.nn.functional.leaky_relu(z, 0.01)}[
        activation
    ]
    q, sw, sb = 0.8, 1.5, 0.1
    for c in (-0.5, 0.3, 0.9):
        u, v = correlated_normals(c, 1_000_000, gen)
        a, b = f(math.sqrt(q) * u), f(math.sqrt(q) * v)
        measured = float((sw * (a * b).mean() + sb) / (sw * (a * a).mean() + sb))
        assert T.correlation_map(c, activation=activation, sigma_w2=sw, sigma_b2=sb, q=q) == pytest.approx(
            measured, abs=4e-3
        )
    grid = np.linspace(-1, 1, 9)
    assert np.allclose(T.correlation_map(grid, activation="relu", sigma_w2=3.0, q=2.0), T.relu_correlation_map(grid))


def test_length_map_and_its_fixed_point(gen):
    z = torch.randn(1_000_000, generator=gen, dtype=torch.float64)
    q, sw, sb = 0.7, 1.8, 0.05
    measured = sw * float(torch.tanh(math.sqrt(q) * z).pow(2).mean()) + sb
    assert T.length_map(q, activation="tanh", sigma_w2=sw, sigma_b2=sb) == pytest.approx(measured, rel=3e-3)
    assert T.length_map(1.0, activation="relu", sigma_w2=2.0) == 1.0
    q_star = T.length_fixed_point("tanh", sw, sb)
    assert T.length_map(q_star, activation="tanh", sigma_w2=sw, sigma_b2=sb) == pytest.approx(q_star, rel=1e-10)
    assert T.length_fixed_point("relu", 1.0, 0.5) == pytest.approx(1.0)  # σ_b² / (1 − σ_w²/2)
    assert T.length_fixed_point("relu", 3.0, 0.5) == math.inf
    assert math.isnan(T.length_fixed_point("relu", 2.0, 0.0))
    assert T.length_fixed_point("tanh", 0.9, 0.0) == 0.0


def _simulated_chi(activation: str, sigma_w2: float, sigma_b2: float, gen: torch.Generator) -> float:
    """χ₁ from a simulated wide layer: iterate the length map by sampling, then average φ'²."""
    f = torch.tanh if activation == "tanh" else torch.sigmoid
    z = torch.randn(200_000, generator=gen, dtype=torch.float64)
    q, previous = 1.0, math.inf
    for _ in range(500):  # the length map contracts; stop when it has settled
        q, previous = sigma_w2 * float(f(math.sqrt(q) * z).pow(2).mean()) + sigma_b2, q
        if abs(q - previous) < 1e-10 * q:
            break
    fp = 1 - f(math.sqrt(q) * z) ** 2 if activation == "tanh" else f(math.sqrt(q) * z) * (1 - f(math.sqrt(q) * z))
    return sigma_w2 * float(fp.pow(2).mean())


@pytest.mark.parametrize("sigma_b2", [0.05, 0.3])
def test_critical_init_is_on_the_order_chaos_edge(sigma_b2, gen):
    sw = T.critical_init("tanh", sigma_b2)
    assert _simulated_chi("tanh", sw, sigma_b2, gen) == pytest.approx(1.0, abs=0.01)
    assert _simulated_chi("tanh", 0.8 * sw, sigma_b2, gen) < 0.97  # ordered
    assert _simulated_chi("tanh", 1.25 * sw, sigma_b2, gen) > 1.03  # chaotic
    assert T.chi_1("tanh", sw, sigma_b2) == pytest.approx(1.0, abs=1e-9)


def test_critical_init_closed_cases_and_errors(gen):
    assert T.critical_init("relu") == 2.0 and T.critical_init("relu", 0.3) == 2.0
    assert T.critical_init("linear") == 1.0
    assert T.critical_init("leaky_relu") == pytest.approx(2 / (1 + 0.01**2))
    assert T.critical_init("tanh", 0.0) == 1.0
    assert T.critical_init("tanh", 0.1) > T.critical_init("tanh", 0.01) > 1.0  # the edge rises with σ_b²
    sw = T.critical_init("sigmoid", 0.0)
    assert _simulated_chi("sigmoid", sw, 0.0, gen) == pytest.approx(1.0, abs=0.01)
    with pytest.raises(ValueError, match="'softplus'"):
        T.critical_init("softplus")
    with pytest.raises(ValueError, match="sigma_b2"):
        T.critical_init("tanh", -0.1)
    with pytest.raises(ValueError, match="sigma_b2"):
        T.critical_init("tanh", True)
    with pytest.raises(ValueError, match="sigma_w2"):
        T.chi_1("tanh", 0.0)
