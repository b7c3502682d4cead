"""Benchmark: one training step of K models, three ways, against the machine's sgemm rate.

Chapter: "Reproducibility" (the benchmark table). For the paper's 54 x 64 MLP on
CIFAR-10-shaped input (batch 128) and a plain CNN (10 convolutions of 16 channels
at 32 x 32), a training step (forward, backward, optimizer) is timed for K
configurations:

(a) ``loop``: a plain PyTorch loop over K separate models and optimizers;
(b) ``torch_func``: torch.func ensembling, ``stack_module_state`` with
    ``vmap(grad(loss))`` and a stacked SGD update;
(c) ``vectorised``: depthinit's engine (:mod:`depthinit.train`).

Times are per model-step in milliseconds (the time of one step of all K models
divided by K); ``gflops`` is the achieved arithmetic rate of (c), to compare with
a large sgemm measured in the same process. Run ``depthinit bench`` (``--json``
for one JSON object).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from .models import CNN, MLP, flops_per_example

BATCH = 128
MLP_SHAPE = (3, 32, 32)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_call(fn: Callable[[], Any], device: torch.device, *, min_time: float = 0.5, min_reps: int = 3,
              max_reps: int = 50, warmup: int = 2) -> float:
    """Median-free robust timing: warm up, then repeat until ``min_time`` seconds and
    ``min_reps`` calls; return the mean seconds per call."""
    for _ in range(warmup):
        fn()
    _sync(device)
    reps, start = 0, time.perf_counter()
    while True:
        fn()
        reps += 1
        if reps >= max_reps:
            break
        if reps >= min_reps:
            _sync(device)
            if time.perf_counter() - start >= min_time:
                break
    _sync(device)
    return (time.perf_counter() - start) / reps


def sgemm_gflops(device: torch.device, n: int = 2048) -> float:
    """Achieved GFLOP/s of an n x n float32 matrix product on ``device``."""
    g = torch.Generator().manual_seed(0)
    a = torch.randn(n, n, generator=g).to(device)
    b = torch.randn(n, n, generator=g).to(device)
    seconds = time_call(lambda: a @ b, device, min_time=1.0)
    return 2.0 * n**3 / seconds / 1e9


class _PeakMemory:
    """Peak memory of a block: CUDA's allocator peak, or the process's resident
    high-water mark on Linux (reset through /proc/self/clear_refs)."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.mb = float("nan")

    def __enter__(self) -> _PeakMemory:
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)
        else:
            try:
                with open("/proc/self/clear_refs", "w") as f:
                    f.write("5")
            except OSError:
                pass
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.device.type == "cuda":
            self.mb = torch.cuda.max_memory_allocated(self.device) / 2**20
            return
        try:
            with open("/proc/self/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        self.mb = int(line.split()[1]) / 1024
        except OSError:
            pass


def _models(kind: str, K: int, device: torch.device) -> list[nn.Module]:
    g = torch.Generator().manual_seed(0)
    out = []
    for _ in range(K):
        m = MLP(3072, 10, depth=54, width=64) if kind == "mlp" else CNN(3, 10, depth=10, channels=16)
        for p in m.parameters():
            with torch.no_grad():
                p.copy_(torch.randn(p.shape, generator=g) * (0.05 if p.dim() > 1 else 0.0))
        out.append(m.to(device))
    return out


def _batch(K: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    x = torch.rand(K, BATCH, *MLP_SHAPE, generator=g).to(device)
    y = torch.randint(0, 10, (K, BATCH), generator=g).to(device)
    return x, y


def loop_step(kind: str, K: int, device: torch.device) -> Callable[[], None]:
    """(a) K separate models and SGD-momentum optimizers, stepped one after another."""
    models = _models(kind, K, device)
    opts = [torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9) for m in models]
    x, y = _batch(K, device)
    loss_fn = nn.CrossEntropyLoss()

    def step() -> None:
        for k, (m, opt) in enumerate(zip(models, opts)):
            opt.zero_grad(set_to_none=True)
            loss_fn(m(x[k]), y[k]).backward()
            opt.step()

    return step


def torch_func_step(kind: str, K: int, device: torch.device) -> Callable[[], None]:
    """(b) torch.func ensembling: vmap over stacked parameters of grad of the loss, then
    one SGD-momentum update of the stacked tensors."""
    from torch.func import functional_call, grad, stack_module_state, vmap

    models = _models(kind, K, device)
    params, buffers = stack_module_state(models)
    base = models[0]
    x, y = _batch(K, device)
    names = list(params)
    tensors = [params[n].detach().requires_grad_(False) for n in names]
    momentum = [torch.zeros_like(t) for t in tensors]

    def loss(p: dict[str, torch.Tensor], b: dict[str, torch.Tensor], xb: torch.Tensor, yb: torch.Tensor):
        return nn.functional.cross_entropy(functional_call(base, (p, b), (xb,)), yb)

    grad_fn = vmap(grad(loss))

    def step() -> None:
        grads = grad_fn(dict(zip(names, tensors)), buffers, x, y)
        g = [grads[n] for n in names]
        torch._foreach_mul_(momentum, 0.9)
        torch._foreach_add_(momentum, g)
        torch._foreach_add_(tensors, momentum, alpha=-0.01)

    return step


def vectorised_step(kind: str, K: int, device: torch.device) -> Callable[[], None]:
    """(c) depthinit's engine: one step of its vectorised K-member model."""
    from .train import benchmark_step  # the engine exposes a ready-made step for benchmarks

    return benchmark_step(kind, K, device=device, batch_size=BATCH)


METHODS: dict[str, Callable[[str, int, torch.device], Callable[[], None]]] = {
    "loop": loop_step,
    "torch_func": torch_func_step,
    "vectorised": vectorised_step,
}


def run(*, device: str | torch.device = "cpu", mlp_ks: tuple[int, ...] = (1, 4, 16, 64),
        cnn_ks: tuple[int, ...] = (1, 4), methods: tuple[str, ...] = tuple(METHODS),
        min_time: float = 0.5, progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Run the benchmark; return ``{"sgemm_gflops", "device", "mlp": {K: {...}}, "cnn": {K: {...}}}``
    with per-model-step times in milliseconds, ratios ``loop_over_vectorised`` and
    ``torch_func_over_vectorised``, ``peak_mb`` (of the vectorised run) and ``gflops``."""
    device = torch.device(device)
    unknown = set(methods) - set(METHODS)
    if unknown:
        raise ValueError(f"unknown method(s) {sorted(unknown)}; expected some of {list(METHODS)}")
    say = progress or (lambda s: None)
    out: dict[str, Any] = {"sgemm_gflops": sgemm_gflops(device), "device": _device_name(device),
                           "threads": torch.get_num_threads(), "batch": BATCH}
    say(f"sgemm: {out['sgemm_gflops']:.1f} GFLOP/s")
    for kind, ks in (("mlp", mlp_ks), ("cnn", cnn_ks)):
        model = _models(kind, 1, torch.device("cpu"))[0]
        flops = 3.0 * flops_per_example(model, MLP_SHAPE) * BATCH  # forward + backward (2x forward)
        out[kind] = {}
        for K in ks:
            row: dict[str, float] = {}
            for method in methods:
                step = METHODS[method](kind, K, device)
                with _PeakMemory(device) as mem:
                    seconds = time_call(step, device, min_time=min_time,
                                        min_reps=1 if (kind == "cnn" or K >= 16) else 3,
                                        warmup=1)
                del step
                row[f"{method}_ms"] = 1e3 * seconds / K
                if method == "vectorised":
                    row["peak_mb"] = mem.mb
                    row["gflops"] = flops * K / seconds / 1e9
                say(f"{kind} K={K} {method}: {row[f'{method}_ms']:.2f} ms per model-step")
            if "vectorised_ms" in row:
                for m in ("loop", "torch_func"):
                    if f"{m}_ms" in row:
                        row[f"{m}_over_vectorised"] = row[f"{m}_ms"] / row["vectorised_ms"]
                row["sgemm_fraction"] = row["gflops"] / out["sgemm_gflops"]
            out[kind][str(K)] = row
    return out


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"cpu ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)"


def format_table(result: dict[str, Any]) -> str:
    """A plain-text table of the benchmark result."""
    lines = [f"device: {result['device']}, threads {result['threads']}, batch {result['batch']}",
             f"sgemm: {result['sgemm_gflops']:.1f} GFLOP/s", ""]
    head = f"{'model':5} {'K':>4} {'loop ms':>9} {'func ms':>9} {'vect ms':>9} {'a/c':>6} {'b/c':>6} " \
           f"{'GFLOP/s':>8} {'%sgemm':>7} {'peak MB':>8}"
    lines.append(head)
    for kind in ("mlp", "cnn"):
        for K, r in result.get(kind, {}).items():
            def f(key: str, fmt: str) -> str:
                v = r.get(key, math.nan)
                return format(v, fmt)
            lines.append(
                f"{kind:5} {K:>4} {f('loop_ms', '9.2f')} {f('torch_func_ms', '9.2f')} {f('vectorised_ms', '9.2f')} "
                f"{f('loop_over_vectorised', '6.1f')} {f('torch_func_over_vectorised', '6.1f')} "
                f"{f('gflops', '8.1f')} {100 * r.get('sgemm_fraction', math.nan):6.0f}% {f('peak_mb', '8.0f')}"
            )
    return "\n".join(lines)


def to_frame(result: dict[str, Any]):
    """The benchmark result as a table: one row per model and K, times per model-step in ms,
    the ratios (a)/(c) and (b)/(c), achieved GFLOP/s of (c) and its share of sgemm."""
    import pandas as pd

    rows = []
    for kind in ("mlp", "cnn"):
        for K, r in result.get(kind, {}).items():
            rows.append({"model": kind, "K": int(K), "loop ms": r.get("loop_ms"),
                         "torch.func ms": r.get("torch_func_ms"), "vectorised ms": r.get("vectorised_ms"),
                         "loop / vectorised": r.get("loop_over_vectorised"),
                         "torch.func / vectorised": r.get("torch_func_over_vectorised"),
                         "GFLOP/s": r.get("gflops"), "share of sgemm": r.get("sgemm_fraction"),
                         "peak MB": r.get("peak_mb")})
    return pd.DataFrame(rows).set_index(["model", "K"])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="depthinit bench", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, ... or auto (default cpu)")
    ap.add_argument("--mlp-k", default="1,4,16,64", help="comma-separated K values for the MLP")
    ap.add_argument("--cnn-k", default=None, help="comma-separated K values for the CNN (default 1,4 on CPU, "
                    "1,4,16 on CUDA)")
    ap.add_argument("--methods", default=",".join(METHODS), help="comma-separated subset of loop,torch_func,vectorised")
    ap.add_argument("--min-time", type=float, default=0.5, help="seconds to time each measurement at least")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = ap.parse_args(argv)
    device = args.device
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    dev = torch.device(device)
    cnn_k = args.cnn_k or ("1,4,16" if dev.type == "cuda" else "1,4")

    def ints(text: str, name: str) -> tuple[int, ...]:
        try:
            values = tuple(int(v) for v in text.split(",") if v)
        except ValueError:
            raise SystemExit(f"{name}={text!r}: expected comma-separated positive integers, e.g. 1,4,16") from None
        if not values or min(values) < 1:
            raise SystemExit(f"{name}={text!r}: expected comma-separated positive integers, e.g. 1,4,16")
        return values

    progress = None if args.json else (lambda s: print(s, file=sys.stderr, flush=True))
    result = run(device=dev, mlp_ks=ints(args.mlp_k, "--mlp-k"), cnn_ks=ints(cnn_k, "--cnn-k"),
                 methods=tuple(m for m in args.methods.split(",") if m), min_time=args.min_time,
                 progress=progress)
    print(json.dumps(result) if args.json else format_table(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
