"""Which chapter shows what: executed chapters made from the experiment template, and the
sections a chapter has because of what the registry holds.

Chapter: "Reproducibility" (how the book is executed). An experiment chapter without a
notebook of its own (``notebooks/<chapter>.ipynb``) is executed from the template
``notebooks/experiment.ipynb`` with the parameter ``key`` set to its experiment's book
key; E1, E2 and E3 are made this way. Sections that only some chapters have are
cells tagged ``section-<name>``; ``scripts/run_notebooks.py`` removes them from an
executed copy whose :func:`chapter_sections` does not include ``<name>``.
"""

from __future__ import annotations

from ..sweep import EXPERIMENTS
from ._runs import chapter_experiments

#: The template notebook of the grid experiments (``notebooks/experiment.ipynb``).
TEMPLATE = "experiment"
#: The chapters that summarise the others and so run after every other chapter, in this order.
SUMMARY_CHAPTERS: tuple[str, ...] = ("verdicts", "use_in_your_model", "index", "reproducibility")
#: Section names a chapter may have (cells tagged ``section-<name>``).
SECTIONS: tuple[str, ...] = ("why", "ablation")


def why_chapter() -> str:
    """The chapter that holds the book's one "Why it does (not) help" section: the chapter of a
    registered experiment with the ablation's arms when there is one, else E1's chapter."""
    for e in EXPERIMENTS.values():
        if any(v.name.startswith("He + ") for v in e.variants) and e.chapter:
            return e.chapter
    e1 = next((e for e in EXPERIMENTS.values() if e.key == "E1"), None)
    return e1.chapter if e1 is not None else ""


def ablation_experiment(chapter: str) -> str | None:
    """The name of the ablation experiment a chapter shows beside its main one (None if none)."""
    exps = chapter_experiments(chapter)
    return exps[1].name if len(exps) > 1 else None


def chapter_sections(chapter: str) -> frozenset[str]:
    """The optional sections ``chapter`` has: ``"why"`` for :func:`why_chapter`, ``"ablation"``
    when another registered experiment shares the chapter (:func:`ablation_experiment`)."""
    out = set()
    if chapter == why_chapter():
        out.add("why")
    if ablation_experiment(chapter):
        out.add("ablation")
    return frozenset(out)


def template_key(chapter: str) -> str | None:
    """The book key of the experiment whose chapter is ``chapter`` (the template's ``key``
    parameter), or None when the registry has no experiment for it."""
    exps = chapter_experiments(chapter)
    return exps[0].key or None if exps else None


def chapter_title(chapter: str) -> str | None:
    """The registry's title of ``chapter`` (its main experiment's ``title``), or None."""
    exps = chapter_experiments(chapter)
    return exps[0].title or None if exps else None


__all__ = [
    "SECTIONS",
    "SUMMARY_CHAPTERS",
    "TEMPLATE",
    "ablation_experiment",
    "chapter_sections",
    "chapter_title",
    "template_key",
    "why_chapter",
]
