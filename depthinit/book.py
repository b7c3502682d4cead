"""What the experiment chapters share: where each chapter's sweep lives, loading it
(the live run and a stored paper-scale run), and the tables and figures they show.

Chapters: "E1: the 54-layer MLP on CIFAR-10" to "E5: sensitivity" and "The
verdicts"; the landing page reads the verdict table through
:func:`load_book_results`, :func:`book_claims` and :func:`depthinit.analysis.verdict_table`.

Folders (relative to the repository root ``root``):

* ``book/_executed/runs/<experiment>-<profile>/``: the sweep a chapter runs when
  the book is executed (ignored by git; the runner is resumable, so executing a
  chapter again reuses its finished runs);
* ``results/<experiment>-paper/``: a paper-profile sweep produced elsewhere
  (for example on a GPU with ``depthinit sweep fcnn-cifar10 --profile paper
  --device cuda --out results/fcnn-cifar10-paper``) and committed with its
  provenance; the chapters show it beside the live run when it exists.

Estimates follow :mod:`depthinit.analysis`: a diverged run counts at chance
accuracy from the epoch it diverged, and an interval is a Student-t interval
over seeds (95 % by default).
"""

from __future__ import annotations

import json
import math
import os
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from . import analysis
from .sweep import Experiment, Results, get_experiment
from .sweep import load as load_sweep
from .sweep import run as run_sweep

#: Chapter key -> experiment name. The keys are those of :func:`depthinit.analysis.paper_claims`.
BOOK_EXPERIMENTS: Mapping[str, str] = {
    "E1": "fcnn-cifar10", "E2": "fcnn-mnist", "E3": "cnn-cifar10", "E4": "he-uniform-stall", "E5": "sensitivity",
}
#: Where the chapters write their sweeps, relative to the repository root.
RUNS_FOLDER = Path("book") / "_executed" / "runs"
#: Where committed paper-profile sweeps live, relative to the repository root.
PAPER_FOLDER = Path("results")
#: Where ``scripts/run_notebooks.py`` records each chapter's wall time.
TIMINGS_FILE = Path("book") / "_executed" / "timings.json"
#: The executed notebook of each chapter key.
CHAPTER_NOTEBOOKS: Mapping[str, str] = {
    "E1": "e1_cifar10_mlp", "E2": "e2_mnist_mlp", "E3": "e3_cifar10_cnn", "E4": "e4_uniform_he_stall",
    "E5": "e5_sensitivity", "verdicts": "verdicts",
}
_PROFILES = ("smoke", "default", "paper")


# -- experiments and folders ------------------------------------------------------------
def experiment_name(key: str) -> str:
    """The experiment name of a chapter key (``"E1"`` -> ``"fcnn-cifar10"``); names pass through."""
    if key in BOOK_EXPERIMENTS:
        return BOOK_EXPERIMENTS[key]
    if key in BOOK_EXPERIMENTS.values():
        return key
    raise ValueError(
        f"experiment {key!r} is not a chapter of the book; expected one of {', '.join(BOOK_EXPERIMENTS)} "
        f"or {', '.join(BOOK_EXPERIMENTS.values())}"
    )


def experiment_spec(key: str) -> Experiment:
    """The spec behind a chapter key or experiment name (E4 and E5 come from
    ``depthinit.sweep.paper_variants``)."""
    name = experiment_name(key)
    return get_experiment(name)


def _profile(profile: str) -> str:
    if profile not in _PROFILES:
        raise ValueError(f"profile={profile!r} is not valid; expected one of {', '.join(map(repr, _PROFILES))}")
    return profile


def runs_dir(key: str, profile: str, *, root: str | os.PathLike = ".") -> Path:
    """``root/book/_executed/runs/<experiment>-<profile>``: where a chapter keeps its sweep."""
    return Path(root) / RUNS_FOLDER / f"{experiment_name(key)}-{_profile(profile)}"


def paper_dir(key: str, *, root: str | os.PathLike = ".") -> Path:
    """``root/results/<experiment>-paper``: where a committed paper-profile sweep lives."""
    return Path(root) / PAPER_FOLDER / f"{experiment_name(key)}-paper"


def load_folder(folder: str | os.PathLike, *, probes: bool = True, run_ids: Iterable[str] | None = None) -> Results:
    """:func:`depthinit.sweep.load`, with the probe tables re-read so that every run id is a
    string, and optionally only the runs ``run_ids`` (the runs of the current spec: a folder
    can also hold runs of an earlier version of it, whose ids differ).

    A run id is 16 hex digits; one such as ``"505e919181943700"`` looks like a
    number to pandas' type inference, which then reads it as ``inf`` in a large
    part file and drops that run's rows. Reading ``run_id`` as text keeps them.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pd.errors.DtypeWarning)
        r = load_sweep(folder, probes=False)
    if probes and not r.results.empty:
        done = r.finished
        for name, keys in (("probes", ["run_id", "epoch", "layer", "kind"]),
                           ("histograms", ["run_id", "epoch", "layer", "kind", "bin"])):
            parts = sorted((Path(folder) / name).glob("part-*.csv"))
            frames = [pd.read_csv(p, dtype={"run_id": str}) for p in parts]
            frames = [f[f["run_id"].isin(done)] for f in frames if "run_id" in f]
            frames = [f for f in frames if len(f)]
            if frames:
                t = pd.concat(frames, ignore_index=True).drop_duplicates(keys, keep="first")
                setattr(r, name, t.reset_index(drop=True))
    if run_ids is not None:
        keep = set(run_ids)
        for name in ("results", "runs", "plans", "probes", "histograms"):
            t = getattr(r, name)
            if "run_id" in t:
                setattr(r, name, t[t["run_id"].isin(keep)].reset_index(drop=True))
    return r


def spec_run_ids(key: str, profile: str) -> set[str]:
    """The run ids of a chapter's spec at ``profile`` (what :func:`run_chapter` trains)."""
    spec = experiment_spec(key)
    resolved = spec.resolve(_profile(profile)) if spec.profiles else spec
    return {r.run_id for r in resolved.runs(profile)}


def run_chapter(key: str, profile: str, *, root: str | os.PathLike = ".", **options: Any) -> Results:
    """Run (or finish) a chapter's sweep into :func:`runs_dir` and load its runs with their probes.

    ``options`` go to :func:`depthinit.sweep.run` (``device``, ``data_root``,
    ``max_members``...); progress bars are off unless ``progress=True``. Runs of
    an earlier version of the spec left in the folder are not returned.
    """
    out = runs_dir(key, profile, root=root)
    options.setdefault("progress", False)
    with warnings.catch_warnings():
        # the runner re-reads its part files with inferred types (see load_folder); the warning is noise here
        warnings.simplefilter("ignore", pd.errors.DtypeWarning)
        run_sweep(experiment_spec(key), profile=profile, out=out, **options)
    return load_folder(out, run_ids=spec_run_ids(key, profile))


def _finished(folder: Path) -> bool:
    return (folder / "results.csv").is_file()


def load_book_results(profile: str = "default", *, root: str | os.PathLike = ".") -> dict[str, pd.DataFrame]:
    """Every chapter's results table that this build has, keyed ``"E1"`` to ``"E5"``.

    Reads ``book/_executed/runs/<experiment>-<profile>/results.csv`` for each
    chapter, keeping the runs of the current spec (:func:`spec_run_ids`);
    chapters that have not run (or have none of those runs) are left out.
    Pass the dict to :func:`depthinit.analysis.verdict_table` with
    :func:`book_claims`.
    """
    _profile(profile)
    out = {}
    for key in BOOK_EXPERIMENTS:
        folder = runs_dir(key, profile, root=root)
        if _finished(folder):
            r = load_folder(folder, probes=False, run_ids=spec_run_ids(key, profile))
            if not r.results.empty:
                out[key] = r.results
    return out


def load_paper_results(key: str, *, root: str | os.PathLike = ".") -> Results | None:
    """The committed paper-profile sweep of a chapter, or None when ``results/<experiment>-paper/``
    has no results table. A folder that holds another experiment raises ValueError."""
    folder = paper_dir(key, root=root)
    if not _finished(folder):
        return None
    r = load_folder(folder)
    name = experiment_name(key)
    found = r.provenance.get("experiment") or (str(r.results["experiment"].iloc[0]) if len(r.results) else name)
    if found != name:
        raise ValueError(f"{folder} holds results of experiment {found!r}, not {name!r}; move it to "
                         f"{PAPER_FOLDER / (found + '-paper')}")
    return r


def book_claims(results: Mapping[str, Any] | None = None, **options: Any) -> list[analysis.Claim]:
    """The paper's seven claims as the book decides them: :func:`depthinit.analysis.paper_claims`
    (``options`` go to it) with claim 3 routed to E4.

    E4 trains plain He normal and He uniform on E1's network, data and training
    with five seeds (E1's three and two more), so it measures the stall with more
    seeds than E1; its claim-3 selectors keep the runs with inputs in [0, 1]
    (``preprocess == "unit"``), the paper's setting. Every other claim reads E1.
    Pass the ``results`` mapping you will evaluate: when it has E1 but not E4
    (E4 did not run, or a paper-profile run exists only for E1), claim 3 stays
    on E1, whose plain He runs are the same experiment.
    """
    route = results is None or "E4" in results or "E1" not in results
    out = []
    for c in analysis.paper_claims(**options):
        if c.number == 3 and route:
            parts = tuple(replace(p, a=_with_unit_inputs(p.a)) for p in c.comparisons)
            c = replace(c, experiment="E4", comparisons=parts, rule=c.rule + "; E4 runs with inputs in [0, 1]")
        out.append(c)
    return out


def _with_unit_inputs(selector: analysis.Selector) -> analysis.Selector:
    def mask(f: pd.DataFrame) -> pd.Series:
        chosen = pd.Series(f.index.isin(analysis.select(f, selector).index), index=f.index)
        return chosen & f["preprocess"].eq("unit")

    return mask


_VERDICT_WORDS = {analysis.SUPPORTED: "holds", analysis.NOT_SUPPORTED: "does not hold",
                  analysis.INCONCLUSIVE: "cannot be decided"}


def verdict_lines(summary: pd.DataFrame, details: pd.DataFrame) -> str:
    """The two tables of :func:`depthinit.analysis.verdict_table` as Markdown bullets, one per
    claim: its text, whether it holds, the experiment it was read on, and every
    comparison's estimate in accuracy points with its interval and verdict."""
    lines = []
    for row in summary.itertuples():
        parts = details[details["claim"] == row.claim] if len(details) else details
        nums = "; ".join(
            f"{p.comparison}: {100 * p.mean:+.1f} points"
            + (f" [{100 * p.low:+.1f}, {100 * p.high:+.1f}]" if math.isfinite(p.low) else "")
            + f" ({p.verdict})" for p in parts.itertuples()) or str(row.estimate)
        text = str(row.text).rstrip(".")
        lines.append(f"- **Claim {row.claim}** ({text}) {_VERDICT_WORDS.get(row.verdict, row.verdict)}, "
                     f"read on {row.experiment}: {nums}.")
    return "\n".join(lines)


# -- provenance -----------------------------------------------------------------------------
def source_note(r: Results) -> str:
    """One line naming what produced a sweep: experiment, profile, runs, data subset and epochs,
    seeds, device, data source with its sha256 prefix, and the code commit."""
    p = r.provenance
    res = r.results
    if res.empty:
        return f"{r.out}: no finished runs"
    exp = p.get("experiment") or str(res["experiment"].iloc[0])
    profile = p.get("profile") or str(res["profile"].iloc[0])
    dev = p.get("device", {})
    device = f"{dev.get('type', '?')} ({dev.get('name', '?')})" if dev else "device not recorded"
    n_train, n_test = int(res["n_train"].iloc[0]), int(res["n_test"].iloc[0])
    epochs = int(res["epochs"].max())
    seeds = int(res["seed"].nunique())
    data = []
    for d in p.get("data", []):
        sha = d.get("sha256") or {}
        digest = ", ".join(f"sha256 {str(v)[:12]}" for v in sha.values()) if isinstance(sha, dict) else str(sha)
        data.append(f"{d.get('source', d.get('name'))} ({digest})" if digest else str(d.get("source")))
    data_text = "; ".join(dict.fromkeys(data)) or "data source not recorded"
    code = p.get("code", {})
    commit = (code.get("commit") or "")[:10]
    code_text = f", code {commit}{' (dirty)' if code.get('dirty') else ''}" if commit else ""
    return (f"experiment {exp}, profile {profile}: {res['run_id'].nunique()} runs, {n_train} training and "
            f"{n_test} test images, {epochs} epoch{'s' if epochs != 1 else ''}, {seeds} seed{'s' if seeds != 1 else ''}; "
            f"device {device}; data {data_text}{code_text}")


# -- labels ---------------------------------------------------------------------------------
_NAMES = {"he": "He", "glorot": "Glorot", "lecun": "LeCun", "orthogonal": "Orthogonal",
          "random_walk": "Random walk", "lsuv": "LSUV"}


def init_label(row: Mapping[str, Any]) -> str:
    """A readable label for one initialization from its result columns:
    ``"He normal"``, ``"He uniform, increasing"``, ``"He normal, constant, V=5"``,
    ``"He normal, increasing, power"``, ``"LSUV"``."""
    scheme = row.get("scheme")
    if scheme == "depth" and row.get("schedule") == "unit":
        scheme = row.get("base")
    if scheme != "depth":
        head = _NAMES.get(str(scheme), str(scheme))
        dist = row.get("distribution")
        return f"{head} {dist}" if scheme in ("he", "glorot", "lecun") and isinstance(dist, str) else head
    parts = [f"{_NAMES.get(str(row.get('base')), row.get('base'))} {row.get('distribution')}", str(row.get("schedule"))]
    v = row.get("network_variance")
    if v is not None and not (isinstance(v, float) and math.isnan(v)) and float(v) != 22.0:
        parts.append(f"V={float(v):g}")
    fn = row.get("depth_fn")
    if isinstance(fn, str) and fn != "log":
        parts.append(fn)
    c = row.get("offset")
    if c is not None and not (isinstance(c, float) and math.isnan(c)) and float(c) != 0.0:
        parts.append(f"c={float(c):g}")
    return ", ".join(parts)


def init_labels(results: pd.DataFrame) -> dict[str, str]:
    """``init`` column value -> :func:`init_label`, in the order the inits first appear."""
    cols = [c for c in ("init", "scheme", "base", "distribution", "schedule", "network_variance", "depth_fn",
                        "offset") if c in results.columns]
    first = results[cols].drop_duplicates("init")
    return {str(r["init"]): init_label(r) for r in first.to_dict("records")}


def scheme_group(row: Mapping[str, Any]) -> str:
    """``"He"``, ``"Glorot"`` or ``"references"``: the panel an initialization is drawn in."""
    scheme = row.get("scheme")
    base = row.get("base") if scheme == "depth" else scheme
    return {"he": "He", "glorot": "Glorot"}.get(str(base), "references")


# -- tables ---------------------------------------------------------------------------------
def final_accuracy(results: pd.DataFrame, *, by: Sequence[str] = ("variant", "init"), chance: float = 0.1,
                   level: float = 0.95) -> pd.DataFrame:
    """Final test accuracy per group with its t interval over seeds.

    One row per group of ``by`` (columns kept where present): ``label``
    (:func:`init_label`), ``seeds``, ``diverged`` (runs whose loss became
    non-finite; they count at ``chance``), ``test_acc`` (mean over seeds),
    ``low`` and ``high`` (the interval; NaN with one seed), ``train_loss``
    (mean over runs that did not diverge), sorted by ``test_acc`` descending.
    """
    final = analysis.final_rows(results, chance=chance)
    keys = [k for k in by if k in final.columns]
    labels = init_labels(results) if "init" in results.columns else {}
    rows = []
    for key, g in final.groupby(keys, sort=False, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        est = analysis.t_interval(g.groupby("seed")["test_acc"].mean().to_numpy(), level=level)
        diverged = int(g["status"].eq("diverged").sum()) if "status" in g else 0
        row = dict(zip(keys, key))
        if "init" in row:
            row["label"] = labels.get(str(row["init"]), str(row["init"]))
        rows.append({**row, "seeds": int(g["seed"].nunique()), "diverged": diverged, "test_acc": est.mean,
                     "low": est.low, "high": est.high,
                     "train_loss": float(g["train_loss"].mean()) if "train_loss" in g else math.nan})
    return pd.DataFrame(rows).sort_values("test_acc", ascending=False, kind="stable").reset_index(drop=True)


def accuracy_display(table: pd.DataFrame) -> pd.DataFrame:
    """:func:`final_accuracy` as a table to show: accuracy and interval in percent, one text column."""
    out = table.copy()
    def ci(r: pd.Series) -> str:
        if not math.isfinite(r["low"]):
            return f"{100 * r['test_acc']:.1f}"
        return f"{100 * r['test_acc']:.1f} [{100 * r['low']:.1f}, {100 * r['high']:.1f}]"
    out["test accuracy % [95 % CI]"] = out.apply(ci, axis=1)
    out["final train loss"] = out["train_loss"].round(3)
    keep = [c for c in ("variant", "label") if c in out.columns]
    keep += ["seeds", "diverged", "test accuracy % [95 % CI]", "final train loss"]
    out = out[keep].rename(columns={"label": "initialization"})
    out.index = pd.RangeIndex(1, len(out) + 1, name="rank")
    return out


def accuracy_side_by_side(tables: Mapping[str, pd.DataFrame], *, chance: float = 0.1) -> pd.DataFrame:
    """Final test accuracy [95 % CI] per initialization from several results tables (for
    example this build's run and a stored paper-profile run), one column per source,
    rows in the order of the first table."""
    cols = {}
    order: list[str] = []
    for source, results in tables.items():
        shown = accuracy_display(final_accuracy(results, by=("init",), chance=chance))
        shown = shown.set_index("initialization")
        cols[f"{source}: test accuracy % [95 % CI]"] = shown["test accuracy % [95 % CI]"]
        cols[f"{source}: seeds"] = shown["seeds"]
        order += [i for i in shown.index if i not in order]
    return pd.DataFrame(cols).reindex(order).rename_axis("initialization")


def profile_note(profile: str, spec: Experiment) -> str:
    """A sentence saying what this build's profile ran, for the top of a chapter (Markdown)."""
    e = spec.resolve(_profile(profile)) if spec.profiles else spec
    t = e.train
    runs = len(e.runs(profile))
    data = f"{t.n_train or 'all'} training and {t.n_test or 'all'} test images"
    what = f"{runs} runs: {data}, {t.epochs} epochs, {len(e.seeds)} seed{'s' if len(e.seeds) != 1 else ''}"
    if profile == "smoke":
        return (f"**This page was built with the smoke profile** ({what}). It only checks that the code runs; "
                "its numbers mean nothing. Build with `--profile default` or `paper` to read results.")
    if profile == "default":
        return (f"**This page was built with the default profile** ({what}): a version of the experiment that a "
                "two-core CPU finishes in minutes. Short training on a subset: read the numbers as early "
                "training, not as the paper's full scale.")
    return f"**This page was built with the paper profile** ({what})."


# -- curves ---------------------------------------------------------------------------------
def curve_frame(results: pd.DataFrame, *, by: Sequence[str] = ("init",), measure: str = "test_acc",
                chance: float = 0.1, level: float = 0.95) -> pd.DataFrame:
    """Mean and t interval over seeds of ``measure`` at every epoch, per group of ``by``.

    A diverged run's accuracies (``test_acc``, ``train_acc``) are ``chance``
    from the epoch it diverged to the last epoch of the sweep, like
    :func:`depthinit.analysis.final_rows`; its losses are left out from that epoch.
    Columns: ``by``, ``epoch``, ``mean``, ``low``, ``high``, ``n``.
    """
    if results.empty:
        raise ValueError("the results table is empty; run the sweep first")
    if measure not in results.columns:
        raise ValueError(f"measure={measure!r} is not a column of the results; use one of test_acc, train_acc, "
                         "test_loss, train_loss")
    keys = list(by)
    last = int(results["epoch"].max())
    filled = []
    for _, g in results.groupby("run_id", sort=False):
        g = g.sort_values("epoch")
        if "status" in g and g["status"].eq("diverged").any():
            stop = int(g["epoch"].max())
            pad = g.iloc[[-1] * (last - stop + 1)].copy()
            pad["epoch"] = range(stop, last + 1)
            g = pd.concat([g[g["epoch"] < stop], pad], ignore_index=True)
            bad = g["epoch"] >= stop
            g.loc[bad, measure] = chance if measure.endswith("acc") else np.nan
        filled.append(g[keys + ["seed", "epoch", measure]])
    full = pd.concat(filled, ignore_index=True)
    rows = []
    for key, g in full.groupby(keys + ["epoch"], sort=False, dropna=False):
        est = analysis.t_interval(g.groupby("seed")[measure].mean().to_numpy(), level=level)
        rows.append({**dict(zip(keys + ["epoch"], key)), "mean": est.mean, "low": est.low, "high": est.high,
                     "n": est.n})
    return pd.DataFrame(rows)


def plot_curves(frame: pd.DataFrame, ax: Any, *, hue: str = "init", order: Sequence[str] | None = None,
                labels: Mapping[str, str] | None = None, styles: Mapping[str, Mapping[str, Any]] | None = None,
                chance: float | None = None) -> Any:
    """Draw :func:`curve_frame` on ``ax``: one line per ``hue`` value (mean over seeds)
    with its interval shaded; ``styles[name]`` gives a line's ``color`` and ``ls``
    (default: the colour cycle); a dotted line at ``chance`` when given."""
    import seaborn as sns

    order = list(order) if order is not None else list(dict.fromkeys(frame[hue]))
    colors = sns.color_palette(None, max(len(order), 1))
    for i, name in enumerate(order):
        g = frame[frame[hue] == name].sort_values("epoch")
        if g.empty:
            continue
        style = {"color": colors[i % len(colors)], "ls": "-", **dict((styles or {}).get(name, {}))}
        ax.plot(g["epoch"], g["mean"], marker="o", ms=3, lw=1.5, label=(labels or {}).get(name, str(name)), **style)
        if g["low"].notna().any():
            ax.fill_between(g["epoch"], g["low"], g["high"], color=style["color"], alpha=0.12, lw=0)
    if chance is not None:
        ax.axhline(chance, color="0.4", ls=":", lw=1)
    ax.set_xlabel("epoch")
    return ax


SCHEDULE_ORDER: tuple[str, ...] = ("unit", "constant", "increasing", "decreasing")


def grid_styles(results: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Line styles for the paper's grid: colour by schedule (plain = unit), dashes for the
    uniform distribution; the references get their own colours."""
    import seaborn as sns

    pal = sns.color_palette("colorblind", 10)
    by_schedule = dict(zip(SCHEDULE_ORDER, (pal[0], pal[2], pal[1], pal[3])))
    refs = {"orthogonal": pal[4], "random_walk": pal[7], "lsuv": pal[5]}
    out = {}
    cols = [c for c in ("init", "scheme", "schedule", "distribution") if c in results.columns]
    for row in results[cols].drop_duplicates("init").to_dict("records"):
        scheme = row.get("scheme")
        schedule = row.get("schedule") if scheme == "depth" else ("unit" if scheme in ("he", "glorot") else None)
        color = by_schedule.get(schedule) if schedule else refs.get(str(scheme), pal[9])
        out[str(row["init"])] = {"color": color, "ls": "--" if row.get("distribution") == "uniform" else "-"}
    return out


def grid_order(results: pd.DataFrame) -> dict[str, list[str]]:
    """The inits of each panel (:func:`scheme_group`), He and Glorot by schedule then
    distribution, the references in the order they appear."""
    cols = [c for c in ("init", "scheme", "base", "schedule", "distribution") if c in results.columns]
    rows = results[cols].drop_duplicates("init").to_dict("records")
    panels: dict[str, list[tuple]] = {"He": [], "Glorot": [], "references": []}
    for i, row in enumerate(rows):
        sched = row.get("schedule") if row.get("scheme") == "depth" else "unit"
        rank = SCHEDULE_ORDER.index(sched) if sched in SCHEDULE_ORDER else 9
        panels[scheme_group(row)].append((rank, str(row.get("distribution")), i, str(row["init"])))
    return {k: [t[-1] for t in sorted(v)] for k, v in panels.items() if v}


def plot_grid_curves(results: pd.DataFrame, *, measure: str = "test_acc", chance: float = 0.1,
                     note: str = "", level: float = 0.95) -> Any:
    """The paper's grid over epochs in three panels (He, Glorot, references with He normal
    for comparison): mean over seeds and its interval (the accuracy axis shows
    [0, 1] at most). ``note`` is printed under the panels (the profile and data
    source). Returns the Figure."""
    import matplotlib.pyplot as plt

    curves = curve_frame(results, measure=measure, chance=chance, level=level)
    labels, styles, panels = init_labels(results), grid_styles(results), grid_order(results)
    he_normal = next((i for i in panels.get("He", []) if labels.get(i) == "He normal"), None)
    if he_normal and "references" in panels:
        panels["references"] = panels["references"] + [he_normal]
    fig, axes = plt.subplots(1, len(panels), figsize=(4.3 * len(panels), 4.3), sharey=True, squeeze=False)
    for ax, (name, order) in zip(axes[0], panels.items()):
        plot_curves(curves, ax, order=order, labels=labels, styles=styles, chance=chance)
        ax.set_title(name if name != "references" else "references (He normal for comparison)", fontsize=10)
        ax.legend(fontsize=7, loc="upper left")
    axes[0, 0].set_ylabel({"test_acc": "test accuracy", "train_acc": "training accuracy",
                           "test_loss": "test loss", "train_loss": "training loss"}.get(measure, measure))
    if measure.endswith("acc"):  # t intervals of few seeds can reach past [0, 1]; accuracy cannot
        axes[0, 0].set_ylim(0.0, min(1.0, axes[0, 0].get_ylim()[1]))
    if note:
        fig.text(0.01, -0.01, note, fontsize=7, color="0.3", ha="left", va="top", wrap=True)
    fig.tight_layout()
    return fig


def grid_findings(results: pd.DataFrame, *, chance: float = 0.1, margin: float = 0.05) -> dict[str, Any]:
    """Facts about a grid's final accuracies, for the prose (plain Python values).

    ``best`` / ``best_acc`` / ``best_low`` / ``best_high``: the initialization with
    the highest mean; ``worst``...; ``trained``: how many inits end above
    ``chance + margin`` with their whole interval (and ``n_inits``);
    ``stuck``: how many inits lie wholly below that line (``*_names``: their
    labels, joined by semicolons); ``diverged_runs`` and ``diverged_inits``
    (text); ``spread``: best minus worst mean.
    """
    t = final_accuracy(results, by=("init",), chance=chance)
    line = chance + margin
    low = t["low"].fillna(t["test_acc"])
    high = t["high"].fillna(t["test_acc"])
    trained = t[low > line]
    stuck = t[high < line]
    div = t[t["diverged"] > 0]
    best, worst = t.iloc[0], t.iloc[-1]
    def names(frame: pd.DataFrame) -> str:
        return "; ".join(frame["label"]) if len(frame) else "none"
    return {
        "best": str(best["label"]), "best_acc": float(best["test_acc"]), "best_low": float(best["low"]),
        "best_high": float(best["high"]), "worst": str(worst["label"]), "worst_acc": float(worst["test_acc"]),
        "spread": float(best["test_acc"] - worst["test_acc"]), "n_inits": int(len(t)),
        "trained": int(len(trained)), "trained_names": names(trained), "stuck": int(len(stuck)),
        "stuck_names": names(stuck), "diverged_runs": int(t["diverged"].sum()),
        "diverged_inits": "; ".join(f"{r.label} ({r.diverged} of {r.seeds})" for r in div.itertuples()) or "none",
        "line": float(line),
    }


# -- per-layer distributions ------------------------------------------------------------------
def layer_table(probes: pd.DataFrame, *, kind: str, stat: str = "std", epoch: int | None = None,
                by: Sequence[str] = ("init",)) -> pd.DataFrame:
    """One probe statistic per layer, averaged over seeds: a wide table with the groups
    of ``by`` as rows and depth 1..L as columns (``epoch`` None: the first probed epoch)."""
    if probes.empty:
        raise ValueError("the probe table is empty; the sweep recorded no probes (set train.probe_epochs)")
    if kind not in set(probes["kind"]):
        raise ValueError(f"kind={kind!r} has no probes; expected one of {sorted(set(probes['kind']))}")
    if stat not in probes.columns:
        raise ValueError(f"stat={stat!r} is not a probe column; expected e.g. 'mean', 'std', 'q50'")
    p = probes[probes["kind"] == kind]
    epoch = int(p["epoch"].min()) if epoch is None else epoch
    p = p[p["epoch"] == epoch]
    if p.empty:
        raise ValueError(f"no {kind} probes at epoch {epoch}; probed epochs: {sorted(set(probes['epoch']))}")
    return p.groupby(list(by) + ["depth"], sort=False)[stat].mean().unstack("depth")


def plot_layer_heatmaps(probes: pd.DataFrame, *, order: Sequence[str], labels: Mapping[str, str] | None = None,
                        kinds: Sequence[str] = ("weight", "gradient", "activation"),
                        epochs: Sequence[int] | None = None, stat: str = "std", title: str = "",
                        epochs_as_rows: bool = False) -> Any:
    """A grid of heatmaps: rows ``kinds``, columns ``epochs`` (default: first and last
    probed; ``epochs_as_rows`` swaps the two, for many epochs), each init
    (``order``) by depth, colour log10 of ``stat`` averaged over seeds; one colour
    scale per kind. Returns the matplotlib Figure."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    if epochs is None:
        probed = sorted(set(probes["epoch"]))
        epochs = [probed[0], probed[-1]] if len(probed) > 1 else probed
    epochs = list(epochs)
    n_rows, n_cols = (len(epochs), len(kinds)) if epochs_as_rows else (len(kinds), len(epochs))
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(5.2 * n_cols, (0.2 * len(order) + 0.9) * n_rows + 0.6),
                             squeeze=False, sharey=True)
    for i, kind in enumerate(kinds):
        tables = {}
        for e in epochs:
            t = layer_table(probes, kind=kind, stat=stat, epoch=e).reindex(list(order))
            with np.errstate(divide="ignore", invalid="ignore"):
                tables[e] = np.log10(t.where(t > 0))
        finite = np.concatenate([v.to_numpy().ravel() for v in tables.values()])
        finite = finite[np.isfinite(finite)]
        vmin, vmax = (np.percentile(finite, 1), np.percentile(finite, 99)) if len(finite) else (-1, 1)
        for j, e in enumerate(epochs):
            row, col = (j, i) if epochs_as_rows else (i, j)
            ax = axes[row, col]
            t = tables[e]
            t.index = [(labels or {}).get(k, k) for k in t.index]
            last = j == len(epochs) - 1
            sns.heatmap(t, ax=ax, cmap="viridis", vmin=vmin, vmax=vmax, cbar=last or epochs_as_rows,
                        cbar_kws={"label": f"log10 {stat}"}, xticklabels=10, yticklabels=True)
            ax.set_title(f"{kind}, epoch {e}", fontsize=10)
            ax.set_xlabel("layer depth" if row == n_rows - 1 else "")
            ax.tick_params(axis="y", labelsize=7)
            ax.tick_params(axis="x", labelsize=7, rotation=0)
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return fig


def plot_layer_quantiles(probes: pd.DataFrame, ax: Any, *, kind: str, init: str, epoch: int,
                         color: Any = None, label: str | None = None) -> Any:
    """The distribution of one kind of value across depth for one init at one epoch, as
    bands (5-95 % and 25-75 % quantiles) around the median, each averaged over seeds."""
    p = probes[(probes["kind"] == kind) & (probes["init"] == init) & (probes["epoch"] == epoch)]
    if p.empty:
        raise ValueError(f"no {kind} probes of init {init!r} at epoch {epoch}")
    q = p.groupby("depth")[["q05", "q25", "q50", "q75", "q95"]].mean()
    ax.fill_between(q.index, q["q05"], q["q95"], color=color, alpha=0.15, lw=0)
    ax.fill_between(q.index, q["q25"], q["q75"], color=color, alpha=0.35, lw=0)
    ax.plot(q.index, q["q50"], color=color, lw=1.5, label=label or init)
    ax.set_xlabel("layer depth")
    return ax


# -- signals at initialization (E4) ------------------------------------------------------------
SIGNAL_COLUMNS: tuple[str, ...] = (
    "depth", "input_mean", "input_second_moment", "mean", "second_moment", "batch_variance", "common_share",
    "cosine",
)


@torch.no_grad()
def signal_statistics(model: nn.Module, x: torch.Tensor) -> pd.DataFrame:
    """Per weight layer (in the order the forward pass runs them), on the batch ``x``:

    * ``input_mean`` and ``input_second_moment``: mean and E[x^2] of the layer's
      input (for layers after the first, the previous layer's activation);
    * ``mean`` and ``second_moment``: mean and E[y^2] of its pre-activation
      y = W x + b, over the batch and every unit;
    * ``batch_variance``: the variance over the batch of each unit of y, averaged
      over units: the part of the signal that differs between examples;
    * ``common_share``: 1 - batch_variance / second_moment, the share of E[y^2]
      that every example has in common (0 for zero-mean, independent examples);
    * ``cosine``: the mean cosine similarity between two different examples'
      inputs to the layer (1: the layer sees the same direction for every example).

    The variance arguments of the theory chapters (He's condition, the depth
    schedules) are about E[y^2]; ``common_share`` and ``cosine`` measure what
    they do not: how alike the examples become. Chapter: "E4: the uniform-He stall".
    """
    if not isinstance(x, torch.Tensor) or x.dim() < 2 or x.shape[0] < 2:
        raise ValueError(f"x must be a batch tensor [B, ...] with B >= 2 examples, got "
                         f"{tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__}")
    records: list[dict[str, float]] = []
    seen: set[int] = set()

    def hook(module: nn.Module, args: tuple, out: torch.Tensor) -> None:
        if id(module) in seen:
            return
        seen.add(id(module))
        inp = args[0].detach().to(torch.float64).flatten(1)
        y = out.detach().to(torch.float64)
        sq = float((y ** 2).mean())
        bvar = float(y.flatten(1).var(dim=0, unbiased=False).mean())  # a unit: one output (channel, position)
        norms = inp.norm(dim=1, keepdim=True)
        u = inp / norms.clamp_min(1e-30)
        gram = u @ u.T
        b = inp.shape[0]
        cos = float((gram.sum() - gram.diagonal().sum()) / (b * (b - 1)))
        records.append({"input_mean": float(inp.mean()), "input_second_moment": float((inp ** 2).mean()),
                        "mean": float(y.mean()), "second_moment": sq, "batch_variance": bvar,
                        "common_share": 1.0 - bvar / sq if sq > 0 else math.nan, "cosine": cos})

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
    try:
        model(x)
    finally:
        for h in handles:
            h.remove()
    frame = pd.DataFrame(records)
    frame.insert(0, "depth", np.arange(1, len(frame) + 1))
    return frame[list(SIGNAL_COLUMNS)]


# -- timings ------------------------------------------------------------------------------------
def chapter_times(*, root: str | os.PathLike = ".", keys: Iterable[str] = tuple(CHAPTER_NOTEBOOKS)) -> pd.DataFrame:
    """Wall time and profile of each experiment chapter as ``scripts/run_notebooks.py``
    recorded it in ``book/_executed/timings.json`` (chapters without a record are left out).
    Columns: chapter key, notebook, profile, seconds."""
    path = Path(root) / TIMINGS_FILE
    data = json.loads(path.read_text()) if path.is_file() else {}
    rows = []
    for key in keys:
        nb = CHAPTER_NOTEBOOKS.get(key, key)
        if nb in data:
            rows.append({"chapter": key, "notebook": nb, "profile": data[nb].get("profile"),
                         "seconds": float(data[nb].get("seconds", math.nan))})
    return pd.DataFrame(rows, columns=["chapter", "notebook", "profile", "seconds"])


__all__ = [
    "BOOK_EXPERIMENTS", "CHAPTER_NOTEBOOKS", "PAPER_FOLDER", "RUNS_FOLDER", "SCHEDULE_ORDER", "SIGNAL_COLUMNS", "TIMINGS_FILE",
    "accuracy_display", "accuracy_side_by_side", "book_claims", "chapter_times", "curve_frame", "experiment_name", "experiment_spec",
    "final_accuracy", "grid_findings", "grid_order", "grid_styles", "init_label", "init_labels", "layer_table", "load_book_results", "load_folder",
    "load_paper_results", "paper_dir", "plot_curves", "plot_grid_curves", "plot_layer_heatmaps", "plot_layer_quantiles", "profile_note",
    "run_chapter", "runs_dir", "scheme_group", "signal_statistics", "source_note", "spec_run_ids", "verdict_lines",
]
