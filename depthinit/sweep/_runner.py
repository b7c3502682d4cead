"""Run an experiment's grid: expand, group into vectorised stacks, train, write tidy tables.

Chapter: "Reproducibility". Resumable: run ids hash each run's configuration,
finished runs are skipped when the sweep starts again, and every stack commits
its own parts atomically (see ``depthinit.sweep._store``), so killing the
process at any moment loses at most the stack in progress and a restart
completes the grid with every run exactly once. ``shard=(i, n)`` runs a
deterministic 1/n of the runs (:func:`shard_runs`) into its own folder;
:func:`depthinit.sweep.merge` combines the shard folders.
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

from ..init import LSUVConvergenceWarning, NormalizationCancelsDepthWarning, init_
from ..train import train_many
from ..train._stack import Strategy
from . import _store as store
from ._progress import Progress
from ._schema import METRIC_COLUMNS, PLANS
from ._spec import PROFILES, Experiment, Run, SweepError, _jsonable

#: Examples LSUV scales each layer on: the first training examples.
LSUV_BATCH = 256

RESULT_METRICS = tuple(METRIC_COLUMNS)
PLAN_COLUMNS = tuple(PLANS)


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"``: CUDA if available, then MPS, then CPU; anything else as a torch device."""
    if str(device) == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    expected = "expected 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'"
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise SweepError(f"device={device!r} is not valid; {expected}") from None
    if dev.type not in ("cpu", "cuda", "mps"):
        raise SweepError(f"device={device!r} cannot train a sweep; {expected}")
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise SweepError(
                f"device {str(device)!r} was asked for but CUDA is not available here; use --device auto or cpu"
            )
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise SweepError(
                f"device {str(device)!r} does not exist: this machine has {torch.cuda.device_count()} CUDA device(s)"
            )
    if dev.type == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise SweepError(
                f"device {str(device)!r} was asked for but MPS is not available here; use --device auto or cpu"
            )
    return dev


def default_max_members(kind: str, device: torch.device) -> int:
    """How many runs train together in one stack by default (memory-bound for CNNs on CPU)."""
    if device.type == "cuda":  # measured on an H200: the MLP stack is launch-bound, grouped convs peak near 16
        return 256 if kind == "mlp" else 16
    return 32 if kind == "mlp" else 8


def _experiment(spec: Experiment | str) -> Experiment:
    if isinstance(spec, Experiment):
        return spec
    if not isinstance(spec, str):
        raise SweepError(
            f"spec={spec!r} is not an experiment; pass an Experiment or the name of a registered "
            "one (see `depthinit list`)"
        )
    from .experiments import get_experiment

    return get_experiment(spec)


def resolve_spec(spec: Experiment | str, profile: str) -> Experiment:
    """The experiment (or the registered one named ``spec``) with ``profile`` applied;
    a spec without profiles runs as given (the profile then only labels its results)."""
    base = _experiment(spec)
    if not isinstance(profile, str) or profile not in PROFILES:
        raise SweepError(f"profile={profile!r} is not valid; expected one of {', '.join(map(repr, PROFILES))}")
    return base.resolve(profile) if base.profiles else base


def parse_shard(shard: str | tuple[int, int] | None) -> tuple[int, int] | None:
    """``"I/N"`` or ``(I, N)`` with 0 <= I < N (None: no sharding)."""
    if shard is None:
        return None
    try:
        if isinstance(shard, str):
            i_text, n_text = shard.split("/")
            i, n = int(i_text), int(n_text)
        else:
            i, n = shard
            if isinstance(i, bool) or isinstance(n, bool) or not isinstance(i, int) or not isinstance(n, int):
                raise TypeError
    except (ValueError, TypeError):
        raise SweepError(f"shard={shard!r} is not valid; expected 'I/N' with integers 0 <= I < N, e.g. 0/4") from None
    if not (n >= 1 and 0 <= i < n):
        raise SweepError(f"shard={shard!r} is not valid; expected 0 <= I < N and N >= 1, e.g. 0/4")
    return i, n


def shard_runs(runs: Sequence[Run], shard: tuple[int, int] | None) -> list[Run]:
    """Shard ``(i, n)`` of ``runs``: every n-th run of the spec's order, starting at the i-th.

    Deterministic and disjoint: the n shards together hold every run exactly once, and
    runs that stack together stay spread evenly over the shards."""
    if shard is None:
        return list(runs)
    i, n = shard
    return [r for k, r in enumerate(runs) if k % n == i]


def stacks(runs: Sequence[Run], max_members: int) -> list[list[Run]]:
    """Group runs that can train together (equal :meth:`Run.stack_key`), seed-major so
    members of a stack share batches where they can, at most ``max_members`` each."""
    if max_members < 1:
        raise SweepError(f"max_members={max_members!r} is not valid; expected an integer >= 1")
    by_key: dict[str, list[Run]] = {}
    for r in runs:
        by_key.setdefault(r.stack_key(), []).append(r)
    out: list[list[Run]] = []
    for group in by_key.values():
        group = sorted(group, key=lambda r: r.seed)  # stable: init order kept within a seed
        out.extend(group[i : i + max_members] for i in range(0, len(group), max_members))
    return out


class _DataCache:
    def __init__(self, data: Any, root: str | None, cache_dir: str | None, device: torch.device) -> None:
        self.data, self.root, self.cache_dir, self.device = data, root, cache_dir, device
        self.loaded: dict[tuple, Any] = {}

    def get(self, run: Run) -> Any:
        key = (run.dataset, run.preprocess, run.train.n_train, run.train.n_test, run.train.n_val)
        if key not in self.loaded:
            if self.data is not None:
                ds = self.data
            else:
                from ..data import load_dataset

                ds = load_dataset(
                    run.dataset,
                    root=self.root,
                    preprocess=run.preprocess,
                    device=self.device,
                    cache_dir=self.cache_dir,
                    progress=False,
                )
            n_val = run.train.n_val
            if n_val and not hasattr(ds, "subset"):
                raise SweepError(
                    f"train.n_val={n_val} needs a data set that can carve a validation split "
                    "(depthinit.data.Dataset); pass data=None to load it, or set n_val=0"
                )
            if (run.train.n_train is not None or run.train.n_test is not None or n_val) and hasattr(ds, "subset"):
                extra = {"n_val": n_val} if n_val else {}
                ds = ds.subset(run.train.n_train, run.train.n_test, seed=0, **extra)
            self.loaded[key] = ds
        return self.loaded[key]

    def provenance(self) -> list[dict[str, Any]]:
        out = []
        for ds in self.loaded.values():
            if hasattr(ds, "provenance"):
                out.append(_jsonable(ds.provenance()))
            else:
                out.append(
                    {
                        "name": type(ds).__name__,
                        "source": "in-memory tensors",
                        "sha256": None,
                        "sizes": {"train": len(ds.y_train), "test": len(ds.y_test)},
                    }
                )
        return out


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _provenance(
    spec: Experiment,
    profile: str,
    device: torch.device,
    data: _DataCache,
    started: str,
    status: str,
    total: int,
    done: int,
    max_members: int,
    strategy: str,
    shard: tuple[int, int] | None,
    all_runs: int,
) -> dict[str, Any]:
    from .. import __version__
    from ..provenance import git_commit, hardware, package_versions

    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
    else:
        name = hardware()["cpu"]
    return {
        "experiment": spec.name,
        "profile": profile,
        "status": status,
        "runs_total": total,
        "runs_done": done,
        "shard": None if shard is None else f"{shard[0]}/{shard[1]}",
        "all_runs": all_runs,
        "layout": store.LAYOUT,
        "started": started,
        "updated": _now(),
        "code": {"depthinit": __version__, **git_commit()},
        "packages": package_versions(("torch", "numpy", "pandas", "pyarrow", "tqdm")),
        "python": hardware()["python"],
        "device": {"type": device.type, "name": name, "torch_threads": torch.get_num_threads()},
        "hardware": hardware(),
        "max_members": max_members,
        "strategy": strategy,
        "data": data.provenance(),
        "spec": _jsonable(spec.to_dict()),
    }


def _init_members(stack: list[Run], data: Any) -> tuple[list[torch.nn.Module], list[pd.DataFrame], list[bool | None]]:
    example = data.x_train[:LSUV_BATCH].detach().to("cpu", torch.float32)
    models, plans, converged = [], [], []
    for r in stack:
        model = _build(r, data)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", LSUVConvergenceWarning)
            warnings.simplefilter("always", NormalizationCancelsDepthWarning)
            p = init_(
                model,
                r.init.scheme,
                generator=torch.Generator().manual_seed(r.seed),
                example_input=example if r.init.scheme == "lsuv" else None,
                **r.init.kwargs,
            )
        for w in caught:
            # LSUV's convergence is recorded per run; a spec that puts a depth schedule under batch
            # norm does it on purpose (E8 measures exactly that), so neither is re-raised here
            if not issubclass(w.category, (LSUVConvergenceWarning, NormalizationCancelsDepthWarning)):
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        frame = p.to_frame()
        frame.insert(0, "run_id", r.run_id)
        frame.insert(1, "init", r.init.label)
        plans.append(frame[[c for c in frame.columns if c in PLAN_COLUMNS]])
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
    shard: str | tuple[int, int] | None = None,
) -> pd.DataFrame:
    """Run (or finish) an experiment's sweep; return its results table.

    ``spec`` is an :class:`Experiment` or the name of a registered one
    (``depthinit.sweep.EXPERIMENTS``). ``profile`` picks its overrides
    (``"smoke"``, ``"default"``, ``"paper"``). Results go to ``out`` (see
    ``depthinit.sweep._store``); runs already there are skipped. ``device``:
    ``"auto"`` (CUDA, MPS, CPU), or a torch device. Data come from
    :func:`depthinit.data.load_dataset` with ``data_root``/``cache_dir``, or
    from ``data`` (any object with x_train, y_train, x_test, y_test tensors).
    ``max_members`` caps a stack (default by model and device). ``progress``:
    None shows a bar on a terminal and periodic log lines otherwise (stderr);
    False shows nothing. ``shard="I/N"`` runs only shard I of N (:func:`shard_runs`).

    Everything is checked (spec, profile, device, shard, the folder, the data)
    before anything is written. Returns one row per run and epoch with the
    columns of ``depthinit.sweep._schema.RESULTS``.
    """
    exp = resolve_spec(spec, profile)
    dev = resolve_device(device)
    part = parse_shard(shard)
    shard_text = None if part is None else f"{part[0]}/{part[1]}"
    if max_members is not None and (
        isinstance(max_members, bool) or not isinstance(max_members, int) or max_members < 1
    ):
        raise SweepError(f"max_members={max_members!r} is not valid; expected an integer >= 1")
    out = Path(out).expanduser()
    store.check_folder(out, exp.name, profile, shard_text)
    every = exp.runs(profile)
    runs = shard_runs(every, part)
    runs = [dataclasses.replace(r, train=dataclasses.replace(r.train, device=str(dev))) for r in runs]
    ids = [r.run_id for r in runs]
    if len(set(ids)) != len(ids):
        raise SweepError(f"experiment {exp.name!r} expands to duplicate runs; make its variants differ")
    if not runs:
        raise SweepError(f"shard {shard_text} of experiment {exp.name!r} holds no runs; use fewer shards")
    kind = runs[0].model.kind
    max_members = default_max_members(kind, dev) if max_members is None else max_members
    started = _now()
    cache = _DataCache(data, data_root, cache_dir, dev)
    before = store.load(out, probes=False, warn=False).finished if out.is_dir() else set()
    pending = [r for r in runs if r.run_id not in before]
    _validate(pending, cache, dev, strategy)  # data, models and inits first: an error leaves the folder as it was
    out.mkdir(parents=True, exist_ok=True)
    with store.Lock(out):
        store.check_folder(out, exp.name, profile, shard_text)  # again: another sweep may have finished here meanwhile
        store.clean_temporaries(out)
        store.drop_orphan_parts(out)
        have = store.load(out, probes=False)
        _check_same_data(out, have, cache)
        todo = [r for r in runs if r.run_id not in have.finished]
        started = have.provenance.get("started", started) if have.finished else started
        done = len(set(ids) & have.finished)

        def record(status: str) -> None:
            prov = _provenance(
                exp, profile, dev, cache, started, status, len(runs), done, max_members, strategy, part, len(every)
            )
            store.atomic_write_text(out / store.PROVENANCE, json.dumps(prov, indent=2, default=str) + "\n")

        record("running")
        bar = Progress(
            total=len(todo),
            desc=f"{exp.name} [{profile}{'' if shard_text is None else ' ' + shard_text}]",
            enabled=progress,
        )
        try:
            for number, group in enumerate(stacks(todo, max_members)):
                _train_stack(group, cache.get(group[0]), out, dev, strategy, progress, number)
                done += len(group)
                record("running")
                bar.update(len(group))
        finally:
            bar.close()
        record("complete")
    final = store.load(out, probes=False, warn=False).results  # as any reader will see it
    order = {i: n for n, i in enumerate(ids)}
    mine = final[final["run_id"].isin(order)].copy()
    mine["_order"] = mine["run_id"].map(order)
    return mine.sort_values(["_order", "epoch"]).drop(columns="_order").reset_index(drop=True)


def _validate(pending: list[Run], cache: _DataCache, dev: torch.device, strategy: str) -> None:
    """Everything a sweep can check before it writes: the strategy; every data set the pending
    runs read (loaded, and checked as the trainers check it: finite inputs, whole-number labels,
    no empty split); every model on its data (it runs on one example and has an output for
    every label); every data-free initialization on its model (:func:`depthinit.plan`)."""
    from ..init import plan
    from ..train._data import check_fit, prepare
    from ..train._stack import STRATEGIES

    if strategy not in STRATEGIES:
        raise SweepError(f"strategy={strategy!r} is not valid; expected one of {', '.join(map(repr, STRATEGIES))}")
    fitted: set[tuple[str, str]] = set()
    planned: set[tuple[str, str]] = set()
    for r in pending:
        d = cache.get(r)
        data_key = repr((r.dataset, r.preprocess, r.train.n_train, r.train.n_test, r.train.n_val))
        model_key = json.dumps(_jsonable(r.model.to_dict()), sort_keys=True)
        if (data_key, model_key) not in fitted:
            try:
                ready = prepare(d, dev, r.train.torch_dtype)
                check_fit(_build(r, d).to(device=dev, dtype=r.train.torch_dtype), ready)
            except ValueError as err:
                raise SweepError(f"experiment {r.experiment!r}, variant {r.variant!r}: {err}") from None
            fitted.add((data_key, model_key))
        init_key = (model_key, r.init.label)
        if r.init.scheme != "lsuv" and init_key not in planned:  # LSUV needs the data: init_ checks it
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", NormalizationCancelsDepthWarning)
                try:
                    plan(_build(r, d), r.init.scheme, **r.init.kwargs)
                except ValueError as err:
                    raise SweepError(
                        f"experiment {r.experiment!r}, init {r.init.label!r} on the {r.model.kind} of "
                        f"variant {r.variant!r}: {err}"
                    ) from None
            planned.add(init_key)


def _check_same_data(out: Path, have: store.Results, cache: _DataCache) -> None:
    """SweepError when the folder's finished runs were trained on other files than this sweep
    reads (the run ids name the data set, not its bytes: CIFAR-10 from the JPEG zip and from
    the binary archive would otherwise be mixed in one folder)."""
    if not have.finished:
        return
    recorded = {d.get("name"): d.get("sha256") for d in have.provenance.get("data", []) if isinstance(d, dict)}
    for d in cache.provenance():
        old, new = recorded.get(d.get("name")), d.get("sha256")
        if old and new and old != new:
            raise SweepError(
                f"{out} holds runs trained on {d.get('name')} files with sha256 {old}, but this sweep reads "
                f"{d.get('source')} with sha256 {new}; nothing was changed. Use another --out folder for these "
                "data (or point --data-root at the files the folder was trained on)"
            )


def _build(r: Run, data: Any) -> torch.nn.Module:
    """The run's model for ``data`` (input shape and classes from the data), uninitialized."""
    shape = tuple(data.x_train.shape[1:])
    classes = int(data.num_classes) if hasattr(data, "num_classes") else int(data.y_train.max()) + 1
    return r.model.build(shape, classes)


def _train_stack(
    group: list[Run], d: Any, out: Path, dev: torch.device, strategy: Strategy, progress: bool | None, number: int
) -> None:
    """Initialize and train one stack, then write its parts (the results part last)."""
    t0 = time.perf_counter()
    models, plans, converged = _init_members(group, d)
    res = train_many(
        models,
        d,
        group[0].train,
        seeds=[r.seed for r in group],
        lrs=[r.train.lr for r in group],
        lr_scales=[dict(r.train.lr_scales) for r in group],
        logit_scales=[r.train.logit_scale for r in group],
        strategy=strategy,
        progress=bool(progress),
        desc=f"stack {number + 1} x{len(group)}",
    )
    wall = time.perf_counter() - t0
    rows: list[pd.DataFrame] = []
    runs_rows: list[dict[str, Any]] = []
    probes: list[pd.DataFrame] = []
    hists: list[pd.DataFrame] = []
    sizes = {
        "n_train": len(d.y_train),
        "n_test": len(d.y_test),
        "n_val": len(d.y_val) if getattr(d, "y_val", None) is not None else 0,
    }
    stem = store.new_stem(group[0].run_id)
    for r, rr, conv in zip(group, res, converged):
        cols = {**r.columns(), **sizes}
        h = rr.history.copy()
        for c in ("val_loss", "val_acc"):
            if c not in h:
                h[c] = math.nan
        for c, v in reversed(list(cols.items())):
            h.insert(0, c, v)
        h["status"] = rr.status
        rows.append(h[list(cols) + list(RESULT_METRICS)])
        runs_rows.append(
            {
                **cols,
                **_run_summary(h, rr),
                "stack": stem,
                "stack_size": len(group),
                "stack_wall_s": wall,
                "device": dev.type,
                "lsuv_converged": conv,
                "config": json.dumps(_jsonable(r.config()), sort_keys=True),
            }
        )
        for frame, sink in ((rr.probes, probes), (rr.histograms, hists)):
            if len(frame):
                f = frame.copy()
                for c, v in (("seed", r.seed), ("init", r.init.label), ("variant", r.variant), ("run_id", r.run_id)):
                    f.insert(0, c, v)
                sink.append(f)
    store.write_part(out, "runs", stem, pd.DataFrame(runs_rows))
    store.write_part(out, "plans", stem, pd.concat(plans, ignore_index=True))
    for name, frames in (("probes", probes), ("histograms", hists)):
        if frames:
            store.write_part(out, name, stem, pd.concat(frames, ignore_index=True))
    store.write_part(out, "results", stem, pd.concat(rows, ignore_index=True))  # the commit point


def _run_summary(h: pd.DataFrame, rr: Any) -> dict[str, Any]:
    """The runs-table metrics of one run. A diverged run has NaN final and best metrics
    (tables count it at chance, see :func:`depthinit.analysis.final_rows`)."""
    nan = math.nan
    ok = rr.status == "ok"
    trained = h[h["epoch"] > 0]
    pick = "val_acc" if h["val_acc"].notna().any() else "test_acc"
    best_epoch = int(h.loc[h[pick].idxmax(), "epoch"]) if ok and h[pick].notna().any() else None

    def last(col: str) -> float:
        v = h[col].dropna()
        return float(v.iloc[-1]) if ok and len(v) else nan

    def best(col: str) -> float:
        v = h[col].dropna()
        return float(v.max()) if ok and len(v) else nan

    return {
        "status": rr.status,
        "diverged_epoch": rr.diverged_epoch,
        "diverged_step": rr.diverged_step,
        "epochs_done": int(trained["epoch"].max()) if len(trained) else 0,
        "final_test_acc": last("test_acc"),
        "best_test_acc": best("test_acc"),
        "best_epoch": best_epoch,
        "final_val_acc": last("val_acc"),
        "best_val_acc": best("val_acc"),
        "final_train_loss": last("train_loss"),
        "wall_s": float(h["wall_s"].sum()),
    }
