"""``plan`` and ``init_``: apply a scheme to any model, in forward-execution order.

Chapter: "The schemes at a glance" and "Use it in your model".
"""

from __future__ import annotations

import copy
import math
import re
import textwrap
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from ._layers import NORMALIZATION_LAYERS, Discovery, Layer, find_layers, preserved_rng
from ._lsuv import lsuv_
from ._residual import PROTOCOL_HINT, Residual, find_residual
from ._samplers import fresh_generator, normal_, orthogonal_, uniform_, zero_
from ._schemes import REGISTRY, SCALE_OPTIONS, Context, Spec, layer_specs, options_doc, resolve_options

if TYPE_CHECKING:
    import pandas as pd

FRAME_COLUMNS = (
    "layer",
    "kind",
    "depth",
    "fan_in",
    "fan_out",
    "distribution",
    "alpha",
    "variance",
    "std",
    "bound",
    "gain",
)


class NormalizationCancelsDepthWarning(UserWarning):
    """A depth-dependent scheme (``depth`` with factors alpha_l != 1, ``ds_init``,
    ``fixup``) was applied to a model with normalization layers (BatchNorm*,
    LayerNorm, GroupNorm, InstanceNorm, RMSNorm). Each normalization divides out
    the scale of the layers before it, so the per-layer variances, and the
    network variance V, have no effect on its output (chapter "E8:
    normalization and residuals")."""


@dataclass(frozen=True)
class LayerPlan:
    """The initialization of one weight layer.

    ``std`` is the standard deviation of the weight entries (for LSUV and
    orthogonal, what was applied; 0 for ``distribution == "zero"``); ``bound``
    the uniform half-width sqrt(3) std, NaN for other distributions; ``alpha``
    the depth factor, the layer's variance over its base scheme's (1 without a
    depth schedule, 1/l for ``ds_init``, NaN for LSUV); ``tied`` the other
    modules that share this weight (initialized once, here); ``bias_std`` the
    std of the biases (0: set to zero).
    """

    layer: str
    kind: str
    depth: int
    fan_in: int
    fan_out: int
    distribution: str
    alpha: float
    std: float
    gain: float = float("nan")
    lsuv_iterations: int | None = None
    lsuv_variance_out: float | None = None
    lsuv_converged: bool | None = None
    tied: tuple[str, ...] = ()
    bias_std: float = 0.0

    @property
    def variance(self) -> float:
        return self.std * self.std

    @property
    def bound(self) -> float:
        return math.sqrt(3.0) * self.std if self.distribution == "uniform" else float("nan")


def _short(name: str, width: int) -> str:
    """``name`` in at most ``width`` characters: leading and trailing dotted parts around
    ``...``, as many as fit, the trailing ones first (``...7.self_attn.out_proj``); else a cut."""
    if len(name) <= width:
        return name
    parts = name.split(".")
    for kept in range(len(parts) - 1, 0, -1):
        for tail in range(kept, 0, -1):
            candidate = f"{'.'.join(parts[: kept - tail])}...{'.'.join(parts[-tail:])}"
            if len(candidate) <= width:
                return candidate
    keep = (width - 3) * 2 // 3
    return name[: width - 3 - keep] + "..." + name[-keep:]


def _num(x: float) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return f"{x:.4g}"


def _wrap(text: str) -> list[str]:
    return textwrap.wrap(text, 79, subsequent_indent="  ", break_on_hyphens=False)


def _names(names: list[str], most: int = 8) -> str:
    shown = names if len(names) <= most else names[: most // 2] + ["..."] + names[-(most // 2) :]
    return ", ".join(shown) + (f" ({len(names)} modules)" if len(names) > most else "")


@dataclass(frozen=True)
class InitPlan:
    """What a scheme does to a model, one :class:`LayerPlan` per weight layer in depth order.

    ``order`` is ``"forward"`` (found by running ``example_input``) or
    ``"registration"``; ``unreached`` names the weight modules the forward pass
    never called (left unchanged); ``skipped`` names, with the reason, every
    other module holding parameters that the plan does not set (Embedding,
    normalization layers, unsupported layers, an attention's ``bias_k``/``bias_v``);
    ``gates`` the residual gates it sets, with their value. Biases of the
    planned layers are set to zero by :func:`init_` (drawn N(0, σ_b²) by
    ``critical``), as the paper ignores them.

    ``print(plan)`` shows the per-layer table in 80 columns; ``plan.to_frame()``
    gives every column (needs pandas).
    """

    scheme: str
    options: dict[str, Any]
    layers: tuple[LayerPlan, ...]
    order: str
    unreached: tuple[str, ...] = field(default_factory=tuple)
    skipped: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    gates: tuple[tuple[str, float], ...] = field(default_factory=tuple)

    @property
    def L(self) -> int:
        """Number of weight layers."""
        return len(self.layers)

    @property
    def converged(self) -> bool:
        """False when any LSUV layer stopped at ``max_iter`` (always True for other schemes)."""
        return all(l.lsuv_converged is not False for l in self.layers)

    def to_frame(self) -> pd.DataFrame:
        """One row per weight layer in depth order: ``layer, kind, depth, fan_in, fan_out,
        distribution, alpha, variance, std, bound, gain`` (plus ``tied`` when a weight is
        shared, ``bias_std`` when biases are drawn, and LSUV's iteration columns).
        ``frame.attrs`` holds ``scheme``, ``order``, ``unreached``, ``skipped`` and ``gates``.

        Needs pandas (``pip install depthinit[experiments]``); the rest of the plan does not.
        """
        try:
            import pandas as pd
        except ImportError as exc:
            raise ImportError(
                "InitPlan.to_frame() needs pandas, which the core install of depthinit does not include; "
                "install the extra: pip install depthinit[experiments] (or print(plan) for the table)"
            ) from exc
        rows = []
        tied = any(l.tied for l in self.layers)
        biased = any(l.bias_std for l in self.layers)
        for l in self.layers:
            row = {c: getattr(l, c) for c in FRAME_COLUMNS}
            if tied:
                row["tied"] = ", ".join(l.tied)
            if biased:
                row["bias_std"] = l.bias_std
            if l.lsuv_iterations is not None:
                row.update(
                    lsuv_iterations=l.lsuv_iterations,
                    lsuv_variance_out=l.lsuv_variance_out,
                    lsuv_converged=l.lsuv_converged,
                )
            rows.append(row)
        frame = pd.DataFrame(rows)
        frame.attrs.update(
            scheme=self.scheme,
            order=self.order,
            unreached=list(self.unreached),
            skipped=[list(s) for s in self.skipped],
            gates=[list(g) for g in self.gates],
        )
        return frame

    def __str__(self) -> str:
        opts = ", ".join(f"{k}={v!r}" for k, v in self.options.items()) or "no options"
        lines = _wrap(f"InitPlan {self.scheme!r}, L={self.L}, {self.order} order: {opts}")
        head = f"{'layer':<25} {'depth':>5} {'fan_in':>7} {'fan_out':>7} {'distribution':<12} {'alpha':>8} {'std':>9}"
        lines.append(head)
        rows = [
            f"{_short(l.layer + ('*' if l.tied else ''), 25):<25} {l.depth:>5} {l.fan_in:>7} {l.fan_out:>7} "
            f"{l.distribution:<12} {_num(l.alpha):>8} {_num(l.std):>9}"
            for l in self.layers
        ]
        if len(rows) > 30:
            rows = rows[:12] + [f"{'':<25} ... {len(rows) - 24} more layers ..."] + rows[-12:]
        lines += rows
        tied = [f"{l.layer} = {', '.join(l.tied)}" for l in self.layers if l.tied]
        if tied:
            lines += _wrap("* tied (one weight, initialized once): " + "; ".join(tied))
        if any(l.bias_std for l in self.layers):
            lines += _wrap(f"biases ~ N(0, std^2), std {_num(self.layers[0].bias_std)}")
        if self.gates:
            values = sorted({v for _, v in self.gates})
            gates = _names([n for n, _ in self.gates])
            lines += _wrap(f"residual gates set to {', '.join(map(_num, values))}: {gates}")
        if not self.converged:
            stuck = [l.layer for l in self.layers if l.lsuv_converged is False]
            lines += _wrap("LSUV did not converge on: " + _names(stuck))
        if self.unreached:
            lines += _wrap("unreached (left unchanged): " + _names(list(self.unreached)))
        if self.skipped:
            lines += _wrap("skipped (not initialized, see plan.skipped): " + _names([n for n, _ in self.skipped]))
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (
            f"InitPlan(scheme={self.scheme!r}, L={self.L}, order={self.order!r}, "
            f"unreached={list(self.unreached)}, skipped={len(self.skipped)})"
        )


# ---------------------------------------------------------------- helpers


def _check_generator(generator: Any) -> None:
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(
            f"generator must be a torch.Generator or None, got {type(generator).__name__} {generator!r:.40}; "
            "pass e.g. generator=torch.Generator().manual_seed(42)"
        )


def _copy_generator(generator: torch.Generator | None) -> torch.Generator:
    if generator is None:
        return fresh_generator()
    twin = torch.Generator(device=generator.device)
    twin.set_state(generator.get_state())
    return twin


@dataclass(frozen=True)
class _Prepared:
    options: dict[str, Any]
    found: Discovery
    residual: Residual | None
    gate_value: float | None


def _prepare(model: nn.Module, scheme: str, example_input: Any, options: dict[str, Any], generator: Any) -> _Prepared:
    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    options = resolve_options(scheme, options)
    _check_generator(generator)
    if REGISTRY[scheme].needs_data and example_input is None:
        raise ValueError(
            f"scheme {scheme!r} is data-dependent and needs example_input: pass a representative batch, "
            f"e.g. init_(model, {scheme!r}, example_input=x[:256])"
        )
    found = find_layers(model, example_input)
    residual = find_residual(model)
    zero = scheme == "rezero" or bool(options.get("zero_gate", False))
    if zero and (residual is None or not residual.gates):
        what = "declares no residual structure" if residual is None else f"has no gates ({residual.source})"
        how = "zero_gate=True" if scheme != "rezero" else "scheme 'rezero'"
        raise ValueError(
            f"{how} sets every residual gate to 0, and {type(model).__name__} {what}: build it with gates "
            f"(e.g. ResMLP(..., gate=True) or ResidualBlock(branch, gate=True)), or {PROTOCOL_HINT}"
        )
    gate_value = None if residual is None or not residual.gates else (0.0 if zero else 1.0)
    return _Prepared(options, found, residual, gate_value)


def _touched(prep: _Prepared) -> list[tuple[str, torch.Tensor]]:
    out: list[tuple[str, torch.Tensor]] = []
    for l in prep.found.layers:
        out.append((l.name, l.weight))
        out += [(f"{l.name} (bias)", b) for b in l.biases]
    if prep.gate_value is not None and prep.residual is not None:
        out += list(prep.residual.gates)
    return out


def _check_writable(prep: _Prepared, *, data: bool) -> None:
    """Refuse tensors that cannot be filled: meta (no data) and inference tensors."""
    for name, t in _touched(prep):
        if t.is_meta:
            raise ValueError(
                f"layer {name!r} is on the meta device (it has a shape but no data), so it cannot be "
                + ("run on example_input and " if data else "")
                + "initialized; materialize the model first, e.g. model.to_empty(device='cpu')"
            )
        if t.is_inference() and not torch.is_inference_mode_enabled():
            raise ValueError(
                f"layer {name!r} holds an inference tensor (the model was built or loaded under "
                "torch.inference_mode()), which cannot be changed in place outside inference mode; build the "
                "model outside inference_mode, or replace its parameters with clones "
                "(e.g. load_state_dict({k: v.clone() for k, v in sd.items()}) outside inference mode)"
            )


def _check_range(
    scheme: str, layers: list[Layer], specs: list[Spec], given: dict[str, Any], options: dict[str, Any]
) -> None:
    """ValueError when a std would overflow or underflow the weight's dtype (or, for a depth
    schedule, when the network variance's std factor would)."""
    culprits = [k for k in SCALE_OPTIONS if k in given] or [k for k in SCALE_OPTIONS if options.get(k) is not None]
    named = ", ".join(f"{k}={options[k]!r}" for k in culprits) if culprits else "its default options"

    def fail(what: str, value: float, dtype: torch.dtype, over: bool) -> None:
        fi = torch.finfo(dtype)
        bound = f"largest {fi.max:.3g}" if over else f"smallest normal {fi.tiny:.3g}"
        fix = "smaller" if over else "larger"
        option = culprits[0] if culprits else "option"
        raise ValueError(
            f"scheme {scheme!r} with {named} gives {what} {value:.3g}, which "
            f"{'overflows' if over else 'underflows'} {str(dtype).replace('torch.', '')} ({bound}); "
            f"choose a {fix} {option}"
        )

    for l, s in zip(layers, specs):
        fi = torch.finfo(l.weight.dtype)
        if s.distribution != "zero":
            if not math.isfinite(s.std) or s.std * 10.0 > fi.max:
                fail(f"layer {l.name!r} a weight std of", s.std, l.weight.dtype, True)
            if s.std < fi.tiny:
                fail(f"layer {l.name!r} a weight std of", s.std, l.weight.dtype, False)
        if s.bias_std > 0:
            for b in l.biases:
                fb = torch.finfo(b.dtype)
                if not math.isfinite(s.bias_std) or s.bias_std * 10.0 > fb.max:
                    fail(f"layer {l.name!r} a bias std of", s.bias_std, b.dtype, True)
                if s.bias_std < fb.tiny:
                    fail(f"layer {l.name!r} a bias std of", s.bias_std, b.dtype, False)
    if scheme == "depth" and options["schedule"] != "unit" and layers:
        factor = math.sqrt(options["network_variance"])  # the signal's std grows by sqrt(V) over the network
        dtype = layers[-1].weight.dtype
        fi = torch.finfo(dtype)
        if factor * 10.0 > fi.max or factor < fi.tiny:
            culprits[:0] = ["network_variance"]
            named = f"network_variance={options['network_variance']!r}"
            fail("a signal std factor sqrt(V) through the network of", factor, dtype, factor >= 1.0)


def _skipped(model: nn.Module, prep: _Prepared) -> tuple[tuple[str, str], ...]:
    """Every module with parameters the plan does not set (and that the forward pass reached)."""
    done: set[int] = set()
    for l in prep.found.layers:
        done.add(id(l.param))
        for b in l.biases:
            done.add(id(b))
    for l in prep.found.layers:  # an attention's in_proj_bias is set through its three views
        if l.probe.startswith("mha_in"):
            in_bias = l.module._parameters.get("in_proj_bias")
            if in_bias is not None:
                done.add(id(in_bias))
    if prep.gate_value is not None and prep.residual is not None:
        done.update(id(p) for _, p in prep.residual.gates)
    out = []
    for name, module in model.named_modules():
        if id(module) in prep.found.unreached_modules:
            continue
        left = [n for n, p in module._parameters.items() if p is not None and id(p) not in done]
        if left:
            out.append((name or type(module).__name__, _reason(module, left)))
    return tuple(out)


def _reason(module: nn.Module, params: list[str]) -> str:
    kind = type(module).__name__
    what = f"{kind} ({', '.join(params)})"
    if isinstance(module, NORMALIZATION_LAYERS):
        return f"{what}: normalization affine parameters keep their values (PyTorch builds them at 1 and 0)"
    if isinstance(module, (nn.Embedding, nn.EmbeddingBag)):
        return (
            f"{what}: an embedding is a lookup table, not a fan-in layer; left as built "
            "(initialize it yourself, e.g. nn.init.normal_(module.weight))"
        )
    if isinstance(module, nn.MultiheadAttention):
        return f"{what}: the add_bias_kv vectors are left as built"
    if isinstance(module, (nn.RNNBase, nn.RNNCellBase)):
        return f"{what}: recurrent layers are not supported; left as built (use torch.nn.init on each weight)"
    return f"{what}: depthinit has no rule for this module; left as built"


def _warn_normalization(model: nn.Module, scheme: str, specs: list[Spec]) -> None:
    if not any(math.isfinite(s.alpha) and s.alpha != 1.0 for s in specs):
        return
    norms = [n for n, m in model.named_modules() if isinstance(m, NORMALIZATION_LAYERS)]
    if norms:
        warnings.warn(
            f"scheme {scheme!r} gives the layers depth-dependent variances, but {type(model).__name__} has "
            f"{len(norms)} normalization layer(s) ({_names(norms, 4)}) that divide out the scale of the layers "
            "before them, so those variances (and a network variance V) do not reach its output. Compare without "
            "normalization, or use 'he'/'glorot' (chapter \"E8: normalization and residuals\")",
            NormalizationCancelsDepthWarning,
            stacklevel=3,
        )


def _layer_plans(layers: list[Layer], specs: list[Spec]) -> tuple[LayerPlan, ...]:
    return tuple(
        LayerPlan(
            l.name,
            l.kind,
            l.depth,
            l.fan_in,
            l.fan_out,
            s.distribution,
            s.alpha,
            s.std,
            s.gain,
            tied=l.tied,
            bias_std=s.bias_std,
        )
        for l, s in zip(layers, specs)
    )


def _run_lsuv(
    model: nn.Module, layers: list[Layer], example_input: Any, options: dict[str, Any], generator: torch.Generator
) -> tuple[LayerPlan, ...]:
    results = lsuv_(model, layers, example_input, generator=generator, **options)
    return tuple(
        LayerPlan(
            l.name,
            l.kind,
            l.depth,
            l.fan_in,
            l.fan_out,
            "lsuv",
            float("nan"),
            r.std,
            lsuv_iterations=r.iterations,
            lsuv_variance_out=r.variance_out,
            lsuv_converged=r.converged,
            tied=l.tied,
        )
        for l, r in zip(layers, results)
    )


def _specs(model: nn.Module, scheme: str, prep: _Prepared, given: dict[str, Any]) -> list[Spec]:
    layers = prep.found.layers
    specs = layer_specs(scheme, layers, prep.options, Context(model, prep.residual))
    _check_range(scheme, layers, specs, given, prep.options)
    return specs


def _set_gates(prep: _Prepared) -> tuple[tuple[str, float], ...]:
    if prep.gate_value is None or prep.residual is None:
        return ()
    with torch.no_grad():
        for _, g in prep.residual.gates:
            g.fill_(prep.gate_value)
    return tuple((n, prep.gate_value) for n, _ in prep.residual.gates)


def _gate_record(prep: _Prepared) -> tuple[tuple[str, float], ...]:
    if prep.gate_value is None or prep.residual is None:
        return ()
    return tuple((n, prep.gate_value) for n, _ in prep.residual.gates)


# ---------------------------------------------------------------- public


def plan(
    model: nn.Module,
    scheme: str,
    *,
    generator: torch.Generator | None = None,
    example_input: Any = None,
    **options: Any,
) -> InitPlan:
    """Compute what :func:`init_` would do to ``model``, changing nothing.

    For LSUV the procedure runs on a copy of the model with a copy of
    ``generator`` (its state is not advanced; a fresh OS-seeded generator when
    None), so ``std`` is what that run applied and ``plan(..., generator=g)``
    gives the stds that ``init_(..., generator=g)`` applies, bit for bit under
    the conditions of :func:`init_`. Data-free schemes do not draw, so their plan
    is deterministic. Same errors and warnings as :func:`init_`.

    Chapter: "Use it in your model".

    >>> import torch
    >>> net = torch.nn.Sequential(torch.nn.Linear(8, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    >>> [round(l.std, 3) for l in plan(net, "he").layers]
    [0.5, 0.707]
    """
    prep = _prepare(model, scheme, example_input, options, generator)
    found = prep.found
    if REGISTRY[scheme].needs_data:
        _check_writable(prep, data=True)
        try:
            twin = copy.deepcopy(model)
        except Exception as exc:  # an attribute that cannot be copied: a lock, a file, a C handle
            raise ValueError(
                f"plan(model, {scheme!r}) runs the data-dependent scheme on a deep copy of {type(model).__name__}, "
                f"which cannot be copied ({type(exc).__name__}: {exc}); call init_ on the model itself (it returns "
                "the same plan), or make the model copyable with copy.deepcopy"
            ) from exc
        twin_prep = _prepare(twin, scheme, example_input, options, None)
        _set_gates(twin_prep)
        layers = _run_lsuv(twin, twin_prep.found.layers, example_input, twin_prep.options, _copy_generator(generator))
    else:
        specs = _specs(model, scheme, prep, options)
        _warn_normalization(model, scheme, specs)
        layers = _layer_plans(found.layers, specs)
    return InitPlan(
        scheme, prep.options, layers, found.order, tuple(found.unreached), _skipped(model, prep), _gate_record(prep)
    )


def init_(
    model: nn.Module,
    scheme: str,
    *,
    generator: torch.Generator | None = None,
    example_input: Any = None,
    **options: Any,
) -> InitPlan:
    """Initialize every weight layer of ``model`` in place with ``scheme``; return the plan.

        Weight layers: the ``weight`` of every Linear, Conv1d/2d/3d and
        ConvTranspose1d/2d/3d, and the q, k, v and out projections of every
        MultiheadAttention (fans: :func:`depthinit.fans`). Layers are taken in
        forward-execution order when ``example_input`` is given (a module called
        twice is initialized once; modules the pass never reaches are left alone and
        listed in ``plan.unreached``), otherwise in registration order. A weight
        shared by several modules (tied) is initialized once, at its first use, and
        the plan names the other users (``LayerPlan.tied``). Biases of those layers
        are set to zero (``critical`` draws them N(0, σ_b²)). Residual gates
        (``ResidualBlock.gate`` or a model's ``residual_gates()``) are set to 1, or to
        0 with ``zero_gate=True`` and ``rezero``. Every other module with parameters
        (Embedding, normalization layers, unsupported layers) is left as built and
        listed, with the reason, in ``plan.skipped``.

        Refused with a clear error, the model unchanged: parametrized weights
        (weight_norm, spectral_norm; initialize before applying them), lazy layers,
        complex or non-float weights, meta-device or inference-mode parameters,
        options whose std would overflow or underflow the weight's dtype, a model
        a scheme cannot serve (e.g. ``fixup`` without a residual structure), a
        ``generator`` that is not a ``torch.Generator`` and a scheme that is not a
        known name. Warns (:class:`NormalizationCancelsDepthWarning`) when a
        depth-dependent scheme meets normalization layers.

        Randomness comes only from ``generator`` (a fresh OS-seeded one when None);
        torch's global RNG is left as it was: every ``example_input`` forward pass
        runs with the global CPU (and, if initialized, CUDA) RNG state saved and
        restored, so a forward that draws random numbers does not advance it. The
        same seed gives bit-identical weights for every data-free scheme (on CPU and
        CUDA alike: draws happen on the generator's device). LSUV's weights are
        bit-identical for the same seed, model, example batch, torch version, device
        and ``torch.get_num_threads()`` (its sums over the batch round differently
        with another thread count). On any error the model is left bit-identical.

        Schemes and their options (defaults shown; :func:`depthinit.describe` gives
        each one's formula, valid values and source; chapter "The schemes at a
        glance"):

    {schemes}

        >>> import torch
        >>> net = torch.nn.Sequential(*[torch.nn.Linear(64, 64) for _ in range(10)])
        >>> p = init_(net, "depth", schedule="increasing", network_variance=22.0,
        ...           generator=torch.Generator().manual_seed(0))
        >>> import math
        >>> round(math.prod(l.alpha for l in p.layers[1:]), 6)
        22.0
    """
    prep = _prepare(model, scheme, example_input, options, generator)
    _check_writable(prep, data=example_input is not None)
    found = prep.found
    specs = None if REGISTRY[scheme].needs_data else _specs(model, scheme, prep, options)
    if specs is not None:
        _warn_normalization(model, scheme, specs)
    if generator is None:
        generator = fresh_generator()
    tensors = {id(t): t for t in [*model.parameters(), *model.buffers()]}
    snapshot = [(t, t.detach().clone()) for t in tensors.values()]
    modes = {m: m.training for m in model.modules()}
    try:
        gates = _set_gates(prep)
        if specs is None:
            plans = _run_lsuv(model, found.layers, example_input, prep.options, generator)
        else:
            plans = _layer_plans(found.layers, specs)
            for layer, spec in zip(found.layers, specs):
                w = layer.weight
                if spec.distribution == "zero":
                    zero_(w)
                elif spec.distribution == "orthogonal":
                    orthogonal_(w, spec.gain, generator=generator)
                elif spec.distribution == "uniform":
                    uniform_(w, spec.std, generator=generator)
                else:
                    normal_(w, spec.std, generator=generator)
                for b in layer.biases:
                    if spec.bias_std > 0:
                        normal_(b, spec.bias_std, generator=generator)
                    else:
                        zero_(b)
    except BaseException as exc:
        try:
            with torch.no_grad():
                for t, saved in snapshot:
                    t.copy_(saved)
        except Exception as restore_exc:  # keep the real error visible
            if hasattr(exc, "add_note"):
                exc.add_note(f"depthinit: restoring the model after this error also failed: {restore_exc!r}")
        raise
    finally:
        for m, training in modes.items():
            m.training = training
    return InitPlan(scheme, prep.options, plans, found.order, tuple(found.unreached), _skipped(model, prep), gates)


# The listing goes at the docstring's own indentation (8 spaces), whatever the formatter did to the
# placeholder's line, so that Sphinx reads it as one bullet list.
init_.__doc__ = re.sub(
    r"^[ \t]*\{schemes\}[ \t]*$",
    lambda _: textwrap.indent(options_doc(), " " * 4),
    init_.__doc__ or "",
    flags=re.MULTILINE,
)

__all__ = ["InitPlan", "LayerPlan", "NormalizationCancelsDepthWarning", "init_", "plan", "preserved_rng"]
