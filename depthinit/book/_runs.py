"""Where each chapter's runs live and how they are loaded: the live sweep of this build and
the stored paper-profile run, restricted to what the current spec trains.

Chapter: every experiment chapter and "Reproducibility". Folders, relative to the
repository root ``root``:

* ``book/_executed/runs/<experiment>-<profile>/``: the sweep a chapter runs when the
  book is executed (ignored by git; the runner is resumable, so executing a chapter
  again reuses its finished runs);
* ``results/<experiment>-paper/``: a paper-profile sweep run elsewhere (on a GPU)
  and committed with its provenance; the chapters show it beside the live run,
  labelled with its own spec (it may come from an older version of the spec).

The experiments are those of the one registry, ``depthinit.sweep.EXPERIMENTS``;
a chapter finds its own through the registry's ``chapter`` field.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from .. import sweep
from ..sweep import PROFILES, Experiment, Results

#: Where the chapters write their sweeps, relative to the repository root.
RUNS_FOLDER = Path("book") / "_executed" / "runs"
#: Where committed paper-profile sweeps live, relative to the repository root.
PAPER_FOLDER = Path("results")


def _profile(profile: str) -> str:
    if not isinstance(profile, str) or profile not in PROFILES:
        raise ValueError(f"profile={profile!r} is not valid; expected one of {', '.join(map(repr, PROFILES))}")
    return profile


def experiment(key: str) -> Experiment:
    """The registered experiment of a book key (``"E1"``) or name (``"fcnn-cifar10"``).

    Raises ValueError naming the registered experiments for anything else."""
    try:
        return sweep.get_experiment(key)
    except sweep.SweepError as err:
        raise ValueError(str(err)) from None


def chapter_experiments(chapter: str) -> tuple[Experiment, ...]:
    """Every registered experiment whose ``chapter`` is ``chapter`` (an executed notebook's
    name), in registry order: the chapter's main experiment first, then the others it
    shows (e.g. an ablation registered with E1's chapter). Empty for a chapter with none."""
    return tuple(e for e in sweep.EXPERIMENTS.values() if e.chapter == chapter)


def book_keys() -> tuple[str, ...]:
    """The book keys (``"E1"``...) of the registered experiments, in registry order."""
    return tuple(e.key for e in sweep.EXPERIMENTS.values() if e.key)


def runs_dir(key: str, profile: str, *, root: str | os.PathLike[str] = ".") -> Path:
    """``root/book/_executed/runs/<experiment>-<profile>``: where a chapter keeps its sweep."""
    return Path(root) / RUNS_FOLDER / f"{experiment(key).name}-{_profile(profile)}"


def paper_dir(key: str, *, root: str | os.PathLike[str] = ".") -> Path:
    """``root/results/<experiment>-paper``: where a committed paper-profile sweep lives."""
    return Path(root) / PAPER_FOLDER / f"{experiment(key).name}-paper"


def resolved(key: str, profile: str, overrides: Mapping[str, Any] | None = None) -> Experiment:
    """The experiment of ``key`` at ``profile``, with the reader's ``overrides`` (dotted field
    names, e.g. ``{"seeds": (0, 1)}``) applied on top (a spec without profiles is taken as it is)."""
    e = sweep.resolve_spec(experiment(key), _profile(profile))
    return sweep.override(e, dict(overrides)) if overrides else e


def spec_run_ids(key: str, profile: str, overrides: Mapping[str, Any] | None = None) -> set[str]:
    """The run ids the current spec of ``key`` trains at ``profile`` (with ``overrides``)."""
    return {r.run_id for r in resolved(key, profile, overrides).runs(profile)}


def run_chapter(
    key: str,
    profile: str,
    *,
    root: str | os.PathLike[str] = ".",
    overrides: Mapping[str, Any] | None = None,
    **options: Any,
) -> Results:
    """Run (or finish) a chapter's sweep into :func:`runs_dir` and return its runs with probes.

    ``overrides`` change the spec (the chapter's parameters, e.g. ``{"seeds": (0, 1)}``);
    ``options`` go to :func:`depthinit.sweep.run` (``device``, ``data``, ``max_members``...;
    progress bars are off unless ``progress=True``). Runs of an earlier version of the
    spec left in the folder are not returned.
    """
    spec = resolved(key, profile, overrides)
    out = runs_dir(key, profile, root=root)
    options.setdefault("progress", False)
    sweep.run(spec, profile=profile, out=out, **options)
    return sweep.load(out).only(spec_run_ids(key, profile, overrides))


def load_runs(
    key: str,
    profile: str,
    *,
    root: str | os.PathLike[str] = ".",
    probes: bool = True,
    overrides: Mapping[str, Any] | None = None,
) -> Results | None:
    """The runs of ``key`` this build already trained at ``profile`` (those of the current spec),
    or None when the chapter has not run (no folder, or none of the spec's runs in it)."""
    folder = runs_dir(key, profile, root=root)
    if not folder.is_dir():
        return None
    r = sweep.load(folder, probes=probes, warn=False).only(spec_run_ids(key, profile, overrides))
    return r if len(r.results) else None


def load_book_results(profile: str, *, root: str | os.PathLike[str] = ".") -> dict[str, pd.DataFrame]:
    """Every registered experiment's results table that this build has, keyed by book key.

    Each is restricted to the current spec's runs; experiments that did not run are
    left out. This is what the verdicts read (:func:`depthinit.book.book_verdicts`)."""
    out = {}
    for key in book_keys():
        r = load_runs(key, profile, root=root, probes=False)
        if r is not None:
            out[key] = r.results
    return out


def load_paper_results(key: str, *, root: str | os.PathLike[str] = ".", probes: bool = False) -> Results | None:
    """The committed paper-profile sweep of ``key``, or None when ``results/<experiment>-paper/``
    holds no finished run. It is returned whole (it may come from an older version of the
    spec: see :func:`is_current_spec`). A folder holding another experiment raises ValueError."""
    folder = paper_dir(key, root=root)
    if not folder.is_dir():
        return None
    r = sweep.load(folder, probes=probes, warn=False)
    if r.results.empty:
        return None
    name = experiment(key).name
    found = r.provenance.get("experiment") or str(r.results["experiment"].iloc[0])
    if found != name:
        raise ValueError(
            f"{folder} holds results of experiment {found!r}, not {name!r}; move it to "
            f"{PAPER_FOLDER / (str(found) + '-paper')}"
        )
    return r


def load_paper_book_results(*, root: str | os.PathLike[str] = ".") -> dict[str, pd.DataFrame]:
    """Every stored paper-profile results table, keyed by book key (experiments without one left out)."""
    out = {}
    for key in book_keys():
        r = load_paper_results(key, root=root)
        if r is not None:
            out[key] = r.results
    return out


def is_current_spec(key: str, results: Results | pd.DataFrame) -> bool:
    """True when every run of ``results`` is a run of the current paper-profile spec of ``key``
    (False: it was trained under an earlier version of the spec)."""
    frame = results.results if isinstance(results, Results) else results
    return set(frame["run_id"]) <= spec_run_ids(key, "paper")


__all__ = [
    "PAPER_FOLDER",
    "RUNS_FOLDER",
    "book_keys",
    "chapter_experiments",
    "experiment",
    "is_current_spec",
    "load_book_results",
    "load_paper_book_results",
    "load_paper_results",
    "load_runs",
    "paper_dir",
    "resolved",
    "run_chapter",
    "runs_dir",
    "spec_run_ids",
]
