"""Findings of the schedule ablation: what the reparameterization does, piece by piece.

Chapter: "E1: the 54-layer MLP on CIFAR-10", section "Why it does (not) help". At a
fixed network variance V, a bias-free ReLU network initialized with a depth schedule
is He's network times √V, and SGD on it is SGD on He's network with per-layer
learning rates 1/α_l and the logits scaled by √V (for Adam the factors are 1/√α_l).
The ablation trains the pieces separately: He; He with only the logit scale √V; He
with only the per-layer learning rates; He with both, which must reproduce the
schedule; for the increasing and the decreasing schedule.

The arms are the values of the results' ``variant`` column. Their structure (which
pieces an arm has) is read from the arm's name as the spec writes it:
``"He"``, ``"He + logit scale"``, ``"He + layer lrs (<schedule>)"``,
``"He + both (<schedule>)"`` and ``"<schedule>"`` (:func:`arm`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import analysis
from ._grid import Score
from ._provenance import join_words
from ._tables import OPTIMIZER_NAMES, at_chosen_lr, by_optimizer

#: The arms in the order the book shows them.
ARMS: tuple[str, ...] = (
    "He", "He + logit scale", "He + layer lrs (increasing)", "He + both (increasing)", "increasing",
    "He + layer lrs (decreasing)", "He + both (decreasing)", "decreasing",
)
#: Two arms "agree" when their final test accuracies differ by less than this on every seed and rate.
REPRODUCE_TOL = 1e-3


@dataclass(frozen=True)
class Arm:
    """One arm of the ablation: which pieces of the reparameterization it applies."""

    name: str
    schedule: str | None  # the schedule whose pieces it carries (None: He, or the logit scale alone)
    logit_scale: bool
    layer_lrs: bool
    is_schedule: bool  # the schedule itself, trained as is


def arm(name: str) -> Arm:
    """The structure of the arm called ``name`` (see the module docstring); ValueError otherwise."""
    if name == "He":
        return Arm(name, None, False, False, False)
    if name == "He + logit scale":
        return Arm(name, None, True, False, False)
    m = re.fullmatch(r"He \+ (layer lrs|both) \((\w+)\)", name)
    if m:
        both = m.group(1) == "both"
        return Arm(name, m.group(2), both, True, False)
    if re.fullmatch(r"[a-z]+", name):
        return Arm(name, name, False, False, True)
    raise ValueError(f"variant {name!r} is not an arm of the schedule ablation; expected one of {', '.join(ARMS)}")


@dataclass(frozen=True)
class AblationFinding:
    """What one optimizer's ablation runs show (see :func:`ablation_findings`)."""

    optimizer: str
    tuned: bool
    scores: tuple[tuple[Arm, Score], ...]  # in ``ARMS`` order
    effects: dict[str, analysis.Estimate]  # arm minus "He", paired by seed, at the chosen rates
    reproduces: dict[str, float]  # schedule -> largest |accuracy difference| of "He + both" and the schedule

    def score(self, name: str) -> Score | None:
        """The score of the arm ``name`` (None when it did not run)."""
        return next((s for a, s in self.scores if a.name == name), None)

    def clause(self, schedule: str = "increasing") -> str:
        """A clause for the landing page: what each piece of ``schedule`` does to He's accuracy."""
        parts = []
        for name, what in (("He + logit scale", "the logit scale alone"),
                           (f"He + layer lrs ({schedule})", f"the {schedule} schedule's per-layer learning rates alone"),
                           (f"He + both ({schedule})", "both together")):
            e = self.effects.get(name)
            if e is not None and math.isfinite(e.mean):
                parts.append(f"{what} by {100 * e.mean:+.1f} points")
        if not parts:
            return ""
        opt = OPTIMIZER_NAMES.get(self.optimizer, self.optimizer)
        return f"in the ablation ({opt}), He's test accuracy changes with {join_words(parts)}"

    def headline(self) -> str:
        """What the ablation shows, in sentences (Markdown)."""
        opt = OPTIMIZER_NAMES.get(self.optimizer, self.optimizer)
        parts = []
        for name, e in self.effects.items():
            if math.isfinite(e.mean):
                ci = f" [{100 * e.low:+.1f}, {100 * e.high:+.1f}]" if math.isfinite(e.low) else ""
                parts.append(f"{name}: {100 * e.mean:+.1f} points{ci}")
        he = self.score("He")
        out = [f"**{opt}:** against He ({100 * he.mean:.1f} %)" if he else f"**{opt}:**",
               "the pieces change the final test accuracy by " + join_words(parts, empty="nothing measurable") + "."]
        for sched, diff in self.reproduces.items():
            if math.isfinite(diff):
                verb = "reproduces" if diff < REPRODUCE_TOL else "does not reproduce"
                out.append(f"He with both pieces {verb} the {sched} schedule (largest difference "
                           f"{100 * diff:.2g} points over seeds, learning rates and epochs).")
        return " ".join(out)


def _reproduction(part: pd.DataFrame, a: str, b: str) -> float:
    keys = ["seed", "lr", "epoch"]
    x = part[part["variant"] == a].set_index(keys)["test_acc"]
    y = part[part["variant"] == b].set_index(keys)["test_acc"]
    common = x.index.intersection(y.index)
    if not len(common):
        return math.nan
    return float(np.nanmax(np.abs(x.loc[common].to_numpy(float) - y.loc[common].to_numpy(float))))


def ablation_findings(results: pd.DataFrame, *, chance: float = analysis.CHANCE) -> list[AblationFinding]:
    """One :class:`AblationFinding` per optimizer: each arm's score at its chosen learning rate,
    each arm's effect against He (paired by seed), and how closely "He + both (<schedule>)"
    reproduces the schedule (over every seed, learning rate and epoch both ran)."""
    if results.empty or "variant" not in results:
        raise ValueError("the ablation's results table is empty or has no 'variant' column; run its sweep first")
    names = list(dict.fromkeys(results["variant"].astype(str)))
    arms = {n: arm(n) for n in names}
    order = sorted(names, key=lambda n: ARMS.index(n) if n in ARMS else len(ARMS))
    out = []
    for opt, part in by_optimizer(results).items():
        rows, choice = at_chosen_lr(part)
        s = analysis.summary(rows, by=["variant"], chance=chance).set_index("variant")
        lr = rows.groupby("variant")["lr"].first()
        edge = choice.groupby("variant")["edge"].any() if choice is not None else pd.Series(dtype=bool)
        scores = tuple((arms[n], Score(n, float(s.loc[n, "mean"]), float(s.loc[n, "median"]), float(s.loc[n, "low"]),
                                       float(s.loc[n, "high"]), int(s.loc[n, "seeds"]), int(s.loc[n, "failed"]),
                                       int(s.loc[n, "runs"]), float(lr.get(n, math.nan)), bool(edge.get(n, False))))
                       for n in order if n in s.index)
        final = analysis.final_rows(rows, chance=chance)
        effects = {n: analysis.effect(final, {"variant": n}, {"variant": "He"}) for n in order
                   if n != "He" and "He" in names}
        reproduces = {str(a.schedule): _reproduction(part, f"He + both ({a.schedule})", a.name)
                      for a in arms.values() if a.is_schedule and f"He + both ({a.schedule})" in names}
        out.append(AblationFinding(opt, choice is not None, scores, effects, reproduces))
    return out


__all__ = ["ARMS", "REPRODUCE_TOL", "AblationFinding", "Arm", "ablation_findings", "arm"]
