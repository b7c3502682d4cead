"""Handing values to the page: myst-nb ``glue`` for Markdown and figures.

Chapter: every chapter. A page shows glued Markdown with ``{glue:md}`` (``:format: myst``,
so directives and roles in it work) and glued figures with ``{glue:figure}``. myst-nb is
imported when one of these is called (the ``book`` extra).
"""

from __future__ import annotations

from typing import Any


def glue_markdown(name: str, text: str) -> None:
    """Glue ``text`` (MyST Markdown) under ``name`` without displaying it here."""
    from IPython.display import Markdown
    from myst_nb import glue

    glue(name, Markdown(text), display=False)


def glue_figure(name: str, fig: Any) -> None:
    """Glue the matplotlib figure ``fig`` under ``name`` and close it (it is shown where the
    page pastes it, never twice)."""
    import matplotlib.pyplot as plt
    from myst_nb import glue

    glue(name, fig, display=False)
    plt.close(fig)


def glue_values(prefix: str = "", **values: Any) -> None:
    """Glue plain Python values: numbers as floats (never NumPy or tensor scalars), the rest as text."""
    from myst_nb import glue

    for name, value in values.items():
        plain = float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)
        glue(prefix + name, plain, display=False)


__all__ = ["glue_figure", "glue_markdown", "glue_values"]
