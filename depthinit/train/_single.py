"""Train one model: the reference path.

Chapter: "Reproducibility". Plain PyTorch: ``torch.optim.SGD`` or ``Adam``, a
batch order from ``torch.Generator().manual_seed(seed)`` (see
:func:`depthinit.train.epoch_order`), the mean cross-entropy of each batch's
logits times ``logit_scale``, one parameter group per tensor with rate
``lr * lr_scales[name]`` when factors are given, every group's rate times the
warm-up factor ``min(1, t / W)`` at step t. :func:`train_many` must reproduce
this trajectory member by member.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any, cast

import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from ..init import discover
from ._config import TrainConfig
from ._data import Tensors, check_config, check_fit, check_models, data_generator, epoch_order, prepare, steps_per_epoch
from ._optim import lr_factors
from ._probes import concat, empty_histograms, empty_stats, probe_frames
from ._result import HISTORY_COLUMNS, RunResult, history_row


def progress_bar(total: int, desc: str, progress: bool | None):
    """A tqdm bar (imported on first use: tqdm belongs to the ``experiments`` extra); a
    no-op when tqdm is missing or ``progress`` is False."""
    if progress is False:
        return _NoBar()
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return _NoBar()
    return tqdm(total=total, desc=desc, disable=None if progress is None else not progress, leave=False)


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def make_optimizer(params, config: TrainConfig, lr: float) -> torch.optim.Optimizer:
    """The ``torch.optim`` optimizer ``config`` names (no fused or foreach variants)."""
    if config.optimizer == "sgd":
        return torch.optim.SGD(
            params,
            lr=lr,
            momentum=config.momentum,
            nesterov=config.nesterov,
            weight_decay=config.weight_decay,
            foreach=False,
        )
    return torch.optim.Adam(
        params, lr=lr, betas=config.betas, eps=config.eps, weight_decay=config.weight_decay, foreach=False
    )


@torch.no_grad()
def evaluate(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int, *, logit_scale: float = 1.0
) -> tuple[float, float]:
    """Mean cross-entropy of ``logit_scale * model(x)`` and accuracy of ``model`` (in eval
    mode) on ``(x, y)``."""
    was = model.training
    model.eval()
    loss = torch.zeros((), dtype=torch.float64, device=x.device)
    correct = torch.zeros((), dtype=torch.long, device=x.device)
    for i in range(0, len(x), batch_size):
        out = model(x[i : i + batch_size])
        if logit_scale != 1.0:
            out = out * logit_scale
        yb = y[i : i + batch_size]
        loss += F.cross_entropy(out, yb, reduction="sum").double()
        correct += (out.argmax(1) == yb).sum()
    model.train(was)
    n = max(len(x), 1)
    return float(loss) / n, float(correct) / n


def _weight_layers(model: nn.Module, example: torch.Tensor) -> list[tuple[str, int, nn.Module]]:
    if hasattr(model, "weight_layers"):
        return [(name, d, m) for d, (name, m) in enumerate(cast(Any, model).weight_layers(), 1)]
    layers, _, _ = discover(model, example)
    return [(l.name, l.depth, l.module) for l in layers]


def probe_model(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, epoch: int, *, logit_scale: float = 1.0
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-layer weight, gradient and activation statistics of one model on the batch ``(x, y)``
    (eval mode; the model's state and gradients are left as they were); the gradient is
    that of the mean cross-entropy of ``logit_scale * model(x)``."""
    layers = _weight_layers(model, x[:1])
    was = model.training
    model.eval()
    acts: dict[int, torch.Tensor] = {}

    def keep(i: int):
        def hook(mod: nn.Module, args: Any, out: torch.Tensor) -> None:
            acts.setdefault(i, out.detach())  # first call only; returns None so the output is unchanged

        return hook

    hooks = [m.register_forward_hook(keep(i)) for i, (_, _, m) in enumerate(layers)]
    try:
        out = model(x)
        loss = F.cross_entropy(out * logit_scale if logit_scale != 1.0 else out, y)
    finally:
        for h in hooks:
            h.remove()
        model.train(was)
    weights: list[torch.Tensor] = [cast(torch.Tensor, m.weight) for _, _, m in layers]
    raw = torch.autograd.grad(loss, weights, allow_unused=True)
    grads = [torch.zeros_like(w) if g is None else g for w, g in zip(weights, raw)]
    tensors: dict[str, Sequence[torch.Tensor]] = {
        "weight": [w.detach()[None] for w in weights],
        "gradient": [g[None] for g in grads],
        "activation": [acts[i][None] for i in range(len(layers))],
    }
    meta = [(f"{name}.weight", d, type(m).__name__) for name, d, m in layers]
    return probe_frames(tensors, meta, [0], epoch)


def train_one(
    model: nn.Module,
    data: Any,
    config: TrainConfig = TrainConfig(),
    *,
    seed: int = 0,
    lr: float | None = None,
    progress: bool | None = None,
    desc: str | None = None,
) -> RunResult:
    """Train ``model`` in place on ``data`` with ``config``; return its :class:`RunResult`.

    The batch order comes from ``seed`` alone (:func:`epoch_order`), so two
    calls with the same initial weights and seed give the same trajectory.
    ``lr`` overrides ``config.lr``. The loss of a batch is the mean
    cross-entropy of ``config.logit_scale * model(x)``; tensor ``name`` steps
    with ``lr * config.lr_scales[name]`` (1 when not listed; an unknown name
    raises ValueError), times ``min(1, t / W)`` at step t during a warm-up of
    W = ``config.warmup_steps(steps_per_epoch)`` steps. When ``data`` carries
    ``x_val``/``y_val`` with rows, each epoch's row evaluates them. A
    non-finite training loss stops the run cleanly with status ``"diverged"``
    (the model keeps the weights that produced it). ``progress``: tqdm bar;
    None shows it only on a terminal.

    Checked before the first step, with a ValueError that leaves the model as it
    was: the data (see ``depthinit.train._data.prepare``: finite inputs,
    whole-number labels, no empty split), a device that cannot hold tensors here,
    and the fit of model and data (the model runs on one training example and has
    an output for every label).
    """
    check_models([model])
    device, dtype = check_config(config), config.torch_dtype
    d: Tensors = prepare(data, device, dtype)
    model.to(device=device, dtype=dtype)
    check_fit(model, d)
    lr = config.lr if lr is None else lr
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not (math.isfinite(lr) and lr > 0):
        raise ValueError(f"lr={lr!r} is not valid; expected a finite number > 0")
    named = list(model.named_parameters())
    factors = lr_factors([n for n, _ in named], config.lr_scales)
    if config.lr_scales:
        base_lrs = [lr * f for f in factors]
        groups: list[dict[str, Any]] = [{"params": [p], "lr": b} for (_, p), b in zip(named, base_lrs)]
    else:
        base_lrs = [float(lr)]
        groups = [{"params": [p for _, p in named], "lr": lr}]
    opt = make_optimizer(groups, config, lr)
    gen = data_generator(seed)
    n, bs = len(d.x_train), config.batch_size
    n_steps = steps_per_epoch(n, bs)
    warm = config.warmup_steps(n_steps)
    scale = config.logit_scale
    xp, yp = d.x_train[: config.probe_batch], d.y_train[: config.probe_batch]
    rows: list[dict[str, float]] = []
    probes, hists = [empty_stats()], [empty_histograms()]

    def ev(x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
        return evaluate(model, x, y, config.eval_batch_size, logit_scale=scale)

    def val() -> tuple[float, float]:
        return ev(cast(torch.Tensor, d.x_val), cast(torch.Tensor, d.y_val)) if d.has_val else (math.nan, math.nan)

    def probe(epoch: int) -> None:
        if epoch in config.probe_epochs:
            s, h = probe_model(model, xp, yp, epoch, logit_scale=scale)
            probes.append(s.drop(columns="member"))
            hists.append(h.drop(columns="member"))

    if config.eval_init:
        start = time.perf_counter()
        tr, va, te = ev(d.x_train, d.y_train), val(), ev(d.x_test, d.y_test)
        rows.append(history_row(0, tr, va, te, time.perf_counter() - start))
    probe(0)
    status, div_epoch, div_step, step = "ok", None, None, 0
    bar = progress_bar(config.epochs * n_steps, desc or "train", progress)
    try:
        for epoch in range(1, config.epochs + 1):
            start = time.perf_counter()
            order = epoch_order(gen, n).to(device)
            model.train()
            loss_sum = torch.zeros((), dtype=torch.float64, device=device)
            correct = torch.zeros((), dtype=torch.long, device=device)
            for s in range(n_steps):
                step += 1
                idx = order[s * bs : (s + 1) * bs]
                x, y = d.x_train[idx], d.y_train[idx]
                out = model(x)
                if scale != 1.0:
                    out = out * scale
                loss = F.cross_entropy(out, y)
                if not math.isfinite(float(loss.detach())):
                    status, div_epoch, div_step = "diverged", epoch, step
                    break
                if warm:
                    f = 1.0 if step >= warm else step / warm
                    for g, base in zip(opt.param_groups, base_lrs):
                        g["lr"] = base * f
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                loss_sum += loss.detach().double() * len(idx)
                correct += (out.detach().argmax(1) == y).sum()
                bar.update(1)
            if status == "diverged":
                rows.append(history_row(epoch, wall_s=time.perf_counter() - start))
                break
            va, te = val(), ev(d.x_test, d.y_test)
            rows.append(
                history_row(epoch, (float(loss_sum) / n, float(correct) / n), va, te, time.perf_counter() - start)
            )
            probe(epoch)
    finally:
        bar.close()
    history = pd.DataFrame(rows, columns=list(HISTORY_COLUMNS)).astype({"epoch": "int64"})
    return RunResult(history, status, div_epoch, div_step, concat(probes), concat(hists))
