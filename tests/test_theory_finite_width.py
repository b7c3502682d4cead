"""depthinit.theory finite-width statistics: the exact law of ln r against sampled layers at
widths 16, 64 and 256, its large-N series, the output-layer and batch terms, and the
network-level profile against simulated networks and against the real model."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp
import torch

import depthinit
import depthinit.theory as T
from depthinit.models import MLP

pytestmark = pytest.mark.usefixtures("one_thread")

N = sp.Symbol("N", positive=True)


def sampled_log_ratios(width: int, n: int, gen: torch.Generator, *, relu: bool = True) -> torch.Tensor:
    """ln r for n independent layers: r = (2/N) Σ relu(z)² (ReLU) or (1/N) Σ z² (linear)."""
    z = torch.randn(n, width, generator=gen, dtype=torch.float64)
    r = 2 * torch.relu(z).pow(2).mean(dim=1) if relu else z.pow(2).mean(dim=1)
    return torch.log(r[r > 0])  # K = 0 (probability 2^-N) is the excluded dead layer


def check_moments(sample: torch.Tensor, mean: float, var: float) -> None:
    n = len(sample)
    m4 = float(((sample - sample.mean()) ** 4).mean())
    se_mean = math.sqrt(var / n)
    se_var = math.sqrt(max(m4 - var**2, 0.0) / n)  # standard error of a sample variance
    assert float(sample.mean()) == pytest.approx(mean, abs=5 * se_mean)
    assert float(sample.var()) == pytest.approx(var, abs=5 * se_var)


@pytest.mark.parametrize("width", [16, 64, 256])
def test_exact_moments_match_sampled_relu_layers(width, gen):
    sample = sampled_log_ratios(width, 6_400_000 // width, gen)
    mean, var = T.log_ratio_moments(width)
    check_moments(sample, mean, var)
    # and the large-N form is distinguishably worse at width 16
    if width == 16:
        _, var1 = T.log_ratio_moments(width, form="large_n", order=1)
        assert abs(float(sample.var()) - var1) > 10 * abs(float(sample.var()) - var)


@pytest.mark.parametrize("width", [16, 64, 256])
def test_exact_moments_match_sampled_linear_layers(width, gen):
    sample = sampled_log_ratios(width, 6_400_000 // width, gen, relu=False)
    check_moments(sample, *T.log_ratio_moments(width, activation="linear"))


def test_the_10_logit_output_layer_term(gen):
    # the chi-square of 10 logits: exact ψ₁(5) = 0.2213, against 2/10 at large N
    mean, var = T.log_ratio_moments(10, activation="linear")
    assert var == pytest.approx(float(sp.polygamma(1, 5)), rel=1e-9)  # torch's trigamma: ~1e-10
    check_moments(sampled_log_ratios(10, 400_000, gen, relu=False), mean, var)


def test_large_n_series_is_derived_and_converges():
    s = T.log_ratio_series(2)
    assert sp.simplify(s["relu_variance"] - (5 / N + sp.Rational(37, 2) / N**2)) == 0
    assert sp.simplify(s["relu_mean"] - (-sp.Rational(5, 2) / N - sp.Rational(49, 12) / N**2)) == 0
    assert sp.simplify(s["linear_variance"] - (2 / N + 2 / N**2)) == 0
    assert T.log_ratio_series(1)["relu_variance"] == 5 / N
    # the exact moments approach the series: the second-order error falls like 1/N^3
    errors = []
    for width in (64, 256, 1024):
        exact = T.log_ratio_moments(width)[1]
        first, second = (T.log_ratio_moments(width, form="large_n", order=o)[1] for o in (1, 2))
        assert abs(exact - second) < abs(exact - first)
        errors.append(abs(exact - second) * width**3)
    assert errors[-1] < 2 * errors[0]
    assert T.log_ratio_moments(64)[1] == pytest.approx(0.0830, abs=5e-5)  # not 5/64 = 0.078


def sampled_batch_log_ratios(width: int, batch: int, c: float, n: int, gen: torch.Generator) -> torch.Tensor:
    common = torch.randn(n, 1, width, generator=gen, dtype=torch.float64)
    z = math.sqrt(c) * common + math.sqrt(1 - c) * torch.randn(n, batch, width, generator=gen, dtype=torch.float64)
    return torch.log(2 * torch.relu(z).pow(2).mean(dim=-1).mean(dim=-1))


@pytest.mark.parametrize("width,batch,c", [(64, 8, 0.5), (256, 8, 0.5), (64, 32, 0.0), (256, 8, 0.9)])
def test_batch_moments_match_sampled_batches(width, batch, c, gen):
    n = max(4_000, 4_000_000 // (width * batch))
    check_moments(sampled_batch_log_ratios(width, batch, c, n, gen), *T.batch_log_ratio_moments(width, batch, c))
    assert T.batch_log_ratio_moments(width, 1, c) == T.log_ratio_moments(width)


def test_batch_moments_are_approximate_at_width_16(gen):
    # the effective-width rule is a second-order approximation: at N = 16 it overshoots by
    # about a tenth (the chapter shows it); beyond N = 64 it is within the sampling error
    sample = sampled_batch_log_ratios(16, 8, 0.5, 40_000, gen)
    _, var = T.batch_log_ratio_moments(16, 8, 0.5)
    assert 1.02 < var / float(sample.var()) < 1.2


def test_ratio_correlation_and_the_degree_2_kernel(gen):
    theta = sp.Symbol("theta", positive=True)
    j2 = (3 * sp.sin(theta) * sp.cos(theta) + (sp.pi - theta) * (1 + 2 * sp.cos(theta) ** 2)) / (2 * sp.pi)
    kernel = T.relu_fourth_moment_kernel()
    assert sp.simplify(kernel - j2) == 0 and sp.simplify(kernel.subs(theta, 0)) == sp.Rational(3, 2)
    u = torch.randn(800_000, generator=gen, dtype=torch.float64)
    w = torch.randn(800_000, generator=gen, dtype=torch.float64)
    for c in (0.3, 0.8):
        v = c * u + math.sqrt(1 - c * c) * w
        a, b = torch.relu(u) ** 2, torch.relu(v) ** 2
        measured = float(torch.corrcoef(torch.stack([a, b]))[0, 1])
        assert T.ratio_correlation(c) == pytest.approx(measured, abs=6e-3)  # s.e. of a correlation ~1e-3
        assert T.ratio_correlation(c, activation="linear") == pytest.approx(c * c)
    assert T.batch_factor(0.7, 1) == 1.0 and T.batch_factor(1.0, 50) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="batch_size"):
        T.batch_factor(0.5, 0)


@pytest.mark.parametrize("batch", [1, 8])
def test_profile_matches_simulated_networks(batch, gen):
    widths = [32] * 19 + [10]
    sim = T.simulate_chain(widths, n_networks=1000, generator=gen, batch_size=batch)
    plan = depthinit.plan(MLP(256, 10, depth=20, width=32), "he")
    spread = T.lognormal_spread(plan, batch_size=batch)
    fwd = sim["forward"]
    n = len(fwd)
    for layer in (4, 12, 19):
        var, mean = spread["forward_log_variance"].iloc[layer], spread["forward_log_mean"].iloc[layer]
        assert float(fwd[:, layer].var()) == pytest.approx(var, rel=5 * math.sqrt(2 / n))
        assert float(fwd[:, layer].mean()) == pytest.approx(mean, abs=5 * math.sqrt(var / n))
    if batch == 1:  # backward for one example: the same law as forward (Hanin 2018)
        bwd = sim["backward"][:, 1]
        var = spread["backward_log_variance"].iloc[1]
        assert float(bwd.var()) == pytest.approx(var, rel=5 * math.sqrt(2 / n))
    else:  # the inputs' measured correlation follows the ReLU map, slightly above it at width 32
        measured = np.nanmean(sim["correlation"], axis=0)
        assert np.allclose(measured, spread["correlation"], atol=0.03)


def test_simulation_agrees_with_the_real_model(gen):
    # the library's MLP measured by sample_variances has the law simulate_chain draws
    model = MLP(64, 10, depth=6, width=16)
    inputs = torch.randn(1, 64, generator=gen)
    measured = T.sample_variances(model, "he", inputs, n_networks=300, generator=gen)
    pred = T.predict(depthinit.plan(model, "he"), input_second_moment=float(inputs.pow(2).mean()))
    top = np.log(measured[measured["depth"] == 6]["forward_variance"].to_numpy() / pred["forward_variance"].iloc[-1])
    spread = T.lognormal_spread(depthinit.plan(model, "he"))
    var = spread["forward_log_variance"].iloc[-1]
    assert float(top.var()) == pytest.approx(var, rel=5 * math.sqrt(2 / 300))


def test_finite_width_errors(gen):
    with pytest.raises(ValueError, match="width"):
        T.log_ratio_moments(0)
    with pytest.raises(ValueError, match="width"):
        T.log_ratio_moments(True)
    with pytest.raises(ValueError, match="activation"):
        T.log_ratio_moments(8, activation="tanh")
    with pytest.raises(ValueError, match="form"):
        T.log_ratio_moments(8, form="asymptotic")
    with pytest.raises(ValueError, match="order"):
        T.log_ratio_series(3)
    with pytest.raises(ValueError, match="n_networks"):
        T.simulate_chain([4, 2], n_networks=0, generator=gen)
    a = T.simulate_chain([8, 3], n_networks=5, generator=torch.Generator().manual_seed(1), batch_size=2)
    b = T.simulate_chain([8, 3], n_networks=5, generator=torch.Generator().manual_seed(1), batch_size=2)
    assert np.array_equal(a["forward"], b["forward"]) and np.isnan(a["backward"][:, 0]).all()


def test_input_correlation_and_simulation_with_depth_factors(gen):
    x = torch.randn(16, 3, 8, 8, generator=gen, dtype=torch.float64)
    unit = x.reshape(16, -1) / x.reshape(16, -1).norm(dim=1, keepdim=True)
    gram = unit @ unit.T
    assert T.input_correlation(x) == pytest.approx(float((gram.sum() - 16) / (16 * 15)), rel=1e-6)
    assert T.input_correlation(torch.ones(4, 5)) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="B >= 2"):
        T.input_correlation(torch.ones(1, 5))
    # the same draws under a depth schedule: the same law of the log ratio, network by network
    a = depthinit.alphas(6, schedule="increasing", network_variance=9.0)
    state = gen.get_state()
    he = T.simulate_chain([8] * 5 + [3], n_networks=20, generator=gen, batch_size=2)
    gen.set_state(state)
    inc = T.simulate_chain([8] * 5 + [3], n_networks=20, generator=gen, batch_size=2, alphas=a)
    assert np.allclose(he["forward"], inc["forward"]) and np.allclose(he["correlation"], inc["correlation"])
    with pytest.raises(ValueError, match="alphas"):
        T.simulate_chain([8, 3], n_networks=2, generator=gen, alphas=[1.0])
