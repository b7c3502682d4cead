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

#: Where the CSV downloads are written, relative to the repository root.
DOWNLOADS_FOLDER = Path("book") / "_executed" / "downloads"
_NAME = re.compile(r"^[A-Za-z0-9_\-]+$")


def write_downloads(chapter: str, tables: Mapping[str, pd.DataFrame], *,
                    root: str | os.PathLike[str] = ".") -> dict[str, Path]:
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


def downloads_markdown(paths: Mapping[str, Path], descriptions: Mapping[str, str] | None = None) -> str:
    """A MyST bullet list of ``{download}`` links, one per file, with its description."""
    lines = []
    for name, path in paths.items():
        what = (descriptions or {}).get(name, name)
        lines.append(f"- {{download}}`{path.name} <{path.as_posix()}>`: {what}")
    return "\n".join(lines) if lines else "No table to download: nothing ran for this page."


__all__ = ["DOWNLOADS_FOLDER", "downloads_markdown", "write_downloads"]
