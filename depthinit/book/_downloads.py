"""The tidy tables every chapter offers as CSV downloads.

Chapter: every experiment chapter and "The verdicts". The files are written next to
the executed notebooks, ``book/_executed/downloads/<chapter>-<name>.csv``, and the page
links them with MyST's ``{download}`` role, so the site build copies them into the
site (``_build/html/_downloads/``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from ..sweep import Results

#: Where the CSV downloads are written, relative to the repository root.
DOWNLOADS_FOLDER = Path("book") / "_executed" / "downloads"
_NAME = re.compile(r"^[A-Za-z0-9_\-]+$")


def write_downloads(
    chapter: str, tables: Mapping[str, pd.DataFrame], *, root: str | os.PathLike[str] = "."
) -> dict[str, Path]:
    """Write each table as ``book/_executed/downloads/<chapter>-<name>.csv`` (no index);
    returns name -> path relative to ``book/_executed`` (what a ``{download}`` link needs).
    Names and the chapter must be plain (letters, digits, ``_``, ``-``)."""
    for n in (chapter, *tables):
        if not _NAME.match(str(n)):
            raise ValueError(f"download name {n!r} is not valid; use letters, digits, '_' and '-' only")
    folder = Path(root) / DOWNLOADS_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for name, frame in tables.items():
        path = folder / f"{chapter}-{name}.csv"
        frame.to_csv(path, index=False)
        out[name] = path.relative_to(Path(root) / DOWNLOADS_FOLDER.parent)
    return out


def tidy_tables(r: Results, *, prefix: str = "") -> dict[str, pd.DataFrame]:
    """The tidy tables of a sweep to offer for download: ``results`` (every run and epoch),
    ``summary`` (:func:`depthinit.analysis.summary` per configuration and learning rate),
    ``runs`` (one row per run, without the configuration JSON) and ``plans`` (one
    initialization plan per initialization, one row per layer); names get ``prefix``."""
    from .. import analysis

    out = {"results": r.results}
    if len(r.results):
        out["summary"] = analysis.summary(
            r.results, by=[c for c in ("variant", "optimizer", "lr", "init") if c in r.results.columns]
        )
    if len(r.runs):
        out["runs"] = r.runs.drop(columns=[c for c in ("config",) if c in r.runs.columns])
    if len(r.plans):
        out["plans"] = r.plans.drop_duplicates(["init", "depth"]).drop(columns="run_id")
    return {prefix + k: v for k, v in out.items()}


#: What each table of :func:`tidy_tables` holds, for the download list.
DESCRIPTIONS: Mapping[str, str] = {
    "results": "every run and epoch (losses and accuracies, the run's configuration in columns)",
    "summary": "per configuration and learning rate: seeds, failures with Wilson intervals, mean, median and "
    "t interval of the final test accuracy",
    "runs": "one row per run: status, divergence, final and best accuracies, timing",
    "plans": "the initialization plan of each initialization, one row per weight layer",
}


def downloads_markdown(paths: Mapping[str, Path], descriptions: Mapping[str, str] | None = None) -> str:
    """A MyST bullet list of ``{download}`` links, one per file, with its description."""
    lines = []
    descriptions = {
        **DESCRIPTIONS,
        **{f"stored-{k}": f"the stored paper-profile run: {v}" for k, v in DESCRIPTIONS.items()},
        **(descriptions or {}),
    }
    for name, path in paths.items():
        what = descriptions.get(name, name)
        lines.append(f"- {{download}}`{path.name} <{path.as_posix()}>`: {what}")
    return "\n".join(lines) if lines else "No table to download: nothing ran for this page."


__all__ = ["DESCRIPTIONS", "DOWNLOADS_FOLDER", "downloads_markdown", "tidy_tables", "write_downloads"]
