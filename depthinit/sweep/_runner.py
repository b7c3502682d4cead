"""Run an experiment's grid: expand, group into vectorised stacks, train, write tidy tables.

Chapter: "Reproducibility". Resumable: run ids hash each run's configuration,
finished runs are skipped when the sweep starts again, and results are
committed atomically after every stack, so killing the process at any moment
loses at most the stack in progress and a restart completes the grid with
every run exactly once.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
import warnings
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from tqdm.auto import tqdm

from ..init import LSUVConvergenceWarning, init_
from ..train import train_many
from ..train._stack import Strategy
from . import _store as store
from ._spec import Experiment, Run, SweepError, _jsonable

#: Examples LSUV scales each layer on: the first training examples.
LSUV_BATCH = 256

RESULT_METRICS = ("epoch", "train_loss", "train_acc", "test_loss", "test_acc", "status", "wall_s")


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"``: CUDA if available, then MPS, then CPU; anything else as a torch device."""
    if str(device) == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise SweepError(f"device={device!r} is not valid; expected 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise SweepError("device 'cuda' was asked for but CUDA is not available here; use --device auto or cpu")
    return dev


def default_max_members(kind: str, device: torch.device) -> int:
    """How many runs train together in one stack by default (memory-bound for CNNs on CPU)."""
    if device.type == "cuda":  # measured on an H200: the MLP stack is launch-bound, grouped convs peak near 16
        return 256 if kind == "mlp" else 16
    return 32 if kind == "mlp" else 8


def _experiment(spec: Experiment | str) -> Experiment:
    if isinstance(spec, Experiment):
        return spec
    from .experiments import get_experiment

    return get_experiment(spec)


def _resolve(spec: Experiment, profile: str) -> Experiment:
    if not spec.profiles:
        return spec  # a spec without profiles runs as given; the name only labels the results
    return spec.resolve(profile)


def stacks(runs: Sequence[Run], max_members: int) -> list[list[Run]]:
    """Group runs that can train together (equal :meth:`Run.stack_key`), seed-major so
    members of a stack share batches where they can, at most ``max_members`` each."""
    if max_members < 1:
        raise SweepError(f"max_members={max_members!r} is not valid; expected an integer >= 1")
    by_key: dict[str, list[Run]] = {}
    for r in runs:
        by_key.setdefault(r.stack_key(), []).append(r)
    out = []
    for group in by_key.values():
        group = sorted(group, key=lambda r: r.seed)  # stable: init order kept within a seed
        out.extend(group[i:i + max_members] for i in range(0, len(group), max_members))
    return out


class _DataCache:
    def __init__(self, data: Any, root: str | None, cache_dir: str | None, device: torch.device) -> None:
        self.data, self.root, self.cache_dir, self.device = data, root, cache_dir, device
        self.loaded: dict[tuple, Any] = {}

    def get(self, run: Run) -> Any:
        key = (run.dataset, run.preprocess, run.train.n_train, run.train.n_test)
        if key not in self.loaded:
            if self.data is not None:
                ds = self.data
            else:
                from ..data import load_dataset

                ds = load_dataset(run.dataset, root=self.root, preprocess=run.preprocess, device=self.device,
                                  cache_dir=self.cache_dir, progress=False)
            if (run.train.n_train is not None or run.train.n_test is not None) and hasattr(ds, "subset"):
                ds = ds.subset(run.train.n_train, run.train.n_test, seed=0)
            self.loaded[key] = ds
        return self.loaded[key]

    def provenance(self) -> list[dict[str, Any]]:
        out = []
        for ds in self.loaded.values():
            if hasattr(ds, "provenance"):
                out.append(_jsonable(ds.provenance()))
            else:
                out.append({"name": type(ds).__name__, "source": "in-memory tensors", "sha256": None,
                            "sizes": {"train": len(ds.y_train), "test": len(ds.y_test)}})
        return out


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _provenance(spec: Experiment, profile: str, device: torch.device, data: _DataCache, started: str,
                status: str, total: int, done: int, max_members: int, strategy: str) -> dict[str, Any]:
    from .. import __version__
    from ..provenance import git_commit, hardware, package_versions

    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
    else:
        name = hardware()["cpu"]
    return {
        "experiment": spec.name, "profile": profile, "status": status, "runs_total": total, "runs_done": done,
        "started": started, "updated": _now(),
        "code": {"depthinit": __version__, **git_commit()},
        "packages": package_versions(("torch", "numpy", "pandas", "tqdm")),
        "python": hardware()["python"],
        "device": {"type": device.type, "name": name, "torch_threads": torch.get_num_threads()},
        "hardware": hardware(),
        "max_members": max_members, "strategy": strategy,
        "data": data.provenance(),
        "spec": _jsonable(spec.to_dict()),
    }


def _init_members(stack: list[Run], data: Any) -> tuple[list[torch.nn.Module], list[pd.DataFrame], list[bool | None]]:
    shape = tuple(data.x_train.shape[1:])
    classes = int(data.num_classes) if hasattr(data, "num_classes") else int(data.y_train.max()) + 1
    example = data.x_train[:LSUV_BATCH].detach().to("cpu", torch.float32)
    models, plans, converged = [], [], []
    for r in stack:
        model = r.model.build(shape, classes)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", LSUVConvergenceWarning)
            p = init_(model, r.init.scheme, generator=torch.Generator().manual_seed(r.seed),
                      example_input=example if r.init.scheme == "lsuv" else None, **r.init.kwargs)
        for w in caught:
            if not issubclass(w.category, LSUVConvergenceWarning):
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        frame = p.to_frame()
        frame.insert(0, "run_id", r.run_id)
        frame.insert(1, "init", r.init.label)
        plans.append(frame)
        converged.append(p.converged if r.init.scheme == "lsuv" else None)
        models.append(model)
    return models, plans, converged


def run(
    spec: Experiment | str,
    *,
    profile: str = "default",
    out: str | Path,
    device: str | torch.device = "auto",
    data_root: str | None = None,
    cache_dir: str | None = None,
    data: Any = None,
    max_members: int | None = None,
    strategy: Strategy = "auto",
    progress: bool | None = None,
) -> pd.DataFrame:
    """Run (or finish) an experiment's sweep; return its results table.

    ``spec`` is an :class:`Experiment` or the name of a shipped one
    (:func:`depthinit.sweep.experiments`). ``profile`` picks its overrides
    (``"smoke"``, ``"default"``, ``"paper"``). Results go to ``out`` (see
    ``depthinit.sweep._store``); runs already there are skipped. ``device``:
    ``"auto"`` (CUDA, MPS, CPU), or a torch device. Data come from
    :func:`depthinit.data.load_dataset` with ``data_root``/``cache_dir``, or
    from ``data`` (any object with x_train, y_train, x_test, y_test tensors).
    ``max_members`` caps a stack (default by model and device).

    Returns one row per run and epoch, columns ``run_id, experiment, profile,
    variant, dataset, preprocess, model, layers, width, init, scheme, base,
    distribution, schedule, network_variance, depth_fn, offset, seed,
    optimizer, lr, batch_size, epochs, n_train, n_test, epoch, train_loss,
    train_acc, test_loss, test_acc, status, wall_s``.
    """
    base = _experiment(spec)
    exp = _resolve(base, profile)
    dev = resolve_device(device)
    out = Path(out).expanduser()
    store.check_folder(out, exp.name, profile)
    runs = exp.runs(profile)
    runs = [dataclasses.replace(r, train=dataclasses.replace(r.train, device=str(dev))) for r in runs]
    ids = [r.run_id for r in runs]
    if len(set(ids)) != len(ids):
        raise SweepError(f"experiment {exp.name!r} expands to duplicate runs; make its variants differ")
    kind = runs[0].model.kind
    max_members = default_max_members(kind, dev) if max_members is None else max_members
    started = _now()
    cache = _DataCache(data, data_root, cache_dir, dev)
    if out.is_dir():
        before = store.load(out, probes=False).finished
        pending = [r for r in runs if r.run_id not in before]
    else:
        pending = runs
    if pending:
        cache.get(pending[0])  # load data first: a data error leaves the folder as it was
    out.mkdir(parents=True, exist_ok=True)
    with store.Lock(out):
        have = store.load(out, probes=False)
        store.drop_orphan_parts(out, have.finished)
        results, runs_t, plans_t = have.results, have.runs, have.plans
        todo = [r for r in runs if r.run_id not in have.finished]
        started = have.provenance.get("started", started)

        def record(status: str) -> None:
            done = len(set(ids) & (set(results["run_id"]) if "run_id" in results else set()))
            prov = _provenance(exp, profile, dev, cache, started, status, len(runs), done, max_members, strategy)
            store.atomic_write_text(out / store.PROVENANCE, json.dumps(prov, indent=2, default=str) + "\n")

        record("running")
        bar = tqdm(total=len(todo), desc=f"{exp.name} [{profile}]", unit="run",
                   disable=None if progress is None else not progress)
        try:
            for number, group in enumerate(stacks(todo, max_members)):
                d = cache.get(group[0])
                t0 = time.perf_counter()
                models, plans, converged = _init_members(group, d)
                res = train_many(models, d, group[0].train, seeds=[r.seed for r in group],
                                 lrs=[r.train.lr for r in group], strategy=strategy, progress=progress,
                                 desc=f"stack {number + 1} x{len(group)}")
                wall = time.perf_counter() - t0
                new_rows, new_runs, probes, hists = [], [], [], []
                n_train, n_test = len(d.y_train), len(d.y_test)
                stem = group[0].run_id
                for r, rr, conv in zip(group, res, converged):
                    cols = {**r.columns(), "n_train": n_train, "n_test": n_test}
                    h = rr.history.copy()
                    for c, v in reversed(list(cols.items())):
                        h.insert(0, c, v)
                    h["status"] = rr.status
                    new_rows.append(h[list(cols) + list(RESULT_METRICS)])
                    ok = h["test_acc"].dropna()
                    new_runs.append({
                        **cols, "status": rr.status, "diverged_epoch": rr.diverged_epoch,
                        "diverged_step": rr.diverged_step, "epochs_done": int(h["epoch"].max()),
                        "final_test_acc": float(ok.iloc[-1]) if len(ok) else math.nan,
                        "best_test_acc": float(ok.max()) if len(ok) else math.nan,
                        "final_train_loss": float(h["train_loss"].dropna().iloc[-1]) if h["train_loss"].notna().any() else math.nan,
                        "wall_s": float(h["wall_s"].sum()), "stack": stem, "stack_size": len(group),
                        "stack_wall_s": wall, "device": dev.type, "lsuv_converged": conv,
                        "config": json.dumps(_jsonable(r.config()), sort_keys=True),
                    })
                    for frame, sink in ((rr.probes, probes), (rr.histograms, hists)):
                        if len(frame):
                            f = frame.copy()
                            for c, v in (("seed", r.seed), ("init", r.init.label), ("variant", r.variant),
                                         ("run_id", r.run_id)):
                                f.insert(0, c, v)
                            sink.append(f)
                for name, frames in (("probes", probes), ("histograms", hists)):
                    if frames:
                        store.write_part(out, name, stem, pd.concat(frames, ignore_index=True))
                plans_t = _append(plans_t, plans)
                runs_t = _append(runs_t, [pd.DataFrame(new_runs)])
                store.atomic_write_csv(out / store.PLANS, plans_t)
                store.atomic_write_csv(out / store.RUNS, runs_t)
                results = _append(results, new_rows)
                store.atomic_write_csv(out / store.RESULTS, results)  # the commit point
                record("running")
                bar.update(len(group))
        finally:
            bar.close()
        record("complete")
    final = store.load(out, probes=False).results  # as any reader will see it
    if final.empty:
        return final
    order = {i: n for n, i in enumerate(ids)}
    mine = final[final["run_id"].isin(order)].copy()
    mine["_order"] = mine["run_id"].map(order)
    return mine.sort_values(["_order", "epoch"]).drop(columns="_order").reset_index(drop=True)


def _append(table: pd.DataFrame, frames: list[pd.DataFrame]) -> pd.DataFrame:
    parts = [f for f in [table, *frames] if len(f)]
    if not parts:
        return table
    return pd.concat(parts, ignore_index=True)
