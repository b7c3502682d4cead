"""Findings of E4, the uniform-He stall: the signal at initialization with and without a
zero-mean input, and whether plain He uniform stalls in training.

Chapter: "E4: the uniform-He stall". The input scaling of a run is read from the
results' ``preprocess`` column (``"unit"``: pixels in [0, 1], the paper's setting;
``"standardize"``: zero mean and unit variance per channel).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd
import torch

from .. import analysis
from ._grid import HE_NORMAL, TRAINS_MARGIN

#: How each input scaling is named on the page.
INPUTS: Mapping[str, str] = {"unit": "inputs in [0, 1]", "standardize": "standardized inputs"}
HE_UNIFORM = analysis.config(base="he", schedule="unit", distribution="uniform")
#: A training loss that falls by less than this (nats) from its value at initialization did not move.
MOVED_NATS = 0.05


# -- at initialization ------------------------------------------------------------------------
def signals_at_init(
    batches: Mapping[str, torch.Tensor],
    *,
    seeds: Sequence[int],
    depth: int = 54,
    width: int = 64,
    classes: int = 10,
    distributions: Sequence[str] = ("normal", "uniform"),
) -> pd.DataFrame:
    """:func:`depthinit.train.signal_statistics` of freshly initialized plain He networks.

    ``batches`` maps an input scaling (a ``preprocess`` value) to a batch ``[B, ...]``; for
    each distribution and seed a :class:`~depthinit.models.MLP` of ``depth`` x ``width`` is
    initialized with He (generator seeded with the seed) and measured on every batch,
    beside the theory's mean prediction of E[y²] and its log-normal median
    (:func:`depthinit.theory.predict`, :func:`depthinit.theory.lognormal_spread`).
    Columns: ``inputs``, ``init``, ``seed``, the signal columns, ``forward_variance``,
    ``median_prediction``."""
    import depthinit
    from depthinit import theory
    from depthinit.models import MLP
    from depthinit.train import signal_statistics

    if not seeds:
        raise ValueError("seeds is empty; pass at least one seed, e.g. range(12)")
    rows = []
    for inputs, x in batches.items():
        moment = float((x.flatten(1).double() ** 2).mean())
        for dist in distributions:
            label = f"He {dist}"
            plan = None
            for seed in seeds:
                model = MLP(x[0].numel(), classes, depth=depth, width=width)
                plan = depthinit.init_(model, "he", distribution=dist, generator=torch.Generator().manual_seed(seed))
                rows.append(signal_statistics(model, x).assign(inputs=inputs, init=label, seed=int(seed)))
            if plan is None:  # seeds is not empty (checked above)
                continue
            pred = theory.predict(plan, input_second_moment=moment)[["depth", "forward_variance"]]
            factor = theory.lognormal_spread(plan)["forward_median_factor"].to_numpy()
            pred = pred.assign(median_prediction=pred["forward_variance"].to_numpy() * factor)
            rows[-len(seeds) :] = [r.merge(pred, on="depth") for r in rows[-len(seeds) :]]
    return pd.concat(rows, ignore_index=True)


def signal_summary(signals: pd.DataFrame) -> pd.DataFrame:
    """Per input scaling, initialization and layer: the median and quartiles over seeds of
    E[y²], the mean common share and cosine, and the two predictions."""
    keys = ["inputs", "init", "depth"]
    g = signals.groupby(keys, sort=False)
    out = g.agg(
        median=("second_moment", "median"),
        mean_moment=("second_moment", "mean"),
        common_share=("common_share", "mean"),
        cosine=("cosine", "mean"),
        forward_variance=("forward_variance", "first"),
        median_prediction=("median_prediction", "first"),
    )
    out["q25"] = g["second_moment"].quantile(0.25)
    out["q75"] = g["second_moment"].quantile(0.75)
    return out.reset_index()


@dataclass(frozen=True)
class SignalFinding:
    """The signal at initialization of He normal and He uniform, per input scaling."""

    first_ratio: dict[str, float]  # median E[y²] of layer 1 / the prediction, He normal, per input scaling
    deep_ratio: dict[tuple[str, str], float]  # (inputs, init) -> median E[y²] / predicted mean at layer L - 1
    median_theory: float  # the log-normal median / mean predicted at layer L - 1
    common_share: dict[tuple[str, int], float]  # (inputs, depth) -> mean share common to all examples, He normal
    cosine: dict[tuple[str, int], float]  # (inputs, depth) -> mean cosine between two examples, He normal
    depths: tuple[int, int, int]  # the layers quoted: first, middle, last but one

    def headline(self) -> str:
        """What the measurement at initialization shows, in sentences."""
        first, _, deep = self.depths
        u, s = "unit", "standardize"
        ratio = self.deep_ratio
        return (
            f"The second moment follows the theory with either input: at layer {deep} a typical He-normal "
            f"network keeps {ratio.get((u, 'He normal'), math.nan):.2f} and a He-uniform one "
            f"{ratio.get((u, 'He uniform'), math.nan):.2f} of the predicted mean with inputs in [0, 1] (the "
            f"log-normal theory predicts {self.median_theory:.2f} for normal weights). What the input's mean "
            f"changes is how alike the examples are: with inputs in [0, 1], "
            f"{self.common_share.get((u, first), math.nan):.2f} of the first layer's E[y²] is common to all "
            f"images against {self.common_share.get((s, first), math.nan):.2f} standardized, and at layer {deep} "
            f"the cosine between two images is {self.cosine.get((u, deep), math.nan):.3f} against "
            f"{self.cosine.get((s, deep), math.nan):.3f}. Neither depends on the distribution of the weights."
        )


def signal_findings(summary: pd.DataFrame) -> SignalFinding:
    """:class:`SignalFinding` from :func:`signal_summary`."""
    L = int(summary["depth"].max())
    depths = (1, max(1, L // 2), max(1, L - 1))

    def at(inputs: str, init: str, depth: int, col: str) -> float:
        g = summary[(summary["inputs"] == inputs) & (summary["init"] == init) & (summary["depth"] == depth)]
        return float(g[col].iloc[0]) if len(g) else math.nan

    ins = list(dict.fromkeys(summary["inputs"]))
    inits = list(dict.fromkeys(summary["init"]))
    return SignalFinding(
        first_ratio={i: at(i, "He normal", 1, "median") / at(i, "He normal", 1, "forward_variance") for i in ins},
        deep_ratio={
            (i, n): at(i, n, depths[2], "median") / at(i, "He normal", depths[2], "forward_variance")
            for i in ins
            for n in inits
        },
        median_theory=at(ins[0], "He normal", depths[2], "median_prediction")
        / at(ins[0], "He normal", depths[2], "forward_variance"),
        common_share={(i, d): at(i, "He normal", d, "common_share") for i in ins for d in depths},
        cosine={(i, d): at(i, "He normal", d, "cosine") for i in ins for d in depths},
        depths=depths,
    )


# -- in training -------------------------------------------------------------------------------
@dataclass(frozen=True)
class StallFinding:
    """Whether plain He uniform stalls on the 54-layer MLP, per input scaling (fractions)."""

    he_uniform: dict[str, analysis.Estimate]  # per preprocess value: final test accuracy over seeds
    he_normal: dict[str, analysis.Estimate]
    normal_minus_uniform: dict[str, analysis.Estimate]  # paired by seed
    standardizing_gain: analysis.Estimate  # He uniform, standardized minus [0, 1], paired by seed
    moved: int  # He-uniform runs with inputs in [0, 1] whose training loss fell by more than MOVED_NATS
    runs: int
    line: float

    @property
    def stalls(self) -> bool:
        """True when He uniform's whole interval with inputs in [0, 1] lies below the line."""
        e = self.he_uniform.get("unit")
        return e is not None and math.isfinite(e.high) and e.high < self.line

    def headline(self) -> str:
        """The finding in sentences (Markdown)."""
        u, n = self.he_uniform.get("unit"), self.he_normal.get("unit")
        if u is None or n is None:
            return "The runs with inputs in [0, 1] did not finish; nothing can be said about the stall."
        verb = "reproduces" if self.stalls else "does not reproduce"
        d = self.normal_minus_uniform.get("unit")
        diff = f"; normal minus uniform {d.as_text()}" if d is not None and d.n else ""
        return (
            f"**The stall {verb}:** with inputs in [0, 1], plain He uniform ends at {_pct(u)} and He normal "
            f"at {_pct(n)}{diff}. The training loss of {self.moved} of the {self.runs} He-uniform runs fell by "
            f"more than {MOVED_NATS:g} nats from its value at initialization (a stalled run's would not move)."
        )


def _pct(e: analysis.Estimate) -> str:
    out = f"{100 * e.mean:.1f} %"
    return out + (f" [{100 * max(0.0, e.low):.1f}, {100 * min(1.0, e.high):.1f}]" if math.isfinite(e.low) else "")


def stall_findings(
    results: pd.DataFrame, *, chance: float = analysis.CHANCE, margin: float = TRAINS_MARGIN
) -> StallFinding:
    """:class:`StallFinding` from E4's results (every run at its own learning rate)."""
    if results.empty or "preprocess" not in results:
        raise ValueError("E4's results table is empty or has no 'preprocess' column; run its sweep first")
    final = analysis.final_rows(results, chance=chance)
    preps = list(dict.fromkeys(final["preprocess"]))
    he_u = {p: analysis.level_of(final[final["preprocess"] == p], HE_UNIFORM) for p in preps}
    he_n = {p: analysis.level_of(final[final["preprocess"] == p], HE_NORMAL) for p in preps}
    diff = {p: analysis.effect(final[final["preprocess"] == p], HE_NORMAL, HE_UNIFORM) for p in preps}
    uni = analysis.select(final, HE_UNIFORM)
    gain = analysis.effect(uni, {"preprocess": "standardize"}, {"preprocess": "unit"})
    hist = analysis.select(results[results["preprocess"] == "unit"], HE_UNIFORM)
    drops = []
    for _, g in hist.groupby("run_id"):
        loss = g.sort_values("epoch")["train_loss"].dropna()
        drops.append(float(loss.iloc[0] - loss.iloc[-1]) if len(loss) > 1 else 0.0)
    return StallFinding(he_u, he_n, diff, gain, int(sum(d > MOVED_NATS for d in drops)), len(drops), chance + margin)


def first_layer_gradients(probes: pd.DataFrame, results: pd.DataFrame) -> pd.DataFrame:
    """The std of the first layer's weight gradient per probed epoch, input scaling and
    initialization (mean over seeds); each probe's input scaling comes from its run in ``results``."""
    prep = results.drop_duplicates("run_id").set_index("run_id")["preprocess"]
    g = probes[(probes["kind"] == "gradient") & (probes["depth"] == 1)].copy()
    g["preprocess"] = g["run_id"].map(prep)
    return g.groupby(["preprocess", "init", "epoch"], sort=False)["std"].mean().reset_index()


__all__ = [
    "HE_UNIFORM",
    "INPUTS",
    "MOVED_NATS",
    "SignalFinding",
    "StallFinding",
    "first_layer_gradients",
    "signal_findings",
    "signal_summary",
    "signals_at_init",
    "stall_findings",
]
