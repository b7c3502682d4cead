"""K models of one architecture held as one vectorised model.

Chapter: "Reproducibility" (how the sweeps train many configurations at once).

Every parameter of the K members lives in one flat leaf tensor, laid out layer
by layer: the block of parameter ``p`` is ``[K, *p.shape]`` and contiguous, so
member k's ``layers.0.weight`` is ``block[k]`` and the K first-layer weights
seen as one ``[K * out, in]`` matrix cost no copy. Buffers (batch-norm running
statistics and counters) are stacked the same way, ``[K, *b.shape]``. Then

* ``"bmm"``: the plain MLP's first layer on a batch shared by several members is
  one GEMM ``x @ [W_1; ...; W_K]^T``, the hidden layers are batched matrix
  multiplies ``h_k <- act(h_k W_k^T + b_k)`` (``torch.baddbmm``), forward and a
  hand-written backward fused in one autograd node;
* ``"grouped"``: the plain CNN as grouped convolutions (``groups=K`` on
  channel-stacked activations ``[B, K * C, H, W]``; batch norm over K * C channels
  is per-member batch norm);
* ``"func"``: any model built from standard modules, with ``torch.func``:
  ``vmap`` over the members of ``functional_call(model, (params_k, buffers_k), x_k)``
  on views into the flat tensor; batch norm computes each member's own batch
  statistics and updates that member's running statistics in place;
* ``"loop"``: a Python loop over members (hand-written for the plain MLP and CNN,
  ``functional_call`` per member for any other model);
* an optimizer is a handful of elementwise operations on the flat tensor.

Members never mix: every operation is block-diagonal over k, so a member whose
numbers overflow cannot touch the others.
"""

from __future__ import annotations

import contextlib
import copy
import math
import re
from collections.abc import Sequence
from typing import Any, Literal, cast

import torch
import torch.nn.functional as F
from torch import nn

from ..models import CNN, MLP

Strategy = Literal["auto", "bmm", "grouped", "func", "loop"]
STRATEGIES: tuple[str, ...] = ("auto", "bmm", "grouped", "func", "loop")
#: The strategies each kind of stack can run (``"module"``: any other model).
KIND_STRATEGIES: dict[str, tuple[str, ...]] = {
    "mlp": ("bmm", "func", "loop"),
    "cnn": ("grouped", "func", "loop"),
    "module": ("func", "loop"),
}
_ACTIVATIONS = ("relu", "tanh", "sigmoid", "leaky_relu", "linear")


def _activation(name: str):
    if name == "relu":
        return torch.relu
    if name == "tanh":
        return torch.tanh
    if name == "sigmoid":
        return torch.sigmoid
    if name == "leaky_relu":
        return lambda x: F.leaky_relu(x, 0.01)
    if name == "linear":
        return lambda x: x
    raise ValueError(f"activation={name!r} is not supported by the vectorised trainer")


def _names_match(model: nn.Module, patterns: Sequence[str]) -> bool:
    """Every parameter and buffer name of ``model`` matches one of the regular expressions."""
    rx = re.compile("|".join(f"(?:{p})" for p in patterns))
    names = [n for n, _ in model.named_parameters()] + [n for n, _ in model.named_buffers()]
    return all(rx.fullmatch(n) for n in names)


def stack_kind(model: nn.Module) -> str:
    """``"mlp"`` for a plain :class:`depthinit.models.MLP` (Linear layers and an activation
    only), ``"cnn"`` for a :class:`depthinit.models.CNN` of the layout the hand-written
    paths know, ``"module"`` for anything else (trained with ``torch.func``)."""
    if type(model) is MLP and not getattr(model, "batch_norm", False) and model.activation in _ACTIVATIONS:
        mods = [m for m in model.modules() if m is not model]
        plain = all(isinstance(m, (nn.ModuleList, nn.Linear)) or m is model.act for m in mods)
        if plain and len(model.layers) == model.depth and _names_match(model, [r"layers\.\d+\.(weight|bias)"]):
            return "mlp"
    if type(model) is CNN and model.activation in _ACTIVATIONS:
        ok = all(
            isinstance(m, (nn.ModuleList, nn.Conv2d, nn.BatchNorm2d, nn.Linear)) or m is model.act
            for m in model.modules()
            if m is not model
        )
        convs_ok = all(c.kernel_size == model.convs[0].kernel_size and c.groups == 1 for c in model.convs)
        bn_ok = model.norms is None or all(
            n.affine and n.track_running_stats and n.momentum is not None for n in model.norms
        )
        if (
            ok
            and convs_ok
            and bn_ok
            and _names_match(
                model,
                [
                    r"convs\.\d+\.(weight|bias)",
                    r"norms\.\d+\.(weight|bias|running_mean|running_var|num_batches_tracked)",
                    r"classifier\.(weight|bias)",
                ],
            )
        ):
            return "cnn"
    return "module"


def default_strategy(model: nn.Module, device: torch.device | str, members: int = 1) -> str:
    """The strategy ``"auto"`` picks for ``members`` copies of ``model`` on ``device``.

    * plain MLP: ``"bmm"`` (the fused path) everywhere;
    * plain CNN on CUDA: ``"func"`` with 8 or more members, else ``"loop"``; on
      other devices ``"loop"``;
    * any other model: ``"func"`` with 4 or more members, else ``"loop"``.

    Measured (chapter "Reproducibility"; ``depthinit.bench.measure_strategies``
    re-measures it on any machine): on an H200 the CNN at K = 16 took 1.00 ms per
    model-step with torch.func against 2.58 with grouped convolutions and 3.40 with
    the loop (K = 80: 0.97, 4.20, 3.21), the loop won at K = 1; on a 2-core CPU (one
    thread) the loop of plain convolutions beat grouped convolutions and torch.func
    (K = 4: 0.69 s per model-step against 1.13 and 1.58), and for a residual MLP with
    batch norm (8 blocks of 64) torch.func beat the loop from K = 4 (9.2 against 11.4
    ms per model-step; K = 16: 9.9 against 43) while the loop won at K = 1 (10 against 14).
    """
    device = torch.device(device)
    kind = stack_kind(model)
    if kind == "mlp":
        return "bmm"
    if kind == "cnn":
        return "func" if device.type == "cuda" and members >= 8 else "loop"
    return "func" if members >= 4 else "loop"


def _scalar(v: Any) -> bool:
    return v is None or isinstance(v, (bool, int, float, str))


def _describe_value(v: Any) -> Any:
    if _scalar(v):
        return v
    if isinstance(v, (tuple, list)) and all(_scalar(x) for x in v):
        return tuple(v)
    return None


def architecture(model: nn.Module) -> tuple:
    """A hashable description of everything but the values of the parameters and buffers:
    for every module (in registration order) its path, class, ``extra_repr()`` and its
    plain public attributes (numbers, strings, booleans, tuples of them: an MLP's depth,
    width and activation, a gate's value), then every parameter's and buffer's name,
    shape and dtype. Two models with equal descriptions compute the same function of
    (parameters, buffers, input), so they can train in one stack."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"architecture() needs a torch.nn.Module, got {type(model).__name__}")
    mods = []
    for name, m in model.named_modules():
        attrs = tuple(
            sorted(
                (k, d)
                for k, v in vars(m).items()
                if not k.startswith("_") and k != "training" and (d := _describe_value(v)) is not None
            )
        )
        mods.append((name, f"{type(m).__module__}.{type(m).__qualname__}", m.extra_repr(), attrs))
    params = tuple((n, tuple(p.shape), str(p.dtype).removeprefix("torch.")) for n, p in model.named_parameters())
    buffers = tuple((n, tuple(b.shape), str(b.dtype).removeprefix("torch.")) for n, b in model.named_buffers())
    return (tuple(mods), params, buffers)


class Stack:
    """K models of the same architecture as one flat parameter tensor (see module doc).

    ``members`` are left untouched until :meth:`write_back`. ``strategy`` is one of
    ``KIND_STRATEGIES`` for the models' kind (:func:`stack_kind`), or ``"auto"``
    (:func:`default_strategy`). ``example`` (one input batch ``[B, ...]``) orders the
    weight layers by their first call when the model has no ``weight_layers()``.
    """

    def __init__(
        self,
        members: Sequence[nn.Module],
        *,
        device: torch.device | str = "cpu",
        dtype: torch.dtype = torch.float32,
        strategy: Strategy = "auto",
        example: torch.Tensor | None = None,
    ) -> None:
        if not members:
            raise ValueError("a Stack needs at least one model")
        arch = architecture(members[0])
        for i, m in enumerate(members[1:], 1):
            if architecture(m) != arch:
                raise ValueError(
                    f"member {i} ({type(m).__name__}) differs in architecture from member 0; "
                    "a stack trains K copies of one architecture: pass models built the same way, or train "
                    "the others in a separate call"
                )
        self.device = torch.device(device)
        self.dtype = dtype
        template = members[0]
        self.kind = stack_kind(template)
        if strategy == "auto":
            strategy = cast(Strategy, default_strategy(template, self.device, len(members)))
        if strategy not in STRATEGIES[1:]:
            raise ValueError(f"strategy={strategy!r} is not valid; expected one of {', '.join(map(repr, STRATEGIES))}")
        allowed = KIND_STRATEGIES[self.kind]
        if strategy not in allowed:
            what = {"mlp": "a plain MLP", "cnn": "a plain CNN", "module": f"a {type(template).__name__}"}[self.kind]
            raise ValueError(f"strategy={strategy!r} cannot train {what}; use one of {', '.join(map(repr, allowed))}")
        self.strategy = strategy
        self.K = len(members)
        self.names = [n for n, _ in template.named_parameters()]
        self.shapes = [tuple(p.shape) for _, p in template.named_parameters()]
        self.numels = [self.K * math.prod(s) for s in self.shapes]
        with torch.no_grad():
            blocks = [
                torch.stack([dict(m.named_parameters())[n].detach() for m in members]).reshape(-1) for n in self.names
            ]
            self.flat = torch.cat(blocks).to(device=self.device, dtype=dtype).requires_grad_(True)
        self.buffers: dict[str, torch.Tensor] = {}
        for n, b in template.named_buffers():
            stacked = torch.stack([dict(m.named_buffers())[n].detach() for m in members])
            to = dict(device=self.device, dtype=dtype) if b.is_floating_point() else dict(device=self.device)
            self.buffers[n] = stacked.to(**to).contiguous()
        # depth order of the weight layers, as depthinit.init_ numbers them
        if hasattr(template, "weight_layers"):
            layers = [(name, module) for name, module in cast(Any, template).weight_layers()]
        else:
            from ..init import discover

            first = next(iter(template.parameters()), None)
            if example is not None and first is not None:
                example = example[:1].to(device=first.device, dtype=first.dtype)
            found, _, _ = discover(template, example)
            layers = [(l.name, l.module) for l in found]
        self.weight_layers: list[tuple[str, int, str]] = [
            (f"{name}.weight", depth, type(module).__name__) for depth, (name, module) in enumerate(layers, 1)
        ]
        self._weight_module_names = [name for name, _ in layers]
        self._template: nn.Module | None = None
        if self.kind == "mlp":
            mlp = cast(MLP, template)
            self.n_layers: int = mlp.depth
            self.act = _activation(mlp.activation)
            self.activation = mlp.activation
        elif self.kind == "cnn":
            cnn = cast(CNN, template)
            self.act = _activation(cnn.activation)
            self.activation = cnn.activation
            conv = cast(nn.Conv2d, cnn.convs[0])
            self.conv_args = dict(stride=conv.stride, padding=conv.padding, dilation=conv.dilation)
            self.n_convs: int = cnn.depth
            self.pool_every = cnn.pool_every
            self.batch_norm = cnn.batch_norm
            if cnn.norms is not None:
                bn = cast(nn.BatchNorm2d, cnn.norms[0])
                self.bn_momentum, self.bn_eps = bn.momentum, bn.eps
        self._has_conv = any(isinstance(m, nn.modules.conv._ConvNd) for m in template.modules())
        if self.strategy == "func" or self.kind == "module":
            # a private copy runs functional_call: the members' modules are never touched
            self._template = copy.deepcopy(template).to(device=self.device, dtype=dtype)
            for p in self._template.parameters():
                p.requires_grad_(False)
            self._vmapped: dict[Any, Any] = {}

    def numerics(self):
        """A context for every forward and backward of this stack.

        Grouped convolutions on CUDA run with cuDNN's TF32 off: measured on an H200
        (chapter "Reproducibility"), a TF32 grouped convolution lets one member's
        overflow turn the other members' outputs and gradients into NaN, which fp32
        does not. ``vmap`` runs a convolution over members as a grouped convolution,
        so the ``"func"`` strategy of a model with convolutions does the same. The
        setting is restored on exit; nothing changes for other paths.
        """
        if self.device.type == "cuda" and (self.strategy == "grouped" or (self.strategy == "func" and self._has_conv)):
            b = torch.backends.cudnn
            return b.flags(enabled=b.enabled, benchmark=b.benchmark, deterministic=b.deterministic, allow_tf32=False)
        return contextlib.nullcontext()

    # -- parameters -----------------------------------------------------------------
    def params(self, flat: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Views ``[K, *shape]`` into ``flat`` (default: the trained leaf) by parameter name."""
        flat = self.flat if flat is None else flat
        return {n: v.view(self.K, *s) for n, s, v in zip(self.names, self.shapes, flat.split(self.numels))}

    def grad_buffer(self, like: torch.Tensor) -> torch.Tensor:
        """A reusable flat gradient buffer (one allocation per stack shape, not per step).

        The fused MLP backward writes every block of it; the gradient it returns is
        valid until the next backward of this stack."""
        buf = getattr(self, "_grad", None)
        if buf is None or buf.shape != like.shape or buf.dtype != like.dtype or buf.device != like.device:
            buf = torch.empty_like(like)
            self._grad = buf
        return buf

    def member_vector(self, values: torch.Tensor) -> torch.Tensor:
        """Expand one number per member ``[K]`` (or per parameter and member ``[P, K]``, P the
        parameter tensors in ``names`` order) to one per flat entry ``[T]`` (per-member,
        per-parameter learning rates)."""
        values = values.to(device=self.device, dtype=self.dtype)
        if values.dim() == 1:
            values = values.expand(len(self.names), -1)
        return torch.cat([v.repeat_interleave(n // self.K) for v, n in zip(values, self.numels)])

    def select(self, keep: torch.Tensor, *tensors: torch.Tensor) -> list[torch.Tensor]:
        """Keep members ``keep`` (indices) of flat tensors laid out like the parameters."""
        out = []
        for t in tensors:
            parts = [b.view(self.K, -1).index_select(0, keep).reshape(-1) for b in t.split(self.numels)]
            out.append(torch.cat(parts))
        return out

    def compact(self, keep: Sequence[int], *state: torch.Tensor) -> list[torch.Tensor]:
        """Drop every member not in ``keep`` from the stack (and from ``state`` tensors laid
        out like the flat parameters); return the compacted ``state``."""
        idx = torch.as_tensor(list(keep), dtype=torch.long, device=self.device)
        with torch.no_grad():
            new_flat, *new_state = self.select(idx, self.flat.detach(), *state)
            for n in self.buffers:
                self.buffers[n] = self.buffers[n].index_select(0, idx).contiguous()
        self.K = len(keep)
        self.numels = [self.K * math.prod(s) for s in self.shapes]
        self.flat = new_flat.requires_grad_(True)
        return new_state

    def write_back(self, members: Sequence[nn.Module], positions: Sequence[int] | None = None) -> None:
        """Copy member ``positions[i]`` of the stack into ``members[i]`` (parameters and buffers)."""
        positions = range(self.K) if positions is None else positions
        views = self.params(self.flat.detach())
        with torch.no_grad():
            for m, k in zip(members, positions):
                named = dict(m.named_parameters())
                for n, v in views.items():
                    named[n].copy_(v[k])
                bufs = dict(m.named_buffers())
                for n, b in self.buffers.items():
                    bufs[n].copy_(b[k])

    def member_buffers(self) -> dict[str, torch.Tensor]:
        """The stacked buffers ``[K, *shape]`` by name (updated in place by training)."""
        return self.buffers

    # -- forward --------------------------------------------------------------------
    def forward(
        self,
        x: torch.Tensor,
        sizes: Sequence[int],
        *,
        training: bool = True,
        flat: torch.Tensor | None = None,
        capture: list[torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """Logits ``[K, B, classes]`` for inputs ``x`` of shape ``[G, B, *input]``.

        Input group g feeds the next ``sizes[g]`` members (members are ordered by
        group; ``sum(sizes) == K``). With ``capture`` a list, each weight layer's
        output (the pre-activation) is appended to it in depth order, shaped
        ``[K, ...]`` per member.
        """
        if sum(sizes) != self.K or len(sizes) != x.shape[0]:
            raise ValueError(f"group sizes {tuple(sizes)} do not split K={self.K} members over {x.shape[0]} inputs")
        if self.kind == "mlp" and self.strategy == "bmm" and capture is None:
            return _FusedMLP.apply(self.flat if flat is None else flat, x, self, tuple(sizes))
        p = self.params(flat)
        if self._template is not None:
            if self.strategy == "func" and capture is None:
                return self._func(p, x, sizes, training)
            return self._module_loop(p, x, sizes, training, capture)
        if self.kind == "mlp":
            if self.strategy == "loop":
                return self._mlp_loop(p, x, sizes, capture)
            return self._mlp_bmm(p, x, sizes, capture)
        if self.strategy == "loop":
            return self._cnn_loop(p, x, sizes, training, capture)
        return self._cnn_grouped(p, x, sizes, training, capture)

    def _func(self, p, x, sizes, training):
        """``vmap`` over members of ``functional_call`` on the private template."""
        from torch.func import functional_call, vmap

        G = x.shape[0]
        if G == 1:
            xin, xdim = x[0], None
        elif G == self.K:
            xin, xdim = x, 0
        else:
            gidx = torch.tensor(self._member_groups(sizes), device=x.device)
            xin, xdim = x.index_select(0, gidx), 0
        template = self._template
        template.train(training)
        fn = self._vmapped.get(xdim)
        if fn is None:

            def one(params, buffers, xk):
                return functional_call(template, (params, buffers), (xk,))

            fn = self._vmapped[xdim] = vmap(one, in_dims=(0, 0, xdim))
        return fn(p, self.buffers, xin)

    def _module_loop(self, p, x, sizes, training, capture):
        """One ``functional_call`` per member (buffers are views of the stacked ones, so
        batch norm's running statistics update in place); with ``capture``, each weight
        layer's output at its first call, through forward hooks."""
        from torch.func import functional_call

        template = self._template
        template.train(training)
        outs: list[torch.Tensor] = []
        caps: list[list[torch.Tensor]] = []
        acts: dict[int, torch.Tensor] = {}
        handles = []
        if capture is not None:

            def keep(i: int):
                def hook(mod: nn.Module, args: Any, out: torch.Tensor) -> None:
                    acts.setdefault(i, out)

                return hook

            handles = [
                template.get_submodule(n).register_forward_hook(keep(i))
                for i, n in enumerate(self._weight_module_names)
            ]
        try:
            for k, g in enumerate(self._member_groups(sizes)):
                acts.clear()
                outs.append(
                    functional_call(
                        template, ({n: v[k] for n, v in p.items()}, {n: b[k] for n, b in self.buffers.items()}), (x[g],)
                    )
                )
                if capture is not None:
                    missing = [n for i, n in enumerate(self._weight_module_names) if i not in acts]
                    if missing:
                        raise ValueError(
                            f"the forward pass never reached weight layer(s) {missing}; "
                            "probes need every weight layer to run"
                        )
                    caps.append([acts[i] for i in range(len(self._weight_module_names))])
        finally:
            for h in handles:
                h.remove()
        if capture is not None:
            capture.extend(torch.stack(layer) for layer in zip(*caps))
        return torch.stack(outs)

    def _slices(self, sizes: Sequence[int]) -> list[slice]:
        out, start = [], 0
        for s in sizes:
            out.append(slice(start, start + s))
            start += s
        return out

    def _mlp_bmm(self, p, x, sizes, capture):
        # Column layout: Z_l = W_l H_{l-1} + b_l with H as [K, features, B], so that every
        # weight gradient dZ_l H_{l-1}^T comes out contiguous in nn.Linear's [out, in] layout.
        G, B = x.shape[0], x.shape[1]
        x = x.reshape(G, B, -1)
        w, b = p["layers.0.weight"], p.get("layers.0.bias")
        out = w.shape[1]
        ws = [w] if G == 1 else w.split(list(sizes), 0)
        bs = [b] if G == 1 or b is None else b.split(list(sizes), 0)
        parts = []
        for g, kg in enumerate(sizes):
            wg = ws[g].reshape(kg * out, -1)
            zg = torch.addmm(bs[g].reshape(-1, 1), wg, x[g].t()) if b is not None else wg @ x[g].t()
            parts.append(zg.view(kg, out, B))
        z = parts[0] if G == 1 else torch.cat(parts, 0)
        for i in range(1, self.n_layers):
            if capture is not None:
                capture.append(z.transpose(1, 2))
            h = self.act(z)
            w, b = p[f"layers.{i}.weight"], p.get(f"layers.{i}.bias")
            z = torch.baddbmm(b.unsqueeze(2), w, h) if b is not None else torch.bmm(w, h)
        z = z.transpose(1, 2)
        if capture is not None:
            capture.append(z)
        return z

    def _member_groups(self, sizes):
        return [g for g, s in enumerate(sizes) for _ in range(s)]

    def _mlp_loop(self, p, x, sizes, capture):
        G, B = x.shape[0], x.shape[1]
        x = x.reshape(G, B, -1)
        outs, caps = [], []
        for k, g in enumerate(self._member_groups(sizes)):
            h = x[g]
            cap = []
            for i in range(self.n_layers):
                if i:
                    h = self.act(h)
                b = p.get(f"layers.{i}.bias")
                h = F.linear(h, p[f"layers.{i}.weight"][k], None if b is None else b[k])
                cap.append(h)
            outs.append(h)
            caps.append(cap)
        if capture is not None:
            capture.extend(torch.stack(layer) for layer in zip(*caps))
        return torch.stack(outs)

    def _count_batch(self, i: int, training: bool, k: int | None = None) -> None:
        """nn.BatchNorm2d's ``num_batches_tracked += 1`` of norm ``i`` (all members or member k)."""
        n = self.buffers.get(f"norms.{i}.num_batches_tracked")
        if training and n is not None:
            (n if k is None else n[k]).add_(1)

    def _cnn_grouped(self, p, x, sizes, training, capture):
        G, B = x.shape[0], x.shape[1]
        K = self.K
        w, b = p["convs.0.weight"], p.get("convs.0.bias")
        co = w.shape[1]
        parts = []
        for g, sl in enumerate(self._slices(sizes)):
            kg = sl.stop - sl.start
            parts.append(
                F.conv2d(
                    x[g],
                    w[sl].reshape(kg * co, *w.shape[2:]),
                    None if b is None else b[sl].reshape(-1),
                    **self.conv_args,
                )
            )
        h = parts[0] if G == 1 else torch.cat(parts, 1)
        for i in range(self.n_convs):
            if i:
                w, b = p[f"convs.{i}.weight"], p.get(f"convs.{i}.bias")
                h = F.conv2d(
                    h,
                    w.reshape(K * w.shape[1], *w.shape[2:]),
                    None if b is None else b.reshape(-1),
                    groups=K,
                    **self.conv_args,
                )
            if capture is not None:
                capture.append(h.view(B, K, -1, *h.shape[2:]).transpose(0, 1))
            if self.batch_norm:
                h = F.batch_norm(
                    h,
                    self.buffers[f"norms.{i}.running_mean"].view(-1),
                    self.buffers[f"norms.{i}.running_var"].view(-1),
                    p[f"norms.{i}.weight"].reshape(-1),
                    p[f"norms.{i}.bias"].reshape(-1),
                    training,
                    self.bn_momentum,
                    self.bn_eps,
                )
                self._count_batch(i, training)
            h = self.act(h)
            if self.pool_every and (i + 1) % self.pool_every == 0:
                h = F.max_pool2d(h, 2)
        feats = h.mean(dim=(2, 3)).view(B, K, -1).transpose(0, 1)  # [K, B, C]
        w, b = p["classifier.weight"], p.get("classifier.bias")
        out = (
            torch.baddbmm(b.unsqueeze(1), feats, w.transpose(1, 2))
            if b is not None
            else torch.bmm(feats, w.transpose(1, 2))
        )
        if capture is not None:
            capture.append(out)
        return out

    def _cnn_loop(self, p, x, sizes, training, capture):
        outs, caps = [], []
        for k, g in enumerate(self._member_groups(sizes)):
            h = x[g]
            cap = []
            for i in range(self.n_convs):
                b = p.get(f"convs.{i}.bias")
                h = F.conv2d(h, p[f"convs.{i}.weight"][k], None if b is None else b[k], **self.conv_args)
                cap.append(h)
                if self.batch_norm:
                    h = F.batch_norm(
                        h,
                        self.buffers[f"norms.{i}.running_mean"][k],
                        self.buffers[f"norms.{i}.running_var"][k],
                        p[f"norms.{i}.weight"][k],
                        p[f"norms.{i}.bias"][k],
                        training,
                        self.bn_momentum,
                        self.bn_eps,
                    )
                    self._count_batch(i, training, k)
                h = self.act(h)
                if self.pool_every and (i + 1) % self.pool_every == 0:
                    h = F.max_pool2d(h, 2)
            b = p.get("classifier.bias")
            out = F.linear(h.mean(dim=(2, 3)), p["classifier.weight"][k], None if b is None else b[k])
            cap.append(out)
            outs.append(out)
            caps.append(cap)
        if capture is not None:
            capture.extend(torch.stack(layer) for layer in zip(*caps))
        return torch.stack(outs)


def _act_backward_(name: str, dh: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """dL/dz from dL/dh in place, with h = act(z) (every supported activation's derivative
    is a function of its output)."""
    if name == "relu":
        return torch.ops.aten.threshold_backward(dh, h, 0)
    if name == "leaky_relu":
        return dh.mul_(torch.where(h > 0, 1.0, 0.01))
    if name == "tanh":
        return dh.mul_(1 - h * h)
    if name == "sigmoid":
        return dh.mul_(h * (1 - h))
    return dh  # linear


class _FusedMLP(torch.autograd.Function):
    """The stacked MLP's forward and hand-written backward in one autograd node.

    Column layout as in :meth:`Stack._mlp_bmm`. Backward, from dZ_L = dlogits^T:
    dW_l = dZ_l H_{l-1}^T, db_l = sum_b dZ_l, dZ_{l-1} = act'(Z_{l-1}) * (W_l^T dZ_l),
    and for the first layer dW_1 = dZ_1 X per input group, each written straight
    into its block of one flat gradient (no per-layer autograd nodes, no copies).
    """

    @staticmethod
    def forward(ctx, flat: torch.Tensor, x: torch.Tensor, stack: Stack, sizes: tuple[int, ...]) -> torch.Tensor:
        p = stack.params(flat)
        G, B = x.shape[0], x.shape[1]
        x = x.reshape(G, B, -1)
        L = stack.n_layers
        w, b = p["layers.0.weight"], p.get("layers.0.bias")
        K, out = w.shape[0], w.shape[1]
        if len(set(sizes)) == 1:  # equal groups (one shared batch, or one batch per member): one (b)mm
            kg = sizes[0]
            wg = w.view(G, kg * out, -1)
            xt = x.transpose(1, 2)
            z = torch.baddbmm(b.view(G, kg * out, 1), wg, xt) if b is not None else torch.bmm(wg, xt)
            z = z.view(K, out, B)
        else:
            z = torch.empty(K, out, B, dtype=flat.dtype, device=flat.device)
            start = 0
            for g, kg in enumerate(sizes):
                sl = slice(start, start + kg)
                zg = z[sl].view(kg * out, B)
                if b is not None:
                    torch.addmm(b[sl].reshape(-1, 1), w[sl].reshape(kg * out, -1), x[g].t(), out=zg)
                else:
                    torch.mm(w[sl].reshape(kg * out, -1), x[g].t(), out=zg)
                start += kg
        hs = []
        act = stack.activation
        for i in range(1, L):
            h = z.clamp_min_(0) if act == "relu" else stack.act(z)
            hs.append(h)
            w, b = p[f"layers.{i}.weight"], p.get(f"layers.{i}.bias")
            z = torch.baddbmm(b.unsqueeze(2), w, h) if b is not None else torch.bmm(w, h)
        ctx.save_for_backward(flat, x, *hs)
        ctx.stack, ctx.sizes = stack, sizes
        return z.transpose(1, 2)

    @staticmethod
    def backward(ctx, dlogits: torch.Tensor):
        flat, x, *hs = ctx.saved_tensors
        stack, sizes = ctx.stack, ctx.sizes
        p = stack.params(flat)
        grad = stack.grad_buffer(flat)
        gp = stack.params(grad)
        act = stack.activation
        dz = dlogits.transpose(1, 2)
        for i in range(stack.n_layers - 1, 0, -1):
            h = hs[i - 1]
            torch.bmm(dz, h.transpose(1, 2), out=gp[f"layers.{i}.weight"])
            if f"layers.{i}.bias" in gp:
                torch.sum(dz, dim=2, out=gp[f"layers.{i}.bias"])
            dh = torch.bmm(p[f"layers.{i}.weight"].transpose(1, 2), dz)
            dz = _act_backward_(act, dh, h)
        gw = gp["layers.0.weight"]
        out = gw.shape[1]
        dz = dz.contiguous()
        if len(set(sizes)) == 1:
            G, kg = len(sizes), sizes[0]
            torch.bmm(dz.view(G, kg * out, -1), x, out=gw.view(G, kg * out, -1))
        else:
            start = 0
            for g, kg in enumerate(sizes):
                sl = slice(start, start + kg)
                torch.mm(dz[sl].view(kg * out, -1), x[g], out=gw[sl].view(kg * out, -1))
                start += kg
        if "layers.0.bias" in gp:
            torch.sum(dz, dim=2, out=gp["layers.0.bias"])
        return grad, None, None, None
