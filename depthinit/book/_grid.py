"""Findings of the grid experiments (E1, E2, E3 and any experiment of the same shape): who
trains, how the paper's proposal compares with plain He and the references, per optimizer,
at each configuration's learning rate.

Chapter: "E1: the 54-layer MLP on CIFAR-10" and the chapters made from the same
template (E2, E3). The numbers are :func:`depthinit.analysis.summary` at the learning
rate chosen on validation (:func:`depthinit.book.at_chosen_lr`), paired effects are
:func:`depthinit.analysis.effect` (paired by seed); a diverged run scores chance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from .. import analysis
from ..sweep import PAPER_V
from ._provenance import MIN_SEEDS, join_words
from ._tables import OPTIMIZER_NAMES, at_chosen_lr, by_optimizer, design_variants

#: A configuration "trains" when its whole interval lies above chance + this margin (the claims' margin).
TRAINS_MARGIN = analysis.TRAINS_MARGIN


@dataclass(frozen=True)
class Score:
    """One initialization's final test accuracy over seeds (fractions, not percent)."""

    label: str
    mean: float
    median: float
    low: float
    high: float
    seeds: int
    failed: int
    runs: int
    lr: float
    edge: bool  # the chosen learning rate lies at the grid's edge

    def text(self) -> str:
        """``"37.0 % (median 36.7 %, 95 % interval 34.4 to 39.5 %)"``."""
        out = f"{100 * self.mean:.1f} % (median {100 * self.median:.1f} %"
        if math.isfinite(self.low):
            out += f", 95 % interval {100 * self.low:.1f} to {100 * self.high:.1f} %"
        return out + ")"


@dataclass(frozen=True)
class GridFinding:
    """What one optimizer's runs of a grid experiment show (see :func:`grid_findings`)."""

    source: str  # e.g. "stored paper-profile run" or "this build (default profile)"
    optimizer: str
    tuned: bool  # learning rates chosen on validation (False: one rate per configuration)
    scores: tuple[Score, ...]  # best mean first
    best: Score
    he_normal: Score | None
    proposed: Score | None  # He normal with the increasing schedule at V = 22
    best_reference: Score | None  # the best of orthogonal, random walk, LSUV
    proposed_vs_he: analysis.Estimate | None  # proposed minus He normal, paired by seed
    trained: int  # initializations whose whole interval lies above the line
    stuck: int  # initializations whose whole interval lies below the line
    n_inits: int
    line: float
    failed_runs: int
    runs: int
    seeds: int
    edge_lrs: int  # configurations whose chosen rate is at the grid's edge

    @property
    def too_small(self) -> bool:
        """Fewer than ``depthinit.book.MIN_SEEDS`` seeds: too few to conclude."""
        return self.seeds < MIN_SEEDS

    def headline(self) -> str:
        """The finding in two or three sentences (Markdown), numbers from the fields."""
        opt = OPTIMIZER_NAMES.get(self.optimizer, self.optimizer)
        how = (
            "at each initialization's learning rate chosen on validation"
            if self.tuned
            else "at one learning rate for every initialization"
        )
        out = [f"**{self.source[0].upper() + self.source[1:]}, {opt} {how}:**"]
        if self.proposed is not None and self.he_normal is not None:
            cmp = ""
            if self.proposed_vs_he is not None and math.isfinite(self.proposed_vs_he.mean):
                e = self.proposed_vs_he
                cmp = f": {100 * e.mean:+.1f} points"
                if math.isfinite(e.low):
                    cmp += f" [{100 * e.low:+.1f}, {100 * e.high:+.1f}] paired by seed"
            out.append(
                f"the paper's proposal (He normal with the increasing schedule) ends at "
                f"{self.proposed.text()}, plain He normal at {self.he_normal.text()}{cmp}."
            )
        best = f"The best initialization is {self.best.label} at {100 * self.best.mean:.1f} %"
        if self.best_reference is not None and self.best_reference.label != self.best.label:
            best += f"; the best reference, {self.best_reference.label}, reaches {100 * self.best_reference.mean:.1f} %"
        out.append(best + ".")
        out.append(
            f"{self.trained} of {self.n_inits} initializations end above chance + "
            f"{100 * (self.line - analysis.CHANCE):.0f} points with their whole interval, {self.stuck} stay "
            f"below it; {self.failed_runs} of {self.runs} runs failed (diverged or ended at chance)."
        )
        if self.edge_lrs:
            out.append(
                f"For {self.edge_lrs} configuration{'s' if self.edge_lrs != 1 else ''} the chosen learning "
                "rate lies at the grid's edge: the grid may be too narrow there."
            )
        if self.too_small:
            out.append(f"With {self.seeds} seed{'s' if self.seeds != 1 else ''} this run is too small to conclude.")
        return " ".join(out)


def _score(row: pd.Series, lr: float, edge: bool) -> Score:
    return Score(
        str(row["init"]),
        float(row["mean"]),
        float(row["median"]),
        float(row["low"]),
        float(row["high"]),
        int(row["seeds"]),
        int(row["failed"]),
        int(row["runs"]),
        float(lr),
        bool(edge),
    )


def _label_of(final: pd.DataFrame, selector: analysis.Selector) -> str | None:
    labels = list(dict.fromkeys(analysis.select(final, selector)["init"]))
    return labels[0] if len(labels) == 1 else None


PROPOSED = analysis.config(base="he", schedule="increasing", distribution="normal", network_variance=PAPER_V)
HE_NORMAL = analysis.config(base="he", schedule="unit", distribution="normal")


def grid_findings(
    results: pd.DataFrame, *, source: str, chance: float = analysis.CHANCE, margin: float = TRAINS_MARGIN
) -> list[GridFinding]:
    """One :class:`GridFinding` per optimizer of ``results`` (SGD first) and design variant
    (:func:`depthinit.book.design_variants`; E6's widths, E8's arms), each at the learning
    rates chosen on validation when the results hold a grid. ``source`` names the run in
    the headline ("stored paper-profile run", "this build (default profile)")."""
    if results.empty:
        raise ValueError("the results table is empty; run the sweep first")
    out = []
    designs = design_variants(results)
    pieces = [
        (opt, v, part[part["variant"].astype(str) == v] if v else part)
        for opt, part in by_optimizer(results).items()
        for v in (designs or [""])
    ]
    for opt, variant, part in pieces:
        if part.empty:
            continue
        rows, choice = at_chosen_lr(part)
        s = analysis.summary(rows, by=["init"], chance=chance)
        lr = rows.groupby("init")["lr"].first()
        edge = choice.groupby("init")["edge"].any() if choice is not None else pd.Series(dtype=bool)
        scores = tuple(
            _score(r, lr.get(r["init"], math.nan), bool(edge.get(r["init"], False))) for _, r in s.iterrows()
        )
        by_label = {sc.label: sc for sc in scores}
        final = analysis.final_rows(rows, chance=chance)
        he, prop = _label_of(final, HE_NORMAL), _label_of(final, PROPOSED)
        refs = [
            sc
            for sc in scores
            if sc.label in set(final[final["scheme"].isin(("orthogonal", "random_walk", "lsuv"))]["init"])
        ]
        effect = analysis.effect(final, PROPOSED, HE_NORMAL) if he and prop else None
        line = chance + margin
        low = s["low"].fillna(s["mean"])
        high = s["high"].fillna(s["mean"])
        out.append(
            GridFinding(
                source=source + (f", {variant}" if variant else ""),
                optimizer=opt,
                tuned=choice is not None,
                scores=scores,
                best=scores[0],
                he_normal=by_label.get(he) if he else None,
                proposed=by_label.get(prop) if prop else None,
                best_reference=refs[0] if refs else None,
                proposed_vs_he=effect,
                trained=int((low > line).sum()),
                stuck=int((high < line).sum()),
                n_inits=len(scores),
                line=line,
                failed_runs=int(s["failed"].sum()),
                runs=int(s["runs"].sum()),
                seeds=int(s["seeds"].min()),
                edge_lrs=int(edge.sum()) if len(edge) else 0,
            )
        )
    return out


def stuck_labels(finding: GridFinding) -> str:
    """The initializations whose whole interval lies below the line, in words ("none" if none)."""
    return join_words([s.label for s in finding.scores if (s.high if math.isfinite(s.high) else s.mean) < finding.line])


__all__ = ["HE_NORMAL", "PROPOSED", "TRAINS_MARGIN", "GridFinding", "Score", "grid_findings", "stuck_labels"]
