"""Book figure style and small figure helpers. Nothing here runs on import: call
:func:`use_book_style` to set the style (it changes matplotlib's global rcParams).
"""

from __future__ import annotations

from typing import Any


def use_book_style(**overrides: Any) -> None:
    """Seaborn's whitegrid theme with the book's sizes; ``overrides`` go to rcParams."""
    import seaborn as sns

    rc = {"figure.figsize": (7.5, 4.0), "figure.dpi": 110, "savefig.dpi": 110, "axes.titlesize": 11}
    rc.update(overrides)
    sns.set_theme(context="notebook", style="whitegrid", palette="colorblind", rc=rc)


def scheme_label(scheme: str, base: str | None = None, distribution: str | None = None,
                 schedule: str | None = None) -> str:
    """A short human label such as ``"He normal, increasing"`` for legends and tables."""
    names = {"he": "He", "glorot": "Glorot", "lecun": "LeCun", "orthogonal": "Orthogonal",
             "random_walk": "Random walk", "lsuv": "LSUV"}
    if scheme == "depth":
        head = names.get(base or "he", str(base))
        parts = [head, distribution] if distribution else [head]
        return " ".join(parts) + (f", {schedule}" if schedule else "")
    parts = [names.get(scheme, scheme)]
    if distribution and scheme in ("he", "glorot", "lecun", "random_walk"):
        parts.append(distribution)
    return " ".join(parts)
