"""Plain MLP and CNN builders that know each layer's depth. No initialization inside:
apply a scheme with :func:`depthinit.init_`.

Chapter: "E1: the 54-layer MLP on CIFAR-10" and "E3: a plain CNN on CIFAR-10".
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import nn

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
    if name not in table:
        raise ValueError(f"activation={name!r} is not valid; expected one of {', '.join(map(repr, ACTIVATIONS))}")
    return table[name]()


def _check_int(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name}={value!r} is not valid; expected an integer >= {minimum}")
    return value


class MLP(nn.Module):
    """A plain fully connected network: ``depth`` Linear layers, ``width`` units each
    but the last, activation between them, no normalisation.

    ``depth`` counts weight layers, so the paper's 54 x 64 network is
    ``MLP(3072, 10, depth=54, width=64)``: 53 hidden ReLU layers of 64 units and
    a 10-way output layer, L = 54 in the depth schedules. Inputs of any shape are
    flattened. Biases exist (PyTorch default) and are zeroed by ``init_``.
    """

    def __init__(
        self,
        in_features: int = 3072,
        num_classes: int = 10,
        *,
        depth: int = 54,
        width: int = 64,
        activation: Activation = "relu",
        bias: bool = True,
    ) -> None:
        super().__init__()
        _check_int("in_features", in_features, 1)
        _check_int("num_classes", num_classes, 1)
        _check_int("depth", depth, 1)
        _check_int("width", width, 1)
        activation_module(activation)  # validate
        self.in_features, self.num_classes = in_features, num_classes
        self.depth, self.width, self.activation = depth, width, activation
        sizes = [in_features] + [width] * (depth - 1) + [num_classes]
        self.layers = nn.ModuleList(nn.Linear(a, b, bias=bias) for a, b in zip(sizes[:-1], sizes[1:]))
        self.act = activation_module(activation)

    def weight_layers(self) -> list[tuple[str, nn.Module]]:
        """``(name, module)`` of every weight layer in depth order (1..L)."""
        return [(f"layers.{i}", m) for i, m in enumerate(self.layers)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.flatten(1)
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < len(self.layers) - 1:
                x = self.act(x)
        return x


class CNN(nn.Module):
    """A plain convolutional network for 32 x 32 images: ``depth`` 3 x 3 convolutions of
    ``channels`` channels (stride 1, padding 1; a 2 x 2 max-pool after every
    ``pool_every`` convolutions when set), global average pooling and a Linear
    classifier. No batch norm unless ``batch_norm=True`` (the paper discusses it as
    a remedy). Weight layers: ``depth`` convolutions and the classifier, L = depth + 1.
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


def flops_per_example(model: nn.Module, input_shape: tuple[int, ...]) -> float:
    """Multiply-add FLOPs (2 per MAC) of one forward pass of one example, for Linear and Conv layers."""
    total = 0.0
    hooks = []

    def hook(mod: nn.Module, args, out: torch.Tensor) -> None:
        nonlocal total
        w = mod.weight
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


__all__ = ["ACTIVATIONS", "CNN", "MLP", "activation_module", "flops_per_example"]
