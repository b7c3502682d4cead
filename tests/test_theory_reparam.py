"""depthinit.theory reparameterization: the He-equivalent form of a depth plan, the SymPy
steps of the theorem, and float64 training of a schedule beside its He equivalent."""

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


def small_problem(gen: torch.Generator, activation: str = "relu"):
    model = MLP(20, 5, depth=6, width=16, activation=activation)
    x = torch.randn(64, 20, generator=gen)
    y = torch.randint(0, 5, (64,), generator=gen)
    return model, x, y


def test_he_equivalent_factors_against_the_schedule():
    model = MLP(3072, 10, depth=54, width=64)
    plan = depthinit.plan(model, "depth", schedule="increasing", network_variance=22.0)
    eq = T.he_equivalent(plan)
    a = depthinit.alphas(54, schedule="increasing", network_variance=22.0)  # independent of the plan
    assert np.allclose(eq.lr_scale, 1 / a) and np.allclose(eq.adam_lr_scale, 1 / np.sqrt(a))
    cumulative = np.cumprod(a)
    assert np.allclose(eq.bias_lr_scale, 1 / cumulative) and np.allclose(eq.bias_adam_lr_scale, cumulative**-0.5)
    assert eq.output_scale == pytest.approx(math.sqrt(22.0)) and eq.network_variance == pytest.approx(22.0)
    assert eq.base_scheme == "he" and eq.base_options["mode"] == "fan_in" and len(eq.lr_scale) == 54
    scales = eq.parameter_scales(model)
    assert list(scales) == [name for name, _ in model.named_parameters()]
    assert scales["layers.0.weight"] == 1.0 and scales["layers.53.weight"] == pytest.approx(1 / a[-1])
    assert scales["layers.53.bias"] == pytest.approx(1 / 22.0)
    assert eq.parameter_scales(model, optimizer="adam")["layers.1.weight"] == pytest.approx(a[1] ** -0.5)
    pairs = eq.lr_scales(model)
    assert ("layers.1.weight", pytest.approx(1 / a[1])) in pairs and all(v != 1.0 for _, v in pairs)
    frame = eq.to_frame()
    assert list(frame["layer"]) == [f"layers.{i}" for i in range(54)]
    glorot = T.he_equivalent(depthinit.plan(model, "depth", base="glorot", schedule="decreasing"))
    assert glorot.base_scheme == "glorot" and "mode" not in glorot.base_options


def test_he_equivalent_errors():
    model = MLP(8, 2, depth=3, width=4)
    with pytest.raises(ValueError, match="'depth' scheme"):
        T.he_equivalent(depthinit.plan(model, "he"))
    with pytest.raises(ValueError, match="InitPlan"):
        T.he_equivalent("depth")
    eq = T.he_equivalent(depthinit.plan(model, "depth"))
    with pytest.raises(ValueError, match="not modules"):
        eq.parameter_scales(torch.nn.Sequential(torch.nn.Linear(8, 2)))
    with pytest.raises(ValueError, match="optimizer"):
        eq.parameter_scales(model, optimizer="lion")


def test_same_seed_gives_weights_root_alpha_times_he(gen):
    depth_net, he_net = MLP(30, 4, depth=5, width=12), MLP(30, 4, depth=5, width=12)
    plan = depthinit.init_(depth_net, "depth", generator=torch.Generator().manual_seed(7), network_variance=9.0)
    depthinit.init_(he_net, "he", generator=torch.Generator().manual_seed(7))
    for layer, a in zip(plan.layers, T.he_equivalent(plan).alphas):
        w = dict(depth_net.named_modules())[layer.layer].weight
        u = dict(he_net.named_modules())[layer.layer].weight
        assert torch.allclose(w, math.sqrt(a) * u, rtol=1e-6, atol=0)
    # the networks compute sqrt(V) times each other for any input (float32 here)
    x = torch.randn(16, 30, generator=gen)
    assert torch.allclose(depth_net(x), 3.0 * he_net(x), rtol=1e-4, atol=1e-5)


def test_the_theorem_steps_in_sympy():
    th = T.reparameterization_theorem()
    for key in (
        "layer_step",
        "jacobian",
        "sgd_weights",
        "sgd_buffer",
        "sgd_weight_decay_scaled",
        "adam_moments",
        "adam_exact",
        "adam_eps_limit",
    ):
        assert th[key] == 0, key
    assert th["output_factor"] == sp.sqrt(T.symbols.V)
    # what breaks it: a non-homogeneous activation, coupled weight decay, Adam's ε
    assert th["tanh_step"] != 0 and th["sgd_weight_decay"] != 0 and th["adam_same_eps"] != 0
    alpha = sp.Symbol("alpha", positive=True)
    assert th["sgd_weight_decay"].subs(alpha, 1) == 0  # α = 1 (He itself) is unaffected


@pytest.mark.parametrize("schedule", ["increasing", "decreasing"])
def test_sgd_momentum_trajectories_agree_to_rounding(schedule, gen):
    model, x, y = small_problem(gen)
    run = T.compare_reparameterized(
        model,
        x,
        y,
        generator=gen,
        steps=40,
        lr=0.05,
        optimizer="sgd",
        momentum=0.9,
        schedule=schedule,
        network_variance=22.0,
    )
    traj = run.trajectory
    assert len(traj) == 41 and traj["loss_depth"].iloc[-1] < traj["loss_depth"].iloc[0]  # it trains
    assert run.max_rel_diff < 1e-8
    assert 0 < run.init_rel_diff < 1e-6  # init_ itself: float32 rounding of the sampler


def test_minibatch_sgd_and_trained_biases_agree(gen):
    model, x, y = small_problem(gen)
    run = T.compare_reparameterized(
        model,
        x,
        y,
        generator=gen,
        steps=30,
        lr=0.05,
        batch_size=16,
        schedule="increasing",
        network_variance=5.0,
        offset=2.0,
    )
    assert run.max_rel_diff < 1e-8


def test_adam_agrees_exactly_with_scaled_eps_and_up_to_eps_otherwise(gen):
    model, x, y = small_problem(gen)
    state = gen.get_state()

    def run(**kw):
        g = torch.Generator()
        g.set_state(state)
        return T.compare_reparameterized(
            model,
            x,
            y,
            generator=g,
            steps=30,
            lr=1e-3,
            optimizer="adam",
            schedule="increasing",
            network_variance=22.0,
            **kw,
        )

    exact = run(scale_eps=True)
    assert exact.max_rel_diff < 1e-8
    # With one ε for both, each step differs by about ε |1 − 1/√α| / √v̂ relative (SymPy's
    # adam_same_eps); the gap is far above rounding and shrinks with ε.
    big, small = run(scale_eps=False, eps=1e-6), run(scale_eps=False, eps=1e-10)
    assert big.max_rel_diff > 100 * exact.max_rel_diff
    assert small.max_rel_diff < big.max_rel_diff / 100
    assert big.max_rel_diff < 1e-2


def test_the_equivalence_fails_without_homogeneity(gen):
    # tanh is not positively homogeneous: the He network times sqrt(V) is not the depth network
    model, x, y = small_problem(gen, activation="tanh")
    run = T.compare_reparameterized(
        model, x, y, generator=gen, steps=2, lr=0.01, schedule="increasing", network_variance=22.0, nonlinearity="relu"
    )
    assert run.trajectory["output_rel_diff"].iloc[0] > 1e-2


def test_compare_errors(gen):
    model, x, y = small_problem(gen)
    with pytest.raises(ValueError, match="optimizer"):
        T.compare_reparameterized(model, x, y, generator=gen, optimizer="rmsprop")
    with pytest.raises(ValueError, match="steps"):
        T.compare_reparameterized(model, x, y, generator=gen, steps=-1)
    with pytest.raises(ValueError, match="batch_size"):
        T.compare_reparameterized(model, x, y, generator=gen, batch_size=1000)
    with pytest.raises(ValueError, match="generator"):
        T.compare_reparameterized(model, x, y, generator=None)
