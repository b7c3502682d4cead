"""Plain MLP and CNN builders and a residual MLP that know each layer's depth. No
initialization inside: apply a scheme with :func:`depthinit.init_`.

Chapter: "E1: the 54-layer MLP on CIFAR-10", "E3: a plain CNN on CIFAR-10" and
"E8: normalization and residuals".

Every model exposes ``weight_layers()``: ``(name, module)`` of its weight layers
in depth order 1..L. :class:`ResMLP` also exposes the residual protocol that
the residual schemes (``fixup``, ``rezero``, ``zero_gate=True``) read:
``residual_branches()`` (the weight modules of each residual branch, in depth
order) and ``residual_gates()`` (the scalar gate of each block, when built with
``gate=True``). Any model can offer the same two methods, or wrap its branches in
:class:`ResidualBlock`, to be served by those schemes.
"""

from __future__ import annotations

import itertools
import math
from collections import OrderedDict
from typing import Literal, cast

import torch
from torch import nn

# The module types a residual branch's weight layers may have: those depthinit initializes.
from ..init._fans import WEIGHT_LAYERS as _BRANCH_LAYERS

Activation = Literal["relu", "tanh", "sigmoid", "linear", "leaky_relu"]
ACTIVATIONS: tuple[str, ...] = ("relu", "tanh", "sigmoid", "linear", "leaky_relu")


def activation_module(name: str) -> nn.Module:
    """The nn.Module for an activation name (``"linear"`` is the identity)."""
    table = {
        "relu": nn.ReLU,
        "tanh": nn.Tanh,
        "sigmoid": nn.Sigmoid,
        "linear": nn.Identity,
        "leaky_relu": nn.LeakyReLU,
    }
    if not isinstance(name, str) or name not in table:
        raise ValueError(f"activation={name!r} is not valid; expected one of {', '.join(map(repr, ACTIVATIONS))}")
    return table[name]()


def _check_int(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name}={value!r} is not valid; expected an integer >= {minimum}")
    return value


def _check_bool(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{name}={value!r} is not valid; expected True or False")
    return value


class MLP(nn.Module):
    """A plain fully connected network: ``depth`` Linear layers, ``width`` units each
    but the last, activation between them.

    ``depth`` counts weight layers, so the paper's 54 x 64 network is
    ``MLP(3072, 10, depth=54, width=64)``: 53 hidden ReLU layers of 64 units and
    a 10-way output layer, L = 54 in the depth schedules. Inputs of any shape are
    flattened. Biases exist (PyTorch default) and are zeroed by ``init_``.

    With ``batch_norm=True`` each hidden layer is ``act(BatchNorm1d(W x + b))``:
    a ``BatchNorm1d(width)`` (``norms.i``) after each hidden Linear, before the
    activation (Ioffe & Szegedy 2015; the paper's Section 8 remedy). The output
    layer has none. Normalization divides out the scale of the layer before it,
    so it cancels a depth schedule's variance V (chapter "E8: normalization and
    residuals"); ``init_`` warns about that.
    """

    def __init__(
        self,
        in_features: int = 3072,
        num_classes: int = 10,
        *,
        depth: int = 54,
        width: int = 64,
        activation: Activation = "relu",
        batch_norm: bool = False,
        bias: bool = True,
    ) -> None:
        super().__init__()
        _check_int("in_features", in_features, 1)
        _check_int("num_classes", num_classes, 1)
        _check_int("depth", depth, 1)
        _check_int("width", width, 1)
        _check_bool("batch_norm", batch_norm)
        _check_bool("bias", bias)
        activation_module(activation)  # validate
        self.in_features, self.num_classes = in_features, num_classes
        self.depth, self.width, self.activation = depth, width, activation
        self.batch_norm = batch_norm
        sizes = [in_features] + [width] * (depth - 1) + [num_classes]
        self.layers = nn.ModuleList(nn.Linear(a, b, bias=bias) for a, b in itertools.pairwise(sizes))
        self.norms = nn.ModuleList(nn.BatchNorm1d(width) for _ in range(depth - 1)) if batch_norm else None
        self.act = activation_module(activation)

    def weight_layers(self) -> list[tuple[str, nn.Module]]:
        """``(name, module)`` of every weight layer in depth order (1..L)."""
        return [(f"layers.{i}", m) for i, m in enumerate(self.layers)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.flatten(1)
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < len(self.layers) - 1:
                if self.norms is not None:
                    x = self.norms[i](x)
                x = self.act(x)
        return x


class CNN(nn.Module):
    """A plain convolutional network for 32 x 32 images: ``depth`` 3 x 3 convolutions of
    ``channels`` channels (stride 1, padding 1; a 2 x 2 max-pool after every
    ``pool_every`` convolutions when set), global average pooling and a Linear
    classifier. No batch norm unless ``batch_norm=True`` (a ``BatchNorm2d`` after
    each convolution, before the activation; the paper discusses it as a remedy).
    Weight layers: ``depth`` convolutions and the classifier, L = depth + 1.
    """

    def __init__(
        self,
        in_channels: int = 3,
        num_classes: int = 10,
        *,
        depth: int = 10,
        channels: int = 16,
        activation: Activation = "relu",
        batch_norm: bool = False,
        pool_every: int | None = None,
        bias: bool = True,
    ) -> None:
        super().__init__()
        _check_int("in_channels", in_channels, 1)
        _check_int("num_classes", num_classes, 1)
        _check_int("depth", depth, 1)
        _check_int("channels", channels, 1)
        _check_bool("batch_norm", batch_norm)
        _check_bool("bias", bias)
        if pool_every is not None:
            _check_int("pool_every", pool_every, 1)
        activation_module(activation)
        self.in_channels, self.num_classes = in_channels, num_classes
        self.depth, self.channels, self.activation = depth, channels, activation
        self.batch_norm, self.pool_every = batch_norm, pool_every
        self.convs = nn.ModuleList(
            nn.Conv2d(in_channels if i == 0 else channels, channels, 3, padding=1, bias=bias) for i in range(depth)
        )
        self.norms = nn.ModuleList(nn.BatchNorm2d(channels) for _ in range(depth)) if batch_norm else None
        self.act = activation_module(activation)
        self.classifier = nn.Linear(channels, num_classes, bias=bias)

    def weight_layers(self) -> list[tuple[str, nn.Module]]:
        """``(name, module)`` of every weight layer in depth order (1..L)."""
        return [(f"convs.{i}", m) for i, m in enumerate(self.convs)] + [("classifier", self.classifier)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i, conv in enumerate(self.convs):
            x = conv(x)
            if self.norms is not None:
                x = self.norms[i](x)
            x = self.act(x)
            if self.pool_every and (i + 1) % self.pool_every == 0:
                x = nn.functional.max_pool2d(x, 2)
        return self.classifier(x.mean(dim=(2, 3)))


class ResidualBlock(nn.Module):
    """A residual block ``x + g * branch(x)``, the module type depthinit's residual
    schemes recognize in any model.

    ``branch`` is any module mapping ``x`` to a tensor of the same shape; its
    weight layers (:meth:`branch_layers`: the Linear/Conv/ConvTranspose modules
    of ``branch`` in registration order, which must be their forward order) are
    what Fixup scales and zeroes. With ``gate=True`` the block has a learnable
    scalar ``gate`` g (a 0-dim Parameter, built at 1; the ``rezero`` scheme and
    ``zero_gate=True`` set it to 0, SkipInit/ReZero); without it g = 1 and
    ``gate`` is None.

    Chapter: "E8: normalization and residuals".

    >>> blk = ResidualBlock(torch.nn.Linear(4, 4), gate=True)
    >>> float(blk.gate.detach()), [type(m).__name__ for m in blk.branch_layers()]
    (1.0, ['Linear'])
    """

    gate: nn.Parameter | None

    def __init__(self, branch: nn.Module, *, gate: bool = False) -> None:
        super().__init__()
        if not isinstance(branch, nn.Module):
            raise ValueError(f"branch must be a torch.nn.Module, got {type(branch).__name__}")
        _check_bool("gate", gate)
        self.branch = branch
        if gate:
            self.gate = nn.Parameter(torch.ones(()))
        else:
            self.register_parameter("gate", None)

    def branch_layers(self) -> list[nn.Module]:
        """The weight modules of the branch (Linear, Conv, ConvTranspose) in registration order."""
        return [m for m in self.branch.modules() if isinstance(m, _BRANCH_LAYERS)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.branch(x)
        return x + (out if self.gate is None else self.gate * out)


class ResMLP(nn.Module):
    """A residual MLP: a stem, ``blocks`` residual blocks of two Linear layers and a
    Linear classifier.

    With φ the activation, N a ``BatchNorm1d(width)`` when ``batch_norm=True``
    (the identity otherwise) and g_k the block's gate (1 unless ``gate=True``)::

        h_0 = φ(N_0(W_0 x + b_0))                                  stem
        h_k = h_{k-1} + g_k (W_k2 φ(N_k(W_k1 h_{k-1} + b_k1)) + b_k2)   k = 1..blocks
        y   = W_c h_blocks + b_c                                    classifier

    Each branch is the two-layer MLP of a Transformer block (normalization after
    the first Linear, before the activation, as in :class:`MLP`); the stream
    between blocks carries no activation, so the identity path is clean (He et
    al. 2016, "Identity mappings"). Inputs of any shape are flattened.

    Weight layers in depth order (L = 2 blocks + 2): ``stem``,
    ``blocks.k.branch.fc1``, ``blocks.k.branch.fc2`` for k = 0..blocks-1, then
    ``classifier``. Batch norms: ``stem_norm`` and ``blocks.k.branch.norm``.
    Gates: ``blocks.k.gate``. Biases exist (``bias=True``) and are zeroed by
    ``init_``. The residual protocol: :meth:`residual_branches` and
    :meth:`residual_gates`.

    Chapter: "E8: normalization and residuals".

    >>> net = ResMLP(12, 3, blocks=2, width=8, gate=True)
    >>> [n for n, _ in net.weight_layers()][:3], len(net.residual_gates())
    (['stem', 'blocks.0.branch.fc1', 'blocks.0.branch.fc2'], 2)
    """

    def __init__(
        self,
        in_features: int,
        num_classes: int,
        *,
        blocks: int,
        width: int = 64,
        activation: Activation = "relu",
        batch_norm: bool = False,
        gate: bool = False,
        bias: bool = True,
    ) -> None:
        super().__init__()
        _check_int("in_features", in_features, 1)
        _check_int("num_classes", num_classes, 1)
        _check_int("blocks", blocks, 1)
        _check_int("width", width, 1)
        _check_bool("batch_norm", batch_norm)
        _check_bool("gate", gate)
        _check_bool("bias", bias)
        activation_module(activation)
        self.in_features, self.num_classes = in_features, num_classes
        self.num_blocks, self.width, self.activation = blocks, width, activation
        self.batch_norm, self.gate = batch_norm, gate
        self.depth = 2 * blocks + 2  # weight layers L
        self.stem = nn.Linear(in_features, width, bias=bias)
        self.stem_norm = nn.BatchNorm1d(width) if batch_norm else None
        self.act = activation_module(activation)

        def branch() -> nn.Sequential:
            parts: list[tuple[str, nn.Module]] = [("fc1", nn.Linear(width, width, bias=bias))]
            if batch_norm:
                parts.append(("norm", nn.BatchNorm1d(width)))
            parts += [("act", activation_module(activation)), ("fc2", nn.Linear(width, width, bias=bias))]
            return nn.Sequential(OrderedDict(parts))

        self.blocks = nn.ModuleList(ResidualBlock(branch(), gate=gate) for _ in range(blocks))
        self.classifier = nn.Linear(width, num_classes, bias=bias)

    def _blocks(self) -> list[ResidualBlock]:
        return [cast(ResidualBlock, blk) for blk in self.blocks]

    def weight_layers(self) -> list[tuple[str, nn.Module]]:
        """``(name, module)`` of every weight layer in depth order (1..L)."""
        out: list[tuple[str, nn.Module]] = [("stem", self.stem)]
        for k, (fc1, fc2) in enumerate(self.residual_branches()):
            out += [(f"blocks.{k}.branch.fc1", fc1), (f"blocks.{k}.branch.fc2", fc2)]
        return out + [("classifier", self.classifier)]

    def residual_branches(self) -> list[list[nn.Module]]:
        """The weight modules of each residual branch, ``[fc1, fc2]`` per block, in depth order."""
        return [[cast(nn.Module, blk.branch.fc1), cast(nn.Module, blk.branch.fc2)] for blk in self._blocks()]

    def residual_gates(self) -> list[nn.Parameter]:
        """The scalar gate of each block in depth order (empty when built with ``gate=False``)."""
        return [blk.gate for blk in self._blocks() if blk.gate is not None]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.stem(x.flatten(1))
        if self.stem_norm is not None:
            h = self.stem_norm(h)
        h = self.act(h)
        for blk in self.blocks:
            h = blk(h)
        return self.classifier(h)


def flops_per_example(model: nn.Module, input_shape: tuple[int, ...]) -> float:
    """Multiply-add FLOPs (2 per MAC) of one forward pass of one example, for Linear and Conv layers."""
    total = 0.0
    hooks = []

    def hook(mod: nn.Module, args, out: torch.Tensor) -> None:
        nonlocal total
        w = cast(torch.Tensor, mod.weight)
        per_out = math.prod(w.shape[1:])
        total += 2.0 * per_out * out[0].numel()

    for m in model.modules():
        if isinstance(m, (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)):
            hooks.append(m.register_forward_hook(hook))
    training = model.training
    try:
        with torch.no_grad():
            model.eval()
            model(torch.zeros(1, *input_shape))
    finally:
        model.train(training)
        for h in hooks:
            h.remove()
    return total


__all__ = ["ACTIVATIONS", "CNN", "MLP", "ResMLP", "ResidualBlock", "activation_module", "flops_per_example"]
