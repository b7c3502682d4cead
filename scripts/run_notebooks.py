"""Execute the book's chapters with papermill, in the order the book needs, and time them.

Sources live in notebooks/ (committed without outputs); executed copies go to
book/_executed/ (ignored by git), which _toc.yml points at. A chapter in _toc.yml
without a notebook of its own whose name is a registered experiment's ``chapter``
(depthinit.sweep.EXPERIMENTS) is executed from the template notebooks/experiment.ipynb
with ``key`` set to that experiment's book key (E1, E2 and E3 are made this way); its
title comes from the registry, and cells tagged ``section-<name>`` are removed where
depthinit.book.chapter_sections says the chapter has no such section.

The chapters that summarise the others (depthinit.book.SUMMARY_CHAPTERS: the
verdicts, "Use it in your model", the landing page, the reproducibility appendix)
run last, in that order; the CPU benchmark runs just before the appendix. With
``--jobs N`` the other chapters run N at a time, longest budget first, each with cores/N torch
threads (``make book JOBS=N``; on two cores this is no faster than one at a time).

Wall times are written to book/_executed/timings.json; at the end a table shows each
chapter's time against its default-profile budget (depthinit.book.BUDGETS), and the
script exits with status 1 when a chapter of the default profile took more than
twice its budget.

Parameters: ``--profile P`` sets every chapter's ``profile``; ``-p NAME VALUE``
(repeatable) sets any variable of a chapter's parameters cell (VALUE is read as a
Python literal when it is one, e.g. ``-p seeds "(0, 1)"``, else as text); a name the
chapter's parameters cell does not define is an error. ``--missing stub`` writes a
placeholder page for every chapter of _toc.yml that has no executed copy yet, so that
one chapter can be executed and the site built on a fresh clone.

Usage: python scripts/run_notebooks.py [--profile default] [--jobs N] [-p NAME VALUE]...
                                       [--missing stub] [--no-bench] [NAME ...]
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "notebooks"
OUT = ROOT / "book" / "_executed"
PROFILES = ("smoke", "default", "paper")


@dataclass(frozen=True)
class Chapter:
    """One executed chapter: its name in _toc.yml, its source notebook and the parameters it gets."""

    name: str
    source: Path
    parameters: dict[str, Any] = field(default_factory=dict)
    title: str | None = None  # set the executed copy's first heading (template chapters)
    sections: frozenset[str] | None = None  # keep only these optional sections (None: keep all)


def toc_names(root: Path = ROOT) -> list[str]:
    """Names of the executed notebooks _toc.yml refers to, in book order."""
    text = (root / "_toc.yml").read_text()
    return list(dict.fromkeys(re.findall(r"book/_executed/([A-Za-z0-9_\-]+)", text)))


def plan_chapter(name: str, params: Mapping[str, Any], *, src: Path = SRC) -> Chapter:
    """The :class:`Chapter` for ``name``: its own notebook, or the experiment template with the
    registry's key, title and sections. SystemExit for a name with neither."""
    from depthinit import book

    own = src / f"{name}.ipynb"
    if own.exists():
        return Chapter(name, own, dict(params))
    key = book.template_key(name)
    if key is None:
        sys.exit(
            f"chapter {name!r} has no source: notebooks/{name}.ipynb does not exist and no registered "
            f"experiment has chapter={name!r} (depthinit.sweep.EXPERIMENTS)"
        )
    return Chapter(
        name,
        src / f"{book.TEMPLATE}.ipynb",
        {**params, "key": key},
        book.chapter_title(name),
        book.chapter_sections(name),
    )


def order(names: Sequence[str]) -> list[str]:
    """``names`` with the summary chapters moved to the end, in their fixed order."""
    from depthinit.book import SUMMARY_CHAPTERS

    rest = [n for n in names if n not in SUMMARY_CHAPTERS]
    return rest + [n for n in SUMMARY_CHAPTERS if n in names]


def parameter_names(source: Path) -> set[str]:
    """The variables the parameters cell of ``source`` assigns."""
    import nbformat

    nb = nbformat.read(source, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code" and "parameters" in cell.metadata.get("tags", []):
            tree = ast.parse(cell.source)
            return {
                t.id
                for node in tree.body
                if isinstance(node, (ast.Assign, ast.AnnAssign))
                for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
                if isinstance(t, ast.Name)
            }
    return set()


def parse_value(text: str) -> Any:
    """A ``-p`` value: a Python literal when it is one (``5``, ``22.0``, ``(0, 1)``, ``None``), else the text."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def check_parameters(chapter: Chapter, given: Mapping[str, Any]) -> None:
    """SystemExit when a ``-p`` name is not a variable of the chapter's parameters cell."""
    known = parameter_names(chapter.source)
    unknown = sorted(set(given) - known)
    if unknown:
        sys.exit(
            f"chapter {chapter.name!r} has no parameter {', '.join(map(repr, unknown))}; its parameters cell "
            f"({chapter.source.relative_to(ROOT) if chapter.source.is_relative_to(ROOT) else chapter.source}) "
            f"defines {', '.join(sorted(known)) or 'none'}"
        )


def finish_copy(path: Path, chapter: Chapter) -> None:
    """Post-process an executed copy: hide papermill's injected parameters, set the title of a
    template chapter, remove the optional sections the chapter does not have."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    titled = chapter.title is None
    for cell in nb.cells:
        tags = list(cell.metadata.get("tags", []))
        if "injected-parameters" in tags and "remove-cell" not in tags:
            tags.append("remove-cell")
        wanted = {t[len("section-") :] for t in tags if t.startswith("section-")}
        if chapter.sections is not None and not wanted <= chapter.sections and "remove-cell" not in tags:
            tags.append("remove-cell")
        cell.metadata["tags"] = tags
        if not titled and cell.cell_type == "markdown" and re.match(r"#\s", cell.source):
            cell.source = re.sub(r"^#\s.*", f"# {chapter.title}", cell.source, count=1)
            titled = True
    nbformat.write(nb, path)


def execute(chapter: Chapter, out: Path = OUT) -> float:
    """Execute one chapter into ``out/<name>.ipynb``; returns its wall time in seconds."""
    import papermill as pm

    start = time.perf_counter()
    pm.execute_notebook(
        str(chapter.source),
        str(out / f"{chapter.name}.ipynb"),
        parameters=chapter.parameters,
        kernel_name="python3",
        cwd=str(ROOT),
        progress_bar=False,
    )
    seconds = time.perf_counter() - start
    finish_copy(out / f"{chapter.name}.ipynb", chapter)
    return seconds


def execute_in_subprocess(chapter: Chapter, threads: int, argv: Sequence[str]) -> float:
    """Execute one chapter in a fresh process limited to ``threads`` torch/BLAS threads."""
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    start = time.perf_counter()
    subprocess.run([sys.executable, __file__, "--worker", *argv, chapter.name], cwd=ROOT, env=env, check=True)
    return time.perf_counter() - start


def longest_first(names: Sequence[str]) -> list[str]:
    """``names`` ordered by default-profile budget, longest first (a chapter without one last), so
    that parallel workers start the long chapters early and finish together; ties keep the book's
    order. The chapters run in parallel are independent, so their order does not change results."""
    from depthinit import book

    def budget(name: str) -> float:
        b = book.budget_of(name)
        return b if b == b else 0.0

    return sorted(names, key=lambda n: -budget(n))


def run_benchmark(profile: str, out: Path = OUT) -> float:
    """Run `depthinit bench --json` into book/_executed/bench.json (the reproducibility appendix
    shows it); the smoke profile times fewer K. Returns its wall time."""
    args = ["--mlp-k", "1,4", "--cnn-k", "1", "--min-time", "0.2"] if profile == "smoke" else []
    start = time.perf_counter()
    print(f"[book] benchmark {' '.join(args)}", flush=True)
    text = subprocess.run(
        [sys.executable, "-m", "depthinit.bench", "--json", *args], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout
    (out / "bench.json").write_text(text)
    return time.perf_counter() - start


def first_heading(source: Path) -> str:
    """The first ``# heading`` of a notebook (its page title)."""
    import nbformat

    nb = nbformat.read(source, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            m = re.search(r"^#\s+(.+)$", cell.source, flags=re.MULTILINE)
            if m:
                return m.group(1).strip()
    return source.stem


def write_stub(chapter: Chapter, out: Path = OUT) -> Path:
    """A placeholder page for a chapter that was not executed: its title, the labels its source
    defines before headings (so references to them resolve), and how to execute it."""
    import nbformat

    title = chapter.title or first_heading(chapter.source)
    nb_src = nbformat.read(chapter.source, as_version=4)
    labels = []
    for cell in nb_src.cells:
        if cell.cell_type == "markdown":
            labels += re.findall(r"^\((\S+)\)=\s*\n(#+\s+.+)$", cell.source, flags=re.MULTILINE)
    body = [
        f"# {title}",
        "",
        ":::{admonition} Not executed in this build",
        ":class: warning",
        (
            f"This chapter was not executed when this site was built, so it has no results. Execute it with "
            f"`make chapter NAME={chapter.name}` (or every chapter with `make book`)."
        ),
        ":::",
    ]
    for label, heading in labels:
        body += ["", f"({label})=", heading.rstrip(), "", "Not executed in this build."]
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_markdown_cell("\n".join(body))]
    path = out / f"{chapter.name}.ipynb"
    nbformat.write(nb, path)
    return path


def budget_table(timings: Mapping[str, Mapping[str, Any]], names: Sequence[str]) -> tuple[str, bool]:
    """The end-of-run table (chapter, profile, seconds, budget, ratio, status) and whether any
    default-profile chapter took more than twice its budget."""
    from depthinit import book

    t = book.timing_table(timings, order=list(names))
    if t.empty:
        return "[book] no chapter was executed", False
    lines = [f"{'chapter':32s} {'profile':8s} {'seconds':>9s} {'budget':>8s} {'ratio':>6s}  status"]
    for r in t.itertuples():
        budget = f"{r.budget:8.0f}" if r.budget == r.budget else f"{'-':>8s}"
        ratio = f"{r.ratio:6.2f}" if r.ratio == r.ratio else f"{'-':>6s}"
        lines.append(f"{r.chapter:32s} {r.profile:8s} {r.seconds:9.1f} {budget} {ratio}  {r.status}")
    total = float(t["seconds"].sum())
    lines.append(f"{'total':32s} {'':8s} {total:9.1f}")
    failed = bool((t["status"] == "fails").any())
    if failed:
        bad = ", ".join(t[t["status"] == "fails"]["chapter"])
        lines.append(f"[book] over {book.OVER_FACTOR:g} x budget: {bad} (budgets: depthinit.book.BUDGETS)")
    return "\n".join(lines), failed


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--profile", default="default", choices=PROFILES)
    ap.add_argument(
        "-p",
        "--parameter",
        nargs=2,
        action="append",
        default=[],
        metavar=("NAME", "VALUE"),
        help="set a variable of the chapters' parameters cells (repeatable)",
    )
    ap.add_argument("--jobs", type=int, default=1, help="run up to N independent chapters at once (default 1)")
    ap.add_argument(
        "--missing",
        choices=("stub", "skip"),
        default="skip",
        help="stub: write a placeholder page for every chapter of _toc.yml not executed yet",
    )
    ap.add_argument(
        "--no-bench", action="store_true", help="do not run the CPU benchmark before the reproducibility appendix"
    )
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("names", nargs="*", help="run only these chapters (default: every chapter of _toc.yml)")
    args = ap.parse_args(argv)
    if args.jobs < 1:
        ap.error(f"--jobs {args.jobs} is not valid; expected an integer >= 1")
    given = {k: parse_value(v) for k, v in args.parameter}
    if "profile" in given:
        if given["profile"] not in PROFILES:
            ap.error(f"-p profile {given['profile']!r} is not valid; expected one of {', '.join(PROFILES)}")
        args.profile = given.pop("profile")
    args.given = given
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    toc = toc_names()
    unknown = [n for n in args.names if n not in toc]
    if unknown:
        sys.exit(f"not chapters of _toc.yml: {', '.join(unknown)}; chapters: {', '.join(toc)}")
    names = order(args.names or toc)
    chapters = {n: plan_chapter(n, {"profile": args.profile, **args.given}) for n in names}
    if args.given:
        for c in chapters.values():
            check_parameters(c, args.given)
    OUT.mkdir(parents=True, exist_ok=True)
    if args.worker:
        for c in chapters.values():
            execute(c)
        return 0
    timings_path = OUT / "timings.json"
    timings = json.loads(timings_path.read_text()) if timings_path.exists() else {}
    if not args.names:
        timings = {k: v for k, v in timings.items() if k in names or k == "benchmark"}

    def record(name: str, seconds: float) -> None:
        timings[name] = {"seconds": round(seconds, 2), "profile": args.profile}
        timings_path.write_text(json.dumps(timings, indent=2))
        print(f"[book] {name}: {seconds:.1f} s", flush=True)

    from depthinit.book import SUMMARY_CHAPTERS

    parallel = [n for n in names if n not in SUMMARY_CHAPTERS]
    if args.jobs > 1 and len(parallel) > 1:
        threads = max(1, (os.cpu_count() or 1) // args.jobs)
        sub = ["--profile", args.profile] + [x for k, v in args.parameter if k != "profile" for x in ("-p", k, v)]
        print(f"[book] executing {len(parallel)} chapters, {args.jobs} at a time, {threads} thread(s) each", flush=True)
        with ThreadPoolExecutor(args.jobs) as pool:
            futures = {
                pool.submit(execute_in_subprocess, chapters[n], threads, sub): n for n in longest_first(parallel)
            }
            for done in as_completed(futures):
                record(futures[done], done.result())
        rest = [n for n in names if n in SUMMARY_CHAPTERS]
    else:
        rest = names
    for name in rest:
        if name == "reproducibility" and not args.no_bench:
            record("benchmark", run_benchmark(args.profile))
        print(f"[book] executing {name} (profile {args.profile})", flush=True)
        record(name, execute(chapters[name]))
    if args.missing == "stub":
        for name in toc:
            if not (OUT / f"{name}.ipynb").exists():
                write_stub(plan_chapter(name, {}))
                print(f"[book] {name}: not executed, placeholder page written", flush=True)
    shown = [n for n in (["benchmark"] if "benchmark" in timings and "reproducibility" in names else []) + names]
    table, failed = budget_table(timings, shown)
    print(table, flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
