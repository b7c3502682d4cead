"""The initializer library: samplers, schedules, ordering, LSUV, determinism, errors."""

import math
import warnings

import numpy as np
import pytest
import torch
from scipy import stats
from torch import nn

import depthinit
from depthinit.init import LSUVConvergenceWarning, random_walk_gain
from depthinit.models import CNN, MLP, ResMLP


def _wide_pair(fan_in=400, fan_out=300):
    return nn.Sequential(nn.Linear(fan_in, fan_out), nn.ReLU(), nn.Linear(fan_out, fan_out))


def _first_weight(model):
    return next(m for m in model.modules() if isinstance(m, nn.Linear)).weight.detach().double().flatten()


# ---------------------------------------------------------------- samplers: KS and std


@pytest.mark.parametrize(
    "scheme, options, expected_std",
    [
        ("he", {}, math.sqrt(2 / 400)),
        ("he", {"mode": "fan_out"}, math.sqrt(2 / 300)),
        ("he", {"nonlinearity": "linear"}, math.sqrt(1 / 400)),
        ("glorot", {}, math.sqrt(2 / 700)),
        ("glorot", {"gain": 2.0}, 2 * math.sqrt(2 / 700)),
        ("lecun", {}, math.sqrt(1 / 400)),
        ("random_walk", {}, random_walk_gain(400) / math.sqrt(400)),
        ("random_walk", {"nonlinearity": "linear"}, math.exp(1 / 800) / math.sqrt(400)),
        ("depth", {"schedule": "unit"}, math.sqrt(2 / 400)),
        ("depth", {"schedule": "unit", "base": "glorot"}, math.sqrt(2 / 700)),
    ],
)
@pytest.mark.parametrize("distribution", ["normal", "uniform"])
def test_samples_follow_their_distribution(scheme, options, expected_std, distribution, gen):
    model = _wide_pair()
    plan = depthinit.init_(model, scheme, generator=gen, distribution=distribution, **options)
    w = _first_weight(model).numpy()
    row = plan.to_frame().iloc[0]
    assert row["std"] == pytest.approx(expected_std, rel=1e-12)
    assert row["variance"] == pytest.approx(expected_std**2, rel=1e-12)
    if distribution == "normal":
        ref = stats.norm(scale=expected_std)
        assert math.isnan(row["bound"])
    else:
        bound = math.sqrt(3) * expected_std
        assert row["bound"] == pytest.approx(bound, rel=1e-12)
        assert np.abs(w).max() <= bound * (1 + 1e-6)
        ref = stats.uniform(loc=-bound, scale=2 * bound)
    assert stats.kstest(w, ref.cdf).pvalue > 1e-3
    assert w.std() == pytest.approx(expected_std, rel=0.02)
    assert model[0].bias.abs().max() == 0


def test_ks_rejects_a_wrong_std(gen):
    """The KS check above can fail: a 10 % wrong scale is rejected at this sample size."""
    model = _wide_pair()
    depthinit.init_(model, "he", generator=gen)
    w = _first_weight(model).numpy()
    assert stats.kstest(w, stats.norm(scale=1.1 * math.sqrt(2 / 400)).cdf).pvalue < 1e-3


@pytest.mark.parametrize(
    "ours, theirs",
    [
        ({"scheme": "glorot", "distribution": "normal"}, lambda w, g: nn.init.xavier_normal_(w, generator=g)),
        ({"scheme": "glorot", "distribution": "uniform"}, lambda w, g: nn.init.xavier_uniform_(w, generator=g)),
        (
            {"scheme": "he", "distribution": "normal"},
            lambda w, g: nn.init.kaiming_normal_(w, nonlinearity="relu", generator=g),
        ),
        (
            {"scheme": "he", "distribution": "uniform"},
            lambda w, g: nn.init.kaiming_uniform_(w, nonlinearity="relu", generator=g),
        ),
        (
            {"scheme": "he", "distribution": "normal", "mode": "fan_out"},
            lambda w, g: nn.init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu", generator=g),
        ),
    ],
)
def test_parity_with_torch_nn_init(ours, theirs, gen):
    conv = nn.Conv2d(16, 32, 3)
    ref = nn.Conv2d(16, 32, 3)
    depthinit.init_(nn.Sequential(conv), generator=gen, **ours)
    theirs(ref.weight, torch.Generator().manual_seed(99))
    a, b = conv.weight.detach().flatten().numpy(), ref.weight.detach().flatten().numpy()
    assert stats.ks_2samp(a, b).pvalue > 1e-3
    assert a.std() == pytest.approx(b.std(), rel=0.05)


def test_conv_fans_follow_pytorch_including_groups():
    for conv in (nn.Conv2d(8, 16, 3, groups=2), nn.Conv1d(6, 12, 5, groups=3), nn.Conv3d(4, 8, 2)):
        assert depthinit.fans(conv) == nn.init._calculate_fan_in_and_fan_out(conv.weight)
    frame = depthinit.plan(nn.Sequential(nn.Conv2d(8, 16, 3, groups=2)), "he").to_frame()
    assert (frame["fan_in"].item(), frame["fan_out"].item()) == (36, 144)
    assert frame["std"].item() == pytest.approx(math.sqrt(2 / 36))


def test_orthogonal_is_haar_orthogonal_times_gain(gen):
    model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 64), nn.Conv2d(4, 8, 3))
    plan = depthinit.init_(model, "orthogonal", generator=gen)
    g2 = 2.0
    w1 = model[0].weight.detach().double()  # 32 x 64: orthonormal rows
    assert torch.allclose(w1 @ w1.T, g2 * torch.eye(32, dtype=torch.float64), atol=1e-5)
    w2 = model[2].weight.detach().double()  # 64 x 32: orthonormal columns
    assert torch.allclose(w2.T @ w2, g2 * torch.eye(32, dtype=torch.float64), atol=1e-5)
    w3 = model[3].weight.detach().double().reshape(8, -1)
    assert torch.allclose(w3 @ w3.T, g2 * torch.eye(8, dtype=torch.float64), atol=1e-5)
    measured = [float(m.weight.detach().double().pow(2).mean().sqrt()) for m in (model[0], model[2], model[3])]
    assert plan.to_frame()["std"].tolist() == pytest.approx(measured, rel=1e-5)
    # Haar: with the sign correction the diagonal of Q has mean zero (without it, it is biased).
    diag = []
    for _ in range(200):
        m = nn.Sequential(nn.Linear(8, 8))
        depthinit.init_(m, "orthogonal", generator=gen, gain=1.0)
        diag.append(torch.diagonal(m[0].weight.detach()).mean().item())
    assert abs(np.mean(diag)) < 0.05


def test_random_walk_gain_formula():
    assert random_walk_gain(64) == pytest.approx(math.sqrt(2) * math.exp(1.2 / 61.6))
    assert random_walk_gain(3) == pytest.approx(math.sqrt(2) * math.exp(1.2 / 3.6))  # max(N, 6)
    assert random_walk_gain(64, "linear") == pytest.approx(math.exp(1 / 128))


# ---------------------------------------------------------------- schedules


@pytest.mark.parametrize("schedule", ["constant", "increasing", "decreasing"])
@pytest.mark.parametrize("depth_fn", ["log", "power", "linear", "geometric"])
@pytest.mark.parametrize("L", [2, 3, 10, 54, 100])
@pytest.mark.parametrize("V", [0.5, 1.0, 22.0, 100.0])
def test_schedule_product_and_order(schedule, depth_fn, L, V):
    a = depthinit.alphas(L, schedule=schedule, network_variance=V, depth_fn=depth_fn)
    assert a.shape == (L,) and a.dtype == np.float64
    assert a[0] == 1.0
    assert np.prod(a[1:]) == pytest.approx(V, rel=1e-9)
    assert np.all(a > 0)
    d = np.diff(a[1:])
    if schedule == "constant":
        assert np.allclose(a[1:], V ** (1 / (L - 1)), rtol=1e-12)
    elif schedule == "increasing":
        assert np.all(d > 0)
    else:
        assert np.all(d < 0)
        inc = depthinit.alphas(L, schedule="increasing", network_variance=V, depth_fn=depth_fn)
        assert np.array_equal(a[1:], inc[1:][::-1])


def test_unit_schedule_is_all_ones():
    assert np.array_equal(depthinit.alphas(54, schedule="unit"), np.ones(54))


def test_reconstruction_numbers_for_L54_V22():
    a = depthinit.alphas(54, schedule="increasing", network_variance=22.0)
    assert a[1:7] == pytest.approx([0.248, 0.394, 0.497, 0.577, 0.642, 0.698], abs=6e-4)
    assert (a[15], a[16], a[53]) == pytest.approx((0.994, 1.016, 1.430), abs=6e-4)
    below = np.flatnonzero(a[1:] < 1) + 2
    assert below.tolist() == list(range(2, 17))  # 15 of 53 layers, 28.3 %
    g = np.exp(np.mean(np.log(np.log(np.arange(2, 55)))))
    assert g == pytest.approx(2.9569, abs=1e-4)
    assert 22 ** (1 / 53) == pytest.approx(1.0601, abs=1e-4)
    assert depthinit.alphas(54, schedule="constant")[1] == pytest.approx(1.0601, abs=1e-4)
    assert math.sqrt(2 * a[1] / 64) == pytest.approx(0.088, abs=5e-4)
    assert math.sqrt(2 * a[53] / 64) == pytest.approx(0.211, abs=5e-4)
    c2 = depthinit.alphas(54, schedule="increasing", offset=2.0)
    assert (c2[1], c2[6]) == pytest.approx((0.469, 0.744), abs=6e-4)
    assert int((c2[1:] < 1).sum()) == 16


def test_log_schedule_matches_closed_form_for_any_base():
    L, V = 20, 5.0
    l = np.arange(2, L + 1)
    for k in (2.0, 10.0, 16.27):
        raw = np.log(l) / np.log(k)  # alpha = log_k(l) / beta, then beta fixed by the product
        beta = np.exp(np.mean(np.log(raw))) / V ** (1 / (L - 1))
        assert depthinit.alphas(L, schedule="increasing", network_variance=V)[1:] == pytest.approx(raw / beta)


def test_callable_depth_fn_and_shapes():
    a = depthinit.alphas(10, schedule="increasing", depth_fn=lambda l: l**2)
    b = depthinit.alphas(10, schedule="increasing", depth_fn="power", shape=2.0)
    assert a == pytest.approx(b)


def test_depth_scheme_variance_is_alpha_times_base(gen):
    model = MLP(3072, 10, depth=54, width=64)
    plan = depthinit.init_(
        model, "depth", schedule="increasing", generator=gen, example_input=torch.zeros(1, 3, 32, 32)
    )
    f = plan.to_frame()
    a = depthinit.alphas(54, schedule="increasing")
    assert f["depth"].tolist() == list(range(1, 55))
    assert f["alpha"].to_numpy() == pytest.approx(a)
    assert f["variance"].to_numpy() == pytest.approx(a * 2 / f["fan_in"].to_numpy())
    measured = np.array([m.weight.detach().double().std().item() for _, m in model.weight_layers()])
    assert measured[1:-1] == pytest.approx(f["std"].to_numpy()[1:-1], rel=0.03)  # 4096 samples each
    assert measured[0] == pytest.approx(f["std"].iloc[0], rel=0.01)
    g = depthinit.plan(model, "depth", base="glorot", distribution="uniform", schedule="decreasing").to_frame()
    assert g["variance"].to_numpy() == pytest.approx(
        depthinit.alphas(54, schedule="decreasing") * 2 / (g["fan_in"] + g["fan_out"]).to_numpy()
    )
    assert g["bound"].to_numpy() == pytest.approx(np.sqrt(3 * g["variance"].to_numpy()))


def test_per_layer_std_on_a_small_cnn(gen):
    model = CNN(3, 10, depth=4, channels=32)
    for dist in ("normal", "uniform"):
        plan = depthinit.init_(
            model,
            "depth",
            schedule="constant",
            network_variance=4.0,
            distribution=dist,
            generator=gen,
            example_input=torch.zeros(1, 3, 32, 32),
        )
        f = plan.to_frame()
        assert f["kind"].tolist() == ["Conv2d"] * 4 + ["Linear"]
        assert f["fan_in"].tolist() == [27, 288, 288, 288, 32]
        for (_, m), std in zip(model.weight_layers()[1:4], f["std"].iloc[1:4]):
            assert m.weight.std().item() == pytest.approx(std, rel=0.05)


# ---------------------------------------------------------------- order and reach


class Shuffled(nn.Module):
    """Registration order a, b, c; execution order c, a, b; `unused` is never called."""

    def __init__(self):
        super().__init__()
        self.a = nn.Linear(16, 16)
        self.unused = nn.Linear(16, 16)
        self.b = nn.Linear(16, 4)
        self.c = nn.Linear(8, 16)

    def forward(self, x):
        return self.b(torch.relu(self.a(torch.relu(self.c(x)))))


class Reused(nn.Module):
    def __init__(self):
        super().__init__()
        self.inp = nn.Linear(8, 16)
        self.shared = nn.Linear(16, 16)
        self.out = nn.Linear(16, 2)

    def forward(self, x):
        h = torch.relu(self.inp(x))
        h = torch.relu(self.shared(h))
        h = torch.relu(self.shared(h))
        return self.out(h)


def test_forward_order_differs_from_registration(gen):
    model = Shuffled()
    before = model.unused.weight.detach().clone()
    plan = depthinit.init_(model, "depth", example_input=torch.zeros(2, 8), generator=gen, network_variance=2.0)
    f = plan.to_frame()
    assert plan.order == "forward"
    assert f["layer"].tolist() == ["c", "a", "b"]
    assert f["depth"].tolist() == [1, 2, 3]
    assert plan.unreached == ("unused",)
    assert torch.equal(model.unused.weight, before)
    reg = depthinit.plan(model, "he")
    assert reg.order == "registration"
    assert reg.to_frame()["layer"].tolist() == ["a", "unused", "b", "c"]


def test_reused_module_is_initialized_once(gen):
    model = Reused()
    plan = depthinit.init_(model, "he", example_input=torch.zeros(1, 8), generator=gen)
    assert plan.to_frame()["layer"].tolist() == ["inp", "shared", "out"]
    g2 = torch.Generator().manual_seed(1234)
    twin = Reused()
    depthinit.init_(twin, "he", example_input=torch.zeros(1, 8), generator=g2)
    assert torch.equal(model.out.weight, twin.out.weight)  # one draw per module


def test_plan_changes_nothing():
    x = torch.randn(64, 8, generator=torch.Generator().manual_seed(0))
    residual = ResMLP(8, 2, blocks=2, width=8, gate=True, activation="tanh")
    for model in (Reused(), residual):
        before = {k: v.clone() for k, v in model.state_dict().items()}
        state = torch.get_rng_state()
        for scheme in depthinit.schemes():
            if model is not residual and scheme in ("fixup", "rezero"):
                continue  # they need a residual structure (tests/test_schemes_beyond.py)
            depthinit.plan(model, scheme, example_input=x)
        assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
        assert torch.equal(state, torch.get_rng_state())


# ---------------------------------------------------------------- LSUV


def test_lsuv_unit_variance_on_mlp_and_cnn(gen):
    x = torch.rand(256, 3, 16, 16, generator=gen)
    for model in (MLP(768, 10, depth=12, width=64), CNN(3, 10, depth=4, channels=16)):
        model.train()
        plan = depthinit.init_(model, "lsuv", example_input=x, generator=gen, tol=0.02)
        assert model.training
        f = plan.to_frame()
        assert f["lsuv_converged"].all()
        outs = []
        hooks = [
            m.register_forward_hook(lambda mod, a, o, outs=outs: outs.append(o.var().item()))
            for _, m in model.weight_layers()
        ]
        with torch.no_grad():
            model(x)
        for h in hooks:
            h.remove()
        assert np.abs(np.array(outs) - 1).max() < 0.02
        assert f["std"].tolist() == pytest.approx([m.weight.std().item() for _, m in model.weight_layers()], rel=1e-5)


def test_lsuv_with_inplace_relu_and_branches(gen):
    class Branchy(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Conv2d(3, 8, 3, padding=1)
            self.left = nn.Conv2d(8, 8, 3, padding=1)
            self.right = nn.Conv2d(8, 8, 1)
            self.act = nn.ReLU(inplace=True)
            self.head = nn.Linear(8, 3)

        def forward(self, x):
            h = self.act(self.stem(x))
            h = self.act(self.left(h)) + self.act(self.right(h))
            return self.head(h.mean((2, 3)))

    model = Branchy()
    x = torch.randn(128, 3, 8, 8, generator=gen)
    plan = depthinit.init_(model, "lsuv", example_input=x, generator=gen)
    f = plan.to_frame()
    assert f["layer"].tolist() == ["stem", "left", "right", "head"]
    assert (abs(f["lsuv_variance_out"] - 1) < 0.02).all()


def test_lsuv_non_convergence_is_recorded_and_warned(gen):
    model = MLP(32, 4, depth=3, width=16)
    x = torch.randn(64, 32, generator=gen)
    with pytest.warns(LSUVConvergenceWarning, match="max_iter"):
        plan = depthinit.init_(model, "lsuv", example_input=x, generator=gen, max_iter=1, tol=1e-9)
    assert not plan.converged
    assert not plan.to_frame()["lsuv_converged"].any()


# ---------------------------------------------------------------- determinism


def test_same_seed_same_weights_and_no_global_rng():
    state = torch.get_rng_state()
    nets = [MLP(100, 10, depth=5, width=32) for _ in range(2)]
    state = torch.get_rng_state()
    for scheme in ("he", "glorot", "orthogonal", "random_walk", "depth"):
        for net in nets:
            depthinit.init_(net, scheme, generator=torch.Generator().manual_seed(7))
        assert all(torch.equal(p, q) for p, q in zip(nets[0].parameters(), nets[1].parameters()))
    x = torch.randn(32, 100, generator=torch.Generator().manual_seed(0))
    for net in nets:
        depthinit.init_(net, "lsuv", example_input=x, generator=torch.Generator().manual_seed(7))
    assert all(torch.equal(p, q) for p, q in zip(nets[0].parameters(), nets[1].parameters()))
    assert torch.equal(state, torch.get_rng_state())
    depthinit.init_(nets[0], "he")  # no generator: fresh OS-seeded one, global RNG still untouched
    assert torch.equal(state, torch.get_rng_state())


# ---------------------------------------------------------------- bad input


def _unchanged(model, fn):
    before = {k: v.clone() for k, v in model.state_dict().items()}
    fn()
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


@pytest.mark.parametrize(
    "scheme, options, match",
    [
        ("kaiming", {}, "scheme='kaiming' is not known; expected one of 'glorot'"),
        ("he", {"distribution": "laplace"}, "distribution='laplace' is not valid; expected one of 'normal', 'uniform'"),
        ("he", {"mode": "fan_avg"}, "mode='fan_avg' is not valid"),
        ("he", {"nonlinearity": "gelu"}, "nonlinearity='gelu' is not valid"),
        ("he", {"schedule": "increasing"}, "option\\(s\\) 'schedule' do not apply to scheme 'he'"),
        ("depth", {"schedule": "linear"}, "schedule='linear' is not valid; expected one of 'unit'"),
        ("depth", {"base": "lecun"}, "base='lecun' is not valid"),
        ("depth", {"depth_fn": "exp"}, "depth_fn='exp' is not valid"),
        ("depth", {"network_variance": 0.0}, "network_variance=0.0 is not valid; expected a finite number > 0"),
        ("depth", {"network_variance": -3}, "network_variance=-3"),
        ("depth", {"network_variance": float("nan")}, "network_variance=nan"),
        ("depth", {"offset": -1.0}, "offset=-1.0 is not valid; expected a finite number >= 0"),
        ("depth", {"depth_fn": "log", "shape": 2.0}, "takes no shape parameter"),
        ("random_walk", {"nonlinearity": "tanh"}, "nonlinearity='tanh' is not valid"),
        ("lsuv", {"max_iter": 0}, "max_iter=0 is not valid"),
        ("lsuv", {}, "needs example_input"),
    ],
)
def test_bad_options_raise_and_change_nothing(scheme, options, match):
    model = MLP(20, 3, depth=3, width=8)

    def go():
        with pytest.raises(ValueError, match=match):
            depthinit.init_(model, scheme, **options)

    _unchanged(model, go)


@pytest.mark.parametrize("L", [1, 0, -2, 2.5, True])
def test_alphas_rejects_bad_depth(L):
    with pytest.raises(ValueError, match="L >= 2"):
        depthinit.alphas(L, schedule="increasing")


def test_depth_scheme_needs_two_layers():
    with pytest.raises(ValueError, match="at least 2 weight layers"):
        depthinit.init_(nn.Sequential(nn.Linear(4, 4)), "depth")


def test_model_without_weight_layers():
    with pytest.raises(
        ValueError,
        match="has no weight layer to initialize: no nn.Linear, nn.Conv1d/2d/3d, "
        "nn.ConvTranspose1d/2d/3d or nn.MultiheadAttention",
    ):
        depthinit.init_(nn.Sequential(nn.ReLU()), "he")
    with pytest.raises(ValueError, match="must be a torch.nn.Module"):
        depthinit.plan("not a model", "he")


def test_example_input_the_model_cannot_run():
    model = MLP(20, 3, depth=3, width=8)

    def go():
        with pytest.raises(ValueError, match=r"running MLP on example_input \(a tensor of shape \(2, 7\)"):
            depthinit.init_(model, "he", example_input=torch.zeros(2, 7))

    _unchanged(model, go)


def test_error_midway_leaves_model_unchanged(monkeypatch):
    model = MLP(20, 3, depth=4, width=8)
    calls = {"n": 0}
    from depthinit.init import _apply

    real = _apply.normal_

    def flaky(w, std, *, generator):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("simulated failure")
        return real(w, std, generator=generator)

    monkeypatch.setattr(_apply, "normal_", flaky)

    def go():
        with pytest.raises(RuntimeError, match="simulated"):
            depthinit.init_(model, "he")

    _unchanged(model, go)


def test_schemes_listing():
    assert {"glorot", "he", "lecun", "orthogonal", "random_walk", "lsuv", "depth"} <= set(depthinit.schemes())


def test_no_warnings_on_import_or_plain_use(gen):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        depthinit.init_(MLP(10, 2, depth=3, width=4), "depth", generator=gen)


def test_lsuv_degenerate_batch_says_so(gen):
    model = nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 2))
    with pytest.warns(LSUVConvergenceWarning, match="degenerate"):
        plan = depthinit.init_(model, "lsuv", example_input=torch.zeros(16, 8), generator=gen)
    assert not plan.converged


def test_v_read_as_the_network_gain_makes_glorot_gain_v():
    """v_reading="gain": prod_l fan_in_l Var_l / 2 (the ReLU network's forward gain) equals V for any base;
    "multiplier": V times the base's own gain (2^-(L-1) for Glorot on square layers)."""
    import math

    from depthinit.models import MLP

    model = MLP(300, 10, depth=12, width=40)
    V = 22.0
    for base in ("he", "glorot"):
        p = depthinit.plan(model, "depth", base=base, schedule="increasing", network_variance=V, v_reading="gain")
        gain = math.prod(l.fan_in * l.std**2 / 2 for l in p.layers)
        assert gain == pytest.approx(V, rel=1e-9)
    lit = depthinit.plan(model, "depth", base="glorot", schedule="increasing", network_variance=V)
    base_gain = math.prod(l.fan_in * (2 / (l.fan_in + l.fan_out)) / 2 for l in lit.layers)
    assert math.prod(l.fan_in * l.std**2 / 2 for l in lit.layers) == pytest.approx(V * base_gain, rel=1e-9)
    he = depthinit.plan(model, "depth", base="he", schedule="increasing", network_variance=V)
    he_gain = depthinit.plan(model, "depth", base="he", schedule="increasing", network_variance=V, v_reading="gain")
    assert [l.std for l in he.layers] == pytest.approx([l.std for l in he_gain.layers], rel=1e-12)
    with pytest.raises(ValueError, match="v_reading"):
        depthinit.plan(model, "depth", v_reading="both")


# ---------------------------------------------------------------- a readable API


def test_schemes_maps_names_to_options_and_defaults():
    s = depthinit.schemes()
    assert "he" in s and list(s)[:7] == ["glorot", "he", "lecun", "orthogonal", "random_walk", "lsuv", "depth"]
    assert s["depth"]["network_variance"] == 22.0 and s["depth"]["schedule"] == "increasing"
    assert s["lsuv"] == {"tol": 0.02, "max_iter": 20}
    from depthinit.init._schemes import resolve_options

    for name, defaults in s.items():
        assert set(resolve_options(name, {})) == set(defaults)
    s["he"]["mode"] = "changed"
    assert depthinit.schemes()["he"]["mode"] == "fan_in"  # a fresh mapping each call


@pytest.mark.parametrize("scheme", list(depthinit.schemes()))
def test_describe_gives_formula_options_defaults_and_source(scheme):
    text = depthinit.describe(scheme)
    assert text.startswith(f"{scheme}: ")
    for option, default in depthinit.schemes()[scheme].items():
        assert f"  {option} = {default!r}" in text
    assert "valid: " in text and "Source: " in text and "Chapter: " in text
    assert max(map(len, text.splitlines())) <= 80


def test_describe_rejects_unknown_schemes():
    with pytest.raises(ValueError, match="scheme='kaiming' is not known"):
        depthinit.describe("kaiming")


def test_init_docstring_lists_every_scheme_and_option():
    doc = depthinit.init_.__doc__
    for scheme, options in depthinit.schemes().items():
        assert f"``{scheme}``" in doc
        for option, default in options.items():
            assert f"{option}={default!r}" in doc.replace("\n      ", " ")


def test_print_plan_fits_80_columns_with_the_columns_first(gen):
    p = depthinit.plan(MLP(3072, 10, depth=54, width=64), "depth", example_input=torch.zeros(1, 3072))
    text = str(p)
    lines = text.splitlines()
    assert max(map(len, lines)) <= 80
    assert lines[0].startswith("InitPlan 'depth', L=54, forward order: distribution='normal', base='he'")
    header = next(l for l in lines if l.startswith("layer"))
    assert header.split() == ["layer", "depth", "fan_in", "fan_out", "distribution", "alpha", "std"]
    assert "... 30 more layers ..." in text
    assert "layers.0 " in text and "layers.53 " in text and "layers.20 " not in text
    row = next(l for l in lines if l.startswith("layers.1 "))
    assert row.split() == ["layers.1", "2", "64", "64", "normal", "0.2485", "0.08812"]
    assert repr(p) == "InitPlan(scheme='depth', L=54, order='forward', unreached=[], skipped=0)"


def test_print_plan_shortens_long_names():
    enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(16, 4, 32), 2, enable_nested_tensor=False)
    model = nn.ModuleDict({"a_rather_long_encoder_name": enc})
    text = str(depthinit.plan(model, "glorot"))
    assert max(map(len, text.splitlines())) <= 80
    assert "...1.self_attn.out_proj " in text and "...layers.0.self_attn.q " in text


def test_core_runs_with_torch_and_numpy_only(tmp_path):
    """No pandas/scipy/pillow/tqdm/sympy: init_, plan and print(plan) work; to_frame says what to install."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "import torch, numpy\n"
        "before = set(sys.modules)\n"
        "for m in ('pandas', 'scipy', 'PIL', 'sympy', 'matplotlib', 'seaborn', 'tqdm'):\n"
        "    if m not in sys.modules: sys.modules[m] = None\n"
        "import depthinit, depthinit.init, depthinit.models\n"
        "from depthinit.models import MLP, ResMLP\n"
        "m = MLP(10, 2, depth=4, width=8)\n"
        "x = torch.randn(16, 10, generator=torch.Generator().manual_seed(0))\n"
        "for s in depthinit.schemes():\n"
        "    net = ResMLP(10, 2, blocks=2, width=8, gate=True, activation='tanh')\n"
        "    p = depthinit.init_(net, s, example_input=x, generator=torch.Generator().manual_seed(0))\n"
        "    str(p); depthinit.plan(net, s, example_input=x); depthinit.describe(s)\n"
        "print(depthinit.plan(m, 'depth'))\n"
        "try:\n"
        "    p.to_frame()\n"
        "except ImportError as e:\n"
        "    print('IMPORTERROR', e)\n"
        "new = {k.split('.')[0] for k in set(sys.modules) - before if sys.modules[k] is not None}\n"
        "print('NEW', sorted(new & {'pandas', 'scipy', 'PIL', 'sympy', 'matplotlib', 'seaborn', 'tqdm'}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    assert "InitPlan 'depth', L=4" in out.stdout
    assert "IMPORTERROR InitPlan.to_frame() needs pandas" in out.stdout
    assert "pip install depthinit[experiments]" in out.stdout
    assert "NEW []" in out.stdout


def test_plain_import_pulls_in_no_heavy_module():
    import subprocess
    import sys

    code = (
        "import sys, torch, numpy\n"
        "before = set(sys.modules)\n"
        "import depthinit, depthinit.init, depthinit.models\n"
        "print(sorted({k.split('.')[0] for k in set(sys.modules) - before} & "
        "{'pandas', 'scipy', 'PIL', 'sympy', 'tqdm', 'matplotlib'}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


# ---------------------------------------------------------------- normalization cancels a depth schedule


@pytest.mark.parametrize(
    "scheme, options",
    [
        ("depth", {"network_variance": 22.0}),
        ("depth", {"schedule": "constant", "network_variance": 4.0}),
        ("depth", {"network_variance": 1.0}),  # increasing with V = 1: the factors still differ per layer
        ("ds_init", {}),
    ],
)
def test_depth_schedule_on_normalized_model_warns(scheme, options, gen):
    model = MLP(16, 3, depth=5, width=8, batch_norm=True)
    for fn in (depthinit.plan, lambda m, s, **o: depthinit.init_(m, s, generator=gen, **o)):
        with pytest.warns(
            depthinit.NormalizationCancelsDepthWarning,
            match=r"4 normalization layer\(s\) \(norms.0, norms.1, norms.2, norms.3\) that divide out",
        ):
            fn(model, scheme, **options)


def test_layer_norm_and_group_norm_also_cancel(gen):
    for norm in (nn.LayerNorm(8), nn.GroupNorm(2, 8), nn.InstanceNorm1d(8, affine=True)):
        model = nn.Sequential(nn.Linear(8, 8), norm, nn.ReLU(), nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 2))
        with pytest.warns(depthinit.NormalizationCancelsDepthWarning, match="depth-dependent variances"):
            depthinit.init_(model, "depth", generator=gen)


def test_no_warning_without_a_depth_dependent_variance(gen):
    model = MLP(16, 3, depth=5, width=8, batch_norm=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for scheme, options in [
            ("he", {}),
            ("glorot", {}),
            ("depth", {"schedule": "unit"}),
            ("depth", {"schedule": "constant", "network_variance": 1.0}),
        ]:
            depthinit.init_(model, scheme, generator=gen, **options)
        depthinit.init_(MLP(16, 3, depth=5, width=8), "depth", generator=gen)  # no normalization


def test_warning_class_is_documented():
    assert issubclass(depthinit.NormalizationCancelsDepthWarning, UserWarning)
    assert "normalization" in depthinit.NormalizationCancelsDepthWarning.__doc__
