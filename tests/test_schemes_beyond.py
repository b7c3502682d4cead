"""Schemes beyond the paper (issue 12): DS-Init, mean-field critical, Fixup, ReZero/zero gates;
their formulas, their sampled weights, and the models they cannot serve."""

import math

import numpy as np
import pytest
import torch
from scipy import stats
from torch import nn

import depthinit
from depthinit.init import critical_init, length_fixed_point
from depthinit.models import MLP, ResidualBlock, ResMLP

pytestmark = pytest.mark.usefixtures("one_thread")


def _state(model):
    return [t.detach().clone() for t in [*model.parameters(), *model.buffers()]]


def _raises_unchanged(model, match, fn):
    before = _state(model)
    with pytest.raises(ValueError, match=match):
        fn()
    assert all(torch.equal(a, b) for a, b in zip([*model.parameters(), *model.buffers()], before))


def _ks_std(w, std):
    w = w.detach().double().flatten().numpy()
    assert stats.kstest(w, stats.norm(scale=std).cdf).pvalue > 1e-3
    assert w.std() == pytest.approx(std, rel=0.03)


def test_the_new_schemes_are_listed():
    assert {"ds_init", "critical", "fixup", "rezero"} <= set(depthinit.schemes())
    assert depthinit.schemes()["ds_init"]["base"] == "he"
    assert depthinit.schemes()["fixup"]["zero_gate"] is False


# ---------------------------------------------------------------- ds_init


class Chain(nn.Module):
    """Registration order a, b, c; forward order c, a, b (depth comes from the forward pass)."""

    def __init__(self, n=256):
        super().__init__()
        self.a = nn.Linear(n, n)
        self.b = nn.Linear(n, n)
        self.c = nn.Linear(n, n)

    def forward(self, x):
        return self.b(torch.relu(self.a(torch.relu(self.c(x)))))


class TestDSInit:
    @pytest.mark.parametrize(
        "base, options, base_var",
        [
            ("he", {}, 2 / 256),
            ("he", {"nonlinearity": "tanh"}, (5 / 3) ** 2 / 256),
            ("glorot", {}, 2 / 512),
        ],
    )
    def test_variance_is_the_base_over_the_depth(self, base, options, base_var, gen):
        model = Chain()
        p = depthinit.init_(model, "ds_init", base=base, example_input=torch.zeros(1, 256), generator=gen, **options)
        assert [l.layer for l in p.layers] == ["c", "a", "b"]
        assert [l.alpha for l in p.layers] == pytest.approx([1, 1 / 2, 1 / 3])
        assert [l.variance for l in p.layers] == pytest.approx([base_var / d for d in (1, 2, 3)], rel=1e-12)
        for module, d in ((model.c, 1), (model.a, 2), (model.b, 3)):
            _ks_std(module.weight, math.sqrt(base_var / d))
            assert module.bias.abs().max() == 0

    def test_uniform_and_plan(self, gen):
        model = MLP(300, 10, depth=4, width=300)
        p = depthinit.plan(model, "ds_init", distribution="uniform")
        assert [l.std for l in p.layers] == pytest.approx([math.sqrt(2 / 300 / d) for d in (1, 2, 3, 4)])
        depthinit.init_(model, "ds_init", distribution="uniform", generator=gen)
        bound = math.sqrt(3) * p.layers[2].std
        w = model.layers[2].weight.detach().double().flatten().numpy()
        assert stats.kstest(w, stats.uniform(loc=-bound, scale=2 * bound).cdf).pvalue > 1e-3

    def test_cannot_serve_zero_gate_without_gates(self):
        model = MLP(8, 2, depth=3, width=4)
        _raises_unchanged(
            model,
            "zero_gate=True sets every residual gate to 0, and MLP declares no residual structure",
            lambda: depthinit.init_(model, "ds_init", zero_gate=True),
        )


# ---------------------------------------------------------------- critical


class TestCriticalInit:
    """The ``critical`` scheme's numbers (depthinit.init.critical_init, also depthinit.theory.critical_init)
    checked by quadratures of their own."""

    def test_exact_edges(self):
        assert critical_init("tanh") == 1.0 and length_fixed_point("tanh", 1.0) == 0.0
        assert critical_init("relu") == 2.0 and math.isnan(length_fixed_point("relu", 2.0))
        assert isinstance(critical_init("tanh", 0.1), float)
        import depthinit.theory as T

        assert T.critical_init is critical_init  # one implementation

    @pytest.mark.parametrize("sigma_b2", [1e-4, 0.01, 0.05, 0.1])
    def test_both_equations_hold_by_an_independent_quadrature(self, sigma_b2):
        """Gauss–Hermite with 200 nodes (exact to 1e-14 for q* <= 1) checks the fixed point and chi_1 = 1."""
        sw2 = critical_init("tanh", sigma_b2)
        q = length_fixed_point("tanh", sw2, sigma_b2)
        assert 0 < q <= 1
        x, w = np.polynomial.hermite.hermgauss(200)
        z, w = math.sqrt(2) * x, w / math.sqrt(math.pi)
        chi = sw2 * np.sum(w / np.cosh(math.sqrt(q) * z) ** 4)
        fixed = sw2 * np.sum(w * np.tanh(math.sqrt(q) * z) ** 2) + sigma_b2
        assert chi == pytest.approx(1.0, abs=1e-12)
        assert fixed == pytest.approx(q, abs=1e-12)

    @pytest.mark.parametrize("sigma_b2", [0.5, 2.0])
    def test_large_fixed_points_by_a_fine_grid(self, sigma_b2):
        sw2 = critical_init("tanh", sigma_b2)
        q = length_fixed_point("tanh", sw2, sigma_b2)
        assert q > 1
        z = np.linspace(-12, 12, 400_001)
        phi = np.exp(-z * z / 2) / math.sqrt(2 * math.pi) * (z[1] - z[0])
        assert sw2 * np.sum(phi / np.cosh(math.sqrt(q) * z) ** 4) == pytest.approx(1.0, abs=1e-10)
        assert sw2 * np.sum(phi * np.tanh(math.sqrt(q) * z) ** 2) + sigma_b2 == pytest.approx(q, abs=1e-9)

    def test_the_edge_rises_with_the_bias_variance(self):
        values = [critical_init("tanh", s) for s in (0.0, 0.01, 0.05, 0.1, 0.5)]
        assert np.all(np.diff(values) > 0)
        assert critical_init("tanh", 0.05) == pytest.approx(1.7610, abs=1e-4)

    @pytest.mark.parametrize(
        "args, match",
        [
            (("gelu",), "activation='gelu' is not valid; expected one of 'relu'"),
            (("tanh", -0.1), "sigma_b2=-0.1 is not valid; expected a finite number >= 0"),
            (("tanh", True), "sigma_b2=True is not a number"),
            (("tanh", 1e80), "no order-chaos edge"),
        ],
    )
    def test_bad_arguments(self, args, match):
        with pytest.raises(ValueError, match=match):
            critical_init(*args)


class TestCriticalScheme:
    def test_tanh_weights_and_biases(self, gen):
        model = MLP(300, 10, depth=3, width=300, activation="tanh")
        p = depthinit.init_(model, "critical", generator=gen)
        assert p.options["sigma_b2"] == 0.05 and p.options["nonlinearity"] == "tanh"
        sw2 = critical_init("tanh", 0.05)
        assert [l.std for l in p.layers] == pytest.approx([math.sqrt(sw2 / 300)] * 3, rel=1e-12)
        assert [l.bias_std for l in p.layers] == pytest.approx([math.sqrt(0.05)] * 3)
        _ks_std(model.layers[1].weight, math.sqrt(sw2 / 300))
        b = torch.cat([model.layers[0].bias, model.layers[1].bias]).detach().double().numpy()
        assert stats.kstest(b, stats.norm(scale=math.sqrt(0.05)).cdf).pvalue > 1e-3
        assert "biases ~ N(0, std^2), std 0.2236" in str(p)

    def test_relu_is_he_with_zero_biases(self, gen):
        model = MLP(300, 10, depth=3, width=300)
        p = depthinit.init_(model, "critical", nonlinearity="relu", generator=gen)
        assert p.options["sigma_b2"] == 0.0
        assert [l.std for l in p.layers] == pytest.approx([math.sqrt(2 / 300)] * 3)
        assert all(m.bias.abs().max() == 0 for _, m in model.weight_layers())
        _ks_std(model.layers[1].weight, math.sqrt(2 / 300))

    def test_cannot_serve_a_model_with_another_activation(self):
        model = MLP(8, 2, depth=3, width=4)  # ReLU
        _raises_unchanged(
            model,
            r"scheme 'critical' with nonlinearity='tanh' cannot serve MLP, whose activation "
            "is 'relu'",
            lambda: depthinit.init_(model, "critical"),
        )
        seq = nn.Sequential(nn.Linear(4, 4), nn.GELU(), nn.Linear(4, 2))
        _raises_unchanged(seq, "activation is 'gelu'", lambda: depthinit.init_(seq, "critical"))

    def test_cannot_draw_biases_for_layers_without_them(self):
        model = MLP(8, 2, depth=3, width=4, activation="tanh", bias=False)
        _raises_unchanged(
            model,
            r"sigma_b2=0.05 draws biases ~ N\(0, sigma_b2\), but layer\(s\) 'layers.0'",
            lambda: depthinit.init_(model, "critical"),
        )
        depthinit.init_(model, "critical", sigma_b2=0.0, generator=torch.Generator().manual_seed(0))

    def test_relu_needs_zero_bias_variance(self):
        with pytest.raises(ValueError, match="sigma_b2=0.1 is not valid for nonlinearity='relu'"):
            depthinit.plan(MLP(8, 2, depth=3, width=4), "critical", nonlinearity="relu", sigma_b2=0.1)


# ---------------------------------------------------------------- residual structure


class ThreeLayerBranches(nn.Module):
    """The residual protocol on a plain module: 2 branches of m = 3 layers each."""

    def __init__(self, n=128):
        super().__init__()
        self.stem = nn.Linear(16, n)
        self.branches = nn.ModuleList(nn.ModuleList(nn.Linear(n, n) for _ in range(3)) for _ in range(2))
        self.head = nn.Linear(n, 4)

    def residual_branches(self):
        return [list(b) for b in self.branches]

    def forward(self, x):
        h = torch.relu(self.stem(x))
        for b in self.branches:
            h = h + b[2](torch.relu(b[1](torch.relu(b[0](h)))))
        return self.head(h)


class TestFixup:
    def test_resmlp_scales_and_zeros(self, gen):
        model = ResMLP(32, 10, blocks=4, width=256, gate=True)
        x = torch.randn(8, 32, generator=gen)
        p = depthinit.init_(model, "fixup", example_input=x, generator=gen)
        he = math.sqrt(2 / 256)
        scale = 4 ** (-1 / (2 * 2 - 2))  # L = 4 branches of m = 2 layers: 1/2
        rows = {l.layer: l for l in p.layers}
        assert rows["stem"].std == pytest.approx(math.sqrt(2 / 32))
        for k in range(4):
            assert rows[f"blocks.{k}.branch.fc1"].std == pytest.approx(scale * he)
            assert rows[f"blocks.{k}.branch.fc1"].alpha == pytest.approx(scale**2)
            assert rows[f"blocks.{k}.branch.fc2"].distribution == "zero"
            assert model.blocks[k].branch.fc2.weight.abs().max() == 0
        assert rows["classifier"].std == 0 and model.classifier.weight.abs().max() == 0
        _ks_std(model.blocks[1].branch.fc1.weight, scale * he)
        assert p.gates == tuple((f"blocks.{k}.gate", 1.0) for k in range(4))
        with torch.no_grad():
            assert model(x).abs().max() == 0  # the classifier starts at zero
            assert torch.equal(model.blocks[3](model.blocks[2](torch.ones(2, 256))), torch.ones(2, 256))

    def test_three_layer_branches_use_their_own_exponent(self, gen):
        model = ThreeLayerBranches()
        p = depthinit.init_(model, "fixup", generator=gen)
        scale = 2 ** (-1 / (2 * 3 - 2))  # L = 2, m = 3
        rows = {l.layer: l for l in p.layers}
        for b in range(2):
            for j in range(2):
                assert rows[f"branches.{b}.{j}"].std == pytest.approx(scale * math.sqrt(2 / 128))
            assert rows[f"branches.{b}.2"].std == 0
        _ks_std(model.branches[0][1].weight, scale * math.sqrt(2 / 128))
        assert rows["head"].std == 0 and rows["stem"].std == pytest.approx(math.sqrt(2 / 16))

    def test_residual_blocks_are_found_by_type(self, gen):
        model = nn.Sequential(
            nn.Linear(8, 16),
            ResidualBlock(nn.Sequential(nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 16)), gate=True),
            ResidualBlock(nn.Sequential(nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 16))),
            nn.Linear(16, 2),
        )
        p = depthinit.init_(model, "fixup", zero_gate=True, generator=gen)
        assert [l.distribution for l in p.layers] == ["normal", "normal", "zero", "normal", "zero", "zero"]
        assert p.layers[1].std == pytest.approx(2**-0.5 * math.sqrt(2 / 16))
        assert p.gates == (("1.gate", 0.0),) and float(model[1].gate.detach()) == 0.0

    def test_cannot_serve_a_model_without_residual_structure(self):
        model = MLP(8, 2, depth=4, width=4)
        _raises_unchanged(
            model,
            r"scheme 'fixup' needs the residual branches .* MLP declares no residual "
            r"structure: give the model a residual_branches\(\) method",
            lambda: depthinit.init_(model, "fixup"),
        )

    def test_cannot_serve_a_branch_that_holds_the_classifier(self):
        class Bad(ThreeLayerBranches):
            def residual_branches(self):
                return [[self.stem], [self.head]]

        model = Bad()
        _raises_unchanged(
            model, "sets the classifier .*'head'.* inside a residual branch", lambda: depthinit.init_(model, "fixup")
        )

    def test_cannot_serve_a_branch_outside_the_plan(self):
        class Bad(ThreeLayerBranches):
            def residual_branches(self):
                return [[self.branches[0][0], nn.Linear(2, 2)]]

        model = Bad()
        _raises_unchanged(
            model,
            "weight module 1 of residual branch 0 .* is not one of the layers",
            lambda: depthinit.init_(model, "fixup"),
        )

        class Malformed(ThreeLayerBranches):
            def residual_branches(self):
                return [nn.ReLU()]

        model = Malformed()
        _raises_unchanged(
            model, "branch 0 must be a non-empty list of weight modules", lambda: depthinit.init_(model, "fixup")
        )


class TestZeroGates:
    def test_rezero_sets_every_gate_to_zero_and_the_weights_to_he(self, gen):
        model = ResMLP(64, 10, blocks=3, width=256, gate=True)
        p = depthinit.init_(model, "rezero", generator=gen)
        assert all(float(g.detach()) == 0.0 for g in model.residual_gates())
        assert p.gates == tuple((f"blocks.{k}.gate", 0.0) for k in range(3))
        assert [l.std for l in p.layers[1:-1]] == pytest.approx([math.sqrt(2 / 256)] * 6)
        _ks_std(model.blocks[0].branch.fc2.weight, math.sqrt(2 / 256))
        x = torch.randn(4, 64, generator=gen)
        with torch.no_grad():  # every block is the identity: the output is the classifier of the stem
            assert torch.allclose(model(x), model.classifier(torch.relu(model.stem(x))))
        assert "residual gates set to 0: blocks.0.gate, blocks.1.gate, blocks.2.gate" in str(p)

    @pytest.mark.parametrize(
        "scheme, options",
        [
            ("he", {}),
            ("depth", {"network_variance": 2.0}),
            ("ds_init", {}),
            ("fixup", {}),
        ],
    )
    def test_zero_gate_option(self, scheme, options, gen):
        model = ResMLP(8, 2, blocks=2, width=8, gate=True)
        depthinit.init_(model, scheme, zero_gate=True, generator=gen, **options)
        assert [float(g.detach()) for g in model.residual_gates()] == [0.0, 0.0]
        depthinit.init_(model, scheme, generator=gen, **options)  # without it gates are reset to 1
        assert [float(g.detach()) for g in model.residual_gates()] == [1.0, 1.0]

    def test_cannot_serve_a_model_without_gates(self):
        model = ResMLP(8, 2, blocks=2, width=8)
        _raises_unchanged(
            model,
            r"scheme 'rezero' sets every residual gate to 0, and ResMLP has no gates "
            r"\(residual_branches\(\)\): build it with gates",
            lambda: depthinit.init_(model, "rezero"),
        )
        plain = MLP(8, 2, depth=3, width=4)
        _raises_unchanged(plain, "declares no residual structure", lambda: depthinit.init_(plain, "rezero"))

    def test_gates_that_are_not_parameters_of_the_model(self):
        class Bad(ThreeLayerBranches):
            def residual_gates(self):
                return [torch.zeros(())]

        model = Bad()
        _raises_unchanged(
            model, r"residual_gates\(\) must return Parameters of the model", lambda: depthinit.init_(model, "he")
        )
