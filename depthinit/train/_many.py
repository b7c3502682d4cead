"""Train K models of one architecture together as one vectorised model.

Chapter: "Reproducibility". Member k draws its batch order from its own seed
exactly as :func:`train_one` does, its loss is its own mean cross-entropy, and
the optimizer is elementwise; so summing the K losses and taking one step on
the stacked parameters is K independent trainings (equal to :func:`train_one`
within floating-point rounding). Members sharing a seed share their batches,
which lets the MLP's first layer run as one GEMM for all of them.

Divergence: a member whose loss is NaN or infinite at some step is marked dead
on the device (its loss leaves the sum through ``torch.where``, so its NaNs stay
in its own block), its history ends with that epoch, and it is dropped from the
stack at the end of the epoch. The step loop never waits for the device: losses
and correct counts accumulate there and are read once per epoch.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from ._config import TrainConfig
from ._data import Tensors, data_generator, epoch_order, prepare, steps_per_epoch
from ._optim import FlatOptimizer
from ._probes import concat, empty_histograms, empty_stats, probe_frames
from ._result import HISTORY_COLUMNS, RunResult
from ._stack import Stack, Strategy


class _Members:
    """Bookkeeping of which original member sits at which stack position."""

    def __init__(self, original: list[int], seeds: list[int]) -> None:
        self.original = original  # stack position -> index in the caller's list
        self.seeds = seeds  # stack position -> data seed (positions grouped by seed)

    def groups(self) -> tuple[list[int], list[int]]:
        """Unique seeds in position order and the size of each group."""
        uniq, sizes = [], []
        for s in self.seeds:
            if uniq and uniq[-1] == s:
                sizes[-1] += 1
            else:
                uniq.append(s)
                sizes.append(1)
        return uniq, sizes

    def keep(self, positions: Sequence[int]) -> None:
        self.original = [self.original[p] for p in positions]
        self.seeds = [self.seeds[p] for p in positions]


def _step(stack: Stack, opt: FlatOptimizer, x: torch.Tensor, y: torch.Tensor, sizes: Sequence[int],
          alive: torch.Tensor, died: torch.Tensor, step: int):
    """One optimizer step of every member: forward, masked loss sum, gradient, update.

    ``x`` ``[G, B, ...]`` feeds the members in groups of ``sizes``; ``y`` ``[K, B]``.
    Returns ``(logits, losses, alive, died)``; ``died[k]`` is set to ``step`` where
    member k's loss first stops being finite. No host synchronisation.
    """
    with stack.numerics():
        logits = stack.forward(x, sizes, training=True)
        losses = _losses(logits, y)
        ok = torch.isfinite(losses)
        died = torch.where(alive & ~ok, step, died)
        alive = alive & ok
        total = torch.where(alive, losses, 0.0).sum()
        (grad,) = torch.autograd.grad(total, stack.flat)
    opt.step(stack.flat.data, grad)
    return logits, losses, alive, died


def benchmark_step(
    kind: str,
    K: int,
    *,
    device: str | torch.device = "cpu",
    batch_size: int = 128,
    shared_batch: bool = False,
    strategy: Strategy = "auto",
    input_shape: tuple[int, ...] = (3, 32, 32),
):
    """A callable doing one training step (forward, backward, SGD-momentum update) of K
    members exactly as :func:`train_many` does, on a fixed random batch: the paper's
    54 x 64 MLP (``kind="mlp"``) or a 10 x 16 plain CNN (``kind="cnn"``). Each member
    gets its own batch unless ``shared_batch``. For the benchmark chapter."""
    from ..models import CNN, MLP

    device = torch.device(device)
    g = torch.Generator().manual_seed(0)
    models = []
    for _ in range(K):
        m = MLP(math.prod(input_shape), 10, depth=54, width=64) if kind == "mlp" else \
            CNN(input_shape[0], 10, depth=10, channels=16)
        with torch.no_grad():
            for p in m.parameters():
                p.copy_(torch.randn(p.shape, generator=g) * (0.05 if p.dim() > 1 else 0.0))
        models.append(m)
    stack = Stack(models, device=device, strategy=strategy)
    opt = FlatOptimizer(stack.flat, TrainConfig(lr=0.01, momentum=0.9), 0.01)
    G = 1 if shared_batch else K
    x = torch.rand(G, batch_size, *input_shape, generator=g).to(device)
    y = torch.randint(0, 10, (G, batch_size), generator=g).to(device)
    y = y.expand(K, -1) if shared_batch else y
    sizes = (K,) if shared_batch else (1,) * K
    state = {"alive": torch.ones(K, dtype=torch.bool, device=device),
             "died": torch.zeros(K, dtype=torch.long, device=device)}

    def step() -> None:
        _, _, state["alive"], state["died"] = _step(stack, opt, x, y, sizes, state["alive"], state["died"], 1)

    return step


def _losses(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    K, B, C = logits.shape
    return F.cross_entropy(logits.reshape(K * B, C), y.reshape(K * B), reduction="none").view(K, B).mean(1)


@torch.no_grad()
def _evaluate(stack: Stack, x: torch.Tensor, y: torch.Tensor, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-member mean loss and accuracy on a set shared by all members."""
    K = stack.K
    loss = torch.zeros(K, dtype=torch.float64, device=x.device)
    correct = torch.zeros(K, dtype=torch.long, device=x.device)
    for i in range(0, len(x), batch_size):
        xb, yb = x[i:i + batch_size], y[i:i + batch_size]
        with stack.numerics():
            out = stack.forward(xb[None], (K,), training=False)
        b, C = out.shape[1], out.shape[2]
        loss += F.cross_entropy(out.reshape(K * b, C), yb.repeat(K), reduction="none").view(K, b).sum(1).double()
        correct += (out.argmax(-1) == yb).sum(1)
    n = max(len(x), 1)
    return (loss / n).cpu().numpy(), (correct.double() / n).cpu().numpy()


def _probe(stack: Stack, x: torch.Tensor, y: torch.Tensor, epoch: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    K = stack.K
    flat = stack.flat.detach().requires_grad_(True)
    capture: list[torch.Tensor] = []
    with stack.numerics():
        out = stack.forward(x[None], (K,), training=False, flat=flat, capture=capture)
        total = _losses(out, y.expand(K, -1)).sum()
        (grad,) = torch.autograd.grad(total, flat)
    views, gviews = stack.params(flat.detach()), stack.params(grad)
    names = [n for n, _, _ in stack.weight_layers]
    tensors = {
        "weight": [views[n] for n in names],
        "gradient": [gviews[n] for n in names],
        "activation": [a.detach() for a in capture],
    }
    return probe_frames(tensors, stack.weight_layers, range(K), epoch)


def train_many(
    models: Sequence[nn.Module],
    data: Any,
    config: TrainConfig = TrainConfig(),
    *,
    seeds: Sequence[int],
    lrs: Sequence[float] | None = None,
    strategy: Strategy = "auto",
    progress: bool | None = None,
    desc: str | None = None,
) -> list[RunResult]:
    """Train ``models`` (same architecture, any initializations) together; one
    :class:`RunResult` per model, in the order given.

    ``seeds[k]`` is member k's batch-order seed (as in :func:`train_one`);
    ``lrs[k]`` its learning rate (default ``config.lr``). ``strategy``:
    ``"bmm"`` (MLP), ``"grouped"`` or ``"loop"`` (CNN, also MLP), or
    ``"auto"``. The models are updated in place with the trained weights (a
    diverged member's weights are undefined, possibly NaN).
    """
    K0 = len(models)
    if K0 == 0:
        return []
    seeds = list(seeds)
    if len(seeds) != K0:
        raise ValueError(f"got {K0} models but {len(seeds)} seeds; pass one seed per model")
    for s in seeds:
        data_generator(s)  # validates
    lrs = [config.lr] * K0 if lrs is None else [float(v) for v in lrs]
    if len(lrs) != K0:
        raise ValueError(f"got {K0} models but {len(lrs)} learning rates; pass one per model or none")
    for v in lrs:
        if not (np.isfinite(v) and v > 0):
            raise ValueError(f"learning rate {v!r} is not valid; expected a finite number > 0")
    device, dtype = config.torch_device, config.torch_dtype
    d: Tensors = prepare(data, device, dtype)

    # members sharing a seed sit next to each other (first appearance order)
    first = {s: i for i, s in reversed(list(enumerate(seeds)))}
    order = sorted(range(K0), key=lambda i: (first[seeds[i]], i))
    members = _Members(order, [seeds[i] for i in order])
    for m in models:
        m.to(device=device, dtype=dtype)
    stack = Stack([models[i] for i in order], device=device, dtype=dtype, strategy=strategy)
    gens = {s: data_generator(s) for s in dict.fromkeys(members.seeds)}

    def lr_of(positions_lrs: list[float]) -> float | torch.Tensor:
        if len(set(positions_lrs)) == 1:
            return positions_lrs[0]
        return stack.member_vector(torch.tensor(positions_lrs, dtype=torch.float64))

    opt = FlatOptimizer(stack.flat, config, lr_of([lrs[i] for i in members.original]))

    n, bs = len(d.x_train), config.batch_size
    n_steps = steps_per_epoch(n, bs)
    xp, yp = d.x_train[: config.probe_batch], d.y_train[: config.probe_batch]
    rows: list[list[dict]] = [[] for _ in range(K0)]
    probes: list[list[pd.DataFrame]] = [[empty_stats()] for _ in range(K0)]
    hists: list[list[pd.DataFrame]] = [[empty_histograms()] for _ in range(K0)]
    status = ["ok"] * K0
    div_epoch: list[int | None] = [None] * K0
    div_step: list[int | None] = [None] * K0

    def record_probes(epoch: int) -> None:
        if epoch not in config.probe_epochs:
            return
        s, h = _probe(stack, xp, yp, epoch)
        for pos, orig in enumerate(members.original):
            probes[orig].append(s[s["member"] == pos].drop(columns="member"))
            hists[orig].append(h[h["member"] == pos].drop(columns="member"))

    if config.eval_init:
        start = time.perf_counter()
        trl, tra = _evaluate(stack, d.x_train, d.y_train, config.eval_batch_size)
        tel, tea = _evaluate(stack, d.x_test, d.y_test, config.eval_batch_size)
        wall = (time.perf_counter() - start) / stack.K
        for pos, orig in enumerate(members.original):
            rows[orig].append(dict(zip(HISTORY_COLUMNS, (0, trl[pos], tra[pos], tel[pos], tea[pos], wall))))
    record_probes(0)

    bar = tqdm(total=config.epochs * n_steps, desc=desc or f"train x{K0}",
               disable=None if progress is None else not progress, leave=False)
    step = 0
    try:
        for epoch in range(1, config.epochs + 1):
            if stack.K == 0:
                break
            start = time.perf_counter()
            K = stack.K
            uniq, sizes = members.groups()
            gidx = torch.tensor([g for g, s in enumerate(sizes) for _ in range(s)], device=device)
            perms = torch.stack([epoch_order(gens[s], n) for s in uniq]).to(device)
            alive = torch.ones(K, dtype=torch.bool, device=device)
            died = torch.zeros(K, dtype=torch.long, device=device)
            loss_sum = torch.zeros(K, dtype=torch.float64, device=device)
            correct = torch.zeros(K, dtype=torch.long, device=device)
            for s in range(n_steps):
                step += 1
                idx = perms[:, s * bs:(s + 1) * bs]
                b = idx.shape[1]
                x, y = d.x_train[idx], d.y_train[idx]
                y = y.index_select(0, gidx) if len(uniq) > 1 else y.expand(K, b)
                logits, losses, alive, died = _step(stack, opt, x, y, sizes, alive, died, step)
                with torch.no_grad():
                    loss_sum += torch.where(alive, losses.detach().double() * b, 0.0)
                    correct += torch.where(alive, (logits.argmax(-1) == y).sum(1), 0)
                bar.update(1)
            alive_h = alive.cpu().tolist()
            died_h = died.cpu().tolist()
            keep = [p for p in range(K) if alive_h[p]]
            if len(keep) < K:
                # drop the dead: write back what they hold, then compact stack and optimizer
                dead = [p for p in range(K) if not alive_h[p]]
                stack.write_back([models[members.original[p]] for p in dead], dead)
                nan = float("nan")
                for p in dead:
                    orig = members.original[p]
                    status[orig], div_epoch[orig], div_step[orig] = "diverged", epoch, died_h[p]
                    rows[orig].append(dict(zip(HISTORY_COLUMNS, (epoch, nan, nan, nan, nan, 0.0))))
                state = stack.compact(keep, *opt.state)
                members.keep(keep)
                opt.compact(state, lr_of([lrs[i] for i in members.original]) if keep else 0.0)
                loss_sum, correct = loss_sum[keep], correct[keep]
            if stack.K:
                ltr = (loss_sum / n).cpu().numpy()
                atr = (correct.double() / n).cpu().numpy()
                tel, tea = _evaluate(stack, d.x_test, d.y_test, config.eval_batch_size)
                wall = (time.perf_counter() - start) / K
                for pos, orig in enumerate(members.original):
                    rows[orig].append(dict(zip(HISTORY_COLUMNS, (epoch, ltr[pos], atr[pos], tel[pos], tea[pos], wall))))
                record_probes(epoch)
            if len(keep) < K:
                per = (time.perf_counter() - start) / K
                for orig in range(K0):
                    if div_epoch[orig] == epoch:
                        rows[orig][-1]["wall_s"] = per
    finally:
        bar.close()
    stack.write_back([models[i] for i in members.original])
    results = []
    for k in range(K0):
        history = pd.DataFrame(rows[k], columns=list(HISTORY_COLUMNS)).astype({"epoch": "int64"})
        results.append(RunResult(history, status[k], div_epoch[k], div_step[k], concat(probes[k]), concat(hists[k])))
    return results
