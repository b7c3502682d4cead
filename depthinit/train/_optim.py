"""SGD with momentum and Adam on a flat parameter tensor, one learning rate per entry.

Chapter: "Reproducibility". Both updates are elementwise, so one update of the
flat tensor of K stacked models is exactly K independent updates. The formulas
are ``torch.optim``'s (weight decay as an L2 term added to the gradient), with
``lr_t = lr * f_t``, ``f_t`` the warm-up factor of step t
(:meth:`TrainConfig.lr_factor`) and ``lr`` a number or one rate per entry
(``lr`` of the member times the ``lr_scales`` factor of the parameter):

* SGD: ``g <- g + wd p``; ``buf <- mu buf + g``; ``p <- p - lr_t buf``
  (Nesterov: ``p <- p - lr_t (g + mu buf)``).
* Adam: ``g <- g + wd p``; ``m <- b1 m + (1 - b1) g``; ``v <- b2 v + (1 - b2) g^2``;
  ``p <- p - lr_t / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)``.

With one learning rate shared by every entry the arithmetic is torch.optim's
operation for operation; per-entry rates multiply by a ``[T]`` vector instead.

``device_scalars=True`` keeps the step count on the device and computes the
warm-up factor and Adam's bias corrections there, so that a step has no
Python-side state that changes from step to step: the form a CUDA graph can
capture once and replay (the numbers equal the default form within rounding).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import torch

from ._config import TrainConfig


def lr_factors(names: Sequence[str], scales: Mapping[str, float] | Sequence[tuple[str, float]]) -> list[float]:
    """The learning-rate factor of each parameter in ``names`` (1.0 unless ``scales`` names it).

    Raises ValueError for a name in ``scales`` that is not a parameter of the model."""
    scales = dict(scales)
    unknown = sorted(set(scales) - set(names))
    if unknown:
        raise ValueError(
            f"lr_scales names {unknown}, which are not parameters of the model; name only parameters of the "
            f"model, which are {list(names)}"
        )
    return [float(scales.get(n, 1.0)) for n in names]


class FlatOptimizer:
    """The optimizer of ``config`` over ``flat``; ``lr`` is a float or a ``[T]`` tensor.

    ``warmup_steps`` (W > 0) scales step t's rate by ``min(1, t / W)``.
    """

    def __init__(
        self,
        flat: torch.Tensor,
        config: TrainConfig,
        lr: float | torch.Tensor,
        *,
        warmup_steps: int = 0,
        device_scalars: bool = False,
    ) -> None:
        self.config = config
        self.kind = config.optimizer
        self.lr = lr
        self.t = 0
        self.warmup_steps = int(warmup_steps)
        self.device_scalars = device_scalars
        # the step count as a float64 device scalar (device_scalars): advanced inside the step
        self.t_dev = torch.zeros((), dtype=torch.float64, device=flat.device)
        self.state: list[torch.Tensor] = []
        if self.kind == "sgd" and config.momentum > 0:
            self.state = [torch.zeros_like(flat)]
        elif self.kind == "adam":
            self.state = [torch.zeros_like(flat), torch.zeros_like(flat)]

    def factor(self) -> float:
        """The warm-up factor of the step about to be taken (Python-side count)."""
        w = self.warmup_steps
        t = self.t + 1
        return 1.0 if w == 0 or t >= w else t / w

    @torch.no_grad()
    def step(self, p: torch.Tensor, g: torch.Tensor) -> None:
        """Update ``p`` in place from gradient ``g`` (which may be overwritten)."""
        if self.device_scalars:
            self._step_device(p, g)
            return
        c = self.config
        f = self.factor()
        self.t += 1
        if c.weight_decay:
            g = g.add(p, alpha=c.weight_decay)
        lr = self.lr
        if self.kind == "sgd":
            d = self._sgd_direction(g, first=self.t == 1)
            if isinstance(lr, torch.Tensor):
                p.addcmul_(d, lr, value=-f)
            else:
                p.add_(d, alpha=-(lr * f))
            return
        b1, b2 = c.betas
        m, v = self.state
        m.lerp_(g, 1 - b1)
        v.mul_(b2).addcmul_(g, g, value=1 - b2)
        bc1 = 1 - b1**self.t
        bc2_sqrt = math.sqrt(1 - b2**self.t)
        denom = (v.sqrt() / bc2_sqrt).add_(c.eps)
        if isinstance(lr, torch.Tensor):
            p.sub_(m.div(denom).mul_(lr), alpha=f / bc1)
        else:
            p.addcdiv_(m, denom, value=-(lr * f) / bc1)

    def _sgd_direction(self, g: torch.Tensor, first: bool) -> torch.Tensor:
        c = self.config
        if c.momentum == 0:
            return g
        buf = self.state[0]
        if first:
            buf.copy_(g)
        else:
            torch.add(g, buf, alpha=c.momentum, out=buf)  # buf <- mu buf + g in one pass
        return g.add(buf, alpha=c.momentum) if c.nesterov else buf

    def _step_device(self, p: torch.Tensor, g: torch.Tensor) -> None:
        """The same update with the count, warm-up factor and bias corrections as device
        scalars (no Python value depends on the step): capturable in a CUDA graph."""
        c = self.config
        self.t += 1
        t = self.t_dev
        t.add_(1)
        w = self.warmup_steps
        f = torch.clamp(t / w, max=1.0) if w else None  # float64 scalar on the device
        if c.weight_decay:
            g = g.add(p, alpha=c.weight_decay)
        lr = self.lr
        if self.kind == "sgd":
            # buf starts at zero, so mu * 0 + g is g exactly: no first-step branch needed
            d = self._sgd_direction(g, first=False)
            if f is None:
                if isinstance(lr, torch.Tensor):
                    p.addcmul_(d, lr, value=-1.0)
                else:
                    p.add_(d, alpha=-lr)
            elif isinstance(lr, torch.Tensor):
                p.addcmul_(d * lr, (-f).to(p.dtype))
            else:
                p.addcmul_(d, (f * -lr).to(p.dtype))
            return
        b1, b2 = c.betas
        m, v = self.state
        m.lerp_(g, 1 - b1)
        v.mul_(b2).addcmul_(g, g, value=1 - b2)
        bc1 = 1 - torch.pow(b1, t)
        bc2_sqrt = torch.sqrt(1 - torch.pow(b2, t))
        denom = (v.sqrt() / bc2_sqrt.to(p.dtype)).add_(c.eps)
        scale = (1.0 if f is None else f) / bc1  # float64 scalar on the device
        u = m.div(denom)
        if isinstance(lr, torch.Tensor):
            u.mul_(lr)
            p.addcmul_(u, (-scale).to(p.dtype))
        else:
            p.addcmul_(u, (scale * -lr).to(p.dtype))

    def compact(self, state: list[torch.Tensor], lr: float | torch.Tensor) -> None:
        """Replace the state after the stack dropped members."""
        self.state = state
        self.lr = lr
