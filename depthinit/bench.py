"""Benchmark: one training step of K models, three ways, against the machine's sgemm rate,
measured so that load on a shared machine shows up as spread instead of as a result.

Chapter: "Reproducibility" (the benchmark table and the predicted wall times). For
the paper's 54 x 64 MLP on CIFAR-10-shaped input (batch 128) and a plain CNN
(10 convolutions of 16 channels at 32 x 32), a training step (forward, backward,
optimizer) is timed for K configurations:

(a) ``loop``: a plain PyTorch loop over K separate models and optimizers;
(b) ``torch_func``: torch.func ensembling, ``stack_module_state`` with
    ``vmap(grad(loss))`` and a stacked SGD update;
(c) ``vectorised``: depthinit's engine (:mod:`depthinit.train`, the strategy and
    CUDA graph it picks by itself);

and a large fp32 matrix product (``sgemm``) as the machine's arithmetic rate.

**Noise.** The methods of one (model, K) are interleaved: each of ``rounds``
rounds times every method (and sgemm) for ``min_time`` seconds, in an order that
rotates from round to round, so a burst of load lands on all methods alike
instead of on whichever was being timed. Each method reports the median over
rounds (``*_ms``), the fastest and slowest round (``*_min_ms``, ``*_max_ms``) and
the spread ``(max - min) / median``; ratios such as ``loop_over_vectorised``
are medians of the per-round ratios (both times of a ratio come from the same
round). A measurement whose spread exceeds ``spread_bound`` (default
:data:`SPREAD_BOUND`) is flagged. The 1-, 5- and 15-minute load averages
before and after are recorded. :func:`benchmark_table` turns the JSON into the
table the book shows: medians, their spread and the flag, never a single-shot
number.

**Sweep throughput.** Training images per second summed over the members of one
stack of the E1 model, at the number of members the sweep runner would put in a
stack on this device (:func:`depthinit.sweep.default_max_members`), grouped by
seed as the runner groups them; :func:`predict_wall_time` turns it into the
predicted wall time of a list of runs.

Times are per model-step in milliseconds (the time of one step of all K models
divided by K); ``gflops`` is the achieved arithmetic rate of (c). Run
``depthinit bench`` (``--json`` for one JSON object).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, cast

import torch
from torch import nn

from .models import CNN, MLP, flops_per_example

BATCH = 128
MLP_SHAPE = (3, 32, 32)
#: A method whose spread (max - min) / median over the rounds exceeds this is flagged.
SPREAD_BOUND = 0.2
#: Rounds of the default run: enough for a median; the book's CPU build runs this.
ROUNDS = 5
#: Seconds each method is timed for in each round (at least one call).
MIN_TIME = 0.1
METHOD_LABELS: dict[str, str] = {
    "loop": "loop",
    "torch_func": "torch.func",
    "vectorised": "vectorised",
    "vectorised_eager": "vectorised, no CUDA graph",
}


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_call(
    fn: Callable[[], Any],
    device: torch.device,
    *,
    min_time: float = 0.5,
    min_reps: int = 1,
    max_reps: int = 1000,
    warmup: int = 0,
) -> float:
    """Mean seconds per call of ``fn``: after ``warmup`` calls, repeat until ``min_time``
    seconds and ``min_reps`` calls have passed (at most ``max_reps``), synchronising the
    device before reading the clock."""
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


def interleaved(
    fns: Mapping[str, Callable[[], Any]],
    device: torch.device,
    *,
    rounds: int = ROUNDS,
    min_time: float = MIN_TIME,
    warmup: int = 1,
) -> dict[str, list[float]]:
    """Seconds per call of every function in every round: ``rounds`` rounds, each timing
    every function for ``min_time`` seconds (:func:`time_call`), the order rotating by one
    from round to round (round r starts with function r mod n). Each function is first
    called ``warmup`` times."""
    _check_int("rounds", rounds, 1)
    if not (isinstance(min_time, (int, float)) and not isinstance(min_time, bool) and min_time >= 0):
        raise ValueError(f"min_time={min_time!r} is not valid; expected seconds >= 0")
    names = list(fns)
    for name in names:
        for _ in range(warmup):
            fns[name]()
    _sync(device)
    times: dict[str, list[float]] = {n: [] for n in names}
    for r in range(rounds):
        k = r % len(names) if names else 0
        for name in names[k:] + names[:k]:
            times[name].append(time_call(fns[name], device, min_time=min_time))
    return times


def summarise(values: Sequence[float]) -> dict[str, float]:
    """``median``, ``min``, ``max`` and ``spread = (max - min) / median`` of positive values."""
    if not values:
        raise ValueError("no values to summarise")
    med = statistics.median(values)
    lo, hi = min(values), max(values)
    return {"median": med, "min": lo, "max": hi, "spread": (hi - lo) / med if med > 0 else math.nan}


def load_average() -> list[float] | None:
    """The 1-, 5- and 15-minute load averages (None where the OS has none)."""
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def _sgemm_fn(device: torch.device, n: int = 2048) -> tuple[Callable[[], Any], float]:
    g = torch.Generator().manual_seed(0)
    a = torch.randn(n, n, generator=g).to(device)
    b = torch.randn(n, n, generator=g).to(device)
    return (lambda: torch.mm(a, b)), 2.0 * n**3


def sgemm_gflops(device: torch.device, n: int = 2048, *, min_time: float = 1.0) -> float:
    """Achieved GFLOP/s of an n x n float32 matrix product on ``device`` (one measurement)."""
    fn, flops = _sgemm_fn(torch.device(device), n)
    return flops / time_call(fn, torch.device(device), min_time=min_time, warmup=2) / 1e9


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
    out: list[nn.Module] = []
    for _ in range(K):
        m: nn.Module = MLP(3072, 10, depth=54, width=64) if kind == "mlp" else CNN(3, 10, depth=10, channels=16)
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
    """(c) depthinit's engine: one step of its vectorised K-member model (its own choice of
    strategy and, on CUDA, a CUDA graph, captured here before any timing)."""
    from .train import benchmark_step  # the engine exposes a ready-made step for benchmarks

    return _warm(benchmark_step(kind, K, device=device, batch_size=BATCH))


def _warm(step: Callable[[], None]) -> Callable[[], None]:
    """Take the eager warm-up steps and the capture of a CUDA-graph step now, so that no
    timed round pays for them."""
    from .train._graph import WARMUP_STEPS

    runner = getattr(step, "runner", None)
    if runner is not None and runner.graph:
        for _ in range(WARMUP_STEPS + 1):
            step()
    return step


def vectorised_eager_step(kind: str, K: int, device: torch.device) -> Callable[[], None]:
    """(c) without the CUDA graph (the same as (c) off CUDA): what the graph buys."""
    from .train import benchmark_step

    return benchmark_step(kind, K, device=device, batch_size=BATCH, cuda_graph=False)


METHODS: dict[str, Callable[[str, int, torch.device], Callable[[], None]]] = {
    "loop": loop_step,
    "torch_func": torch_func_step,
    "vectorised": vectorised_step,
    "vectorised_eager": vectorised_eager_step,
}
#: The methods timed unless asked otherwise (``vectorised_eager`` is added on CUDA).
DEFAULT_METHODS: tuple[str, ...] = ("loop", "torch_func", "vectorised")


def _check_int(name: str, value: object, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name}={value!r} is not valid; expected an integer >= {minimum}")


def _fp32(device: torch.device):
    """Every method in fp32 on CUDA: cuDNN's TF32 off, as the engine runs grouped (and
    vmapped) convolutions to keep members apart (:meth:`depthinit.train.Stack.numerics`);
    matrix products are fp32 by PyTorch's default already."""
    import contextlib

    if device.type != "cuda":
        return contextlib.nullcontext()
    b = torch.backends.cudnn
    return b.flags(enabled=b.enabled, benchmark=b.benchmark, deterministic=b.deterministic, allow_tf32=False)


def _row(
    kind: str,
    K: int,
    methods: Sequence[str],
    device: torch.device,
    *,
    rounds: int,
    min_time: float,
    sgemm: tuple[Callable[[], Any], float],
    bound: float,
) -> tuple[dict[str, Any], list[float]]:
    """One (model, K) of the benchmark: every method and sgemm interleaved in rounds; the
    row and the sgemm GFLOP/s of each round."""
    with _fp32(device):
        fns: dict[str, Callable[[], Any]] = {m: METHODS[m](kind, K, device) for m in methods}
        fns["sgemm"] = sgemm[0]
        # a CNN step takes long enough that its first call's one-off costs do not matter
        times = interleaved(fns, device, rounds=rounds, min_time=min_time, warmup=1 if kind == "mlp" else 0)
    row: dict[str, Any] = {"rounds": rounds}
    flops = 3.0 * flops_per_example(_models(kind, 1, torch.device("cpu"))[0], MLP_SHAPE) * BATCH  # fwd + bwd
    per = {m: [1e3 * t / K for t in times[m]] for m in methods}  # ms per model-step, per round
    sg = [sgemm[1] / t / 1e9 for t in times["sgemm"]]
    for m in methods:
        s = summarise(per[m])
        row[f"{m}_ms"], row[f"{m}_min_ms"], row[f"{m}_max_ms"], row[f"{m}_spread"] = (
            s["median"],
            s["min"],
            s["max"],
            s["spread"],
        )
    s = summarise(sg)
    row["sgemm_gflops"], row["sgemm_min_gflops"], row["sgemm_max_gflops"], row["sgemm_spread"] = (
        s["median"],
        s["min"],
        s["max"],
        s["spread"],
    )
    if "vectorised" in methods:
        vec = per["vectorised"]
        with _fp32(device), _PeakMemory(device) as mem:
            fns["vectorised"]()
            _sync(device)
        row["peak_mb"] = mem.mb
        gf = [flops * K / (t / 1e3 * K) / 1e9 for t in vec]  # t is ms per model-step
        row["gflops"] = statistics.median(gf)
        row["sgemm_fraction"] = statistics.median([a / b for a, b in zip(gf, sg)])
        for m in methods:
            if m != "vectorised":
                r = summarise([a / b for a, b in zip(per[m], vec)])
                row[f"{m}_over_vectorised"] = r["median"]
                row[f"{m}_over_vectorised_min"], row[f"{m}_over_vectorised_max"] = r["min"], r["max"]
    row["flagged"] = [m for m in [*methods, "sgemm"] if row[f"{m}_spread"] > bound]
    return row, sg


def measure_strategies(
    kind: str,
    ks: Sequence[int],
    device: str | torch.device = "cpu",
    *,
    rounds: int = 3,
    min_time: float = MIN_TIME,
    batch_size: int = BATCH,
    graphs: bool | None = None,
    loop_max_k: int | None = None,
) -> dict[str, dict[str, Any]]:
    """Time every strategy the engine has for ``kind`` (``"mlp"`` or ``"cnn"``) at each K,
    interleaved in rounds; with ``graphs`` (default: on CUDA) each also without its CUDA
    graph (``"<strategy>/eager"``); ``"loop"`` only up to ``loop_max_k``. Returns, per K,
    the median ms per model-step of each, the ``fastest`` and the strategy ``"auto"`` picks
    (:func:`depthinit.train.default_strategy`), so a measured table can be checked against the one the engine ships."""
    from .train import KIND_STRATEGIES, benchmark_step, default_strategy

    device = torch.device(device)
    graphs = device.type == "cuda" if graphs is None else graphs
    if kind not in ("mlp", "cnn"):
        raise ValueError(f"kind={kind!r} is not valid; expected 'mlp' or 'cnn'")
    out: dict[str, dict[str, Any]] = {}
    for K in ks:
        _check_int("K", K, 1)
        with _fp32(device):
            fns: dict[str, Callable[[], Any]] = {}
            for s in KIND_STRATEGIES[kind]:
                if s == "loop" and loop_max_k is not None and K > loop_max_k:
                    continue
                fns[s] = _warm(benchmark_step(kind, K, device=device, batch_size=batch_size, strategy=cast(Any, s)))
                if graphs:
                    fns[f"{s}/eager"] = benchmark_step(
                        kind, K, device=device, batch_size=batch_size, strategy=cast(Any, s), cuda_graph=False
                    )
            times = interleaved(fns, device, rounds=rounds, min_time=min_time)
        row: dict[str, Any] = {n: 1e3 * statistics.median(t) / K for n, t in times.items()}
        row["fastest"] = min(times, key=lambda n: row[n])
        template = _models(kind, 1, torch.device("cpu"))[0]
        row["auto"] = default_strategy(template, device, K)
        out[str(K)] = row
        del fns
    return out


def _e1_stack(device: torch.device, experiment: str, profile: str) -> dict[str, Any]:
    """The model, batch size, K and seed groups of the largest stack the sweep runner would
    build for ``experiment`` at ``profile`` on ``device``."""
    from .data._registry import DATASETS
    from .sweep import default_max_members, get_experiment, stacks

    spec = get_experiment(experiment)
    exp = spec.resolve(profile) if spec.profiles else spec
    runs = exp.runs(profile)
    kind = runs[0].model.kind
    K = default_max_members(kind, device)
    biggest = max(stacks(runs, K), key=len)
    sizes: list[int] = []  # members sharing a seed share a batch; the runner orders a stack by seed
    for i, r in enumerate(biggest):
        if i and biggest[i - 1].seed == r.seed:
            sizes[-1] += 1
        else:
            sizes.append(1)
    info = DATASETS[runs[0].dataset]
    model = runs[0].model.build(tuple(info.input_shape), info.num_classes)
    return {
        "model": model,
        "input_shape": tuple(info.input_shape),
        "batch_size": runs[0].train.batch_size,
        "K": len(biggest),
        "max_members": K,
        "groups": sizes,
        "kind": kind,
        "source": f"{experiment} [{profile}]: {len(runs)} runs, largest stack of {len(biggest)}",
    }


def sweep_throughput(
    device: str | torch.device = "cpu",
    *,
    experiment: str = "fcnn-cifar10",
    profile: str = "paper",
    rounds: int = ROUNDS,
    min_time: float = MIN_TIME,
    K: int | None = None,
) -> dict[str, Any]:
    """Training images per second summed over the members of one stack of ``experiment``'s
    model (E1: the 54 x 64 MLP, batch 128), at the K the sweep runner would choose
    (``default_max_members``; ``K`` overrides it) with its seed groups (members sharing a
    seed share a batch), one engine step timed in interleaved rounds against sgemm:
    ``images_per_s = K * batch / step seconds`` (median, min, max over rounds).

    Falls back to the 54 x 64 MLP with one batch per member when the experiment cannot be
    read (``source`` says which). Chapter "Reproducibility": the predicted wall time of a
    profile is :func:`predict_wall_time` of this."""
    from .train import benchmark_step

    device = torch.device(device)
    try:
        st = _e1_stack(device, experiment, profile)
    except Exception as exc:  # the registry is another area's; the benchmark still runs
        from .sweep import default_max_members

        kmax = default_max_members("mlp", device)
        st = {
            "model": MLP(3072, 10, depth=54, width=64),
            "input_shape": MLP_SHAPE,
            "batch_size": BATCH,
            "K": kmax,
            "max_members": kmax,
            "groups": [1] * kmax,
            "kind": "mlp",
            "source": f"54 x 64 MLP, one batch per member ({experiment} [{profile}] not readable: {exc})",
        }
    if K is not None:
        _check_int("K", K, 1)
        g = max(st["groups"]) if st["groups"] else 1
        st["K"], st["groups"] = K, [min(g, K - i) for i in range(0, K, g)]
    step: Any = _warm(
        benchmark_step(
            st["kind"],
            st["K"],
            device=device,
            batch_size=st["batch_size"],
            input_shape=st["input_shape"],
            model=st["model"],
            groups=st["groups"],
        )
    )
    fn, flops = _sgemm_fn(device)
    times = interleaved({"step": step, "sgemm": fn}, device, rounds=rounds, min_time=min_time)
    images = [st["K"] * st["batch_size"] / t for t in times["step"]]
    s = summarise(images)
    return {
        "images_per_s": s["median"],
        "images_per_s_min": s["min"],
        "images_per_s_max": s["max"],
        "spread": s["spread"],
        "K": st["K"],
        "max_members": st["max_members"],
        "groups": st["groups"],
        "batch": st["batch_size"],
        "strategy": step.stack.strategy,
        "cuda_graph": step.runner.graph,
        "rounds": rounds,
        "source": st["source"],
        "sgemm_gflops": statistics.median(flops / t / 1e9 for t in times["sgemm"]),
    }


def _field(run: Any, name: str) -> float:
    value = run.get(name) if isinstance(run, Mapping) else getattr(run, name, None)
    if value is None:
        raise ValueError(
            f"run {run!r} has no {name}; give epochs, n_train, n_val and n_test per run "
            "(n_val 0 without validation; sizes as numbers, not None)"
        )
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (math.isfinite(value) and value >= 0):
        raise ValueError(f"{name}={value!r} of run {run!r} is not valid; expected a number >= 0")
    return float(value)


def predict_wall_time(
    throughput: float | Mapping[str, Any], runs: Iterable[Any], *, eval_init: bool = True, eval_cost: float = 1 / 3
) -> float:
    """Predicted seconds to train ``runs`` at ``throughput`` training images per second
    (a number, or :func:`sweep_throughput`'s result):

        seconds = sum over runs of [E * n_train + c * ((E + i) * (n_val + n_test) + i * n_train)] / throughput

    with E the run's epochs, i = 1 when the history starts with an evaluation at
    initialization (``eval_init``), and c = ``eval_cost`` the cost of evaluating an image
    relative to training on it (a forward pass against forward, backward and update: 1/3).
    Each run is a mapping or an object with ``epochs``, ``n_train``, ``n_val`` and
    ``n_test``. Not counted: loading data, initialization, probes, a last stack with fewer
    members than the one the throughput was measured at. Chapter "Reproducibility":
    predicted beside measured."""
    rate = throughput.get("images_per_s") if isinstance(throughput, Mapping) else throughput
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not (math.isfinite(rate) and rate > 0):
        raise ValueError(
            f"throughput={throughput!r} is not valid; expected images per second > 0 "
            "(or the result of sweep_throughput)"
        )
    if isinstance(eval_cost, bool) or not isinstance(eval_cost, (int, float)) or not eval_cost >= 0:
        raise ValueError(f"eval_cost={eval_cost!r} is not valid; expected a number >= 0")
    if hasattr(runs, "columns") and hasattr(runs, "to_dict"):  # a DataFrame: one run per row
        runs = runs.to_dict("records")
    elif isinstance(runs, Mapping):
        runs = [runs]
    i = 1.0 if eval_init else 0.0
    images = 0.0
    for run in runs:
        e, ntr, nva, nte = (_field(run, k) for k in ("epochs", "n_train", "n_val", "n_test"))
        images += e * ntr + eval_cost * ((e + i) * (nva + nte) + i * ntr)
    return images / rate


def run(
    *,
    device: str | torch.device = "cpu",
    mlp_ks: tuple[int, ...] = (1, 4, 16, 64),
    cnn_ks: tuple[int, ...] = (1, 4),
    methods: tuple[str, ...] | None = None,
    min_time: float = MIN_TIME,
    rounds: int = ROUNDS,
    spread_bound: float = SPREAD_BOUND,
    loop_max_k: int | None = None,
    throughput: bool = True,
    strategies: bool = False,
    threads: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Run the benchmark (see module doc); return one JSON-able dict:

    ``device``, ``threads``, ``batch``, ``rounds``, ``min_time``, ``spread_bound``,
    ``load_before``/``load_after`` (1/5/15-minute load averages), ``sgemm_gflops`` (median
    over every round) with ``sgemm_min_gflops``/``sgemm_max_gflops``, ``mlp`` and ``cnn``
    (per K: ``<method>_ms`` medians per model-step, ``<method>_min_ms``, ``<method>_max_ms``,
    ``<method>_spread``, ``<method>_over_vectorised`` (median of per-round ratios) with its
    ``_min``/``_max``, ``gflops``, ``sgemm_fraction``, ``peak_mb``, ``rounds``, ``flagged``),
    ``throughput`` (:func:`sweep_throughput`, unless ``throughput=False``), ``strategies``
    (:func:`measure_strategies` for both models, only when asked), and ``flagged``: every
    "model K method" whose spread exceeded ``spread_bound``. ``loop_max_k`` leaves the loop
    out above that K (its time per model does not depend on K).

    ``threads``: torch threads while the methods are compared (default: 1 on a CPU, as
    set on CUDA). On a CPU shared with other work a method's speed-up from a second
    core depends on whether it gets one, so ratios measured with two threads move
    with the load (measured on the shared 2-core machine: loop / vectorised at K = 16
    between 1.6 and 30 over rounds with two threads, 1.6 to 2.6 with one); one thread
    compares the methods per core. The sweep throughput is measured with the threads
    the sweeps use (torch's setting when called), since it predicts their wall time."""
    device = torch.device(device)
    if methods is None:
        methods = DEFAULT_METHODS + (("vectorised_eager",) if device.type == "cuda" else ())
    unknown = set(methods) - set(METHODS)
    if unknown:
        raise ValueError(f"unknown method(s) {sorted(unknown)}; expected some of {list(METHODS)}")
    _check_int("rounds", rounds, 1)
    if isinstance(spread_bound, bool) or not isinstance(spread_bound, (int, float)) or not spread_bound > 0:
        raise ValueError(f"spread_bound={spread_bound!r} is not valid; expected a fraction > 0 such as 0.2")
    say = progress or (lambda s: None)
    sweep_threads = torch.get_num_threads()
    if threads is None:
        threads = 1 if device.type == "cpu" else sweep_threads
    _check_int("threads", threads, 1)
    try:
        torch.set_num_threads(threads)
        out = _compare(device, mlp_ks, cnn_ks, methods, min_time, rounds, spread_bound, loop_max_k, strategies, say)
    finally:
        torch.set_num_threads(sweep_threads)
    if throughput:
        out["throughput"] = tp = sweep_throughput(device, rounds=rounds, min_time=min_time)
        tp["threads"] = sweep_threads
        if tp["spread"] > spread_bound:
            out["flagged"].append("throughput")
        say(f"sweep throughput: {tp['images_per_s']:.0f} images/s at K={tp['K']} ({tp['source']})")
    out["load_after"] = load_average()
    return out


def _compare(
    device: torch.device,
    mlp_ks: Sequence[int],
    cnn_ks: Sequence[int],
    methods: Sequence[str],
    min_time: float,
    rounds: int,
    spread_bound: float,
    loop_max_k: int | None,
    strategies: bool,
    say: Callable[[str], None],
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "device": _device_name(device),
        "threads": torch.get_num_threads(),
        "batch": BATCH,
        "rounds": rounds,
        "min_time": min_time,
        "spread_bound": spread_bound,
        "load_before": load_average(),
    }
    sgemm = _sgemm_fn(device)
    sg_all: list[float] = []
    flagged: list[str] = []
    for kind, ks in (("mlp", mlp_ks), ("cnn", cnn_ks)):
        out[kind] = {}
        for K in ks:
            _check_int("K", K, 1)
            ms = tuple(m for m in methods if not (m == "loop" and loop_max_k is not None and K > loop_max_k))
            row, sg = _row(kind, K, ms, device, rounds=rounds, min_time=min_time, sgemm=sgemm, bound=spread_bound)
            sg_all += sg
            flagged += [f"{kind} K={K} {m}" for m in row["flagged"]]
            out[kind][str(K)] = row
            say(
                f"{kind} K={K}: "
                + ", ".join(f"{m} {row[f'{m}_ms']:.3f} ms (spread {100 * row[f'{m}_spread']:.0f} %)" for m in ms)
            )
    if not sg_all:
        fn, flops = sgemm
        sg_all = [
            flops / t / 1e9 for t in interleaved({"sgemm": fn}, device, rounds=rounds, min_time=min_time)["sgemm"]
        ]
    out["sgemm_gflops"] = statistics.median(sg_all)
    out["sgemm_min_gflops"], out["sgemm_max_gflops"] = min(sg_all), max(sg_all)
    say(f"sgemm: {out['sgemm_gflops']:.1f} GFLOP/s")
    if strategies:
        out["strategies"] = {
            kind: measure_strategies(kind, ks, device, rounds=rounds, min_time=min_time, loop_max_k=loop_max_k)
            for kind, ks in (("mlp", mlp_ks), ("cnn", cnn_ks))
            if ks
        }
    out["flagged"] = flagged
    return out


#: The GPU targets of the benchmark issue (chapter "Reproducibility"), checked by
#: ``benchmarks/gpu_check.sh`` through :func:`check_targets`.
GPU_TARGETS: dict[str, str] = {
    "mlp_k320_sgemm_share": "MLP at K = 320 reaches >= 50 % of the measured sgemm rate",
    "mlp_k16_speedup": "MLP at K = 16: >= 5x faster per model-step than the stored baseline run",
    "cnn_k16_vs_torch_func": "CNN at K = 16 no slower than torch.func",
    "e1_lr_grid_in_10_min": "the E1 paper grid with its learning-rate grid (>= 475 runs x 30 epochs) in 10 minutes",
}


def check_targets(
    result: Mapping[str, Any],
    *,
    baseline: Mapping[str, Any] | None = None,
    sweep_seconds: float | None = None,
    sweep_runs: int | None = None,
    sweep_epochs: int | None = None,
) -> list[dict[str, Any]]:
    """Each of ``GPU_TARGETS`` measured from a benchmark ``result`` (and ``baseline``,
    the stored result of the earlier engine, and the wall time, run count and epochs of
    the E1 sweep): ``{"target", "what", "measured", "needed", "ok"}``, ``ok`` None where
    the inputs lack the measurement. The conditions:

    * ``mlp[320].sgemm_fraction >= 0.5``;
    * ``baseline.mlp[16].vectorised_ms / mlp[16].vectorised_ms >= 5``;
    * ``cnn[16].torch_func_over_vectorised >= 1``;
    * ``sweep_runs >= 475``, ``sweep_epochs >= 30`` and ``sweep_seconds <= 600``.
    """

    def get(d: Mapping[str, Any] | None, kind: str, K: str, key: str) -> float | None:
        v = (d or {}).get(kind, {}).get(K, {}).get(key)
        return None if v is None else float(v)

    out = []
    share = get(result, "mlp", "320", "sgemm_fraction")
    out.append(("mlp_k320_sgemm_share", share, ">= 0.5", None if share is None else share >= 0.5))
    now, before = get(result, "mlp", "16", "vectorised_ms"), get(baseline, "mlp", "16", "vectorised_ms")
    speed = None if now is None or before is None else before / now
    out.append(("mlp_k16_speedup", speed, ">= 5", None if speed is None else speed >= 5))
    ratio = get(result, "cnn", "16", "torch_func_over_vectorised")
    out.append(("cnn_k16_vs_torch_func", ratio, ">= 1", None if ratio is None else ratio >= 1))
    if sweep_seconds is None or sweep_runs is None:
        out.append(("e1_lr_grid_in_10_min", sweep_seconds, "<= 600 s with >= 475 runs x 30 epochs", None))
    else:
        ok = sweep_runs >= 475 and (sweep_epochs or 0) >= 30 and sweep_seconds <= 600
        out.append(
            (
                "e1_lr_grid_in_10_min",
                float(sweep_seconds),
                f"<= 600 s with >= 475 runs x 30 epochs (got {sweep_runs} runs x {sweep_epochs} epochs)",
                ok,
            )
        )
    return [{"target": t, "what": GPU_TARGETS[t], "measured": m, "needed": n, "ok": ok} for t, m, n, ok in out]


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"cpu ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)"


def _flag(r: Mapping[str, Any], bound: float) -> str:
    if "rounds" not in r:
        return "single shot: no spread"
    over = [METHOD_LABELS.get(m, m) for m in r.get("flagged", [])]
    return f"spread > {100 * bound:.0f} %: {', '.join(over)}" if over else ""


def benchmark_table(result: Mapping[str, Any]):
    """The benchmark JSON as the table the book shows: one row per model and K with, for
    each method, the median ms per model-step over the rounds and its spread
    ((max - min) / median, in %), the ratios loop / vectorised (median with the range over
    rounds) and torch.func / vectorised, the share of sgemm, the peak memory and a flag:
    which methods' spread exceeded the run's ``spread_bound``, or "single shot" for a
    result without rounds (one measurement per method, as stored by older versions)."""
    import pandas as pd

    bound = float(result.get("spread_bound", SPREAD_BOUND))
    rows = []
    for kind in ("mlp", "cnn"):
        for K, r in result.get(kind, {}).items():

            def pct(key: str, r: Mapping[str, Any] = r) -> float:
                v = r.get(key)
                return math.nan if v is None else 100.0 * v

            rows.append(
                {
                    "model": kind,
                    "K": int(K),
                    "rounds": int(r.get("rounds", 1)),
                    "loop ms": r.get("loop_ms"),
                    "loop spread %": pct("loop_spread"),
                    "torch.func ms": r.get("torch_func_ms"),
                    "torch.func spread %": pct("torch_func_spread"),
                    "vectorised ms": r.get("vectorised_ms"),
                    "vectorised spread %": pct("vectorised_spread"),
                    "loop / vectorised": r.get("loop_over_vectorised"),
                    "loop / vectorised min": r.get("loop_over_vectorised_min"),
                    "loop / vectorised max": r.get("loop_over_vectorised_max"),
                    "torch.func / vectorised": r.get("torch_func_over_vectorised"),
                    "share of sgemm": r.get("sgemm_fraction"),
                    "peak MB": r.get("peak_mb"),
                    "flag": _flag(r, bound),
                }
            )
    frame = pd.DataFrame(
        rows,
        columns=[
            "model",
            "K",
            "rounds",
            "loop ms",
            "loop spread %",
            "torch.func ms",
            "torch.func spread %",
            "vectorised ms",
            "vectorised spread %",
            "loop / vectorised",
            "loop / vectorised min",
            "loop / vectorised max",
            "torch.func / vectorised",
            "share of sgemm",
            "peak MB",
            "flag",
        ],
    )
    num = [c for c in frame.columns if c not in ("model", "K", "rounds", "flag")]
    frame[num] = frame[num].astype(float)
    return frame.set_index(["model", "K"])


#: The book's earlier name for :func:`benchmark_table`.
to_frame = benchmark_table


def format_table(result: Mapping[str, Any]) -> str:
    """A plain-text table of the benchmark result: medians over rounds, spreads, flags."""
    bound = float(result.get("spread_bound", SPREAD_BOUND))
    lines = [
        f"device: {result['device']}, threads {result['threads']}, batch {result['batch']}, "
        f"rounds {result.get('rounds', 1)}, spread bound {100 * bound:.0f} %",
        f"load average before {result.get('load_before')}, after {result.get('load_after')}",
        f"sgemm: {result['sgemm_gflops']:.1f} GFLOP/s (median; "
        f"{result.get('sgemm_min_gflops', math.nan):.1f} to {result.get('sgemm_max_gflops', math.nan):.1f})",
        "",
    ]
    lines.append(
        f"{'model':5} {'K':>4} {'loop ms':>9} {'±%':>4} {'func ms':>9} {'±%':>4} {'vect ms':>9} {'±%':>4} "
        f"{'a/c':>6} {'(range)':>13} {'b/c':>6} {'%sgemm':>7} {'peak MB':>8}  flag"
    )
    for kind in ("mlp", "cnn"):
        for K, r in result.get(kind, {}).items():

            def f(key: str, fmt: str, scale: float = 1.0, r: Mapping[str, Any] = r) -> str:
                v = r.get(key)
                return format(math.nan if v is None else scale * v, fmt)

            rng = f"{f('loop_over_vectorised_min', '.1f')}-{f('loop_over_vectorised_max', '.1f')}"
            lines.append(
                f"{kind:5} {K:>4} {f('loop_ms', '9.3f')} {f('loop_spread', '4.0f', 100)} "
                f"{f('torch_func_ms', '9.3f')} {f('torch_func_spread', '4.0f', 100)} "
                f"{f('vectorised_ms', '9.3f')} {f('vectorised_spread', '4.0f', 100)} "
                f"{f('loop_over_vectorised', '6.1f')} {rng:>13} {f('torch_func_over_vectorised', '6.1f')} "
                f"{f('sgemm_fraction', '6.0f', 100)}% {f('peak_mb', '8.0f')}  {_flag(r, bound)}"
            )
    tp = result.get("throughput")
    if tp:
        lines += [
            "",
            f"sweep throughput: {tp['images_per_s']:.0f} training images/s (median; "
            f"{tp['images_per_s_min']:.0f} to {tp['images_per_s_max']:.0f}) at K={tp['K']}, "
            f"strategy {tp['strategy']}, CUDA graph {tp['cuda_graph']}; {tp['source']}",
        ]
    for kind, table in result.get("strategies", {}).items():
        for K, row in table.items():
            times = ", ".join(f"{k} {v:.3f}" for k, v in row.items() if k not in ("fastest", "auto"))
            lines.append(f"strategies {kind} K={K}: {times} ms; fastest {row['fastest']}, auto {row['auto']}")
    if result.get("flagged"):
        lines += ["", f"flagged (spread > {100 * bound:.0f} %): {', '.join(result['flagged'])}"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="depthinit bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, ... or auto (default cpu)")
    ap.add_argument("--mlp-k", default="1,4,16,64", help="comma-separated K values for the MLP")
    ap.add_argument(
        "--cnn-k",
        default=None,
        help="comma-separated K values for the CNN (default 1,4 on CPU, 1,4,16 on CUDA); 0 for none",
    )
    ap.add_argument(
        "--methods",
        default=None,
        help=f"comma-separated subset of {','.join(METHODS)} (default {','.join(DEFAULT_METHODS)}, "
        "plus vectorised_eager on CUDA)",
    )
    ap.add_argument("--rounds", type=int, default=ROUNDS, help=f"interleaved rounds (default {ROUNDS})")
    ap.add_argument(
        "--min-time",
        type=float,
        default=MIN_TIME,
        help=f"seconds to time each method in each round, at least one call (default {MIN_TIME})",
    )
    ap.add_argument(
        "--spread-bound",
        type=float,
        default=SPREAD_BOUND,
        help=f"flag a spread (max - min) / median above this (default {SPREAD_BOUND})",
    )
    ap.add_argument("--loop-max-k", type=int, default=None, help="time the plain loop only up to this K")
    ap.add_argument("--no-throughput", action="store_true", help="skip the sweep throughput")
    ap.add_argument("--strategies", action="store_true", help="also time every engine strategy per model and K")
    ap.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch threads while comparing the methods (default 1 on a CPU; see run())",
    )
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = ap.parse_args(argv)
    device = args.device
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    dev = torch.device(device)
    cnn_k = args.cnn_k or ("1,4,16" if dev.type == "cuda" else "1,4")

    def ints(text: str, name: str, allow_none: bool = False) -> tuple[int, ...]:
        if allow_none and text.strip() == "0":
            return ()
        try:
            values = tuple(int(v) for v in text.split(",") if v)
        except ValueError:
            raise SystemExit(f"{name}={text!r}: expected comma-separated positive integers, e.g. 1,4,16") from None
        if not values or min(values) < 1:
            raise SystemExit(f"{name}={text!r}: expected comma-separated positive integers, e.g. 1,4,16")
        return values

    for name, value in (("--rounds", args.rounds), ("--threads", args.threads)):
        if value is not None and value < 1:
            raise SystemExit(f"{name}={value}: expected an integer >= 1")
    methods = None if args.methods is None else tuple(m for m in args.methods.split(",") if m)
    progress = None if args.json else (lambda s: print(s, file=sys.stderr, flush=True))
    result = run(
        device=dev,
        mlp_ks=ints(args.mlp_k, "--mlp-k", True),
        cnn_ks=ints(cnn_k, "--cnn-k", True),
        methods=methods,
        min_time=args.min_time,
        rounds=args.rounds,
        spread_bound=args.spread_bound,
        loop_max_k=args.loop_max_k,
        throughput=not args.no_throughput,
        strategies=args.strategies,
        threads=args.threads,
        progress=progress,
    )
    print(json.dumps(result) if args.json else format_table(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
