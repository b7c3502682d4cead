"""Find a model's weight layers in the order its forward pass first runs them.

Chapter: "Use it in your model".

A *weight layer* is one weight matrix the library initializes: the ``weight`` of
every nn.Linear, nn.Conv1d/2d/3d and nn.ConvTranspose1d/2d/3d, and for every
nn.MultiheadAttention its query, key and value projections, named
``<attention>.q``, ``.k`` and ``.v`` (the three row blocks of ``in_proj_weight``,
or ``q_proj_weight``, ``k_proj_weight`` and ``v_proj_weight`` when
``kdim``/``vdim`` differ from ``embed_dim``; fans those of one projection,
``(kdim or embed_dim, embed_dim)``), followed by ``<attention>.out_proj``.
Two modules that share one Parameter (tied weights) are one layer,
initialized once; the plan names the other users in ``tied``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

import torch
from torch import nn
from torch.nn.utils import parametrize

from ._fans import WEIGHT_LAYERS, fans

#: Layers that normalize their input's scale away (and so cancel a depth schedule).
NORMALIZATION_LAYERS: tuple[type[nn.Module], ...] = tuple(
    t
    for t in (
        nn.modules.batchnorm._NormBase,  # BatchNorm1d/2d/3d, SyncBatchNorm, InstanceNorm1d/2d/3d
        nn.LayerNorm,
        nn.GroupNorm,
        getattr(nn, "RMSNorm", None),
        nn.LocalResponseNorm,
    )
    if t is not None
)


@dataclass(frozen=True, eq=False)
class Layer:
    """One weight layer: its name, module, position (1-based) and fans.

    ``weight`` is the tensor to fill (the module's Parameter, or a view of one: a
    q/k/v block of an attention ``in_proj_weight``); ``biases`` the bias tensors
    set with it (the bias of every module that uses the weight); ``tied`` the
    other modules sharing the weight; ``probe`` how LSUV reads the layer's output.
    """

    name: str
    module: nn.Module
    depth: int
    fan_in: int
    fan_out: int
    weight: torch.Tensor = field(default=None)  # type: ignore[assignment]
    biases: tuple[torch.Tensor, ...] = ()
    kind: str = ""
    tied: tuple[str, ...] = ()
    probe: str = "output"  # "output" | "mha_in:0|1|2" | "mha_out"
    param: torch.Tensor | None = None  # the Parameter ``weight`` lives in

    def __post_init__(self) -> None:
        if self.weight is None:
            object.__setattr__(self, "weight", self.module.weight)
            bias = getattr(self.module, "bias", None)
            if not self.biases and isinstance(bias, torch.Tensor):
                object.__setattr__(self, "biases", (bias,))
        if not self.kind:
            object.__setattr__(self, "kind", type(self.module).__name__)
        if self.param is None:
            object.__setattr__(self, "param", self.weight)

    @property
    def bias(self) -> torch.Tensor | None:
        """The bias of the layer's own module (None without one)."""
        return self.biases[0] if self.biases else None


@dataclass
class _Unit:
    """A candidate weight layer before ordering: where it lives and how it is reached."""

    name: str
    host: nn.Module  # the module whose call marks the layer's place in the forward pass
    module: nn.Module
    param: nn.Parameter
    rows: tuple[int, int] | None  # a row block of ``param`` (attention in_proj) or the whole
    bias: torch.Tensor | None
    bias_param: nn.Parameter | None
    kind: str
    attr: str = "weight"
    probe: str = "output"

    def key(self) -> tuple[int, tuple[int, int] | None]:
        return id(self.param), self.rows


@dataclass(frozen=True)
class Discovery:
    """What :func:`find_layers` found: the ordered layers and the rest of the model."""

    layers: list[Layer]
    unreached: list[str]
    order: str
    unreached_modules: frozenset[int]  # ids of modules never called (their parameters are not "skipped")


@contextlib.contextmanager
def preserved_rng() -> Iterator[None]:
    """Save torch's global RNG state (CPU, and every CUDA device when CUDA is initialized)
    and restore it on exit, so a forward pass that draws random numbers (dropout in
    training mode, noise layers) leaves the global RNG where it was."""
    cpu = torch.get_rng_state()
    cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else None
    try:
        yield
    finally:
        torch.set_rng_state(cpu)
        if cuda is not None:
            torch.cuda.set_rng_state_all(cuda)


def run_model(model: nn.Module, example_input: Any) -> Any:
    """Call ``model`` on ``example_input``: a tensor, a tuple/list of positional
    arguments, or a mapping of keyword arguments. torch's global RNG state is
    saved and restored around the call (:func:`preserved_rng`)."""
    with preserved_rng():
        if isinstance(example_input, Mapping):
            return model(**example_input)
        if isinstance(example_input, (tuple, list)):
            return model(*example_input)
        return model(example_input)


def _describe(example_input: Any) -> str:
    if isinstance(example_input, torch.Tensor):
        return f"a tensor of shape {tuple(example_input.shape)} and dtype {example_input.dtype}"
    return f"a {type(example_input).__name__}"


def forward_failed(model: nn.Module, example_input: Any, exc: Exception) -> ValueError:
    """The error for a forward pass of ``model`` on ``example_input`` that raised ``exc``
    (raise it ``from exc``): every pass the initializer runs reports a failure this way."""
    return ValueError(
        f"running {type(model).__name__} on example_input ({_describe(example_input)}) failed "
        f"with {type(exc).__name__}: {exc}. Pass an input the model accepts (a tensor, a tuple "
        "of arguments or a dict of keyword arguments), on the model's device"
    )


def _display(name: str, module: nn.Module) -> str:
    return name or type(module).__name__


def _refuse_weight(name: str, module: nn.Module, attr: str) -> None:
    """ValueError for weights depthinit cannot initialize correctly; None when the weight is fine."""
    label = _display(name, module)
    kind = type(module).__name__
    if parametrize.is_parametrized(module, attr):
        kinds = ", ".join(type(p).__name__ for p in module.parametrizations[attr])  # type: ignore[index]
        raise ValueError(
            f"module {label!r} ({kind}) has a parametrized {attr} ({kinds}, e.g. from "
            "torch.nn.utils.parametrizations.weight_norm or spectral_norm): the module computes its weight from "
            f"parametrizations.{attr}.original*, so setting it would not give the planned std. Initialize the "
            f"model first and apply the parametrization afterwards, or remove it with "
            f"torch.nn.utils.parametrize.remove_parametrizations(module, {attr!r})"
        )
    params = module._parameters
    if not isinstance(params.get(attr), nn.Parameter):
        if isinstance(params.get(f"{attr}_g"), nn.Parameter) and isinstance(params.get(f"{attr}_v"), nn.Parameter):
            what, fix = "the legacy torch.nn.utils.weight_norm", "torch.nn.utils.remove_weight_norm(module)"
        elif isinstance(params.get(f"{attr}_orig"), nn.Parameter):
            what, fix = "the legacy torch.nn.utils.spectral_norm", "torch.nn.utils.remove_spectral_norm(module)"
        else:
            what, fix = "a hook or a custom reparametrization", "make it a plain nn.Parameter"
        raise ValueError(
            f"module {label!r} ({kind}) computes its {attr} with {what}: {attr} is not a Parameter of the module, "
            "so setting it would not give the planned std. Initialize the model first and apply the "
            f"reparametrization afterwards, or remove it with {fix}"
        )
    p = cast(nn.Parameter, params[attr])
    if isinstance(p, nn.parameter.UninitializedParameter):
        raise ValueError(
            f"module {label!r} ({kind}) is lazy: its {attr} is not materialized yet, so its fans are unknown. "
            "Run one forward pass (model(x)) before initializing, or use the non-lazy layer"
        )
    if p.is_complex():
        raise ValueError(
            f"module {label!r} ({kind}) has a complex {attr} ({p.dtype}); depthinit initializes real weights only. "
            "Initialize complex layers yourself (e.g. real and imaginary parts with half the variance each)"
        )
    if not p.is_floating_point():
        raise ValueError(
            f"module {label!r} ({kind}) has a {p.dtype} {attr}; depthinit initializes floating-point weights only"
        )
    if any(st == 0 and n > 1 for st, n in zip(p.stride(), p.shape)):
        raise ValueError(
            f"module {label!r} ({kind}) has a {attr} whose entries share memory (an expanded view, strides "
            f"{tuple(p.stride())}): filling it would write one value into several entries, so no std could hold. "
            "Make it a tensor of its own, e.g. nn.Parameter(weight.clone())"
        )
    if p.numel() == 0:
        raise ValueError(
            f"module {label!r} ({kind}) has an empty {attr} of shape {tuple(p.shape)} (fan_in and fan_out "
            f"{', '.join(map(str, _fans_of(p)))}): it has no entry to draw and a variance over a fan of 0 is "
            "undefined. Remove the layer, or build it with at least one input and one output feature"
        )


def _fans_of(p: torch.Tensor) -> tuple[int, int]:
    return fans(p) if p.dim() >= 2 else (0, 0)


def _units(model: nn.Module) -> list[_Unit]:
    """Every weight layer candidate in registration order (refusing weights it cannot serve)."""
    consumed: set[int] = set()
    out: list[_Unit] = []
    for name, module in model.named_modules():
        if id(module) in consumed:
            continue
        if isinstance(module, nn.MultiheadAttention):
            out += _attention_units(name, module)
            consumed.add(id(module.out_proj))
        elif isinstance(module, WEIGHT_LAYERS):
            _refuse_weight(name, module, "weight")
            bias = module._parameters.get("bias")
            weight = cast(nn.Parameter, module._parameters["weight"])
            out.append(_Unit(_display(name, module), module, module, weight, None, bias, bias, type(module).__name__))
    return out


def _attention_units(name: str, mha: nn.MultiheadAttention) -> list[_Unit]:
    label = _display(name, mha)
    E = mha.embed_dim
    bias_param = mha._parameters.get("in_proj_bias")
    units = []
    for c, proj in enumerate("qkv"):
        bias = None if bias_param is None else bias_param.detach()[c * E : (c + 1) * E]
        if mha._qkv_same_embed_dim:
            _refuse_weight(name, mha, "in_proj_weight")
            units.append(
                _Unit(
                    f"{label}.{proj}",
                    mha,
                    mha,
                    cast(nn.Parameter, mha._parameters["in_proj_weight"]),
                    (c * E, (c + 1) * E),
                    bias,
                    bias_param,
                    f"MultiheadAttention.{proj}",
                    "in_proj_weight",
                    f"mha_in:{c}",
                )
            )
        else:
            attr = f"{proj}_proj_weight"
            _refuse_weight(name, mha, attr)
            weight = cast(nn.Parameter, mha._parameters[attr])
            units.append(
                _Unit(
                    f"{label}.{proj}",
                    mha,
                    mha,
                    weight,
                    None,
                    bias,
                    bias_param,
                    f"MultiheadAttention.{proj}",
                    attr,
                    f"mha_in:{c}",
                )
            )
    out = mha.out_proj
    _refuse_weight(f"{name}.out_proj" if name else "out_proj", out, "weight")
    ob = out._parameters.get("bias")
    units.append(
        _Unit(
            f"{label}.out_proj",
            mha,
            out,
            cast(nn.Parameter, out._parameters["weight"]),
            None,
            ob,
            ob,
            "MultiheadAttention.out",
            "weight",
            "mha_out",
        )
    )
    return units


def weight_modules(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """Every distinct Linear/Conv/ConvTranspose/MultiheadAttention module of ``model`` in
    registration order (an attention's ``out_proj`` is part of the attention)."""
    _check_model(model)
    names = _host_names(model)
    seen: dict[int, tuple[str, nn.Module]] = {}
    for u in _units(model):
        seen.setdefault(id(u.host), (names[id(u.host)], u.host))
    return list(seen.values())


def _check_model(model: Any) -> None:
    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be a torch.nn.Module, got {type(model).__name__}")


def _host_names(model: nn.Module) -> dict[int, str]:
    return {id(m): _display(n, m) for n, m in model.named_modules()}


def find_layers(model: nn.Module, example_input: Any = None) -> Discovery:
    """The weight layers of ``model`` (see the module doc), ordered, with ties resolved."""
    _check_model(model)
    units = _units(model)
    if not units:
        raise ValueError(
            f"{type(model).__name__} has no weight layer to initialize: no nn.Linear, nn.Conv1d/2d/3d, "
            "nn.ConvTranspose1d/2d/3d or nn.MultiheadAttention; depthinit initializes the weights of those layers only"
        )
    hosts: dict[int, nn.Module] = {}
    for u in units:
        hosts.setdefault(id(u.host), u.host)
    host_names = _host_names(model)
    if example_input is None:
        ordered = units
        called: set[int] = set(hosts)
        order = "registration"
    else:
        calls: list[int] = []

        def hook(module: nn.Module, args: Any) -> None:
            if id(module) not in calls:
                calls.append(id(module))

        handles = [h.register_forward_pre_hook(hook) for h in hosts.values()]
        modes = {m: m.training for m in model.modules()}
        try:
            model.eval()
            with torch.no_grad():
                run_model(model, example_input)
        except Exception as exc:
            raise forward_failed(model, example_input, exc) from exc
        finally:
            for handle in handles:
                handle.remove()
            for m, training in modes.items():
                m.training = training
        rank = {h: i for i, h in enumerate(calls)}
        ordered = sorted((u for u in units if id(u.host) in rank), key=lambda u: rank[id(u.host)])
        called = set(calls)
        order = "forward"
        if not ordered:
            raise ValueError(
                f"the forward pass of {type(model).__name__} on example_input reached none of its weight layers "
                f"({', '.join(host_names[h] for h in hosts)}); check the input"
            )
    # Ties: one layer per weight tensor (or row block), the first in order; the other users are named.
    primary: dict[tuple, _Unit] = {}
    biases: dict[tuple, list[torch.Tensor]] = {}
    for u in ordered:
        primary.setdefault(u.key(), u)
    for u in ordered + [u for u in units if id(u.host) not in called]:
        if u.key() in primary and u.bias is not None and all(u.bias is not b for b in biases.get(u.key(), [])):
            biases.setdefault(u.key(), []).append(u.bias)
    names = {id(m): n for n, m in model.named_modules()}
    users: dict[int, list[str]] = {}
    for n, p in model.named_parameters(remove_duplicate=False):
        users.setdefault(id(p), []).append(n)
    layers = []
    for depth, u in enumerate(primary.values(), start=1):
        if u.rows is None:
            w: torch.Tensor = u.param
            own = f"{names[id(u.module)]}.{u.attr}".lstrip(".")
            tied = tuple(dict.fromkeys(n.removesuffix(".weight") for n in users.get(id(u.param), []) if n != own))
        else:
            w = u.param.detach()[u.rows[0] : u.rows[1]]
            tied = ()
        fan_in, fan_out = fans(w)
        layers.append(
            Layer(
                u.name,
                u.module,
                depth,
                fan_in,
                fan_out,
                weight=w,
                biases=tuple(biases.get(u.key(), [])),
                kind=u.kind,
                tied=tied,
                probe=u.probe,
                param=u.param,
            )
        )
    planned_keys = set(primary)
    unreached_hosts = [h for h in hosts if h not in called]
    unreached = []
    for h in unreached_hosts:
        mine = [u for u in units if id(u.host) == h]
        if any(u.key() not in planned_keys for u in mine):
            unreached.append(host_names[h])
    unreached_modules = frozenset(
        id(m) for u in units if id(u.host) in set(unreached_hosts) for m in (u.host, u.module)
    )
    return Discovery(layers, unreached, order, unreached_modules)


def discover(model: nn.Module, example_input: Any = None) -> tuple[list[Layer], list[str], str]:
    """Return ``(layers, unreached, order)``.

    With ``example_input`` the layers are ordered by their first call in one
    forward pass (run under ``torch.no_grad()`` in eval mode, the model's mode
    and torch's global RNG state restored afterwards); a module called twice
    appears once, a weight shared by several modules appears once (its other
    users in ``Layer.tied``), and modules the pass never reaches are returned by
    name in ``unreached``. Without it the order is registration order and
    ``order == "registration"``. An attention module's q, k, v and out
    projections come in that order where the attention is first called.

    Refused with a ValueError naming the module: parametrized weights
    (``torch.nn.utils.parametrizations.weight_norm``/``spectral_norm``, the
    legacy ``weight_norm``/``spectral_norm``), lazy (unmaterialized) layers,
    complex and non-floating-point weights.
    """
    found = find_layers(model, example_input)
    return found.layers, found.unreached, found.order
