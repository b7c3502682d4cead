"""The claims the book decides: the paper's seven, each with its measure and rule.

Chapter: "The verdicts" (and the landing page, which numbers them the same way).
"""

from __future__ import annotations

from dataclasses import replace

import pandas as pd

from ._tables import CHANCE
from ._verdicts import Claim, Comparison, Contrast, config

#: A configuration "trains" when its final test accuracy is above chance + this margin.
TRAINS_MARGIN = 0.05


def _plain(f: pd.DataFrame) -> pd.Series:
    """Plain He/Glorot (the unit schedule), however the spec wrote them."""
    return config(schedule="unit")(f) | config(scheme="he")(f) | config(scheme="glorot")(f)


def _scaled(distribution: str):
    def mask(f: pd.DataFrame) -> pd.Series:
        return config(distribution=distribution)(f) & f["scheme"].eq("depth") & ~f["schedule"].eq("unit")

    return mask


READINGS: tuple[str, ...] = ("multiplier", "gain")


def _reading(reading: str):
    """Runs of the depth scheme read with V as ``reading`` (other schemes always pass)."""

    def mask(f: pd.DataFrame) -> pd.Series:
        if "v_reading" not in f.columns:
            return pd.Series(reading == "multiplier", index=f.index) | ~f["scheme"].eq("depth")
        return ~f["scheme"].eq("depth") | f["v_reading"].eq(reading) | f["v_reading"].isna()

    return mask


def _both(*masks):
    def mask(f: pd.DataFrame) -> pd.Series:
        m = pd.Series(True, index=f.index)
        for x in masks:
            m &= x(f)
        return m

    return mask


def paper_claims(
    *, chance: float = CHANCE, trains_margin: float = TRAINS_MARGIN, V: float = 22.0, glorot_reading: str = "multiplier"
) -> list[Claim]:
    """The seven claims of the paper, numbered as everywhere in the book, each with the
    measure and the rule that decides it (rules of "The verdicts" (:func:`depthinit.analysis.verdict_table`)).

    ``experiment`` keys: ``"E1"`` (54 x 64 MLP, CIFAR-10) and ``"E4"`` (the uniform-He
    stall, more seeds; claim 3 falls back to E1 when E4 did not run). "Trains" means a
    final test accuracy above ``chance + trains_margin``; "stalls" below it. Every claim
    reads the depth scheme with V multiplying the base's variance (the paper's words),
    except claim 4, which reads Glorot with V as ``glorot_reading`` (``"multiplier"`` or
    ``"gain"``: V as the network's own gain; He is the same under both readings).
    """
    if glorot_reading not in READINGS:
        raise ValueError(f"glorot_reading={glorot_reading!r} is not valid; expected one of {READINGS}")
    line = chance + trains_margin
    bases, dists = ("he", "glorot"), ("normal", "uniform")
    refs = {
        "He normal": config(base="he", schedule="unit", distribution="normal"),
        "Glorot normal": config(base="glorot", schedule="unit", distribution="normal"),
        "orthogonal": config(scheme="orthogonal"),
        "random walk": config(scheme="random_walk"),
        "LSUV": config(scheme="lsuv"),
    }
    proposed = config(base="he", schedule="increasing", distribution="normal", network_variance=V)
    acc = "final test accuracy at each initialization's tuned learning rate"
    paired = "paired by seed"
    literal = _reading("multiplier")
    claims = [
        Claim(
            1,
            "The increasing schedule trains better than the constant and the decreasing ones at the same V.",
            "E1",
            "test_acc",
            f"{acc}, increasing minus constant and minus decreasing, averaged over base and distribution, {paired}",
            (
                Comparison("increasing - constant", config(schedule="increasing"), config(schedule="constant")),
                Comparison("increasing - decreasing", config(schedule="increasing"), config(schedule="decreasing")),
            ),
        ),
        Claim(
            2,
            "The decreasing schedule performs below par.",
            "E1",
            "test_acc",
            f"{acc}, plain (unit) minus decreasing with the same base and distribution, {paired}",
            (Comparison("unit - decreasing", _plain, config(schedule="decreasing")),),
        ),
        Claim(
            3,
            "Plain He with a uniform distribution stalls on the 54-layer MLP with [0, 1] inputs, "
            "while He normal trains.",
            "E4",
            "test_acc",
            f"{acc}: He uniform below chance + {trains_margin:.0%} and He normal above it; inputs in [0, 1]",
            (
                Comparison(
                    "He uniform stalls (line - acc)",
                    config(base="he", schedule="unit", distribution="uniform"),
                    threshold=line,
                    sign=-1,
                ),
                Comparison(
                    "He normal trains (acc - line)",
                    config(base="he", schedule="unit", distribution="normal"),
                    threshold=line,
                ),
            ),
            fallbacks=("E1",),
            where=config(preprocess="unit"),
        ),
        Claim(
            4,
            "The proposed method trains with both uniform and normal distributions.",
            "E1",
            "test_acc",
            f"{acc} of the increasing schedule minus (chance + {trains_margin:.0%}), for each base and distribution",
            tuple(
                Comparison(
                    f"{b} {d} increasing",
                    _both(
                        config(base=b, distribution=d, schedule="increasing"),
                        _reading(glorot_reading if b == "glorot" else "multiplier"),
                    ),
                    threshold=line,
                )
                for b in bases
                for d in dists
            ),
            where=None,
        ),
        Claim(
            5,
            "Normal is superior to uniform in this setup.",
            "E1",
            "test_acc",
            f"{acc}, normal minus uniform over the depth-scaled schedules (constant, increasing, decreasing) "
            f"and both bases, {paired}",
            (Comparison("normal - uniform", _scaled("normal"), _scaled("uniform")),),
        ),
        Claim(
            6,
            "The proposed method beats the existing schemes.",
            "E1",
            "test_acc",
            f"{acc}, He normal with the increasing schedule minus each reference (He, Glorot, orthogonal, "
            f"random walk, LSUV), {paired}",
            tuple(Comparison(f"increasing - {name}", proposed, sel) for name, sel in refs.items()),
        ),
        Claim(
            7,
            "Unit variance throughout is not the best choice for deep networks (V > 1 helps).",
            "E1",
            "test_acc",
            f"{acc}, the increasing schedule at V = {V:g} minus the plain scheme (unit variance) with the same "
            f"base and distribution, {paired}",
            (Comparison(f"increasing V={V:g} - unit", config(schedule="increasing", network_variance=V), _plain),),
        ),
    ]
    out = []
    for c in claims:
        if c.number == 4:
            out.append(replace(c, rule=c.rule + f"; Glorot with V read as {glorot_reading}"))
        elif c.where is None:
            out.append(replace(c, where=literal))
        else:
            out.append(replace(c, where=_both(c.where, literal)))
    return out


def book_claims(*, V: float = 22.0) -> list[Claim]:
    """The book's own claims (``source="book"``, numbered B1...), on the experiments the paper
    planned (E6-E8): each a stated question with its rule, fixed before the numbers.

    B1 (E6): at depth 54 the increasing schedule's difference from He is larger (less
    negative) at width 256 than at width 32, i.e. its deficit is a finite-width effect.
    B2, B3 (E7, tanh): the critical initialization and the increasing schedule each train
    the 54-layer tanh MLP better than Glorot. B4 (E8): with batch norm the schedules do
    not differ from He by more than delta (BN cancels V). B5, B6 (E8, residual MLP): the
    increasing schedule and Fixup each beat He.
    """
    inc = config(base="he", distribution="normal", schedule="increasing", network_variance=V)
    he = config(base="he", distribution="normal", schedule="unit")

    def at(variant: str, sel):
        return _both(sel, lambda f: f["variant"].eq(variant))

    acc = "final test accuracy at each configuration's tuned learning rate, paired by seed"
    wide, narrow = "width 256, L = 54", "width 32, L = 54"

    return [
        Claim(
            "B1",
            "The increasing schedule's deficit against He at depth 54 shrinks as the width grows from 32 "
            "to 256 (a finite-width effect).",
            "E6",
            "test_acc",
            f"{acc}: (increasing - He) at width 256 minus (increasing - He) at width 32",
            (
                Comparison(
                    "(inc - He) at 256 - at 32",
                    Contrast(at(wide, inc), at(wide, he)),
                    Contrast(at(narrow, inc), at(narrow, he)),
                ),
            ),
            source="book",
        ),
        Claim(
            "B2",
            "The mean-field critical initialization trains the 54-layer tanh MLP better than Glorot.",
            "E7",
            "test_acc",
            f"{acc}: critical - Glorot normal",
            (Comparison("critical - Glorot", config(scheme="critical"), config(scheme="glorot")),),
            source="book",
        ),
        Claim(
            "B3",
            "The increasing schedule trains the 54-layer tanh MLP better than plain Glorot.",
            "E7",
            "test_acc",
            f"{acc}: Glorot increasing - Glorot normal",
            (
                Comparison(
                    "Glorot increasing - Glorot", config(base="glorot", schedule="increasing"), config(scheme="glorot")
                ),
            ),
            source="book",
        ),
        Claim(
            "B4",
            "With batch normalization the depth schedules make no difference (BN cancels V).",
            "E8",
            "test_acc",
            f"{acc}, batch-norm MLP: each schedule minus He, equivalent within delta",
            tuple(
                Comparison(
                    f"{s} - He (batch norm)",
                    at("batch norm", config(base="he", schedule=s)),
                    at("batch norm", he),
                    expect="equivalent",
                )
                for s in ("constant", "increasing", "decreasing")
            ),
            source="book",
        ),
        Claim(
            "B5",
            "On the residual MLP the increasing schedule trains better than He.",
            "E8",
            "test_acc",
            f"{acc}, residual MLP: increasing - He",
            (Comparison("increasing - He (residual)", at("residual", inc), at("residual", he)),),
            source="book",
        ),
        Claim(
            "B6",
            "On the residual MLP Fixup trains better than He.",
            "E8",
            "test_acc",
            f"{acc}, residual MLP: Fixup - He",
            (Comparison("Fixup - He (residual)", at("residual", config(scheme="fixup")), at("residual", he)),),
            source="book",
        ),
    ]
