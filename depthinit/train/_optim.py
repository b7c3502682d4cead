"""SGD with momentum and Adam on a flat parameter tensor, one learning rate per member.

Chapter: "Reproducibility". Both updates are elementwise, so one update of the
flat tensor of K stacked models is exactly K independent updates. The formulas
are ``torch.optim``'s (weight decay as an L2 term added to the gradient):

* SGD: ``g <- g + wd p``; ``buf <- mu buf + g``; ``p <- p - lr buf``
  (Nesterov: ``p <- p - lr (g + mu buf)``).
* Adam: ``g <- g + wd p``; ``m <- b1 m + (1 - b1) g``; ``v <- b2 v + (1 - b2) g^2``;
  ``p <- p - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)``.

With one learning rate shared by every member the arithmetic is torch.optim's
operation for operation; per-member rates multiply by a ``[T]`` vector instead.
"""

from __future__ import annotations

import math

import torch

from ._config import TrainConfig


class FlatOptimizer:
    """The optimizer of ``config`` over ``flat``; ``lr`` is a float or a ``[T]`` tensor."""

    def __init__(self, flat: torch.Tensor, config: TrainConfig, lr: float | torch.Tensor) -> None:
        self.config = config
        self.kind = config.optimizer
        self.lr = lr
        self.t = 0
        self.state: list[torch.Tensor] = []
        if self.kind == "sgd" and config.momentum > 0:
            self.state = [torch.zeros_like(flat)]
        elif self.kind == "adam":
            self.state = [torch.zeros_like(flat), torch.zeros_like(flat)]

    @torch.no_grad()
    def step(self, p: torch.Tensor, g: torch.Tensor) -> None:
        """Update ``p`` in place from gradient ``g`` (which may be overwritten)."""
        c = self.config
        self.t += 1
        if c.weight_decay:
            g = g.add(p, alpha=c.weight_decay)
        lr = self.lr
        if self.kind == "sgd":
            if c.momentum > 0:
                buf = self.state[0]
                if self.t == 1:
                    buf.copy_(g)
                else:
                    torch.add(g, buf, alpha=c.momentum, out=buf)  # buf <- mu buf + g in one pass
                d = g.add(buf, alpha=c.momentum) if c.nesterov else buf
            else:
                d = g
            if isinstance(lr, torch.Tensor):
                p.addcmul_(d, lr, value=-1.0)
            else:
                p.add_(d, alpha=-lr)
            return
        b1, b2 = c.betas
        m, v = self.state
        m.lerp_(g, 1 - b1)
        v.mul_(b2).addcmul_(g, g, value=1 - b2)
        bc1 = 1 - b1**self.t
        bc2_sqrt = math.sqrt(1 - b2**self.t)
        denom = (v.sqrt() / bc2_sqrt).add_(c.eps)
        if isinstance(lr, torch.Tensor):
            p.sub_(m.div(denom).mul_(lr), alpha=1.0 / bc1)
        else:
            p.addcdiv_(m, denom, value=-lr / bc1)

    def compact(self, state: list[torch.Tensor], lr: float | torch.Tensor) -> None:
        """Replace the state after the stack dropped members."""
        self.state = state
        self.lr = lr
