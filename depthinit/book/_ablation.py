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
    "He",
    "He + logit scale",
    "He + layer lrs (increasing)",
    "He + both (increasing)",
    "increasing",
    "He + layer lrs (decreasing)",
    "He + both (decreasing)",
    "decreasing",
)
#: "He + both" computes the schedule's function at initialization when their epoch-0 test losses
#: agree to this relative tolerance on every seed (the draws differ by one float32 rounding).
REPRODUCE_TOL = 1e-4


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
class Reproduction:
    """How closely "He + both (<schedule>)" follows the schedule, run for run.

    ``at_init``: the largest relative difference of their epoch-0 test losses (same seeds):
    the same function up to float32 rounding of the draws. ``final``: the paired
    difference of their final test accuracies at each rate, over seeds and rates. The
    identity is exact in exact arithmetic; in float32 rounding differences between the
    two parameterizations grow during training, so the final difference measures how
    far chaos carries them, not a failure of the theorem (in float64, with weights
    drawn in float64, the two agree to rounding: chapter "The reparameterization
    theorem").
    """

    at_init: float
    final: analysis.Estimate
    largest: float

    @property
    def same_function(self) -> bool:
        return math.isfinite(self.at_init) and self.at_init < REPRODUCE_TOL


@dataclass(frozen=True)
class AblationFinding:
    """What one optimizer's ablation runs show (see :func:`ablation_findings`)."""

    optimizer: str
    tuned: bool
    scores: tuple[tuple[Arm, Score], ...]  # in ``ARMS`` order
    effects: dict[str, analysis.Estimate]  # arm minus "He", paired by seed, at the chosen rates
    reproduces: dict[str, Reproduction]  # schedule -> how closely "He + both" follows the schedule

    def score(self, name: str) -> Score | None:
        """The score of the arm ``name`` (None when it did not run)."""
        return next((s for a, s in self.scores if a.name == name), None)

    def clause(self, schedule: str = "increasing") -> str:
        """A clause for the landing page: what each piece of ``schedule`` does to He's accuracy."""
        parts = []
        for name, what in (
            ("He + logit scale", "the logit scale alone"),
            (f"He + layer lrs ({schedule})", f"the {schedule} schedule's per-layer learning rates alone"),
            (f"He + both ({schedule})", "both together"),
        ):
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
        out = [
            f"**{opt}:** against He ({100 * he.mean:.1f} %)" if he else f"**{opt}:**",
            "the pieces change the final test accuracy by " + join_words(parts, empty="nothing measurable") + ".",
        ]
        for sched, r in self.reproduces.items():
            if not math.isfinite(r.at_init):
                continue
            start = "computes the same function as" if r.same_function else "does not compute the same function as"
            text = (
                f"He with both pieces {start} the {sched} schedule at initialization (epoch-0 test losses agree "
                f"to a relative {r.at_init:.1g})"
            )
            if math.isfinite(r.final.mean):
                ci = f" [{100 * r.final.low:+.1f}, {100 * r.final.high:+.1f}]" if math.isfinite(r.final.low) else ""
                text += (
                    f"; after training in float32 their final test accuracies differ by {100 * r.final.mean:+.1f} "
                    f"points{ci} on average (largest {100 * r.largest:.1f}), rounding differences that training "
                    "amplifies"
                )
            out.append(text + ".")
        return " ".join(out)


def _reproduction(part: pd.DataFrame, a: str, b: str) -> Reproduction:
    keys = ["seed", "lr", "epoch"]
    x = part[part["variant"] == a].set_index(keys)
    y = part[part["variant"] == b].set_index(keys)
    common = x.index.intersection(y.index)
    nan = analysis.Estimate(math.nan, math.nan, math.nan, 0)
    if not len(common):
        return Reproduction(math.nan, nan, math.nan)
    x, y = x.loc[common], y.loc[common]
    init = x.index.get_level_values("epoch") == 0
    rel = np.abs(x["test_loss"].to_numpy(float) - y["test_loss"].to_numpy(float)) / np.abs(
        y["test_loss"].to_numpy(float)
    )
    at_init = float(np.nanmax(rel[init])) if init.any() else math.nan
    last = x.index.get_level_values("epoch") == x.index.get_level_values("epoch").max()
    diff = (x["test_acc"] - y["test_acc"])[last]
    final = analysis.t_interval(diff.groupby(level="seed").mean().to_numpy()) if len(diff) else nan
    largest = float(np.nanmax(np.abs(diff.to_numpy(float)))) if len(diff) else math.nan
    return Reproduction(at_init, final, largest)


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
        scores = tuple(
            (
                arms[n],
                Score(
                    n,
                    float(s.loc[n, "mean"]),
                    float(s.loc[n, "median"]),
                    float(s.loc[n, "low"]),
                    float(s.loc[n, "high"]),
                    int(s.loc[n, "seeds"]),
                    int(s.loc[n, "failed"]),
                    int(s.loc[n, "runs"]),
                    float(lr.get(n, math.nan)),
                    bool(edge.get(n, False)),
                ),
            )
            for n in order
            if n in s.index
        )
        final = analysis.final_rows(rows, chance=chance)
        effects = {
            n: analysis.effect(final, {"variant": n}, {"variant": "He"}) for n in order if n != "He" and "He" in names
        }
        reproduces = {
            str(a.schedule): _reproduction(part, f"He + both ({a.schedule})", a.name)
            for a in arms.values()
            if a.is_schedule and f"He + both ({a.schedule})" in names
        }
        out.append(AblationFinding(opt, choice is not None, scores, effects, reproduces))
    return out


__all__ = ["ARMS", "REPRODUCE_TOL", "AblationFinding", "Arm", "Reproduction", "ablation_findings", "arm"]
