"""Train K models of one architecture together as one vectorised model.

Chapter: "Reproducibility". Member k draws its batch order from its own seed
exactly as :func:`train_one` does, its loss is its own mean cross-entropy (of
its logits times its ``logit_scale``), and the optimizer is elementwise with
one rate per entry (member lr x parameter factor x warm-up factor); so summing
the K losses and taking one step on the stacked parameters is K independent
trainings (equal to :func:`train_one` within floating-point rounding). Members
sharing a seed share their batches, which lets the MLP's first layer run as one
GEMM for all of them.

Divergence: a member whose loss is NaN or infinite at some step is marked dead
on the device (its loss leaves the sum through ``torch.where``, so its NaNs stay
in its own block), its history ends with that epoch, and it is dropped from the
stack at the end of the epoch. The step loop never waits for the device: losses
and correct counts accumulate there and are read once per epoch. On CUDA the
step is captured in a CUDA graph and replayed (:mod:`depthinit.train._graph`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from typing import Any, cast

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from ._config import TrainConfig, normalise_lr_scales
from ._data import Tensors, check_config, check_fit, check_models, data_generator, epoch_order, prepare, steps_per_epoch
from ._graph import TrainStep, losses_of
from ._optim import FlatOptimizer, lr_factors
from ._probes import concat, empty_histograms, empty_stats, probe_frames
from ._result import HISTORY_COLUMNS, RunResult, history_row
from ._single import progress_bar
from ._stack import Stack, Strategy


class _Members:
    """Bookkeeping of which original member sits at which stack position."""

    def __init__(self, original: list[int], seeds: list[int]) -> None:
        self.original = original  # stack position -> index in the caller's list
        self.seeds = seeds  # stack position -> data seed (positions grouped by seed)

    def groups(self) -> tuple[list[int], list[int]]:
        """Unique seeds in position order and the size of each group."""
        uniq: list[int] = []
        sizes: list[int] = []
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


def use_cuda_graph(cuda_graph: bool | None, device: torch.device) -> bool:
    """Whether a stack's step runs through :class:`TrainStep`'s capture path: ``None``
    means on CUDA; ``True`` elsewhere runs the same path with the eager stand-in."""
    if cuda_graph is None:
        return device.type == "cuda"
    if not isinstance(cuda_graph, bool):
        raise ValueError(f"cuda_graph={cuda_graph!r} is not valid; expected True, False or None (on CUDA)")
    return cuda_graph


def benchmark_step(
    kind: str,
    K: int,
    *,
    device: str | torch.device = "cpu",
    batch_size: int = 128,
    shared_batch: bool = False,
    strategy: Strategy = "auto",
    input_shape: tuple[int, ...] = (3, 32, 32),
    cuda_graph: bool | None = None,
    model: nn.Module | None = None,
    groups: Sequence[int] | None = None,
):
    """A callable doing one training step (forward, backward, SGD-momentum update) of K
    members exactly as :func:`train_many` does (batch gathered on the device, CUDA graph
    on CUDA unless ``cuda_graph=False``), on a fixed random batch: the paper's 54 x 64 MLP
    (``kind="mlp"``), a 10 x 16 plain CNN (``kind="cnn"``), or K copies of ``model``
    (re-initialised randomly; ``kind`` then only labels it). Each member gets its own batch
    unless ``shared_batch``, or the members come in ``groups`` (sizes summing to K) that
    each share one, as members sharing a seed do in a sweep. The callable's ``.stack``
    and ``.runner`` are the engine's objects. For the benchmark chapter."""
    from ..models import CNN, MLP

    if kind not in ("mlp", "cnn") and model is None:
        raise ValueError(f"kind={kind!r} is not valid; expected 'mlp' or 'cnn' (or pass model=)")
    if isinstance(K, bool) or not isinstance(K, int) or K < 1:
        raise ValueError(f"K={K!r} is not valid; expected an integer >= 1")
    device = torch.device(device)
    g = torch.Generator().manual_seed(0)
    models = []
    for _ in range(K):
        if model is not None:
            import copy

            m = copy.deepcopy(model)
        else:
            m = (
                MLP(math.prod(input_shape), 10, depth=54, width=64)
                if kind == "mlp"
                else CNN(input_shape[0], 10, depth=10, channels=16)
            )
        with torch.no_grad():
            for p in m.parameters():
                p.copy_(torch.randn(p.shape, generator=g) * (0.05 if p.dim() > 1 else 0.0))
        models.append(m.to(device))
    stack = Stack(models, device=device, strategy=strategy)
    graph = use_cuda_graph(cuda_graph, device)
    cfg = TrainConfig(lr=0.01, momentum=0.9)
    opt = FlatOptimizer(stack.flat, cfg, 0.01, device_scalars=graph)
    if groups is not None:
        sizes = tuple(groups)
        if shared_batch or sum(sizes) != K or min(sizes, default=0) < 1:
            raise ValueError(
                f"groups={tuple(groups)} do not split K={K} members (positive sizes summing to K, without shared_batch)"
            )
    else:
        sizes = (K,) if shared_batch else (1,) * K
    G = len(sizes)
    classes = int(getattr(model, "num_classes", 10))  # labels below the model's class count
    x = torch.rand(G * batch_size, *input_shape, generator=g).to(device)
    y = torch.randint(0, classes, (G * batch_size,), generator=g).to(device)
    idx = torch.arange(G * batch_size, device=device).view(G, batch_size)
    gidx = None if G == 1 else torch.tensor([i for i, s in enumerate(sizes) for _ in range(s)], device=device)
    runner = TrainStep(stack, opt, x, y, sizes, gidx, None, graph=graph, capture_batch=batch_size)

    def step() -> None:
        runner(idx)

    step.stack = stack  # type: ignore[attr-defined]
    step.runner = runner  # type: ignore[attr-defined]
    return step


def _scaled(out: torch.Tensor, logit_scale: float | torch.Tensor | None) -> torch.Tensor:
    return out if logit_scale is None else out * logit_scale


@torch.no_grad()
def _evaluate(
    stack: Stack, x: torch.Tensor, y: torch.Tensor, batch_size: int, logit_scale: float | torch.Tensor | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Per-member mean loss and accuracy on a set shared by all members."""
    K = stack.K
    loss = torch.zeros(K, dtype=torch.float64, device=x.device)
    correct = torch.zeros(K, dtype=torch.long, device=x.device)
    for i in range(0, len(x), batch_size):
        xb, yb = x[i : i + batch_size], y[i : i + batch_size]
        with stack.numerics():
            out = _scaled(stack.forward(xb[None], (K,), training=False), logit_scale)
        b, C = out.shape[1], out.shape[2]
        loss += F.cross_entropy(out.reshape(K * b, C), yb.repeat(K), reduction="none").view(K, b).sum(1).double()
        correct += (out.argmax(-1) == yb).sum(1)
    n = max(len(x), 1)
    return (loss / n).cpu().numpy(), (correct.double() / n).cpu().numpy()


def _probe(
    stack: Stack, x: torch.Tensor, y: torch.Tensor, epoch: int, logit_scale: float | torch.Tensor | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    K = stack.K
    flat = stack.flat.detach().requires_grad_(True)
    capture: list[torch.Tensor] = []
    with stack.numerics():
        out = _scaled(stack.forward(x[None], (K,), training=False, flat=flat, capture=capture), logit_scale)
        total = losses_of(out, y.expand(K, -1)).sum()
        (grad,) = torch.autograd.grad(total, flat)
    views, gviews = stack.params(flat.detach()), stack.params(grad)
    names = [n for n, _, _ in stack.weight_layers]
    tensors: dict[str, Sequence[torch.Tensor]] = {
        "weight": [views[n] for n in names],
        "gradient": [gviews[n] for n in names],
        "activation": [a.detach() for a in capture],
    }
    return probe_frames(tensors, stack.weight_layers, range(K), epoch)


def _member_lists(K0: int, config: TrainConfig, names: list[str], lrs, lr_scales, logit_scales):
    """Validated per-member learning rates, parameter factors and logit scales."""
    lrs = [config.lr] * K0 if lrs is None else list(lrs)
    if len(lrs) != K0:
        raise ValueError(f"got {K0} models but {len(lrs)} learning rates; pass one per model or none")
    for v in lrs:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not (math.isfinite(v) and v > 0):
            raise ValueError(f"learning rate {v!r} is not valid; expected a finite number > 0")
    lrs = [float(v) for v in lrs]
    if lr_scales is None:
        scales = [config.lr_scales] * K0
    else:
        if isinstance(lr_scales, Mapping) or isinstance(lr_scales, (str, bytes)):
            raise ValueError("lr_scales must be a sequence with one mapping (parameter name -> factor) per model")
        scales = [normalise_lr_scales(m, f"lr_scales[{k}]") for k, m in enumerate(lr_scales)]
        if len(scales) != K0:
            raise ValueError(f"got {K0} models but {len(scales)} lr_scales; pass one mapping per model or none")
    factors = [lr_factors(names, sc) for sc in scales]
    if logit_scales is None:
        logits = [config.logit_scale] * K0
    else:
        logits = list(logit_scales)
        if len(logits) != K0:
            raise ValueError(f"got {K0} models but {len(logits)} logit scales; pass one per model or none")
        for v in logits:
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not (math.isfinite(v) and v > 0):
                raise ValueError(f"logit scale {v!r} is not valid; expected a finite number > 0")
        logits = [float(v) for v in logits]
    return lrs, factors, logits


def train_many(
    models: Sequence[nn.Module],
    data: Any,
    config: TrainConfig = TrainConfig(),
    *,
    seeds: Sequence[int],
    lrs: Sequence[float] | None = None,
    lr_scales: Sequence[Mapping[str, float]] | None = None,
    logit_scales: Sequence[float] | None = None,
    strategy: Strategy = "auto",
    progress: bool | None = None,
    desc: str | None = None,
    cuda_graph: bool | None = None,
) -> list[RunResult]:
    """Train ``models`` (same architecture, any initializations) together; one
    :class:`RunResult` per model, in the order given, each equal within rounding to
    :func:`train_one` of that model with its seed and settings.

    ``seeds[k]`` is member k's batch-order seed (as in :func:`train_one`);
    ``lrs[k]`` its learning rate (default ``config.lr``); ``lr_scales[k]`` its
    factors by parameter name (replacing ``config.lr_scales``; names not given get
    1.0; a parameter with ``requires_grad=False`` keeps its values, as in
    :func:`train_one`); ``logit_scales[k]`` its logit scale (default ``config.logit_scale``).
    Members that differ only in these train in one stack. ``strategy``: ``"bmm"``
    (plain MLP), ``"grouped"`` (plain CNN), ``"func"`` (torch.func, any model),
    ``"loop"``, or ``"auto"`` (:func:`depthinit.train.default_strategy`).
    ``cuda_graph``: capture the step in a CUDA graph (None: on CUDA; True off CUDA
    runs the capture path with its eager stand-in). The models are updated in
    place with the trained weights and buffers (a diverged member's weights are
    undefined, possibly NaN). Data, device and the fit of model and data are
    checked before the first step, as in :func:`train_one`.
    """
    models = list(models)
    check_models(models)
    K0 = len(models)
    if K0 == 0:
        return []
    seeds = list(seeds)
    if len(seeds) != K0:
        raise ValueError(f"got {K0} models but {len(seeds)} seeds; pass one seed per model")
    for s in seeds:
        data_generator(s)  # validates
    names = [n for n, _ in models[0].named_parameters()]
    lrs, factors, logit_list = _member_lists(K0, config, names, lrs, lr_scales, logit_scales)
    # a frozen tensor (requires_grad=False) keeps its values, as torch.optim leaves it in train_one
    factors = [
        [0.0 if not p.requires_grad else f for (_, p), f in zip(m.named_parameters(), fs)]
        for m, fs in zip(models, factors)
    ]
    device, dtype = check_config(config), config.torch_dtype
    graph = use_cuda_graph(cuda_graph, device)
    d: Tensors = prepare(data, device, dtype)
    for m in models:
        m.to(device=device, dtype=dtype)
    check_fit(models[0], d)

    # members sharing a seed sit next to each other (first appearance order)
    first = {s: i for i, s in reversed(list(enumerate(seeds)))}
    order = sorted(range(K0), key=lambda i: (first[seeds[i]], i))
    members = _Members(order, [seeds[i] for i in order])
    stack = Stack([models[i] for i in order], device=device, dtype=dtype, strategy=strategy, example=d.x_train[:1])
    gens = {s: data_generator(s) for s in dict.fromkeys(members.seeds)}

    def lr_now() -> float | torch.Tensor:
        """One rate per (parameter, member) of the members now in the stack, as a float when all agree."""
        table = [[lrs[i] * factors[i][p] for i in members.original] for p in range(len(names))]
        values = {v for row in table for v in row}
        if len(values) == 1:
            return values.pop()
        return stack.member_vector(torch.tensor(table, dtype=torch.float64))

    def logit_now() -> float | torch.Tensor | None:
        values = [logit_list[i] for i in members.original]
        if len(set(values)) == 1:
            return None if values[0] == 1.0 else values[0]
        return torch.tensor(values, dtype=dtype, device=device).view(-1, 1, 1)

    n, bs = len(d.x_train), config.batch_size
    n_steps = steps_per_epoch(n, bs)
    opt = FlatOptimizer(stack.flat, config, lr_now(), warmup_steps=config.warmup_steps(n_steps), device_scalars=graph)
    xp, yp = d.x_train[: config.probe_batch], d.y_train[: config.probe_batch]
    rows: list[list[dict]] = [[] for _ in range(K0)]
    probes: list[list[pd.DataFrame]] = [[empty_stats()] for _ in range(K0)]
    hists: list[list[pd.DataFrame]] = [[empty_histograms()] for _ in range(K0)]
    status = ["ok"] * K0
    div_epoch: list[int | None] = [None] * K0
    div_step: list[int | None] = [None] * K0

    def evaluate_all(x: torch.Tensor, y: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        return _evaluate(stack, x, y, config.eval_batch_size, logit_now())

    def evaluate_val() -> tuple[np.ndarray, np.ndarray]:
        if d.has_val:
            return evaluate_all(cast(torch.Tensor, d.x_val), cast(torch.Tensor, d.y_val))
        return np.full(stack.K, math.nan), np.full(stack.K, math.nan)

    def record_probes(epoch: int) -> None:
        if epoch not in config.probe_epochs:
            return
        s, h = _probe(stack, xp, yp, epoch, logit_now())
        for pos, orig in enumerate(members.original):
            probes[orig].append(s[s["member"] == pos].drop(columns="member"))
            hists[orig].append(h[h["member"] == pos].drop(columns="member"))

    if config.eval_init:
        start = time.perf_counter()
        trl, tra = evaluate_all(d.x_train, d.y_train)
        val, vaa = evaluate_val()
        tel, tea = evaluate_all(d.x_test, d.y_test)
        wall = (time.perf_counter() - start) / stack.K
        for pos, orig in enumerate(members.original):
            rows[orig].append(history_row(0, (trl[pos], tra[pos]), (val[pos], vaa[pos]), (tel[pos], tea[pos]), wall))
    record_probes(0)

    def make_runner(step: int) -> TrainStep:
        uniq, sizes = members.groups()
        gidx = (
            None if len(uniq) == 1 else torch.tensor([g for g, s in enumerate(sizes) for _ in range(s)], device=device)
        )
        return TrainStep(
            stack, opt, d.x_train, d.y_train, sizes, gidx, logit_now(), graph=graph, capture_batch=min(bs, n), step=step
        )

    bar = progress_bar(config.epochs * n_steps, desc or f"train x{K0}", progress)
    runner = make_runner(0)
    step = 0
    try:
        for epoch in range(1, config.epochs + 1):
            if stack.K == 0:
                break
            start = time.perf_counter()
            K = stack.K
            uniq, _ = members.groups()
            perms = torch.stack([epoch_order(gens[s], n) for s in uniq]).to(device)
            runner.reset_epoch()
            for s in range(n_steps):
                step += 1
                runner(perms[:, s * bs : (s + 1) * bs])
                bar.update(1)
            alive_h = runner.alive.cpu().tolist()
            died_h = runner.died.cpu().tolist()
            loss_sum, correct = runner.loss_sum, runner.correct
            keep = [p for p in range(K) if alive_h[p]]
            if len(keep) < K:
                # drop the dead: write back what they hold, then compact stack and optimizer
                dead = [p for p in range(K) if not alive_h[p]]
                stack.write_back([models[members.original[p]] for p in dead], dead)
                for p in dead:
                    orig = members.original[p]
                    status[orig], div_epoch[orig], div_step[orig] = "diverged", epoch, died_h[p]
                    rows[orig].append(history_row(epoch))
                state = stack.compact(keep, *opt.state)
                members.keep(keep)
                opt.compact(state, lr_now() if keep else 0.0)
                loss_sum, correct = loss_sum[keep], correct[keep]
                if keep:
                    runner = make_runner(step)
            if stack.K:
                ltr = (loss_sum / n).cpu().numpy()
                atr = (correct.double() / n).cpu().numpy()
                val, vaa = evaluate_val()
                tel, tea = evaluate_all(d.x_test, d.y_test)
                wall = (time.perf_counter() - start) / K
                for pos, orig in enumerate(members.original):
                    rows[orig].append(
                        history_row(epoch, (ltr[pos], atr[pos]), (val[pos], vaa[pos]), (tel[pos], tea[pos]), wall)
                    )
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
