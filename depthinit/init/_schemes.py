"""The initialization schemes: each turns a list of layers into per-layer specs.

Chapter: "The schemes at a glance". Formulas (n = fan-in unless said otherwise):

* ``glorot`` (Glorot & Bengio 2010): Var = gain^2 * 2 / (fan_in + fan_out).
* ``he`` (He et al. 2015): Var = gain^2 / fan, fan = fan_in or fan_out (``mode``),
  gain = sqrt(2) for ReLU.
* ``lecun`` (LeCun et al. 1998): Var = gain^2 / fan_in.
* ``orthogonal`` (Saxe et al. 2013): Haar orthogonal times gain (sqrt(2) for ReLU).
* ``random_walk`` (Sussillo & Abbott 2014): std = g / sqrt(N), N = fan_in,
  g = sqrt(2) exp(1.2 / (max(N, 6) - 2.4)) for ReLU, exp(1 / (2N)) for linear.
* ``depth`` (the paper): Var_l = alpha_l * Var_base,l with alpha from :func:`alphas`.
* ``lsuv`` (Mishkin & Matas 2015): see :mod:`depthinit.init._lsuv`.

Uniform draws use bound = sqrt(3) * std, so both distributions share a variance.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from ._layers import Layer
from ._samplers import orthogonal_std
from ._schedules import DEPTH_FNS, SCHEDULES, _check_choice, _check_positive_finite, alphas

DISTRIBUTIONS = ("normal", "uniform")
MODES = ("fan_in", "fan_out")
NONLINEARITIES = ("relu", "linear", "tanh", "sigmoid", "leaky_relu", "selu")


@dataclass(frozen=True)
class Spec:
    """What one layer gets: a distribution, its std and the depth factor alpha."""

    distribution: str  # "normal" | "uniform" | "orthogonal" | "lsuv"
    std: float
    alpha: float = 1.0
    gain: float = float("nan")


@dataclass(frozen=True)
class Option:
    default: Any
    check: Callable[[str, Any], Any]


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


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name}={value!r} is not valid; expected an integer >= 1")
    return value


def _depth_fn(name: str, value: Any) -> Any:
    if not callable(value):
        _check_choice(name, value, DEPTH_FNS)
    return value


def _gain(nonlinearity: str, gain: float | None) -> float:
    if gain is not None:
        return gain
    if nonlinearity == "leaky_relu":
        return torch.nn.init.calculate_gain("leaky_relu", 0.01)
    return torch.nn.init.calculate_gain(nonlinearity)


def _base_variance(layer: Layer, base: str, mode: str, gain: float) -> float:
    if base == "glorot":
        return gain**2 * 2.0 / (layer.fan_in + layer.fan_out)
    if base == "lecun":
        return gain**2 / layer.fan_in
    return gain**2 / (layer.fan_in if mode == "fan_in" else layer.fan_out)


def _glorot(layers: list[Layer], o: dict[str, Any]) -> list[Spec]:
    g = 1.0 if o["gain"] is None else o["gain"]
    return [Spec(o["distribution"], math.sqrt(_base_variance(l, "glorot", "", g)), gain=g) for l in layers]


def _he(layers: list[Layer], o: dict[str, Any]) -> list[Spec]:
    g = _gain(o["nonlinearity"], o["gain"])
    return [Spec(o["distribution"], math.sqrt(_base_variance(l, "he", o["mode"], g)), gain=g) for l in layers]


def _lecun(layers: list[Layer], o: dict[str, Any]) -> list[Spec]:
    g = 1.0 if o["gain"] is None else o["gain"]
    return [Spec(o["distribution"], math.sqrt(_base_variance(l, "lecun", "", g)), gain=g) for l in layers]


def _orthogonal(layers: list[Layer], o: dict[str, Any]) -> list[Spec]:
    g = _gain(o["nonlinearity"], o["gain"])
    return [Spec("orthogonal", orthogonal_std(l.module.weight.shape, g), gain=g) for l in layers]


def random_walk_gain(n: int, nonlinearity: str = "relu") -> float:
    """Sussillo & Abbott's g: sqrt(2) exp(1.2 / (max(N, 6) - 2.4)) for ReLU, exp(1/(2N)) for linear."""
    if nonlinearity == "relu":
        return math.sqrt(2.0) * math.exp(1.2 / (max(n, 6) - 2.4))
    return math.exp(1.0 / (2.0 * n))


def _random_walk(layers: list[Layer], o: dict[str, Any]) -> list[Spec]:
    out = []
    for l in layers:
        g = random_walk_gain(l.fan_in, o["nonlinearity"])
        out.append(Spec(o["distribution"], g / math.sqrt(l.fan_in), gain=g))
    return out


def _depth(layers: list[Layer], o: dict[str, Any]) -> list[Spec]:
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
    if o["base"] == "he":
        g = _gain(o["nonlinearity"], o["gain"])
    else:
        g = 1.0 if o["gain"] is None else o["gain"]
    return [
        Spec(o["distribution"], math.sqrt(float(al) * _base_variance(l, o["base"], o["mode"], g)), float(al), g)
        for l, al in zip(layers, a)
    ]


_COMMON_DIST = {"distribution": Option("normal", _choice(DISTRIBUTIONS))}
_GAIN = {"gain": Option(None, _optional_positive)}

#: name -> (options with defaults, spec function). LSUV's specs come from running it.
REGISTRY: dict[str, tuple[dict[str, Option], Callable[[list[Layer], dict[str, Any]], list[Spec]] | None]] = {
    "glorot": ({**_COMMON_DIST, **_GAIN}, _glorot),
    "he": (
        {
            **_COMMON_DIST,
            "mode": Option("fan_in", _choice(MODES)),
            "nonlinearity": Option("relu", _choice(NONLINEARITIES)),
            **_GAIN,
        },
        _he,
    ),
    "lecun": ({**_COMMON_DIST, **_GAIN}, _lecun),
    "orthogonal": ({"nonlinearity": Option("relu", _choice(NONLINEARITIES)), **_GAIN}, _orthogonal),
    "random_walk": (
        {**_COMMON_DIST, "nonlinearity": Option("relu", _choice(("relu", "linear")))},
        _random_walk,
    ),
    "lsuv": (
        {
            "tol": Option(0.02, _positive),
            "max_iter": Option(20, _positive_int),
        },
        None,
    ),
    "depth": (
        {
            **_COMMON_DIST,
            "base": Option("he", _choice(("he", "glorot"))),
            "schedule": Option("increasing", _choice(SCHEDULES)),
            "network_variance": Option(22.0, _positive),
            "depth_fn": Option("log", _depth_fn),
            "offset": Option(0.0, _nonnegative),
            "shape": Option(None, _optional_positive),
            "mode": Option("fan_in", _choice(MODES)),
            "nonlinearity": Option("relu", _choice(NONLINEARITIES)),
            **_GAIN,
        },
        _depth,
    ),
}


def schemes() -> list[str]:
    """Names of every scheme :func:`depthinit.init_` accepts."""
    return list(REGISTRY)


def resolve_options(scheme: str, options: dict[str, Any]) -> dict[str, Any]:
    """Validate ``options`` for ``scheme`` and fill in the defaults."""
    if scheme not in REGISTRY:
        raise ValueError(f"scheme={scheme!r} is not known; expected one of {', '.join(map(repr, REGISTRY))}")
    spec, _ = REGISTRY[scheme]
    unknown = sorted(set(options) - set(spec))
    if unknown:
        raise ValueError(
            f"option(s) {', '.join(map(repr, unknown))} do not apply to scheme {scheme!r}; "
            f"valid options are {', '.join(map(repr, spec)) or 'none'}"
        )
    resolved = {}
    for name, opt in spec.items():
        value = options.get(name, opt.default)
        resolved[name] = value if (name not in options and value is None) else opt.check(name, value)
    return resolved


def layer_specs(scheme: str, layers: list[Layer], options: dict[str, Any]) -> list[Spec]:
    """Per-layer specs of a data-free scheme (every scheme except LSUV)."""
    fn = REGISTRY[scheme][1]
    assert fn is not None, "LSUV specs come from running it"
    return fn(layers, options)
