"""The initialization schemes: each turns a list of layers into per-layer specs.

Chapter: "The schemes at a glance" (and "Beyond the paper" for ``ds_init``,
``critical``, ``fixup`` and ``rezero``). Formulas (n = fan-in unless said
otherwise, l = the layer's depth 1..L in forward order):

* ``glorot`` (Glorot & Bengio 2010): Var = gain^2 * 2 / (fan_in + fan_out).
* ``he`` (He et al. 2015): Var = gain^2 / fan, fan = fan_in or fan_out (``mode``),
  gain = sqrt(2) for ReLU.
* ``lecun`` (LeCun et al. 1998): Var = gain^2 / fan_in.
* ``orthogonal`` (Saxe et al. 2013): Haar orthogonal times gain (sqrt(2) for ReLU).
* ``random_walk`` (Sussillo & Abbott 2014): std = g / sqrt(N), N = fan_in,
  g = sqrt(2) exp(1.2 / (max(N, 6) - 2.4)) for ReLU, exp(1 / (2N)) for linear.
* ``depth`` (the paper): Var_l = alpha_l * Var_base,l with alpha from :func:`alphas`.
* ``lsuv`` (Mishkin & Matas 2015): see :mod:`depthinit.init._lsuv`.
* ``ds_init`` (Zhang, Titov & Sennrich 2019): Var_l = Var_base,l / l.
* ``critical`` (Poole et al. 2016; Schoenholz et al. 2017): Var = σ_w² / fan_in
  with σ_w² on the edge of chaos (:func:`critical_init`), biases ~ N(0, σ_b²).
* ``fixup`` (Zhang, Dauphin & Ma 2019): for L residual branches of m layers,
  He scaled by L^(-1/(2m-2)) inside each branch, the last layer of each branch
  and the classifier at zero.
* ``rezero`` (Bachlechner et al. 2021; SkipInit, De & Smith 2020): He, and
  every residual gate at zero.

Uniform draws use bound = sqrt(3) * std, so both distributions share a variance.
:func:`schemes` maps each name to its options and defaults; :func:`describe`
prints one scheme's formula, options, valid values and source.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import torch
from torch import nn

from ._layers import Layer
from ._meanfield import critical_init
from ._residual import PROTOCOL_HINT, Residual
from ._samplers import orthogonal_std
from ._schedules import DEPTH_FNS, SCHEDULES, _check_choice, _check_positive_finite, alphas

#: The activations the ``critical`` scheme serves (the model's activation must be one of them).
CRITICAL_ACTIVATIONS: tuple[str, ...] = ("tanh", "relu")

DISTRIBUTIONS = ("normal", "uniform")
MODES = ("fan_in", "fan_out")
NONLINEARITIES = ("relu", "linear", "tanh", "sigmoid", "leaky_relu", "selu")

#: Options that scale the weights: the ones an overflow/underflow error names.
SCALE_OPTIONS = ("network_variance", "gain", "sigma_b2")


@dataclass(frozen=True)
class Spec:
    """What one layer gets: a distribution, its std, the depth factor alpha (the
    layer's variance over its base scheme's), the gain and the bias std."""

    distribution: str  # "normal" | "uniform" | "orthogonal" | "zero" | "lsuv"
    std: float
    alpha: float = 1.0
    gain: float = float("nan")
    bias_std: float = 0.0


@dataclass(frozen=True)
class Option:
    """One option of a scheme: its default, its check, what it means and its valid values."""

    default: Any
    check: Callable[[str, Any], Any]
    doc: str = ""
    valid: str = ""


@dataclass(frozen=True)
class Context:
    """What spec functions may read beyond the layers: the model and its residual structure."""

    model: nn.Module
    residual: Residual | None


SpecFn = Callable[[list[Layer], dict[str, Any], Context], list[Spec]]


@dataclass(frozen=True)
class Scheme:
    """A registered scheme: options, spec function (None for LSUV) and its documentation."""

    name: str
    title: str
    formula: str
    source: str
    chapter: str
    options: dict[str, Option]
    specs: SpecFn | None
    needs_data: bool = False
    finalize: Callable[[dict[str, Any]], dict[str, Any]] | None = None


# ---------------------------------------------------------------- checks


def _choice(valid: tuple[str, ...]) -> Callable[[str, Any], Any]:
    def check(name: str, value: Any) -> Any:
        _check_choice(name, value, valid)
        return value

    return check


def _positive(name: str, value: Any) -> float:
    return _check_positive_finite(name, value)


def _nonnegative(name: str, value: Any) -> float:
    return _check_positive_finite(name, value, allow_zero=True)


def _optional_positive(name: str, value: Any) -> float | None:
    return None if value is None else _positive(name, value)


def _optional_nonnegative(name: str, value: Any) -> float | None:
    return None if value is None else _nonnegative(name, value)


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name}={value!r} is not valid; expected an integer >= 1")
    return int(value)


def _bool(name: str, value: Any) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name}={value!r} is not valid; expected True or False")
    return bool(value)


def _depth_fn(name: str, value: Any) -> Any:
    if not callable(value):
        _check_choice(name, value, DEPTH_FNS)
    return value


def _gain(nonlinearity: str, gain: float | None) -> float:
    if gain is not None:
        return gain
    if nonlinearity == "leaky_relu":
        return torch.nn.init.calculate_gain("leaky_relu", 0.01)
    return torch.nn.init.calculate_gain(cast(Any, nonlinearity))


def _base_std(layer: Layer, base: str, mode: str, gain: float) -> float:
    """std of the base scheme, gain * sqrt(c / fan) (computed so a huge gain cannot overflow)."""
    if base == "glorot":
        return gain * math.sqrt(2.0 / (layer.fan_in + layer.fan_out))
    if base == "lecun":
        return gain * math.sqrt(1.0 / layer.fan_in)
    return gain * math.sqrt(1.0 / (layer.fan_in if mode == "fan_in" else layer.fan_out))


def _base_gain(o: dict[str, Any]) -> float:
    if o.get("base", "he") == "he":
        return _gain(o["nonlinearity"], o["gain"])
    return 1.0 if o["gain"] is None else o["gain"]


# ---------------------------------------------------------------- spec functions


def _glorot(layers: list[Layer], o: dict[str, Any], ctx: Context) -> list[Spec]:
    g = 1.0 if o["gain"] is None else o["gain"]
    return [Spec(o["distribution"], _base_std(l, "glorot", "", g), gain=g) for l in layers]


def _he(layers: list[Layer], o: dict[str, Any], ctx: Context) -> list[Spec]:
    g = _gain(o["nonlinearity"], o["gain"])
    return [Spec(o["distribution"], _base_std(l, "he", o["mode"], g), gain=g) for l in layers]


def _lecun(layers: list[Layer], o: dict[str, Any], ctx: Context) -> list[Spec]:
    g = 1.0 if o["gain"] is None else o["gain"]
    return [Spec(o["distribution"], _base_std(l, "lecun", "", g), gain=g) for l in layers]


def _orthogonal(layers: list[Layer], o: dict[str, Any], ctx: Context) -> list[Spec]:
    g = _gain(o["nonlinearity"], o["gain"])
    return [Spec("orthogonal", orthogonal_std(l.weight.shape, g), gain=g) for l in layers]


def random_walk_gain(n: int, nonlinearity: str = "relu") -> float:
    """Sussillo & Abbott's g: sqrt(2) exp(1.2 / (max(N, 6) - 2.4)) for ReLU, exp(1/(2N)) for linear.

    Chapter: "The schemes at a glance".
    """
    if nonlinearity == "relu":
        return math.sqrt(2.0) * math.exp(1.2 / (max(n, 6) - 2.4))
    return math.exp(1.0 / (2.0 * n))


def _random_walk(layers: list[Layer], o: dict[str, Any], ctx: Context) -> list[Spec]:
    out = []
    for l in layers:
        g = random_walk_gain(l.fan_in, o["nonlinearity"])
        out.append(Spec(o["distribution"], g / math.sqrt(l.fan_in), gain=g))
    return out


def _depth(layers: list[Layer], o: dict[str, Any], ctx: Context) -> list[Spec]:
    if len(layers) < 2:
        raise ValueError(
            f"the depth scheme needs at least 2 weight layers to spread a network variance over, "
            f"got {len(layers)}; use 'he' or 'glorot' for a single layer"
        )
    a = alphas(
        len(layers),
        schedule=o["schedule"],
        network_variance=o["network_variance"],
        depth_fn=o["depth_fn"],
        offset=o["offset"],
        shape=o["shape"],
    )
    g = _base_gain(o)
    stds = [_base_std(l, o["base"], o["mode"], g) for l in layers]
    if o["v_reading"] == "gain":
        # V as the network's own gain: rescale the base by one constant kappa so that the
        # base's per-layer forward gains r_l = fan_l Var_base,l / gain_phi^2 multiply to 1
        # (He: r_l = 1, kappa = 1; Glorot on square ReLU layers: r_l = 1/2, kappa = 2).
        phi = _gain(o["nonlinearity"], None)
        logs = [
            math.log((l.fan_in if o["mode"] == "fan_in" else l.fan_out) * sd * sd / (phi * phi))
            for l, sd in zip(layers, stds)
        ]
        kappa_sqrt = math.exp(-0.5 * sum(logs) / len(logs))
        stds = [sd * kappa_sqrt for sd in stds]
    return [Spec(o["distribution"], math.sqrt(float(al)) * sd, float(al), g) for sd, al in zip(stds, a)]


def _ds_init(layers: list[Layer], o: dict[str, Any], ctx: Context) -> list[Spec]:
    g = _base_gain(o)
    return [
        Spec(o["distribution"], _base_std(l, o["base"], o["mode"], g) / math.sqrt(l.depth), 1.0 / l.depth, g)
        for l in layers
    ]


_ACTIVATION_TYPES: dict[type[nn.Module], str] = {
    nn.Tanh: "tanh",
    nn.ReLU: "relu",
    nn.Sigmoid: "sigmoid",
    nn.LeakyReLU: "leaky_relu",
    nn.GELU: "gelu",
    nn.SiLU: "silu",
    nn.ELU: "elu",
    nn.SELU: "selu",
    nn.Softplus: "softplus",
    nn.Hardtanh: "hardtanh",
    nn.Mish: "mish",
    nn.PReLU: "prelu",
}


def model_activations(model: nn.Module) -> set[str]:
    """The activations a model declares: its ``activation`` attribute (a name, as
    depthinit's models have) or else the activation modules it holds. Empty when
    it uses functional activations only."""
    declared = getattr(model, "activation", None)
    if isinstance(declared, str):
        return {declared}
    return {name for m in model.modules() for t, name in _ACTIVATION_TYPES.items() if type(m) is t}


def _critical(layers: list[Layer], o: dict[str, Any], ctx: Context) -> list[Spec]:
    phi = o["nonlinearity"]
    found = model_activations(ctx.model) - {"linear"}
    if found and found != {phi}:
        raise ValueError(
            f"scheme 'critical' with nonlinearity={phi!r} cannot serve {type(ctx.model).__name__}, whose "
            f"activation is {', '.join(map(repr, sorted(found)))}: its edge of chaos is computed for one "
            f"activation ({', '.join(map(repr, CRITICAL_ACTIVATIONS))}). Pass the model's activation as "
            "nonlinearity, or build the model with activation='tanh' or 'relu'"
        )
    sigma_w2 = critical_init(phi, o["sigma_b2"])
    bias_std = math.sqrt(o["sigma_b2"])
    if bias_std > 0:
        missing = [l.name for l in layers if l.bias is None]
        if missing:
            raise ValueError(
                f"scheme 'critical' with sigma_b2={o['sigma_b2']!r} draws biases ~ N(0, sigma_b2), but layer(s) "
                f"{', '.join(map(repr, missing[:5]))} have no bias; build them with bias=True or pass sigma_b2=0"
            )
    g = math.sqrt(sigma_w2)
    return [Spec(o["distribution"], g / math.sqrt(l.fan_in), 1.0, g, bias_std) for l in layers]


def _need_residual(scheme: str, ctx: Context, what: str) -> Residual:
    if ctx.residual is None:
        raise ValueError(
            f"scheme {scheme!r} needs {what}, and {type(ctx.model).__name__} declares no residual structure: "
            f"{PROTOCOL_HINT}"
        )
    return ctx.residual


def _fixup(layers: list[Layer], o: dict[str, Any], ctx: Context) -> list[Spec]:
    res = _need_residual("fixup", ctx, "the residual branches (their last layers start at zero)")
    index = {id(l.module): i for i, l in enumerate(layers)}
    L = len(res.branches)
    if L == 0:
        raise ValueError(f"scheme 'fixup' needs at least one residual branch; {res.source} returned none")
    role: dict[int, tuple[str, float]] = {}
    for b, branch in enumerate(res.branches):
        m = len(branch)
        for j, module in enumerate(branch):
            if id(module) not in index:
                raise ValueError(
                    f"scheme 'fixup': weight module {j} of residual branch {b} ({type(module).__name__}) is not "
                    "one of the layers the plan initializes (not reached by the forward pass, or not a Linear/"
                    "Conv/ConvTranspose layer); residual_branches() must list the branch's weight layers"
                )
            i = index[id(module)]
            if i in role:
                raise ValueError(f"scheme 'fixup': layer {layers[i].name!r} is listed in two residual branches")
            role[i] = ("zero", 0.0) if j == m - 1 else ("scaled", float(L) ** (-1.0 / (2 * m - 2)))
    last = len(layers) - 1
    if last in role:
        raise ValueError(
            f"scheme 'fixup' sets the classifier (the last weight layer, {layers[last].name!r}) to zero, but that "
            "layer is inside a residual branch; a Fixup network ends with a classifier after its last branch: "
            "leave the classifier out of residual_branches() (or add one after the last block)"
        )
    role[last] = ("zero", 0.0)
    g = _gain(o["nonlinearity"], None)
    out = []
    for i, l in enumerate(layers):
        kind, scale = role.get(i, ("he", 1.0))
        if kind == "zero":
            out.append(Spec("zero", 0.0, 0.0, g))
        else:
            out.append(Spec(o["distribution"], scale * _base_std(l, "he", o["mode"], g), scale * scale, g))
    return out


def _rezero(layers: list[Layer], o: dict[str, Any], ctx: Context) -> list[Spec]:
    return _he(layers, o, ctx)


# ---------------------------------------------------------------- options


def _critical_finalize(o: dict[str, Any]) -> dict[str, Any]:
    if o["sigma_b2"] is None:
        o["sigma_b2"] = 0.05 if o["nonlinearity"] == "tanh" else 0.0
    if o["nonlinearity"] == "relu" and o["sigma_b2"] != 0.0:
        raise ValueError(
            f"sigma_b2={o['sigma_b2']!r} is not valid for nonlinearity='relu': ReLU's edge of chaos is "
            "sigma_w2 = 2 with sigma_b2 = 0 (He); pass sigma_b2=0 or leave it unset"
        )
    return o


def _q(values: tuple[str, ...]) -> str:
    return ", ".join(map(repr, values))


_DIST = {
    "distribution": Option(
        "normal",
        _choice(DISTRIBUTIONS),
        "law of the weights: N(0, std^2), or U(-a, a) with a = sqrt(3) std",
        _q(DISTRIBUTIONS),
    )
}
_GAIN = {
    "gain": Option(
        None,
        _optional_positive,
        "multiplies the std; None: the gain of `nonlinearity` "
        "(sqrt(2) for ReLU) for He-based schemes, 1 for Glorot/LeCun",
        "None or a finite number > 0",
    )
}
_MODE = {
    "mode": Option(
        "fan_in",
        _choice(MODES),
        "fan of He's variance: fan_in keeps the forward variance, fan_out the backward",
        _q(MODES),
    )
}
_NONLIN = {
    "nonlinearity": Option(
        "relu", _choice(NONLINEARITIES), "sets the gain (torch.nn.init.calculate_gain)", _q(NONLINEARITIES)
    )
}
_ZERO_GATE = {
    "zero_gate": Option(
        False,
        _bool,
        "True: every residual gate (ResidualBlock.gate or residual_gates()) starts at 0 (SkipInit/ReZero); False: at 1",
        "True or False",
    )
}
_BASE = {"base": Option("he", _choice(("he", "glorot")), "the scheme whose variance is scaled", "'he', 'glorot'")}

#: name -> the scheme. LSUV's specs come from running it.
REGISTRY: dict[str, Scheme] = {}


def _register(s: Scheme) -> None:
    REGISTRY[s.name] = s


_register(
    Scheme(
        "glorot",
        "Glorot (Xavier) initialization",
        "Var = gain^2 * 2 / (fan_in + fan_out)",
        "Glorot & Bengio 2010 [glorot2010understanding]",
        "The schemes at a glance",
        {
            **_DIST,
            "gain": Option(None, _optional_positive, "multiplies the std; None: 1", "None or a finite number > 0"),
        },
        _glorot,
    )
)
_register(
    Scheme(
        "he",
        "He (Kaiming) initialization",
        "Var = gain^2 / fan, fan = fan_in or fan_out (mode)",
        "He et al. 2015 [he2015delving]",
        "The schemes at a glance",
        {**_DIST, **_MODE, **_NONLIN, **_GAIN, **_ZERO_GATE},
        _he,
    )
)
_register(
    Scheme(
        "lecun",
        "LeCun initialization",
        "Var = gain^2 / fan_in",
        "LeCun et al. 1998, Efficient BackProp [lecun1998efficient]",
        "The schemes at a glance",
        {
            **_DIST,
            "gain": Option(None, _optional_positive, "multiplies the std; None: 1", "None or a finite number > 0"),
        },
        _lecun,
    )
)
_register(
    Scheme(
        "orthogonal",
        "orthogonal initialization",
        "W = gain * Q, Q Haar-distributed (semi-)orthogonal",
        "Saxe et al. 2013 [saxe2013exact]",
        "The schemes at a glance",
        {**_NONLIN, **_GAIN},
        _orthogonal,
    )
)
_register(
    Scheme(
        "random_walk",
        "random-walk initialization",
        "std = g / sqrt(N), N = fan_in, g = sqrt(2) exp(1.2 / (max(N, 6) - 2.4)) (ReLU) or exp(1 / (2N)) (linear)",
        "Sussillo & Abbott 2014 [sussillo2014random]",
        "The schemes at a glance",
        {
            **_DIST,
            "nonlinearity": Option("relu", _choice(("relu", "linear")), "which of the two gains", "'relu', 'linear'"),
        },
        _random_walk,
    )
)
_register(
    Scheme(
        "lsuv",
        "layer-sequential unit-variance (data-dependent)",
        "orthonormal W, then per layer W <- W / sqrt(Var(y)) on example_input until |Var(y) - 1| < tol",
        "Mishkin & Matas 2015 [mishkin2015all]",
        "Use it in your model",
        {
            "tol": Option(0.02, _positive, "stop when |Var(output) - 1| < tol", "a finite number > 0"),
            "max_iter": Option(20, _positive_int, "most rescalings per layer", "an integer >= 1"),
        },
        None,
        needs_data=True,
    )
)
_register(
    Scheme(
        "depth",
        "the paper's depth-aware schedule",
        "Var_l = alpha_l * Var_base,l, alpha_1 = 1, prod_{l=2..L} alpha_l = V (network_variance)",
        "Pandey 2025, arXiv 2509.05018 [gupta2025depth]",
        "Depth scaling",
        {
            **_DIST,
            **_BASE,
            "schedule": Option("increasing", _choice(SCHEDULES), "how alpha_2..alpha_L share V", _q(SCHEDULES)),
            "network_variance": Option(22.0, _positive, "V, the product of alpha_2..alpha_L", "a finite number > 0"),
            "depth_fn": Option(
                "log",
                _depth_fn,
                "g(l) of the increasing/decreasing schedules",
                f"{_q(DEPTH_FNS)} or a callable of the depth array",
            ),
            "offset": Option(0.0, _nonnegative, "c in g(l + c)", "a finite number >= 0"),
            "shape": Option(
                None,
                _optional_positive,
                "shape parameter of depth_fn (p of 'power', r of 'geometric')",
                "None or a finite number > 0",
            ),
            "v_reading": Option(
                "multiplier",
                _choice(("multiplier", "gain")),
                "'multiplier': V multiplies the base's variance (the paper's words; with Glorot on a "
                "ReLU net the network's gain is then V 2^-(L-1)); 'gain': the base is first rescaled "
                "by one constant so that its own forward gain is 1, making V the network's gain "
                "(no change for He)",
                "'multiplier', 'gain'",
            ),
            **_MODE,
            **_NONLIN,
            **_GAIN,
            **_ZERO_GATE,
        },
        _depth,
    )
)
_register(
    Scheme(
        "ds_init",
        "depth-scaled initialization (DS-Init)",
        "Var_l = Var_base,l / l, l = 1..L in forward order (std proportional to 1 / sqrt(l))",
        "Zhang, Titov & Sennrich 2019 [zhang2019improving]; the GPT-2 residual scale 1 / sqrt(2 n_layer) of "
        "Radford et al. 2019 [radford2019language] is the same idea for residual projections",
        "Beyond the paper",
        {**_DIST, **_BASE, **_MODE, **_NONLIN, **_GAIN, **_ZERO_GATE},
        _ds_init,
    )
)
_register(
    Scheme(
        "critical",
        "mean-field critical (edge of chaos) initialization",
        "Var = sigma_w2 / fan_in with sigma_w2 E[phi'(sqrt(q*) z)^2] = 1 at the fixed point "
        "q* = sigma_w2 E[phi(sqrt(q*) z)^2] + sigma_b2; biases ~ N(0, sigma_b2)",
        "Poole et al. 2016 [poole2016exponential]; Schoenholz et al. 2017 [schoenholz2017deep]",
        "Beyond the paper",
        {
            **_DIST,
            "nonlinearity": Option(
                "tanh",
                _choice(CRITICAL_ACTIVATIONS),
                "the activation the edge is computed for (must match the model's)",
                _q(CRITICAL_ACTIVATIONS),
            ),
            "sigma_b2": Option(
                None,
                _optional_nonnegative,
                "bias variance; the biases are drawn N(0, sigma_b2) "
                "(zero when 0). None: 0.05 for tanh, 0 for ReLU (whose edge needs 0)",
                "None or a finite number >= 0 (0 for 'relu')",
            ),
        },
        _critical,
        finalize=_critical_finalize,
    )
)
_register(
    Scheme(
        "fixup",
        "Fixup (residual networks without normalization)",
        "for L residual branches of m layers: branch layers 1..m-1 He-initialized times L^(-1/(2m-2)), "
        "the last layer of each branch and the classifier (the last weight layer) at 0, other layers He",
        "Zhang, Dauphin & Ma 2019 [zhang2019fixup]",
        "Beyond the paper",
        {
            **_DIST,
            **_MODE,
            "nonlinearity": Option("relu", _choice(NONLINEARITIES), "sets He's gain", _q(NONLINEARITIES)),
            **_ZERO_GATE,
        },
        _fixup,
    )
)
_register(
    Scheme(
        "rezero",
        "ReZero / SkipInit: every residual gate at zero",
        "He for every weight layer; every residual gate g of x + g f(x) at 0, so each block starts as the identity",
        "Bachlechner et al. 2021 [bachlechner2021rezero]; SkipInit, De & Smith 2020 [de2020batch]",
        "Beyond the paper",
        {**_DIST, **_MODE, **_NONLIN, **_GAIN},
        _rezero,
    )
)


# ---------------------------------------------------------------- public helpers


def schemes() -> dict[str, dict[str, Any]]:
    """Every scheme :func:`depthinit.init_` accepts, mapped to its options and their defaults.

    ``"he" in schemes()`` and ``list(schemes())`` give the names;
    ``schemes()["depth"]["network_variance"]`` is 22.0. A fresh dict each call.
    :func:`describe` explains one scheme. Chapter: "The schemes at a glance".

    >>> schemes()["he"]["mode"]
    'fan_in'
    """
    return {name: {k: o.default for k, o in s.options.items()} for name, s in REGISTRY.items()}


def _scheme(scheme: Any) -> Scheme:
    if not isinstance(scheme, str):
        raise TypeError(
            f"scheme must be a string naming a scheme, got {type(scheme).__name__} {scheme!r:.60}; "
            f"expected one of {_q(tuple(REGISTRY))}"
        )
    if scheme not in REGISTRY:
        raise ValueError(f"scheme={scheme!r} is not known; expected one of {_q(tuple(REGISTRY))}")
    return REGISTRY[scheme]


def describe(scheme: str) -> str:
    """A readable description of ``scheme``: what it is, its formula, every option
    with its default and valid values, its source and chapter.

    >>> print(describe("lsuv").splitlines()[0])
    lsuv: layer-sequential unit-variance (data-dependent)
    """
    s = _scheme(scheme)
    lines = [f"{s.name}: {s.title}", ""]
    lines += textwrap.wrap(s.formula, 78, initial_indent="  ", subsequent_indent="    ")
    lines += ["", "Options:" if s.options else "Options: none"]
    for name, o in s.options.items():
        lines.append(f"  {name} = {o.default!r}")
        lines += textwrap.wrap(f"{o.doc}; valid: {o.valid}", 78, initial_indent="      ", subsequent_indent="      ")
    if s.needs_data:
        lines.append("  (needs example_input: a representative batch)")
    lines += ["", *textwrap.wrap(f"Source: {s.source}", 78, subsequent_indent="  "), f'Chapter: "{s.chapter}"']
    return "\n".join(lines)


def options_doc() -> str:
    """Every scheme with its options and defaults, for :func:`depthinit.init_`'s docstring."""
    out = []
    for name, s in REGISTRY.items():
        opts = ", ".join(f"{k}={o.default!r}" for k, o in s.options.items()) or "no options"
        out += textwrap.wrap(f"``{name}`` ({s.title}): {opts}", 76, initial_indent="    * ", subsequent_indent="      ")
    return "\n".join(out)


def resolve_options(scheme: str, options: Mapping[str, Any]) -> dict[str, Any]:
    """Validate ``options`` for ``scheme`` and fill in the defaults.

    Raises TypeError for a scheme that is not a string, ValueError for an
    unknown scheme, an option the scheme does not take or an invalid value
    (bools are not numbers).
    """
    s = _scheme(scheme)
    if not isinstance(options, Mapping):
        raise TypeError(f"options must be a mapping of option names to values, got {type(options).__name__}")
    unknown = sorted(map(str, set(options) - set(s.options)))
    if unknown:
        raise ValueError(
            f"option(s) {', '.join(map(repr, unknown))} do not apply to scheme {scheme!r}; "
            f"valid options are {', '.join(map(repr, s.options)) or 'none'}"
        )
    resolved = {}
    for name, opt in s.options.items():
        value = options.get(name, opt.default)
        resolved[name] = value if (name not in options and value is None) else opt.check(name, value)
    return s.finalize(resolved) if s.finalize else resolved


def layer_specs(scheme: str, layers: list[Layer], options: dict[str, Any], ctx: Context) -> list[Spec]:
    """Per-layer specs of a data-free scheme (every scheme except LSUV)."""
    fn = REGISTRY[scheme].specs
    if fn is None:
        raise ValueError(f"scheme {scheme!r} is data-dependent; its specs come from running it")
    return fn(layers, options, ctx)
