"""The verdicts as the book shows them: one table per optimizer at the tuned learning rates,
for this build and for the stored paper-profile run; the landing page's answer and the
"Should I use it?" advice generated from them.

Chapter: "The verdicts", the landing page and "Use it in your model" (all three call
:func:`load_verdicts`, so they cannot disagree). The claims, their rules, the four
verdicts and Holm's correction are :mod:`depthinit.analysis`'s; here the results are
split by optimizer, each configuration is put at its learning rate chosen on validation
(:func:`depthinit.book.at_chosen_lr`), and :func:`depthinit.analysis.verdict_table` is
applied to each optimizer's tables.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd

from .. import analysis
from ._grid import GridFinding
from ._provenance import join_words
from ._runs import experiment, load_book_results, load_paper_book_results
from ._tables import OPTIMIZER_NAMES, lr_counts, optimizers


def claims() -> list[analysis.Claim]:
    """The paper's seven claims, numbered as on every page (:func:`depthinit.analysis.paper_claims`)."""
    return list(analysis.paper_claims())


def own_claims() -> list[analysis.Claim]:
    """The book's own claims on the experiments the paper planned (``B1``..., ``source == "book"``;
    :func:`depthinit.analysis.book_claims`); empty when the analysis states none."""
    own = getattr(analysis, "book_claims", None)
    return list(own()) if callable(own) else []


@dataclass(frozen=True, eq=False)
class VerdictTable:
    """:func:`depthinit.analysis.verdict_table` of one optimizer's runs."""

    optimizer: str
    summary: pd.DataFrame
    details: pd.DataFrame
    tuned: bool  # some experiment's learning rates were chosen on validation
    experiments: tuple[str, ...]  # the experiment keys the table read

    def verdict(self, number: int | str) -> str:
        """The verdict of claim ``number`` (``"inconclusive"`` when it is not in the table)."""
        row = self.summary[self.summary["claim"] == number]
        return str(row["verdict"].iloc[0]) if len(row) else analysis.INCONCLUSIVE

    def counts(self) -> dict[str, int]:
        """How many claims got each of the four verdicts."""
        c = self.summary["verdict"].value_counts()
        return {v: int(c.get(v, 0)) for v in analysis.VERDICTS}

    def count_text(self) -> str:
        """``"1 supported, 3 contradicted, 0 equivalent and 3 inconclusive"`` (of the paper's claims)."""
        c = self.counts()
        return join_words([f"{c[v]} {v}" for v in analysis.VERDICTS])

    @property
    def label(self) -> str:
        """The optimizer's name for headings."""
        return OPTIMIZER_NAMES.get(self.optimizer, self.optimizer)


@dataclass(frozen=True, eq=False)
class BookVerdicts:
    """The verdict tables of one source of results (this build's or the stored paper-profile run)."""

    source: str
    profile: str
    tables: tuple[VerdictTable, ...]  # the paper's claims, one table per optimizer, SGD first
    own: tuple[VerdictTable, ...] = ()  # the book's own claims, a separate family (its own Holm correction)
    results: Mapping[str, pd.DataFrame] = field(default_factory=dict)  # the results tables read, by book key

    @property
    def primary(self) -> VerdictTable | None:
        """The table the landing page leads with (SGD, the paper's setting, when present)."""
        return self.tables[0] if self.tables else None

    def __bool__(self) -> bool:
        return bool(self.tables)

    def html(self, *, own: bool = False) -> str:
        """Every table in full text (:func:`depthinit.book.verdict_html`), each under a line naming
        its optimizer, whether its learning rates were tuned and the experiments it read (``own``:
        the book's own claims instead of the paper's)."""
        from html import escape

        from ._tables import verdict_html

        parts = []
        for t in self.own if own else self.tables:
            if own and not t.experiments:
                continue
            how = "learning rates chosen on validation" if t.tuned else "one learning rate per configuration"
            parts.append(
                f'<p class="verdict-source"><strong>{escape(self.source)}, {escape(t.label)}</strong> '
                f"({how}; read on {escape(join_words(list(t.experiments)))})</p>"
                + verdict_html(t.summary, details=t.details)
            )
        return "\n".join(parts) or "<p>No experiment these claims read ran, so no claim could be decided.</p>"

    def lines(self) -> str:
        """One Markdown bullet per claim and optimizer: its verdict with each comparison's estimate."""
        out = []
        for t in self.tables:
            for row in t.summary.itertuples():
                out.append(f"- **Claim {row.claim}** ({t.label}): {claim_verdict_text(t, row.claim)}.")
        return "\n".join(out) or "- No claim could be decided: no experiment ran."


def book_verdicts(
    results: Mapping[str, pd.DataFrame],
    *,
    source: str,
    profile: str,
    claim_list: Sequence[analysis.Claim] | None = None,
    delta: float = analysis.DELTA,
    alpha: float = analysis.ALPHA,
) -> BookVerdicts:
    """:class:`BookVerdicts` of ``results``: the paper's claims (or ``claim_list``) per optimizer
    (:func:`verdict_tables`), and the book's own claims per optimizer as a separate family."""
    tables = verdict_tables(results, claim_list if claim_list is not None else claims(), delta=delta, alpha=alpha)
    own = verdict_tables(results, own_claims(), delta=delta, alpha=alpha) if claim_list is None and own_claims() else ()
    return BookVerdicts(source, profile, tables, own, dict(results))


def verdict_tables(
    results: Mapping[str, pd.DataFrame],
    claim_list: Sequence[analysis.Claim],
    *,
    delta: float = analysis.DELTA,
    alpha: float = analysis.ALPHA,
) -> tuple[VerdictTable, ...]:
    """One :class:`VerdictTable` per optimizer found in ``results`` (keyed by book key).

    Each table is :func:`depthinit.analysis.decide_claims` for one optimizer: every
    experiment that ran it contributes its runs with that optimizer, each configuration at
    its learning rate chosen on validation; an experiment without that optimizer is left
    out of that table (a claim reading it then falls back, e.g. claim 3 from E4 to E1).
    Holm's correction runs over the comparisons of each table."""
    claim_list = list(claim_list)
    wanted = {k for c in claim_list for k in (c.experiment, *c.fallbacks)}
    names: list[str] = []
    for key, frame in results.items():
        if key in wanted:
            names += [o for o in optimizers(frame) if o not in names]
    names = sorted(names, key=lambda o: ({"sgd": 0, "adam": 1}.get(o, 2), o))
    tables = []
    for opt in names:
        summary, details = analysis.decide_claims(results, claim_list, optimizer=opt, delta=delta, alpha=alpha)
        read = tuple(
            k
            for k, f in results.items()
            if k in wanted and ("optimizer" not in f or (f["optimizer"].astype(str) == opt).any())
        )
        tuned = any(
            lr_counts(f[f["optimizer"].astype(str) == opt] if "optimizer" in f else f) > 1
            for k, f in results.items()
            if k in read
        )
        tables.append(VerdictTable(opt, summary, details, tuned, read))
    return tuple(tables)


def load_verdicts(profile: str, *, root: str | os.PathLike[str] = ".") -> BookVerdicts:
    """The verdicts on this build's runs at ``profile`` (every registered experiment that ran)."""
    return book_verdicts(
        load_book_results(profile, root=root), source=f"this build ({profile} profile)", profile=profile
    )


def load_paper_verdicts(*, root: str | os.PathLike[str] = ".") -> BookVerdicts:
    """The verdicts on the stored paper-profile runs under ``results/`` (empty when none is stored)."""
    return book_verdicts(load_paper_book_results(root=root), source="stored paper-profile run", profile="paper")


# -- the answer and the advice ----------------------------------------------------------------
HELPS, HURTS, UNDECIDED = "yes", "no", "not shown"


def verdict_lines(live: BookVerdicts, stored: BookVerdicts | None = None) -> str:
    """The verdicts chapter's "What holds" text: each run's claim-by-claim lines, the stored
    paper-profile run first when there is one."""
    parts = [f"On the {stored.source}:", stored.lines()] if stored else []
    return "\n\n".join([*parts, f"On {live.source}:", live.lines()])


#: What each kind of verdict download holds (:func:`verdict_downloads`).
VERDICT_DOWNLOADS = {
    "verdicts": "one row per claim: verdict and estimate",
    "comparisons": "one row per comparison: estimate, interval, raw and Holm-adjusted p-values, verdict",
}


def verdict_downloads(runs: Mapping[str, BookVerdicts | None]) -> dict[str, tuple[pd.DataFrame, str]]:
    """The verdicts chapter's CSV downloads: for each named run (``{"stored": ..., "live": ...}``,
    ``None`` skipped) and each of its tables (the book's own claims marked ``-own``), the claim
    table ``<run>[-own]-<optimizer>-verdicts`` and the comparison table ``...-comparisons``, each
    with its description."""
    out: dict[str, tuple[pd.DataFrame, str]] = {}
    for name, v in runs.items():
        if v is None:
            continue
        for own, tables in (("", v.tables), ("-own", v.own)):
            for t in tables:
                stem = f"{name}{own}-{t.optimizer or 'all'}"
                out[f"{stem}-verdicts"] = (t.summary, VERDICT_DOWNLOADS["verdicts"])
                out[f"{stem}-comparisons"] = (t.details, VERDICT_DOWNLOADS["comparisons"])
    return out


def helps(table: VerdictTable) -> str:
    """Does adding depth information help, by the verdicts: ``"yes"`` when claim 6 (it beats
    the existing schemes) is supported, ``"no"`` when claim 6 or claim 7 (V > 1 helps) is
    contradicted, ``"not shown"`` otherwise."""
    if table.verdict(6) == analysis.SUPPORTED:
        return HELPS
    if analysis.CONTRADICTED in (table.verdict(6), table.verdict(7)):
        return HURTS
    return UNDECIDED


def answer(verdicts: BookVerdicts, finding: GridFinding | None, *, ablation: str = "") -> str:
    """The landing page's two sentences: does it help (from the primary verdict table and the
    finding's numbers), and why (the reparameterization theorem, with ``ablation``, a clause
    on what the ablation showed, when it ran)."""
    table = verdicts.primary
    if table is None:
        return (
            "No experiment ran in this build, so the book cannot yet say whether depth information helps. "
            "At a fixed network variance V every depth schedule is the He network times √V trained with "
            "per-layer learning rates, which is what the experiments test."
        )
    word = {HELPS: "Yes", HURTS: "No", UNDECIDED: "Not shown"}[helps(table)]
    nums = ""
    if finding is not None and finding.proposed is not None and finding.he_normal is not None:
        ref = finding.best_reference
        nums = (
            f"He normal with the paper's increasing schedule reaches {100 * finding.proposed.mean:.1f} % test "
            f"accuracy against {100 * finding.he_normal.mean:.1f} % for plain He normal"
            + (f" and {100 * ref.mean:.1f} % for {ref.label}" if ref is not None else "")
            + "; "
        )
    paper = table.summary[table.summary["source"] == "paper"] if "source" in table.summary else table.summary
    c = {v: int((paper["verdict"] == v).sum()) for v in analysis.VERDICTS}
    layers = experiment("E1").model.layers
    first = (
        f"**{word}:** on the paper's {layers}-layer MLP ({verdicts.source}, {table.label}), {nums}"
        f"{c[analysis.SUPPORTED]} of the paper's {len(paper)} claims are supported and "
        f"{c[analysis.CONTRADICTED]} contradicted."
    )
    why = (
        "Why: at a fixed network variance V every depth schedule is the He network times √V trained with "
        "per-layer learning rates 1/α_l, so a schedule can only act as a logit temperature and a step size "
        "per layer" + (f"; {ablation}" if ablation else "") + "."
    )
    return first + " " + why


@dataclass(frozen=True)
class Advice:
    """The "Should I use it?" box: a short answer and its reasons (Markdown)."""

    answer: str  # "yes", "no" or "not shown"
    title: str
    text: str


def advice(verdicts: BookVerdicts, finding: GridFinding | None = None) -> Advice:
    """The practitioner's advice, generated from the primary verdict table (claims 1, 6 and 7)
    and, when given, the strongest run's numbers."""
    table = verdicts.primary
    if table is None:
        return Advice(
            UNDECIDED,
            "Not on this build's evidence",
            "No experiment ran in this build; the verdicts decide nothing yet.",
        )
    h = helps(table)
    v1, v6, v7 = (table.verdict(n) for n in (1, 6, 7))
    basis = (
        f"The verdicts ({verdicts.source}, {table.label}): the increasing schedule beats the constant and "
        f"decreasing ones (claim 1) — {v1}; it beats the existing schemes (claim 6) — {v6}; V > 1 helps "
        f"(claim 7) — {v7}."
    )
    nums = ""
    if finding is not None and finding.best is not None:
        nums = f" The best initialization of that run is {finding.best.label} ({100 * finding.best.mean:.1f} %)."
    if h == HURTS:
        return Advice(
            h,
            "No: keep He (or LSUV) and tune the learning rate",
            f"{basis}{nums} At a fixed V a depth schedule is He's network with a logit scale √V and "
            "per-layer learning rates 1/α_l; if you want either, set them directly and tune them.",
        )
    if h == HELPS:
        return Advice(
            h,
            "Yes, on a deep plain ReLU network",
            f"{basis}{nums} Compare it with He at your own tuned learning rate before you keep it.",
        )
    return Advice(
        h,
        "Not on this evidence: it is not shown to help",
        f"{basis}{nums} Until a claim is supported, plain He (or LSUV) with a tuned learning rate is the "
        "safer default.",
    )


def claim_verdict_text(table: VerdictTable, number: int | str) -> str:
    """``"contradicted"`` etc. for claim ``number`` with the comparisons' estimates in points."""
    parts = table.details[table.details["claim"] == number]
    if parts.empty:
        return table.verdict(number)
    est = "; ".join(
        f"{p.comparison} no runs"
        if not math.isfinite(p.mean)
        else f"{p.comparison} {100 * p.mean:+.1f}"
        + (f" [{100 * p.low:+.1f}, {100 * p.high:+.1f}]" if math.isfinite(p.low) else "")
        for p in parts.itertuples()
    )
    return f"{table.verdict(number)} ({est} points)"


__all__ = [
    "HELPS",
    "HURTS",
    "UNDECIDED",
    "VERDICT_DOWNLOADS",
    "Advice",
    "BookVerdicts",
    "VerdictTable",
    "advice",
    "answer",
    "book_verdicts",
    "claim_verdict_text",
    "claims",
    "helps",
    "load_paper_verdicts",
    "load_verdicts",
    "own_claims",
    "verdict_downloads",
    "verdict_lines",
    "verdict_tables",
]
