"""Each chapter's time budget in the default profile, stated once, and the measured times.

Chapter: "Reproducibility" (budget and measured time side by side). The budgets are
wall seconds on an idle two-core machine in the default profile, as ``make book`` runs
the chapters (one at a time, every core); the whole default build (tests, every chapter, the site
and its check) must stay under 45 minutes.
``scripts/run_notebooks.py`` prints every chapter's time against its budget and fails
when one exceeds ``OVER_FACTOR`` times its budget.

Experiment chapters are budgeted by their experiment's book key (an executed chapter
that shows several registered experiments, such as E1 with its ablation, has the
budget of its main experiment's key); every other chapter by its notebook name.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

import pandas as pd

from ._runs import chapter_experiments

#: Default-profile budget in seconds, by experiment key or notebook name (idle 2-core machine).
BUDGETS: Mapping[str, float] = MappingProxyType(
    {
        "index": 15.0,
        "schemes_at_a_glance": 15.0,
        "use_in_your_model": 25.0,
        "theory_notation": 25.0,
        "theory_forward": 25.0,
        "theory_backward": 25.0,
        "theory_depth_scaling": 25.0,
        "theory_depth_function": 25.0,
        "theory_signal_propagation": 75.0,
        "theory_mean_field": 70.0,
        "theory_finite_width": 30.0,
        "theory_reparameterization": 40.0,
        "E1": 600.0,
        "E2": 160.0,
        "E3": 210.0,
        "E4": 215.0,
        "E5": 140.0,
        "E6": 225.0,
        "E7": 100.0,
        "E8": 125.0,
        "verdicts": 15.0,
        "reproducibility": 15.0,
        "benchmark": 90.0,
    }
)
#: The budget of a theory chapter not named in ``BUDGETS``.
THEORY_BUDGET = 25.0
#: A chapter over this many times its budget fails the build (``scripts/run_notebooks.py``).
OVER_FACTOR = 2.0
#: Where ``scripts/run_notebooks.py`` records each chapter's wall time, relative to the root.
TIMINGS_FILE = Path("book") / "_executed" / "timings.json"


def budget_key(chapter: str) -> str:
    """The key of ``BUDGETS`` for an executed chapter: its main experiment's book key when the
    registry has one for it, else the chapter's own name."""
    exps = chapter_experiments(chapter)
    return exps[0].key if exps and exps[0].key else chapter


def budget_of(chapter: str) -> float:
    """The default-profile budget (seconds) of ``chapter`` (NaN for a chapter without one)."""
    key = budget_key(chapter)
    if key in BUDGETS:
        return float(BUDGETS[key])
    return THEORY_BUDGET if chapter.startswith("theory_") else math.nan


def status_of(seconds: float, budget: float) -> str:
    """``"within"``, ``"over"`` (above the budget) or ``"fails"`` (above ``OVER_FACTOR`` times it);
    ``"no budget"`` without one."""
    if not math.isfinite(budget):
        return "no budget"
    if seconds > OVER_FACTOR * budget:
        return "fails"
    return "over" if seconds > budget else "within"


def read_timings(*, root: str | os.PathLike[str] = ".") -> dict[str, dict]:
    """``book/_executed/timings.json`` as a dict (empty when absent): chapter -> {seconds, profile}."""
    path = Path(root) / TIMINGS_FILE
    return json.loads(path.read_text()) if path.is_file() else {}


def timing_table(timings: Mapping[str, Mapping[str, object]], *, order: list[str] | None = None) -> pd.DataFrame:
    """Measured time against budget per chapter: columns ``chapter``, ``profile``, ``seconds``,
    ``budget`` (default profile), ``ratio`` and ``status`` (:func:`status_of`; only meaningful for
    the default profile, whose budgets these are)."""
    names = [n for n in (order or list(timings)) if n in timings]
    rows = []
    for name in names:
        t = timings[name]
        seconds = float(t.get("seconds", math.nan))  # type: ignore[arg-type]
        budget = budget_of(name)
        profile = str(t.get("profile", ""))
        rows.append(
            {
                "chapter": name,
                "profile": profile,
                "seconds": seconds,
                "budget": budget,
                "ratio": seconds / budget if math.isfinite(budget) and budget > 0 else math.nan,
                "status": status_of(seconds, budget) if profile == "default" else f"({profile} profile)",
            }
        )
    return pd.DataFrame(rows, columns=["chapter", "profile", "seconds", "budget", "ratio", "status"])


def chapter_times(*, root: str | os.PathLike[str] = ".", order: list[str] | None = None) -> pd.DataFrame:
    """:func:`timing_table` of the timings this build recorded."""
    return timing_table(read_timings(root=root), order=order)


__all__ = [
    "BUDGETS",
    "OVER_FACTOR",
    "THEORY_BUDGET",
    "TIMINGS_FILE",
    "budget_key",
    "budget_of",
    "chapter_times",
    "read_timings",
    "status_of",
    "timing_table",
]
