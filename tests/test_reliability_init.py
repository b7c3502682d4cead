"""Reliability of the initializer (issue 14): every case where it once was silently wrong
or failed unclearly, kept as a regression test, grouped by surface."""

import math
import warnings

import pytest
import torch
from scipy import stats
from torch import nn
from torch.nn.utils import parametrizations

import depthinit
from depthinit.init import _apply, _lsuv
from depthinit.init._schemes import resolve_options
from depthinit.models import MLP, ResMLP

pytestmark = pytest.mark.usefixtures("one_thread")


def _net():
    return nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3))


def _state(model):
    return [t.detach().clone() for t in [*model.parameters(), *model.buffers()]]


def _assert_unchanged(model, before):
    after = [*model.parameters(), *model.buffers()]
    assert len(after) == len(before)
    assert all(torch.equal(a, b) for a, b in zip(after, before))


def _raises_unchanged(model, exc, match, fn):
    before = _state(model)
    with pytest.raises(exc, match=match):
        fn()
    _assert_unchanged(model, before)


# ---------------------------------------------------------------- parametrized weights


class TestParametrizedWeights:
    def test_weight_norm_is_refused_naming_the_module(self, gen):
        model = _net()
        parametrizations.weight_norm(model[2])
        for fn in (depthinit.init_, depthinit.plan):
            _raises_unchanged(
                model,
                ValueError,
                r"module '2' \(ParametrizedLinear\) has a parametrized weight "
                r"\(_WeightNorm.*remove_parametrizations",
                lambda fn=fn: fn(model, "he"),
            )

    def test_spectral_norm_is_refused(self, gen):
        model = _net()
        parametrizations.spectral_norm(model[0])
        _raises_unchanged(
            model,
            ValueError,
            r"module '0'.*parametrized weight \(_SpectralNorm",
            lambda: depthinit.init_(model, "he", generator=gen, example_input=torch.zeros(2, 6)),
        )

    def test_legacy_weight_norm_is_refused(self, gen):
        model = _net()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # deprecated in torch, still in use
            torch.nn.utils.weight_norm(model[0])
        _raises_unchanged(
            model,
            ValueError,
            r"module '0' \(Linear\) computes its weight with the legacy "
            r"torch.nn.utils.weight_norm.*remove_weight_norm",
            lambda: depthinit.init_(model, "he"),
        )

    def test_legacy_spectral_norm_is_refused(self, gen):
        model = _net()
        torch.nn.utils.spectral_norm(model[2])
        _raises_unchanged(
            model,
            ValueError,
            r"legacy torch.nn.utils.spectral_norm.*remove_spectral_norm",
            lambda: depthinit.init_(model, "lsuv", example_input=torch.randn(8, 6, generator=gen)),
        )

    def test_parametrized_attention_projection_is_refused(self):
        model = nn.Sequential(nn.MultiheadAttention(8, 2))
        torch.nn.utils.parametrize.register_parametrization(model[0], "in_proj_weight", nn.Identity())
        _raises_unchanged(model, ValueError, "parametrized in_proj_weight", lambda: depthinit.init_(model, "he"))


# ---------------------------------------------------------------- tied weights


class Tied(nn.Module):
    """``dec`` shares ``enc``'s weight; ``emb`` shares ``head``'s (as in a tied language model)."""

    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(12, 16)
        self.enc = nn.Linear(16, 16)
        self.dec = nn.Linear(16, 16)
        self.dec.weight = self.enc.weight
        self.head = nn.Linear(16, 12, bias=False)
        self.head.weight = self.emb.weight

    def forward(self, i):
        return self.head(torch.relu(self.dec(torch.relu(self.enc(self.emb(i))))))


class TestTiedWeights:
    def test_a_shared_weight_is_one_layer_initialized_once(self, gen):
        model = Tied()
        with torch.no_grad():
            model.dec.bias.fill_(3.0)
        p = depthinit.init_(model, "he", example_input=torch.tensor([[1, 2, 3]]), generator=gen)
        assert [l.layer for l in p.layers] == ["enc", "head"]
        assert [l.depth for l in p.layers] == [1, 2]
        assert p.layers[0].tied == ("dec",) and p.layers[1].tied == ("emb",)
        assert model.dec.weight is model.enc.weight and model.head.weight is model.emb.weight
        assert model.dec.bias.abs().max() == 0 and model.enc.bias.abs().max() == 0  # both users' biases
        assert [n for n, _ in p.skipped] == []  # the embedding's only parameter is the tied, planned weight
        assert "* tied (one weight, initialized once): enc = dec; head = emb" in str(p)
        assert p.to_frame()["tied"].tolist() == ["dec", "emb"]

    def test_one_draw_per_weight(self):
        """A tied model draws what the same model without the second user draws."""
        tied, plain = Tied(), Tied()
        plain.dec = nn.Linear(16, 16)  # untied: now a layer of its own
        depthinit.init_(tied, "he", generator=torch.Generator().manual_seed(3))
        depthinit.init_(
            nn.ModuleDict({"emb": plain.emb, "enc": plain.enc, "head": plain.head}),
            "he",
            generator=torch.Generator().manual_seed(3),
        )
        assert torch.equal(tied.enc.weight, plain.enc.weight)
        assert torch.equal(tied.head.weight, plain.head.weight)

    def test_std_of_a_tied_weight_is_the_planned_one(self, gen):
        a = nn.Linear(400, 300)
        b = nn.Linear(400, 300)
        b.weight = a.weight
        model = nn.Sequential(a, b)
        p = depthinit.init_(model, "glorot", generator=gen)
        assert p.L == 1 and p.layers[0].tied == ("1",)
        w = a.weight.detach().double().flatten().numpy()
        assert w.std() == pytest.approx(math.sqrt(2 / 700), rel=0.02)
        assert stats.kstest(w, stats.norm(scale=math.sqrt(2 / 700)).cdf).pvalue > 1e-3


# ---------------------------------------------------------------- what is planned, skipped, unreached


class Zoo(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(10, 8)
        self.norm = nn.LayerNorm(8)
        self.gru = nn.GRU(8, 8, batch_first=True)
        self.bil = nn.Bilinear(8, 8, 8)
        self.prelu = nn.PReLU()
        self.fc = nn.Linear(8, 4)
        self.never = nn.Linear(8, 8)
        self.scale = nn.Parameter(torch.ones(()))

    def forward(self, i):
        h = self.norm(self.emb(i))
        h, _ = self.gru(h)
        return self.scale * self.fc(self.prelu(self.bil(h, h)))


class TestCoverage:
    def test_every_weight_bearing_module_is_planned_skipped_or_unreached(self, gen):
        model = Zoo()
        p = depthinit.init_(model, "he", example_input=torch.tensor([[1, 2]]), generator=gen)
        assert [l.layer for l in p.layers] == ["fc"]
        assert p.unreached == ("never",)
        skipped = dict(p.skipped)
        assert list(skipped) == ["Zoo", "emb", "norm", "gru", "bil", "prelu"]
        assert "Embedding (weight): an embedding is a lookup table" in skipped["emb"]
        assert "LayerNorm (weight, bias): normalization affine parameters" in skipped["norm"]
        assert "GRU (weight_ih_l0" in skipped["gru"] and "recurrent layers are not supported" in skipped["gru"]
        assert "Bilinear (weight, bias): depthinit has no rule" in skipped["bil"]
        assert "Zoo (scale)" in skipped["Zoo"]
        planned = {n for l in p.layers for n in (l.layer, *l.tied)}
        with_params = {n or "Zoo" for n, m in model.named_modules() if any(True for _ in m.parameters(recurse=False))}
        assert with_params == planned | set(skipped) | set(p.unreached)
        assert "skipped (not initialized, see plan.skipped): Zoo, emb, norm, gru, bil, prelu" in str(p)
        assert p.to_frame().attrs["skipped"][1][0] == "emb"

    @pytest.mark.parametrize(
        "conv, shape",
        [
            (nn.ConvTranspose1d(6, 10, 3), (2, 6, 7)),
            (nn.ConvTranspose2d(6, 12, 3, groups=3, stride=2), (2, 6, 5, 5)),
            (nn.ConvTranspose3d(4, 8, 2), (1, 4, 3, 3, 3)),
        ],
    )
    def test_conv_transpose_is_initialized_with_pytorch_fans(self, conv, shape, gen):
        model = nn.Sequential(conv, nn.ReLU(), nn.Flatten(), nn.LazyLinear(3))
        model(torch.zeros(shape))  # materialize the lazy head
        p = depthinit.init_(model, "he", example_input=torch.zeros(shape), generator=gen)
        fan_in, fan_out = nn.init._calculate_fan_in_and_fan_out(conv.weight)
        row = p.layers[0]
        assert (row.kind, row.fan_in, row.fan_out) == (type(conv).__name__, fan_in, fan_out)
        assert row.std == pytest.approx(math.sqrt(2 / fan_in), rel=1e-12)
        w = conv.weight.detach().double().flatten().numpy()
        assert stats.kstest(w, stats.norm(scale=row.std).cdf).pvalue > 1e-3
        assert conv.bias.abs().max() == 0

    def test_conv_transpose_never_called_is_unreached(self):
        model = nn.ModuleDict({"up": nn.ConvTranspose2d(3, 3, 2), "fc": nn.Linear(4, 4)})

        class Wrap(nn.Module):
            def __init__(self):
                super().__init__()
                self.m = model

            def forward(self, x):
                return self.m["fc"](x)

        p = depthinit.plan(Wrap(), "he", example_input=torch.zeros(1, 4))
        assert p.unreached == ("m.up",) and [l.layer for l in p.layers] == ["m.fc"]

    def test_multihead_attention_projections_and_out_proj(self, gen):
        mha = nn.MultiheadAttention(64, 4, bias=True)
        model = nn.Sequential(mha)

        class Self(nn.Module):
            def __init__(self):
                super().__init__()
                self.attn = mha

            def forward(self, x):
                return self.attn(x, x, x, need_weights=False)[0]

        net = Self()
        p = depthinit.init_(net, "he", example_input=torch.zeros(5, 2, 64), generator=gen)
        assert [l.layer for l in p.layers] == ["attn.q", "attn.k", "attn.v", "attn.out_proj"]
        assert [(l.fan_in, l.fan_out) for l in p.layers] == [(64, 64)] * 4
        assert p.unreached == () and p.skipped == ()
        for c in range(3):
            block = mha.in_proj_weight.detach()[c * 64 : (c + 1) * 64].double().flatten().numpy()
            assert stats.kstest(block, stats.norm(scale=math.sqrt(2 / 64)).cdf).pvalue > 1e-3
        assert mha.in_proj_bias.abs().max() == 0 and mha.out_proj.bias.abs().max() == 0
        assert mha.out_proj.weight.std().item() == pytest.approx(math.sqrt(2 / 64), rel=0.05)
        assert len(model) == 1

    def test_attention_with_kdim_vdim_and_bias_kv(self, gen):
        mha = nn.MultiheadAttention(16, 2, kdim=8, vdim=6, add_bias_kv=True)
        with torch.no_grad():
            mha.bias_k.fill_(0.5)
        p = depthinit.init_(nn.Sequential(mha), "glorot", generator=gen)
        assert [(l.layer, l.fan_in, l.fan_out) for l in p.layers] == [
            ("0.q", 16, 16),
            ("0.k", 8, 16),
            ("0.v", 6, 16),
            ("0.out_proj", 16, 16),
        ]
        assert [l.std for l in p.layers] == pytest.approx([math.sqrt(2 / (16 + f)) for f in (16, 8, 6, 16)])
        assert dict(p.skipped) == {
            "0": "MultiheadAttention (bias_k, bias_v): the add_bias_kv vectors are left as built"
        }
        assert torch.all(mha.bias_k == 0.5)
        assert mha.k_proj_weight.std().item() == pytest.approx(p.layers[1].std, rel=0.25)

    def test_lsuv_sets_every_matrix_of_a_transformer_encoder(self, gen):
        layer = nn.TransformerEncoderLayer(16, 4, 32, dropout=0.0, batch_first=True)
        enc = nn.TransformerEncoder(layer, 3, enable_nested_tensor=False)
        x = torch.randn(64, 6, 16, generator=gen)
        before = {n: p.detach().clone() for n, p in enc.named_parameters()}
        p = depthinit.init_(enc, "lsuv", example_input=x, generator=gen, tol=0.05)
        assert p.L == 18 and p.converged and p.unreached == ()
        assert [l.layer for l in p.layers[:6]] == [
            "layers.0.self_attn.q",
            "layers.0.self_attn.k",
            "layers.0.self_attn.v",
            "layers.0.self_attn.out_proj",
            "layers.0.linear1",
            "layers.0.linear2",
        ]
        changed = [
            n for n, t in enc.named_parameters() if "weight" in n and "norm" not in n and not torch.equal(t, before[n])
        ]
        assert len(changed) == 12  # in_proj, out_proj, linear1, linear2 of each of the 3 layers
        assert all(abs(l.lsuv_variance_out - 1) < 0.05 for l in p.layers)
        outs = []
        attn = enc.layers[1].self_attn
        h = attn.register_forward_hook(lambda m, a, o: outs.append(o[0].var().item()))
        with torch.no_grad():
            enc.eval()(x)
        h.remove()
        assert outs[0] == pytest.approx(1.0, abs=0.05)  # the out projection's output, as LSUV promised


# ---------------------------------------------------------------- option values


class TestOptionValues:
    @pytest.mark.parametrize(
        "options, match",
        [
            (
                {"network_variance": 1e80},
                r"network_variance=1e\+80 gives layer '2' a weight std of .* overflows float32",
            ),
            ({"network_variance": 1e-300}, r"network_variance=1e-300 gives layer '2' .* underflows float32"),
            ({"network_variance": 1e80, "schedule": "constant"}, "choose a smaller network_variance"),
            ({"gain": 1e300}, r"gain=1e\+300 gives layer '0' a weight std of 4.08e\+299, which overflows float32"),
        ],
    )
    def test_extreme_options_raise_naming_the_option(self, options, match):
        model = _net()
        _raises_unchanged(model, ValueError, match, lambda: depthinit.init_(model, "depth", **options))

    @pytest.mark.parametrize("scheme", ["he", "glorot", "lecun", "orthogonal", "ds_init"])
    def test_huge_or_tiny_gain_is_a_value_error_not_overflow(self, scheme):
        model = _net()
        _raises_unchanged(
            model,
            ValueError,
            r"overflows float32 \(largest 3.4e\+38\); choose a smaller gain",
            lambda: depthinit.init_(model, scheme, gain=1e300),
        )
        _raises_unchanged(
            model,
            ValueError,
            "underflows float32.*choose a larger gain",
            lambda: depthinit.init_(model, scheme, gain=1e-300),
        )

    def test_signal_factor_of_the_network_variance_is_checked(self):
        """With many layers each factor is moderate, but sqrt(V) itself overflows float32."""
        model = MLP(8, 2, depth=54, width=8)
        _raises_unchanged(
            model,
            ValueError,
            r"signal std factor sqrt\(V\) through the network of 1e\+40, which "
            "overflows float32",
            lambda: depthinit.init_(model, "depth", network_variance=1e80),
        )

    def test_the_range_is_the_dtype_s(self, gen):
        model = _net().double()
        p = depthinit.init_(model, "depth", network_variance=1e80, schedule="constant", generator=gen)
        assert torch.isfinite(model[2].weight).all()
        assert model[2].weight.std().item() == pytest.approx(p.layers[1].std, rel=0.5)
        tiny = _net().double()
        depthinit.init_(tiny, "depth", network_variance=1e-200, schedule="constant", generator=gen)
        assert (tiny[2].weight != 0).all()  # drawn in float64: no underflow to zero

    @pytest.mark.parametrize(
        "scheme, option, value",
        [
            ("depth", "network_variance", True),
            ("depth", "offset", False),
            ("depth", "shape", True),
            ("he", "gain", True),
            ("lsuv", "tol", True),
            ("lsuv", "max_iter", True),
            ("critical", "sigma_b2", True),
            ("depth", "network_variance", "22"),
        ],
    )
    def test_bool_and_text_are_not_numbers(self, scheme, option, value):
        options = {option: value}
        if option == "shape":
            options["depth_fn"] = "power"
        with pytest.raises(ValueError, match=f"{option}={value!r} is "):
            resolve_options(scheme, options)
        model = _net()
        _raises_unchanged(
            model,
            ValueError,
            f"{option}={value!r}",
            lambda: depthinit.init_(model, scheme, example_input=torch.ones(4, 6), **options),
        )

    def test_alphas_refuse_a_bool_network_variance(self):
        with pytest.raises(ValueError, match="network_variance=True is a bool, not a number"):
            depthinit.alphas(10, schedule="constant", network_variance=True)

    def test_zero_gate_must_be_a_bool(self):
        with pytest.raises(ValueError, match="zero_gate=1 is not valid; expected True or False"):
            resolve_options("he", {"zero_gate": 1})

    def test_complex_weights_are_refused(self):
        model = nn.Sequential(nn.Linear(4, 4, dtype=torch.complex64))
        _raises_unchanged(
            model,
            ValueError,
            r"module '0' \(Linear\) has a complex weight \(torch.complex64\); "
            "depthinit initializes real weights only",
            lambda: depthinit.init_(model, "he"),
        )


# ---------------------------------------------------------------- arguments and model state


class TestArguments:
    def test_a_scheme_that_is_not_a_string(self):
        model = _net()
        _raises_unchanged(
            model,
            TypeError,
            r"scheme must be a string naming a scheme, got list \['he'\]; "
            "expected one of 'glorot'",
            lambda: depthinit.init_(model, ["he"]),
        )
        with pytest.raises(TypeError, match="scheme must be a string"):
            resolve_options(["he"], {})
        with pytest.raises(TypeError, match="scheme must be a string"):
            depthinit.describe(None)

    @pytest.mark.parametrize("generator", [42, "seed", torch.zeros(3)])
    def test_a_generator_that_is_not_a_generator(self, generator):
        model = _net()
        for fn in (depthinit.init_, depthinit.plan):
            _raises_unchanged(
                model,
                TypeError,
                "generator must be a torch.Generator or None, got",
                lambda fn=fn: fn(model, "he", generator=generator),
            )

    def test_meta_model_under_lsuv(self):
        with torch.device("meta"):
            model = _net()
        x = torch.zeros(4, 6, device="meta")
        for fn in (depthinit.init_, depthinit.plan):
            with pytest.raises(ValueError, match=r"layer '0' is on the meta device .* model.to_empty"):
                fn(model, "lsuv", example_input=x)
        with pytest.raises(ValueError, match="meta device"):
            depthinit.init_(model, "he")
        assert depthinit.plan(model, "he").layers[0].std == pytest.approx(math.sqrt(2 / 6))  # shapes suffice

    def test_inference_tensors_give_the_real_error(self):
        with torch.inference_mode():
            model = _net()
        _raises_unchanged(
            model,
            ValueError,
            r"layer '0' holds an inference tensor .*torch.inference_mode",
            lambda: depthinit.init_(model, "he"),
        )

    def test_lazy_layers_are_refused_before_any_forward(self):
        model = nn.Sequential(nn.LazyLinear(4))
        with pytest.raises(ValueError, match=r"module '0' \(LazyLinear\) is lazy.*Run one forward pass"):
            depthinit.plan(model, "he", example_input=torch.zeros(1, 3))
        assert isinstance(model[0].weight, nn.parameter.UninitializedParameter)  # not materialized by us

    def test_options_must_name_the_scheme_s_options(self):
        with pytest.raises(TypeError, match="options must be a mapping"):
            resolve_options("he", [("gain", 1.0)])


class TestModelUnchangedOnError:
    def test_failure_midway_through_sampling(self, monkeypatch):
        model = ResMLP(6, 3, blocks=2, width=5, gate=True)
        real = _apply.normal_
        calls = {"n": 0}

        def flaky(w, std, *, generator):
            calls["n"] += 1
            if calls["n"] == 4:
                raise RuntimeError("simulated failure")
            return real(w, std, generator=generator)

        monkeypatch.setattr(_apply, "normal_", flaky)
        with torch.no_grad():
            for g in model.residual_gates():
                g.fill_(0.25)
        _raises_unchanged(model, RuntimeError, "simulated", lambda: depthinit.init_(model, "he", zero_gate=True))
        assert all(float(g.detach()) == 0.25 for g in model.residual_gates())

    def test_failure_midway_through_lsuv(self, monkeypatch, gen):
        model = MLP(6, 3, depth=4, width=5)
        real = _lsuv._output_variance
        calls = {"n": 0}

        def flaky(*args):
            calls["n"] += 1
            if calls["n"] == 5:
                raise RuntimeError("simulated LSUV failure")
            return real(*args)

        monkeypatch.setattr(_lsuv, "_output_variance", flaky)
        _raises_unchanged(
            model,
            RuntimeError,
            "simulated LSUV failure",
            lambda: depthinit.init_(model, "lsuv", example_input=torch.randn(16, 6, generator=gen)),
        )
        assert model.training

    def test_keyboard_interrupt_also_restores(self, monkeypatch):
        model = _net()

        def interrupt(w, std, *, generator):
            w.detach().fill_(7.0)
            raise KeyboardInterrupt

        monkeypatch.setattr(_apply, "normal_", interrupt)
        _raises_unchanged(model, KeyboardInterrupt, None, lambda: depthinit.init_(model, "he"))


# ---------------------------------------------------------------- the RNG promise


class Noisy(nn.Module):
    """A forward that draws from the global RNG even in eval mode."""

    def __init__(self):
        super().__init__()
        self.a = nn.Linear(6, 6)
        self.b = nn.Linear(6, 3)

    def forward(self, x):
        h = nn.functional.dropout(self.a(x), 0.5, training=True) + 0.1 * torch.randn_like(x)
        return self.b(h)


class TestGlobalRNG:
    @pytest.mark.parametrize("scheme", ["he", "depth", "lsuv"])
    def test_example_input_forward_leaves_the_global_rng(self, scheme, gen):
        model = Noisy()
        x = torch.randn(32, 6, generator=gen)
        state = torch.get_rng_state()
        depthinit.plan(model, scheme, example_input=x, generator=gen)
        depthinit.init_(model, scheme, example_input=x, generator=gen)
        depthinit.init.discover(model, x)
        assert torch.equal(state, torch.get_rng_state())

    def test_the_forward_did_draw(self):
        """The model really draws: without the save and restore the state would move."""
        model = Noisy()  # construction draws too; measure the forward alone
        state = torch.get_rng_state()
        with torch.no_grad():
            model(torch.zeros(2, 6))
        assert not torch.equal(state, torch.get_rng_state())


# ---------------------------------------------------------------- LSUV reproducibility


class TestLSUVReproducibility:
    @pytest.mark.parametrize("threads", [1, 2])
    def test_bit_identical_with_the_same_thread_count(self, threads):
        before = torch.get_num_threads()
        torch.set_num_threads(threads)
        try:
            x = torch.randn(256, 32, generator=torch.Generator().manual_seed(0))
            nets = [MLP(32, 4, depth=6, width=48) for _ in range(2)]
            plans = [
                depthinit.init_(n, "lsuv", example_input=x, generator=torch.Generator().manual_seed(5)) for n in nets
            ]
        finally:
            torch.set_num_threads(before)
        assert all(torch.equal(p, q) for p, q in zip(nets[0].parameters(), nets[1].parameters()))
        assert [l.std for l in plans[0].layers] == [l.std for l in plans[1].layers]

    def test_plan_with_a_generator_is_reproducible_and_matches_init(self):
        x = torch.randn(128, 16, generator=torch.Generator().manual_seed(1))
        model = MLP(16, 3, depth=5, width=16)
        g = torch.Generator().manual_seed(9)
        state = g.get_state()
        p1 = depthinit.plan(model, "lsuv", example_input=x, generator=g)
        assert torch.equal(g.get_state(), state)  # plan works on a copy of the generator
        p2 = depthinit.plan(model, "lsuv", example_input=x, generator=torch.Generator().manual_seed(9))
        p3 = depthinit.init_(model, "lsuv", example_input=x, generator=g)
        assert [l.std for l in p1.layers] == [l.std for l in p2.layers] == [l.std for l in p3.layers]

    def test_the_condition_is_documented(self):
        doc = depthinit.init_.__doc__
        assert "torch.get_num_threads()" in doc and "bit-identical" in doc
        assert "same seed, model, example batch, torch version, device" in _lsuv.__doc__


# ---------------------------------------------------------------- found by benchmarks/attacks.py


class TestAttackFindings:
    @pytest.mark.parametrize(
        "make",
        [
            lambda: nn.Sequential(nn.Linear(0, 8), nn.ReLU(), nn.Linear(8, 3)),
            lambda: nn.Sequential(nn.Linear(6, 0), nn.Linear(0, 3)),
            lambda: nn.Sequential(nn.Conv2d(0, 4, 3), nn.Conv2d(4, 2, 3)),
        ],
    )
    def test_an_empty_layer_is_refused_naming_its_shape(self, make):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # torch: "Initializing zero-element tensors is a no-op"
            model = make()
        for scheme in ("he", "glorot"):
            _raises_unchanged(
                model,
                ValueError,
                r"has an empty weight of shape \(.*0.*\).*Remove the layer",
                lambda scheme=scheme: depthinit.init_(model, scheme),
            )

    @pytest.mark.parametrize("fail_on", [2, 5])
    def test_a_forward_failing_during_lsuv_is_reported_like_the_first_pass(self, fail_on, gen):
        class Flaky(nn.Module):
            def __init__(self):
                super().__init__()
                self.a, self.b = nn.Linear(6, 8), nn.Linear(8, 3)
                self.calls = 0

            def forward(self, x):
                self.calls += 1
                if self.calls == fail_on:
                    raise RuntimeError("boom")
                return self.b(torch.relu(self.a(x)))

        model = Flaky()
        _raises_unchanged(
            model,
            ValueError,
            r"running Flaky on example_input .* failed with RuntimeError: boom\. "
            "Pass an input",
            lambda: depthinit.init_(model, "lsuv", example_input=torch.rand(16, 6, generator=gen)),
        )

    def test_residual_structure_errors_say_what_to_do(self):
        class Bad(nn.Module):
            def __init__(self, branches):
                super().__init__()
                self.a, self.b = nn.Linear(6, 8), nn.Linear(8, 3)
                self.branches = branches

            def residual_branches(self):
                return self.branches(self)

            def forward(self, x):
                return self.b(torch.relu(self.a(x)))

        with pytest.raises(ValueError, match=r"holds ReLU, not a weight layer .*; list only the weight modules"):
            depthinit.init_(Bad(lambda s: [[nn.ReLU()]]), "fixup")
        with pytest.raises(ValueError, match=r"leave the classifier out of residual_branches\(\)"):
            depthinit.init_(Bad(lambda s: [[s.a, s.b]]), "fixup")

    @pytest.mark.parametrize("fn", [lambda l: 1 / 0, lambda l: "x"])
    def test_a_depth_function_that_fails_is_a_value_error(self, fn):
        model = _net()
        _raises_unchanged(
            model,
            ValueError,
            r"depth function .* failed on the depths l \+ c = \[2\.0\] with .*"
            "depth_fn must map an array",
            lambda: depthinit.init_(model, "depth", depth_fn=fn),
        )

    def test_plan_of_lsuv_on_a_model_that_cannot_be_copied(self, gen):
        import threading

        class Locked(nn.Module):
            def __init__(self):
                super().__init__()
                self.a, self.b = nn.Linear(6, 8), nn.Linear(8, 3)
                self.lock = threading.Lock()

            def forward(self, x):
                return self.b(torch.relu(self.a(x)))

        model = Locked()
        x = torch.rand(16, 6, generator=gen)
        _raises_unchanged(
            model,
            ValueError,
            r"on a deep copy of Locked, which cannot be copied .*call init_ on the "
            "model itself",
            lambda: depthinit.plan(model, "lsuv", example_input=x),
        )
        assert depthinit.init_(model, "lsuv", example_input=x).L == 2  # init_ needs no copy

    def test_a_weight_whose_entries_share_memory_is_refused(self):
        model = _net()
        model[2].weight = nn.Parameter(torch.zeros(1, 5).expand(3, 5))
        _raises_unchanged(
            model,
            ValueError,
            r"module '2' \(Linear\) has a weight whose entries share memory .*"
            r"nn.Parameter\(weight.clone\(\)\)",
            lambda: depthinit.init_(model, "he"),
        )
