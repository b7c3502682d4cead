"""depthinit.theory: each derivation symbolically, against depthinit.alphas, against the
reconstruction note's numbers for L = 54, V = 22, and against measured variances of
seeded wide layers."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp
import torch

import depthinit
import depthinit.theory as T
from depthinit.models import MLP
from depthinit.theory.symbols import (
    Expect,
    G,
    G_c,
    L,
    LogBase,
    V,
    Var,
    alpha,
    alpha_c,
    beta,
    c,
    dx,
    dy,
    k,
    l,
    n,
    n_hat,
    natural_logs,
    nu,
    w,
    x,
    y,
)

pytestmark = pytest.mark.usefixtures("one_thread")


def zero(expr) -> bool:
    return sp.simplify(expr) == 0


# --- symbols and printing -----------------------------------------------------------------------


def test_symbols_carry_assumptions():
    assert n[l].is_positive and n_hat[l].is_positive and alpha[l].is_positive
    assert V.is_positive and k.is_positive and beta.is_positive and c.is_nonnegative
    assert l.is_integer and L.is_integer
    assert Var(w[l]).is_positive
    assert alpha_c != alpha.label  # the constant α and the per-layer α_l are different symbols


def test_latex_orders_factors_and_keeps_log_base():
    text = T.latex(T.forward_recursion().rhs)
    assert text.index("{n}_{l}") < text.index(r"\operatorname{Var}\left[{w}_{l}\right]") < text.index("{y}_{l - 1}")
    assert T.latex(LogBase(l, k)) == r"\log_{k} l"
    assert T.latex(T.depth_solution().rhs) == r"\frac{{G}_{L}}{V^{\frac{1}{L - 1}} \ln{\left(k \right)}}"
    assert sp.simplify(natural_logs(LogBase(l, k)) - sp.log(l) / sp.log(k)) == 0
    assert sp.diff(LogBase(l, k), l) == 1 / (l * sp.log(k))


# --- forward pass, (1)-(6) ----------------------------------------------------------------------


def test_product_variance_is_var_w_times_second_moment():
    assert zero(T.product_variance() - Var(w[l]) * Expect(x[l] ** 2))


def test_forward_equations_hold_symbolically():
    assert zero(T.variance_of_sum().rhs - n[l] * Var(w[l] * x[l]))
    assert zero(T.rhs_of_three() - n[l] * Var(w[l]) * Expect(x[l] ** 2))
    assert zero(T.forward_recursion("relu").rhs - n[l] * Var(w[l]) * Var(y[l - 1]) / 2)
    assert zero(T.forward_recursion("linear").rhs - n[l] * Var(w[l]) * Var(y[l - 1]))
    assert zero(T.he_forward_variance().rhs - 2 / n[l])


@pytest.mark.parametrize("activation", ["relu", "linear", None])
def test_forward_product_matches_the_unrolled_recursion(activation):
    rule = T.forward_recursion(activation)
    product = T.forward_product(activation)
    for depth in range(2, 7):
        unrolled = T.unroll(lambda i, prev: rule.rhs.subs({l: i}).subs(Var(y[i - 1]), prev), Var(y[1]), 2, depth)
        assert zero(unrolled - product.rhs.subs(L, depth).doit())


def test_forward_derivation_steps_are_numbered_and_assumptions_known():
    d = T.forward_derivation()
    assert [s.paper for s in d.steps if s.paper] == [1, 2, 3, 4, 5, 6]
    assert set(d.assumptions()) <= set(T.ASSUMPTIONS)
    assert list(d.to_frame().columns) == ["paper", "equation", "reason", "assumptions"]


# --- backward pass, (7)-(15) --------------------------------------------------------------------


def test_backward_equations_hold_symbolically():
    assert T.gradient_mean().rhs == 0
    assert zero(T.output_gradient_mean().rhs - Expect(dx[l + 1]) / 2)
    assert zero(T.output_gradient_variance().rhs - Var(dx[l + 1]) / 2)
    assert zero(T.input_gradient_variance().rhs - n_hat[l] * Var(w[l]) * Var(dy[l]))
    assert zero(T.backward_recursion().rhs - n_hat[l] * Var(w[l]) * Var(dx[l + 1]) / 2)
    assert zero(T.he_backward_variance().rhs - 2 / n_hat[l])


def test_backward_product_matches_the_unrolled_recursion():
    rule, product = T.backward_recursion(), T.backward_product()
    for depth in range(2, 7):
        value = Var(dx[depth + 1])
        for i in range(depth, 1, -1):
            value = rule.rhs.subs({l: i}).subs(Var(dx[i + 1]), value)
        assert zero(value - product.rhs.subs(L, depth).doit())
    assert [s.paper for s in T.backward_derivation().steps] == list(range(7, 16))


# --- activation factors -------------------------------------------------------------------------


def test_exact_activation_factors():
    assert T.activation_factor_expressions("relu") == (sp.Rational(1, 2), sp.Rational(1, 2))
    assert T.activation_factor_expressions("linear") == (1, 1)
    m, d = T.activation_factor_expressions("leaky_relu")
    assert m == d == (1 + sp.Rational(1, 100) ** 2) / 2
    assert T.mean_derivative_expression("relu") == sp.Rational(1, 2)


def test_relu_half_holds_for_the_symmetric_laws_sympy_integrates(gen):
    halves = T.relu_half_for_symmetric()
    assert set(halves) == {"normal", "uniform", "laplace", "(a + b t²) e^(−t²/2)"}
    assert set(halves.values()) == {sp.Rational(1, 2)}
    # the substitution step of the general argument lands on the positive half-line
    argument = T.relu_half_argument()
    assert argument.rhs.limits[0][1:] == (0, sp.oo)
    # a symmetric law SymPy is not asked about (Student t, 5 degrees of freedom), by Monte Carlo
    z = torch.distributions.StudentT(5.0).sample((2_000_000,)).double()
    assert float(torch.relu(z).pow(2).mean() / z.pow(2).mean()) == pytest.approx(0.5, abs=0.01)
    # and an asymmetric one is not 1/2: the premise matters
    e = torch.empty(1_000_000, dtype=torch.float64).exponential_(generator=gen) - 0.5
    assert float(torch.relu(e).pow(2).mean() / e.pow(2).mean()) > 0.8


@pytest.mark.parametrize("activation", ["relu", "linear", "leaky_relu"])
@pytest.mark.parametrize("q_value", [0.01, 1.0, 30.0])
def test_quadrature_reproduces_the_exact_factors(activation, q_value):
    exact = [float(e) for e in T.activation_factor_expressions(activation)]
    assert T.quadrature_factors(activation, q_value) == pytest.approx(exact, rel=1e-6)


@pytest.mark.parametrize("activation", ["tanh", "sigmoid"])
@pytest.mark.parametrize("q_value", [0.1, 1.0, 10.0])
def test_numerical_factors_match_monte_carlo(activation, q_value, gen):
    z = torch.randn(2_000_000, generator=gen, dtype=torch.float64) * math.sqrt(q_value)
    f = torch.tanh(z) if activation == "tanh" else torch.sigmoid(z)
    fp = 1 - f**2 if activation == "tanh" else f * (1 - f)
    m, d = T.activation_factors(activation, q_value)
    assert m == pytest.approx(float((f**2).mean()) / q_value, rel=0.01)
    assert d == pytest.approx(float((fp**2).mean()), rel=0.01)


def test_activation_factor_limits_and_arrays():
    m, d = T.activation_factors("tanh", np.array([1e-4, 1.0]))
    assert m.shape == (2,) and m[0] == pytest.approx(1.0, abs=1e-3) and d[0] == pytest.approx(1.0, abs=1e-3)
    m_sig, _ = T.activation_factors("sigmoid", 1e-4)
    assert m_sig == pytest.approx(0.25 / 1e-4, rel=1e-3)  # E[σ(z)²] stays near 1/4: sigmoid is not zero-mean


def test_activation_errors_name_the_value():
    with pytest.raises(ValueError, match="'softplus'"):
        T.activation_factors("softplus")
    with pytest.raises(ValueError, match="q="):
        T.activation_factors("tanh", 0.0)
    with pytest.raises(ValueError, match="no closed form"):
        T.activation_factor_expressions("tanh")


# --- depth scaling, (16)-(23) --------------------------------------------------------------------


def test_alpha_scaling_equations():
    assert zero(T.alpha_weight_variance().rhs - 2 * alpha[l] / nu[l])
    assert zero(T.alpha_weight_variance("fan_out").rhs - 2 * alpha[l] / n_hat[l])
    assert zero(T.alpha_weight_variance("fan_in").rhs - 2 * alpha[l] / n[l])
    assert zero(T.alpha_recursion().rhs - alpha[l] * Var(dx[l + 1]))
    assert zero(T.alpha_recursion("fan_in").rhs - alpha[l] * Var(y[l - 1]))
    assert T.network_variance("fan_in").rhs == T.network_variance("fan_out").rhs == sp.Product(alpha[l], (l, 2, L))
    with pytest.raises(ValueError, match="mode="):
        T.alpha_scaling("backward")
    unit, he = T.he_from_alpha()
    assert zero(unit.rhs - Var(dx[L + 1])) and zero(he.rhs - 2 / n_hat[l])
    assert zero(T.constant_product().rhs - alpha_c ** (L - 1) * Var(dx[L + 1]))
    assert zero(T.constant_schedule().rhs - V ** (1 / (L - 1)))


@pytest.mark.parametrize("L_value,V_value", [(2, 3.0), (10, 22.0), (54, 22.0), (100, 0.5)])
def test_constant_schedule_agrees_with_alphas(L_value, V_value):
    value = float(T.constant_schedule().rhs.subs({V: V_value, L: L_value}))
    a = depthinit.alphas(L_value, schedule="constant", network_variance=V_value)
    assert a[0] == 1.0 and np.allclose(a[1:], value)


# --- depth function, (24)-(47) -------------------------------------------------------------------


def test_depth_solution_reproduces_the_network_variance():
    solution = T.depth_solution().rhs
    written = T.depth_network_variance().rhs.subs(sp.Product(sp.log(l), (l, 2, L)), G[L] ** (L - 1))
    assert zero(sp.powsimp(written.subs(beta, solution), force=True) - V)


def test_alpha_no_longer_depends_on_k_or_beta():
    closed = T.alpha_closed_form().rhs
    assert closed.free_symbols.isdisjoint({k, beta})
    substituted = natural_logs(T.depth_function().rhs).subs(beta, T.depth_solution().rhs)
    assert zero(sp.diff(substituted, k))
    assert T.equations()[42].expression.rhs == 0


@pytest.mark.parametrize("L_value", [3, 10, 54, 100])
@pytest.mark.parametrize("V_value", [1.0, 2.0, 22.0, 100.0])
@pytest.mark.parametrize("offset", [0.0, 2.0])
def test_sympy_solution_agrees_with_depthinit_alphas(L_value, V_value, offset):
    numbers = T.depth_numbers(L_value, V_value, offset=offset)
    lib = depthinit.alphas(L_value, schedule="increasing", network_variance=V_value, offset=offset)
    assert np.allclose(numbers["alphas"], lib, rtol=1e-12)
    # and directly from the symbolic closed form, with G_L evaluated as a product
    g = float(sp.Product(sp.log(l + offset), (l, 2, L_value)).doit().evalf()) ** (1 / (L_value - 1))
    closed = T.offset_alpha().rhs.subs({G_c[L]: g, V: V_value, L: L_value, c: offset})
    values = [float(closed.subs(l, i)) for i in range(2, L_value + 1)]
    assert np.allclose(values, lib[1:], rtol=1e-10)
    # the decreasing schedule is the increasing one reversed over l = 2..L
    dec = depthinit.alphas(L_value, schedule="decreasing", network_variance=V_value, offset=offset)
    assert np.allclose(dec[1:], lib[1:][::-1])


def test_reconstruction_numbers_for_L54_V22():
    d = T.depth_numbers(54, 22.0)
    assert d["G_L"] == pytest.approx(2.9569, abs=5e-5)
    assert d["root"] == pytest.approx(1.0601, abs=5e-5)
    assert d["beta_ln_k"] == pytest.approx(2.7894, abs=5e-5)
    assert d["k"] == pytest.approx(16.27, abs=5e-3)
    a = d["alphas"]
    assert np.round(a[1:7], 3).tolist() == [0.248, 0.394, 0.497, 0.577, 0.642, 0.698]
    assert np.round(a[[15, 16, 53]], 3).tolist() == [0.994, 1.016, 1.430]
    assert d["n_below"] == 15 and d["share_below"] == pytest.approx(15 / 53)
    assert d["first_at_or_above"] == 17
    assert math.sqrt(2 * a[1] / 64) == pytest.approx(0.088, abs=5e-4)
    assert math.sqrt(2 * a[53] / 64) == pytest.approx(0.211, abs=5e-4)
    assert math.sqrt(2 / 64) == pytest.approx(0.177, abs=5e-4)
    assert float(T.constant_schedule().rhs.subs({V: 22, L: 54})) == pytest.approx(1.0601, abs=5e-5)
    shifted = T.depth_numbers(54, 22.0, offset=2.0)
    assert shifted["alphas"][1] == pytest.approx(0.469, abs=5e-4)
    assert shifted["alphas"][6] == pytest.approx(0.744, abs=5e-4)
    assert shifted["n_below"] == 16
    assert T.solve_k_beta(55, 22.0, beta_value=1.0)[0] == pytest.approx(16.58, abs=5e-3)
    assert T.depth_numbers(55, 22.0)["n_below"] == 15


def test_crossover_is_l_below_k_to_the_beta(gen):
    first, second = T.crossover_steps()
    assert zero(second.right.rhs - k**beta)
    kappa = sp.Symbol("kappa", positive=True)
    # multiplying α_l - 1 by β ln k > 0 gives ln l - β ln k: same sign
    gap = (natural_logs(first.left.lhs) - 1) * beta * sp.log(k) - (first.right.lhs - first.right.rhs)
    assert zero(gap)
    assert (beta * sp.log(1 + kappa)).is_positive
    assert T.crossover_condition().right == sp.StrictLessThan(l, k**beta)
    # the derivation decides monotonicity itself: a decreasing factor flips the condition,
    # β multiplying instead of dividing moves the root, a factor that never crosses raises
    assert T.crossover_derivation(beta / LogBase(l, k))["condition"] == sp.StrictGreaterThan(l, k**beta)
    assert zero(T.crossover_derivation(beta * LogBase(l, k))["root"] - k ** (1 / beta))
    with pytest.raises(ValueError, match="crosses one"):
        T.crossover_derivation(sp.Integer(2) + 0 * l)
    for _ in range(20):
        k_value = 1.5 + 30 * float(torch.rand(1, generator=gen))
        b_value = 0.2 + 3 * float(torch.rand(1, generator=gen))
        depths = np.arange(2, 200)
        below = np.log(depths) / (b_value * math.log(k_value)) < 1
        assert np.array_equal(below, depths < k_value**b_value)


def test_hyperparameter_derivative_signs_match_finite_differences():
    # the signs are decided by SymPy; here they are compared with finite differences of β
    d = T.hyperparameter_derivatives()
    # the premise behind the sign in L: G_L < ln(L + 1)
    for L_value in (2, 3, 10, 54, 1000):
        assert T.depth_numbers(L_value, 1.0)["G_L"] < math.log(L_value + 1)

    def beta_of(L_value, V_value, k_value):
        return T.solve_k_beta(L_value, V_value, k_value=k_value)[1]

    h = 1e-6
    for L_value, V_value, k_value in [(54, 22.0, 10.0), (10, 2.0, 3.0), (100, 100.0, 50.0)]:
        b_value = beta_of(L_value, V_value, k_value)
        numeric_k = (beta_of(L_value, V_value, k_value + h) - beta_of(L_value, V_value, k_value - h)) / (2 * h)
        numeric_v = (beta_of(L_value, V_value + h, k_value) - beta_of(L_value, V_value - h, k_value)) / (2 * h)
        subs = {beta: b_value, k: k_value, V: V_value, L: L_value}
        assert float(d["k"].expression.subs(subs)) == pytest.approx(numeric_k, rel=1e-5)
        assert float(d["V"].expression.subs(subs)) == pytest.approx(numeric_v, rel=1e-5)
        assert np.sign(numeric_k) == d["k"].sign and np.sign(numeric_v) == d["V"].sign
    # the discrete step in L, from the symbolic expression, against β itself
    step = T.equations()[39].expression.rhs
    for L_value in (3, 10, 54, 99):
        for V_value in (1.0, 22.0):
            g = T.depth_numbers(L_value, V_value)["G_L"]
            value = float(step.subs({L: L_value, V: V_value, G[L]: g}))
            exact = math.log(beta_of(L_value + 1, V_value, 10.0) / beta_of(L_value, V_value, 10.0))
            assert value == pytest.approx(exact, rel=1e-9) and np.sign(exact) == d["L"].sign


def test_alpha_readings_table():
    frame = T.alpha_readings(54, 22.0)
    rows = frame.set_index("reading")
    assert rows.loc["log: ln(l + c), c = 0", "n_below"] == 15
    assert rows.loc["log: base k + c (absorbed)", "n_below"] == 15
    assert rows.loc["log: ln(l + c), c = 2", "n_below"] == 16
    assert rows.loc["log: c + log_k l, c = 1, β = 1", "n_below"] == 0
    assert (frame["layers"] >= 52).all() and np.allclose(frame["gap"], frame["share_below"] - 1 / 3)


def test_depth_errors_name_the_value():
    with pytest.raises(ValueError, match="L=1"):
        T.depth_numbers(1, 22.0)
    with pytest.raises(ValueError, match="V=-1"):
        T.depth_numbers(10, -1.0)
    with pytest.raises(ValueError, match="exactly one"):
        T.solve_k_beta(10, 2.0)
    with pytest.raises(ValueError, match="k_value=1"):
        T.solve_k_beta(10, 2.0, k_value=1.0)


# --- the registry ---------------------------------------------------------------------------------


def test_all_47_equations_are_registered():
    eqs = T.equations()
    assert list(eqs) == list(range(1, 48))
    for number, e in eqs.items():
        assert e.number == number and e.confidence in T.CONFIDENCES
        assert isinstance(e.expression, sp.Basic) and e.sentence and e.why and e.section
        assert rf"\tag{{{number}}}" in T.equation_latex(number)
        assert T.record_markdown(number).startswith(f":::{{admonition}} ({number}) · confidence: {e.confidence}")
    counts = T.equation_frame()["confidence"].value_counts()
    assert set(counts.index) == {"high", "medium", "low"}


def test_registry_entries_against_independent_numbers():
    """Registry expressions evaluated numerically against computations that do not use them:
    the library's alphas, NumPy products and the plans of real models."""
    eqs = T.equations()
    L_value, V_value = 20, 7.0
    a = depthinit.alphas(L_value, schedule="increasing", network_variance=V_value)
    g = float(np.exp(np.mean(np.log(np.log(np.arange(2, L_value + 1))))))
    # (23): the constant factor
    assert float(eqs[23].expression.rhs.subs({V: V_value, L: L_value})) == pytest.approx(V_value ** (1 / 19))
    # (34) with k = 10, then (24) with that β: reproduces the library's increasing schedule
    b_value = float(eqs[34].expression.rhs.subs({G[L]: g, V: V_value, L: L_value, k: 10}))
    f = sp.lambdify(l, natural_logs(eqs[24].expression.rhs).subs({beta: b_value, k: 10}))
    assert np.allclose([f(i) for i in range(2, L_value + 1)], a[1:], rtol=1e-12)
    # (41) and (40) against the same schedule
    for number in (40, 41):
        e = natural_logs(eqs[number].expression.rhs).subs({G[L]: g, V: V_value, L: L_value, k: 3, beta: 1})
        assert np.allclose([float(e.subs(l, i)) for i in range(2, L_value + 1)], a[1:], rtol=1e-12)
    # (28): V as the product of (24) with β from (34) and k = 10
    product = eqs[28].expression.rhs.subs({beta: b_value, k: 10, L: L_value}).doit()
    assert float(natural_logs(product)) == pytest.approx(V_value, rel=1e-10)
    # (46): k for β = 2 against solve_k_beta
    k46 = float(eqs[46].expression.rhs.subs({G[L]: g, V: V_value, L: L_value, beta: 2}))
    assert k46 == pytest.approx(T.solve_k_beta(L_value, V_value, beta_value=2.0)[0], rel=1e-12)
    # (5) and (14): the unrolled products for He on a real plan equal the predicted ratios
    net = torch.nn.Sequential(*[torch.nn.Linear(64, 64) for _ in range(6)])
    plan = depthinit.plan(net, "depth", schedule="increasing", network_variance=3.0)
    frame = plan.to_frame()
    fwd = T.predict(plan)["forward_variance"].to_numpy()
    factors = [float(eqs[4].expression.rhs.subs({n[l]: 64, Var(w[l]): v, Var(y[l - 1]): 1})) for v in frame["variance"]]
    assert np.prod(factors[1:]) == pytest.approx(fwd[-1] / fwd[0], rel=1e-12) == pytest.approx(3.0)
    assert eqs[3].confidence == "medium"  # He's E[x²] form is a choice, Glorot's Var[x] fits the words too


def test_equation_47_gives_the_last_layer_of_the_paper_network():
    """The 54 × 64 MLP on CIFAR-10, V = 22, increasing: (47) for layer 54 under the chosen
    definition (V the product of the gains in the mode's direction) against the variance
    depthinit.plan gives the real model, for both modes."""
    model = MLP(3072, 10, depth=54, width=64)
    expression = T.equations()[47].expression.rhs
    g = float(np.exp(np.mean(np.log(np.log(np.arange(2, 55))))))  # G_54 by NumPy
    fans = {"fan_in": 64, "fan_out": 10}  # layer 54: 64 inputs, 10 outputs
    for mode, fan in fans.items():
        frame = depthinit.plan(model, "depth", schedule="increasing", network_variance=22.0, mode=mode).to_frame()
        numbers = {l: 54, L: 54, V: 22.0, G[L]: g}
        value = float(expression.subs(nu[l], fan).subs(numbers))
        assert value == pytest.approx(frame["variance"].iloc[-1], rel=1e-12)
        specific = T.depth_weight_closed(mode).rhs.subs(T.mode_fan(mode), fan).subs(numbers)
        assert float(specific) == pytest.approx(value, rel=1e-12)
    # the two readings differ at the last layer: 0.0447 in the default mode, 0.286 in fan_out
    numbers = {l: 54, L: 54, V: 22.0, G[L]: g}
    assert float(expression.subs(nu[l], 64).subs(numbers)) == pytest.approx(0.0447, abs=5e-5)
    assert float(expression.subs(nu[l], 10).subs(numbers)) == pytest.approx(0.286, abs=5e-4)
    # and the default mode's V is the forward ratio of the real model's prediction
    plan = depthinit.plan(model, "depth", schedule="increasing", network_variance=22.0)
    p = T.predict(plan)
    assert p["forward_variance"].iloc[-1] / p["forward_variance"].iloc[0] == pytest.approx(22.0, rel=1e-10)
    assert plan.options["mode"] == "fan_in"


def test_registry_errors():
    with pytest.raises(ValueError, match="48"):
        T.equation_latex(48)
    with pytest.raises(ValueError, match="0"):
        T.equation_frame([0])


# --- against measured variances of seeded wide layers ----------------------------------------------


def test_equation_3_against_a_wide_layer_with_non_zero_mean_inputs(gen):
    n_in, n_out, var_w = 1024, 2048, 0.003
    inputs = torch.rand(256, n_in, generator=gen, dtype=torch.float64)  # in [0, 1]: not zero-mean
    weights = torch.randn(n_out, n_in, generator=gen, dtype=torch.float64) * math.sqrt(var_w)
    out = inputs @ weights.T
    predicted = float(T.rhs_of_three().subs({n[l]: n_in, Var(w[l]): var_w, Expect(x[l] ** 2): inputs.pow(2).mean()}))
    assert float(out.pow(2).mean()) == pytest.approx(predicted, rel=0.03)
    # Glorot's Var[x] form would miss by the factor E[x²] / Var[x] = 4
    glorot = n_in * var_w * float(inputs.var())
    assert float(out.pow(2).mean()) / glorot > 3.5


def test_equation_4_relu_halves_the_variance(gen):
    pre = torch.randn(4_000_000, generator=gen, dtype=torch.float64) * 1.7
    assert float(torch.relu(pre).pow(2).mean()) == pytest.approx(float(pre.var()) / 2, rel=0.01)


def test_equation_12_against_a_wide_layer(gen):
    n_in, n_out, var_w = 1024, 2048, 0.002
    weights = torch.randn(n_out, n_in, generator=gen, dtype=torch.float64) * math.sqrt(var_w)
    grad_y = torch.randn(256, n_out, generator=gen, dtype=torch.float64) * 0.5
    grad_x = grad_y @ weights  # Δx = Ŵ Δy
    predicted = float(T.input_gradient_variance().rhs.subs({n_hat[l]: n_out, Var(w[l]): var_w, Var(dy[l]): 0.25}))
    assert float(grad_x.pow(2).mean()) == pytest.approx(predicted, rel=0.03)


@pytest.mark.parametrize(
    "activation,scheme,options",
    [
        ("relu", "he", {}),
        ("relu", "depth", {"schedule": "increasing", "network_variance": 4.0}),
        ("relu", "glorot", {}),
        ("tanh", "glorot", {}),
        ("sigmoid", "he", {"nonlinearity": "sigmoid"}),
    ],
)
def test_predict_matches_measurement_on_a_wide_network(activation, scheme, options, gen):
    # one network fluctuates around the prediction by ~sqrt(5/N) per ReLU layer; average four
    net = MLP(512, 512, depth=4, width=1024, activation=activation)
    inputs = torch.rand(128, 512, generator=gen)  # inputs in [0, 1]
    plan = depthinit.plan(net, scheme, example_input=inputs[:1], **options)
    predicted = T.predict(plan, activation=activation, input_second_moment=float(inputs.pow(2).mean()))
    measured = T.sample_variances(net, scheme, inputs, n_networks=4, generator=gen, **options)
    mean = measured.groupby("depth")[["forward_variance", "backward_variance"]].mean()
    assert np.allclose(mean["forward_variance"], predicted["forward_variance"], rtol=0.1)
    assert np.allclose(mean["backward_variance"], predicted["backward_variance"], rtol=0.1)


def test_predict_products_equal_equations_5_and_14():
    net = torch.nn.Sequential(*[torch.nn.Linear(64, 64) for _ in range(8)])
    plan = depthinit.plan(net, "depth", schedule="increasing", network_variance=22.0)
    p = T.predict(plan)
    assert p["forward_variance"].iloc[-1] / p["forward_variance"].iloc[0] == pytest.approx(22.0)
    # layers 2..L-1 multiply the gradient variance by α_l; with no activation after the last
    # layer, Var[Δx_L] = n̂_L Var[w_L] Var[Δy_L] = 2 α_L Var[Δy_L], so Var[Δx_2] / Var[Δy_L] = 2 V
    assert p["backward_variance"].iloc[1] / p["backward_variance"].iloc[-1] == pytest.approx(
        22.0 / plan.layers[-1].alpha
    )
    assert p["backward_variance"].iloc[1] == pytest.approx(2 * 22.0)
    assert list(p.columns) == list(T.PREDICTED_COLUMNS)
    assert p.attrs["activation"] == "relu"


def test_measure_variances_contract(gen):
    net = MLP(32, 5, depth=4, width=16)
    inputs = torch.randn(8, 32, generator=gen)
    depthinit.init_(net, "he", generator=gen)
    state = torch.random.get_rng_state()
    a = T.measure_variances(net, inputs, generator=torch.Generator().manual_seed(3))
    b = T.measure_variances(net, inputs, generator=torch.Generator().manual_seed(3))
    assert torch.equal(state, torch.random.get_rng_state())
    assert a.equals(b) and list(a.columns) == list(T.MEASURED_COLUMNS)
    assert a["depth"].tolist() == [1, 2, 3, 4]
    assert all(p.grad is None for p in net.parameters())
    assert a["input_second_moment"].iloc[0] == pytest.approx(float(inputs.pow(2).mean()), rel=1e-5)
    assert (a["forward_batch_variance"] <= a["forward_variance"] + 1e-12).all()


def test_sample_variances_stacks_networks(gen):
    net = MLP(32, 5, depth=4, width=16)
    inputs = torch.randn(8, 32, generator=gen)
    frame = T.sample_variances(net, "he", inputs, n_networks=3, generator=gen)
    assert len(frame) == 12 and frame["network"].tolist() == [0] * 4 + [1] * 4 + [2] * 4
    assert frame.groupby("network")["forward_variance"].first().nunique() == 3


def test_prediction_and_measurement_errors(gen):
    with pytest.raises(ValueError, match="InitPlan"):
        T.predict("he")
    plan = depthinit.plan(torch.nn.Linear(4, 4), "he")
    with pytest.raises(ValueError, match="input_second_moment"):
        T.predict(plan, input_second_moment=0.0)
    with pytest.raises(ValueError, match="x_input"):
        T.measure_variances(torch.nn.Linear(4, 4), torch.zeros(4), generator=gen)
    with pytest.raises(ValueError, match="n_networks"):
        T.sample_variances(torch.nn.Linear(4, 4), "he", torch.zeros(2, 4), n_networks=0, generator=gen)


# --- heavy tails -------------------------------------------------------------------------------------


def test_squared_norm_relative_variance_matches_simulation(gen):
    N = sp.Symbol("N", positive=True)
    assert T.squared_norm_relative_variance("relu") == 5 / N
    assert T.squared_norm_relative_variance("linear") == 2 / N
    draws = torch.relu(torch.randn(200_000, 64, generator=gen, dtype=torch.float64)).pow(2).sum(dim=1)
    assert float(draws.var() / draws.mean() ** 2) == pytest.approx(5 / 64, rel=0.03)
    profile = T.log_variance_profile([64] * 53)
    assert profile[-1] == pytest.approx(53 * 5 / 64)
    assert T.median_to_mean(profile[-1]) == pytest.approx(math.exp(-53 * 5 / 128))
    with pytest.raises(ValueError, match="widths"):
        T.log_variance_profile([0, 3])


def test_lognormal_spread_profiles():
    plan = depthinit.plan(MLP(3072, 10, depth=54, width=64), "he")
    spread = T.lognormal_spread(plan)
    relu_m, relu_v = T.log_ratio_moments(64)
    lin64, lin10 = T.log_ratio_moments(64, activation="linear"), T.log_ratio_moments(10, activation="linear")
    # forward at the top: 53 ReLU layers of width 64 and the 10 logits' chi-square
    assert spread["forward_log_variance"].iloc[-1] == pytest.approx(53 * relu_v + lin10[1], rel=1e-12)
    assert spread["forward_log_mean"].iloc[-1] == pytest.approx(53 * relu_m + lin10[0], rel=1e-12)
    assert spread["forward_log_variance"].iloc[0] == pytest.approx(lin64[1])
    # backward at layer 2: output gradient, 52 masks, the measurement over 64 fan-in units
    assert spread["backward_log_variance"].iloc[1] == pytest.approx(lin10[1] + 52 * relu_v + lin64[1], rel=1e-12)
    assert np.allclose(spread["forward_median_factor"], np.exp(spread["forward_log_mean"]))
    # the old large-N form: 5/N per ReLU layer and 2/N for the measurement
    large = T.lognormal_spread(plan, form="large_n")
    assert large["forward_log_variance"].iloc[-1] == pytest.approx(53 * 5 / 64 + 2 / 10)
    batched = T.lognormal_spread(plan, batch_size=32)
    assert batched["backward_log_variance"].isna().all()
    assert (batched["forward_log_variance"] < spread["forward_log_variance"]).all()
    assert batched["correlation"].iloc[1] == pytest.approx(1 / math.pi)
    with pytest.raises(ValueError, match="form="):
        T.lognormal_spread(plan, form="exactly")
    with pytest.raises(ValueError, match="not a correlation"):
        T.lognormal_spread(plan, input_correlation=1.5)


def test_median_of_one_network_follows_the_lognormal_spread(gen):
    # 64 random 20-layer ReLU networks of width 32: the median forward ratio at the top sits
    # near exp(-s²/2) of the prediction, far below the mean
    net = MLP(256, 10, depth=20, width=32)
    inputs = torch.randn(16, 256, generator=gen)
    plan = depthinit.plan(net, "he")
    predicted = T.predict(plan, input_second_moment=float(inputs.pow(2).mean()))
    frame = T.sample_variances(net, "he", inputs, n_networks=64, generator=gen)
    top = frame[frame["depth"] == 19]["forward_variance"] / predicted["forward_variance"].iloc[18]
    factor = T.lognormal_spread(plan, batch_size=16)["forward_median_factor"].iloc[18]
    assert 0.5 * factor < float(top.median()) < 2.0 * factor
    assert float(top.median()) < 0.7


def test_depth_function_clues_are_computed_for_both_readings():
    log_clues = T.depth_function_clues("log", 54, 22.0, 10.0)
    power_clues = T.depth_function_clues("power", 54, 22.0, 10.0)
    assert log_clues["fits"].tolist() == [True] * 6 + [False]  # k drops out once V is pinned
    # the power law fits the two-values clue, the crossover and (for k below the geometric
    # mean of the depths) the monotonicity clue; not f(1) = 0, not k = 1, not the base
    assert power_clues["fits"].tolist() == [False, False, True, True, False, True, True]
    assert "β = 1.21" in log_clues["result"].iloc[5]
    assert T.solve_k_beta(54, 22.0, k_value=10.0)[1] == pytest.approx(1.2114, abs=5e-5)
    high_k = T.depth_function_clues("power", 54, 22.0, 40.0)
    assert not high_k["fits"].iloc[5]
    # k shapes the pinned power law: compare with a finite difference of the NumPy schedule
    logs = np.log(np.arange(2, 55))

    def log_alpha_2(k_value: float) -> float:
        b_value = (logs.sum() - 53 * math.log(k_value)) / math.log(22.0)
        return math.log(22.0) / 53 + (math.log(2) - logs.mean()) / b_value

    fd = (log_alpha_2(10 + 1e-5) - log_alpha_2(10 - 1e-5)) / 2e-5
    assert f"{fd:.3g}" in power_clues["result"].iloc[6]
    with pytest.raises(ValueError, match="reading"):
        T.depth_function_clues("linear")
