"""One optimizer step of every member of a stack, on static tensors: run eagerly, or
captured once in a CUDA graph and replayed.

Chapter: "Reproducibility" (the GPU engine). On a GPU a stack's step is hundreds
of small kernels (the 54-layer MLP: about six per layer, forward and backward),
so launching them from Python, not the arithmetic, bounds its speed at small K.
A CUDA graph records the kernels of one step once and replays them with a single
launch. It needs a step whose every tensor has a fixed address and whose Python
side does not change from step to step, which is how :class:`TrainStep` is
written whatever the device:

* the batch is gathered inside the step from a static index buffer
  (``x = x_train[idx]``), so a step's only input is a copy into that buffer;
* the step count, the divergence bookkeeping (``alive``, ``died``) and the
  epoch's loss and correct-count sums are device tensors updated in place;
* the optimizer keeps its count, warm-up factor and Adam's bias corrections on
  the device (:class:`FlatOptimizer` with ``device_scalars=True``).

The same code runs eagerly on any device; with ``graph=True`` off CUDA the
capture is a stand-in that records the step function and replay calls it, so
the CPU tests walk the capture-and-replay control flow (warm-up steps, static
buffers, replays, the eager last batch) that a GPU runs. Only steps with the
full batch size are captured (an epoch's smaller last batch runs eagerly).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F

from ._optim import FlatOptimizer
from ._stack import Stack

#: Eager steps before a capture (cuBLAS/cuDNN workspaces and the allocator settle first).
WARMUP_STEPS = 3


def losses_of(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Each member's mean cross-entropy ``[K]`` from logits ``[K, B, C]`` and labels ``[K, B]``."""
    K, B, C = logits.shape
    return F.cross_entropy(logits.reshape(K * B, C), y.reshape(K * B), reduction="none").view(K, B).mean(1)


class _Replay:
    """The stand-in for a CUDA graph off CUDA: capturing records ``fn``, replay calls it."""

    def __init__(self, fn: Callable[[], None]) -> None:
        self.fn = fn

    def replay(self) -> None:
        self.fn()


def capture(fn: Callable[[], None], device: torch.device) -> Any:
    """A replayable recording of ``fn``: a ``torch.cuda.CUDAGraph`` on CUDA (``fn`` is
    recorded, not run), else a :class:`_Replay` stand-in (``fn`` not run either)."""
    if device.type != "cuda":
        return _Replay(fn)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        fn()
    return graph


class TrainStep:
    """The training step of ``stack`` (see module doc) on the training tensors
    ``x_train``/``y_train``; ``sizes`` are the member groups that share a batch,
    ``gidx`` (``[K]``, or None for one group) maps members to groups, ``logit_scale``
    is None, a number, or ``[K, 1, 1]``.

    With ``graph``, steps of batch size ``capture_batch`` are captured after
    ``WARMUP_STEPS`` eager ones and replayed from then on (``opt`` must then
    keep device scalars). Call with ``idx`` ``[G, b]`` (the step's example
    indices per group). The state
    after an epoch: ``alive``, ``died`` (the 1-based step at which a member's
    loss stopped being finite, 0 if it did not), ``loss_sum`` (sum of b times the
    loss over the steps while alive), ``correct``.
    """

    def __init__(
        self,
        stack: Stack,
        opt: FlatOptimizer,
        x_train: torch.Tensor,
        y_train: torch.Tensor,
        sizes: Sequence[int],
        gidx: torch.Tensor | None,
        logit_scale: float | torch.Tensor | None,
        *,
        graph: bool = False,
        capture_batch: int | None = None,
        step: int = 0,
    ) -> None:
        self.stack, self.opt = stack, opt
        self.x_train, self.y_train = x_train, y_train
        self.sizes, self.gidx, self.logit_scale = tuple(sizes), gidx, logit_scale
        self.graph = graph
        self.capture_batch = capture_batch
        K, dev = stack.K, stack.device
        self.alive = torch.ones(K, dtype=torch.bool, device=dev)
        self.died = torch.zeros(K, dtype=torch.long, device=dev)
        self.loss_sum = torch.zeros(K, dtype=torch.float64, device=dev)
        self.correct = torch.zeros(K, dtype=torch.long, device=dev)
        self.step_t = torch.full((), step, dtype=torch.long, device=dev)
        self._xbuf: dict[tuple[int, int], torch.Tensor] = {}
        self._graphs: dict[int, Any] = {}
        self._static: dict[int, torch.Tensor] = {}
        self._eager: dict[int, int] = {}
        self.replays = 0  # steps taken by replaying a capture (for tests and benchmarks)

    def reset_epoch(self) -> None:
        """Every member alive, sums zero (in place: the captured addresses stay valid)."""
        self.alive.fill_(True)
        self.died.zero_()
        self.loss_sum.zero_()
        self.correct.zero_()

    def body(self, idx: torch.Tensor) -> None:
        """One step on the examples ``idx``: forward, masked loss sum, gradient, update."""
        stack, K = self.stack, self.stack.K
        G, b = idx.shape
        x = self._xbuf.get((G, b))
        if x is None:  # one gather buffer per batch shape: no fresh pages every step on a CPU
            x = self._xbuf[(G, b)] = self.x_train.new_empty((G * b, *self.x_train.shape[1:]))
        torch.index_select(self.x_train, 0, idx.reshape(-1), out=x)
        x, y = x.view(G, b, *self.x_train.shape[1:]), self.y_train[idx]
        y = y.index_select(0, self.gidx) if self.gidx is not None else y.expand(K, b)
        self.step_t.add_(1)
        with stack.numerics():
            logits = stack.forward(x, self.sizes, training=True)
            if self.logit_scale is not None:
                logits = logits * self.logit_scale
            losses = losses_of(logits, y)
            ok = torch.isfinite(losses)
            self.died.copy_(torch.where(self.alive & ~ok, self.step_t, self.died))
            self.alive.logical_and_(ok)
            total = torch.where(self.alive, losses, 0.0).sum()
            (grad,) = torch.autograd.grad(total, stack.flat)
        self.opt.step(stack.flat.data, grad)
        with torch.no_grad():
            self.loss_sum.add_(torch.where(self.alive, losses.detach().double() * b, 0.0))
            self.correct.add_(torch.where(self.alive, (logits.detach().argmax(-1) == y).sum(1), 0))

    def __call__(self, idx: torch.Tensor) -> None:
        if not self.graph:
            self.body(idx)
            return
        b = idx.shape[1]
        graph = self._graphs.get(b)
        if graph is None and b == self.capture_batch and self._eager.get(b, 0) >= WARMUP_STEPS:
            graph = self._capture(idx)
        if graph is None:
            self._eager[b] = self._eager.get(b, 0) + 1
            self._run_eager(idx)
            return
        self._static[b].copy_(idx)
        graph.replay()
        self.replays += 1

    def _run_eager(self, idx: torch.Tensor) -> None:
        dev = self.stack.device
        if dev.type != "cuda" or not self.graph:
            self.body(idx)
            return
        side = torch.cuda.Stream(dev)  # warm-up steps on a side stream, as CUDA graph capture expects
        side.wait_stream(torch.cuda.current_stream(dev))
        with torch.cuda.stream(side):
            self.body(idx)
        torch.cuda.current_stream(dev).wait_stream(side)

    def _capture(self, idx: torch.Tensor) -> Any:
        b = idx.shape[1]
        static = idx.clone()
        try:
            graph = capture(lambda: self.body(static), self.stack.device)
        except Exception as exc:  # a model whose step cannot be captured trains eagerly
            warnings.warn(
                f"CUDA graph capture of the training step failed ({type(exc).__name__}: {exc}); "
                "training this stack eagerly",
                RuntimeWarning,
                stacklevel=3,
            )
            self.graph = False
            return None
        self._static[b] = static
        self._graphs[b] = graph
        return graph
