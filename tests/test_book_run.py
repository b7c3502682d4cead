"""scripts/run_notebooks.py and the notebook sources: which chapters come from the template,
parameters, the order, optional sections, placeholder pages, the budget table; the sources
are committed without outputs, start with a parameters cell, keep logic out of cells and
share no code."""

from __future__ import annotations

import ast
import importlib.util
import re
import sys
from pathlib import Path

import nbformat
import pytest

from depthinit import book

ROOT = Path(__file__).resolve().parents[1]
SPEC = importlib.util.spec_from_file_location("run_notebooks", ROOT / "scripts" / "run_notebooks.py")
rn = importlib.util.module_from_spec(SPEC)
sys.modules["run_notebooks"] = rn  # dataclasses resolve annotations through the module
SPEC.loader.exec_module(rn)

#: The notebooks this suite checks (the theory chapters have their own owner and tests).
MINE = sorted(p for p in (ROOT / "notebooks").glob("*.ipynb") if not p.name.startswith("theory_"))
THEORY = sorted((ROOT / "notebooks").glob("theory_*.ipynb"))


def test_template_chapters_come_from_the_registry():
    for name, key in (("e1_cifar10_mlp", "E1"), ("e2_mnist_mlp", "E2"), ("e3_cifar10_cnn", "E3")):
        c = rn.plan_chapter(name, {"profile": "smoke"})
        assert c.source.name == "experiment.ipynb" and c.parameters == {"profile": "smoke", "key": key}
        assert c.title == book.experiment(key).title and c.sections == book.chapter_sections(name)
    own = rn.plan_chapter("e4_uniform_he_stall", {"profile": "smoke"})
    assert own.source.name == "e4_uniform_he_stall.ipynb" and own.parameters == {"profile": "smoke"}
    with pytest.raises(SystemExit, match="chapter 'nowhere' has no source"):
        rn.plan_chapter("nowhere", {})
    for name in rn.toc_names():  # every page of the book has a source
        assert rn.plan_chapter(name, {}).source.exists()


def test_summary_chapters_run_last_in_their_order():
    names = ["index", "e1_cifar10_mlp", "reproducibility", "verdicts", "theory_forward", "use_in_your_model"]
    assert rn.order(names) == [
        "e1_cifar10_mlp",
        "theory_forward",
        "verdicts",
        "use_in_your_model",
        "index",
        "reproducibility",
    ]


def test_parameters_are_checked_against_the_chapters_cell():
    c = rn.plan_chapter("e5_sensitivity", {})
    assert rn.parameter_names(c.source) >= {"profile", "seeds"}
    rn.check_parameters(c, {"seeds": (0, 1)})
    with pytest.raises(SystemExit, match="chapter 'e5_sensitivity' has no parameter 'V'"):
        rn.check_parameters(c, {"V": 5})
    assert rn.parameter_names(rn.plan_chapter("e1_cifar10_mlp", {}).source) >= {"key", "profile", "seeds", "threshold"}
    assert rn.parse_value("5") == 5 and rn.parse_value("(0, 1)") == (0, 1) and rn.parse_value("smoke") == "smoke"
    args = rn.parse_args(["-p", "profile", "smoke", "-p", "seeds", "(0, 1)", "e5_sensitivity"])
    assert args.profile == "smoke" and args.given == {"seeds": (0, 1)}
    with pytest.raises(SystemExit):
        rn.parse_args(["-p", "profile", "huge"])
    with pytest.raises(SystemExit):
        rn.parse_args(["--jobs", "0"])


def test_parallel_chapters_start_longest_budget_first():
    names = ["theory_forward", "e2_mnist_mlp", "schemes_at_a_glance", "e1_cifar10_mlp", "no_budget_page"]
    got = rn.longest_first(names)
    assert sorted(got) == sorted(names)
    assert got[0] == "e1_cifar10_mlp" and got[-1] == "no_budget_page"
    budgets = [book.budget_of(n) for n in got[:-1]]
    assert budgets == sorted(budgets, reverse=True)
    # equal budgets keep the book's order
    assert rn.longest_first(["theory_forward", "theory_backward"]) == ["theory_forward", "theory_backward"]


def test_executed_copies_get_their_title_and_only_their_sections(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("x = 1", metadata={"tags": ["injected-parameters"]}),
        nbformat.v4.new_markdown_cell("# Template title\n\ntext"),
        nbformat.v4.new_markdown_cell("## Why", metadata={"tags": ["section-why"]}),
        nbformat.v4.new_markdown_cell("### Ablation", metadata={"tags": ["section-why", "section-ablation"]}),
        nbformat.v4.new_markdown_cell("# not the title"),
    ]
    path = tmp_path / "e.ipynb"
    nbformat.write(nb, path)
    rn.finish_copy(path, rn.Chapter("e", path, {}, "E9: a title", frozenset({"why"})))
    cells = nbformat.read(path, as_version=4).cells
    assert "remove-cell" in cells[0].metadata["tags"]
    assert cells[1].source == "# E9: a title\n\ntext" and cells[4].source == "# not the title"
    assert "remove-cell" not in cells[2].metadata["tags"] and "remove-cell" in cells[3].metadata["tags"]


def test_placeholder_pages_keep_the_title_and_labels(tmp_path):
    src = tmp_path / "chap.ipynb"
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# A chapter\n\n(sec-data)=\n## Data and checksums\n\ntext")]
    nbformat.write(nb, src)
    (tmp_path / "exec").mkdir()
    out = rn.write_stub(rn.Chapter("chap", src, {}), out=tmp_path / "exec")
    text = nbformat.read(out, as_version=4).cells[0].source
    assert text.startswith("# A chapter\n") and "Not executed in this build" in text
    assert "make chapter NAME=chap" in text and "(sec-data)=\n## Data and checksums" in text


def test_budget_table_fails_past_twice_the_budget():
    ok, failed = rn.budget_table({"e2_mnist_mlp": {"seconds": 100.0, "profile": "default"}}, ["e2_mnist_mlp"])
    assert not failed and "e2_mnist_mlp" in ok and "within" in ok
    table, failed = rn.budget_table(
        {"e2_mnist_mlp": {"seconds": 2.5 * book.BUDGETS["E2"], "profile": "default"}}, ["e2_mnist_mlp"]
    )
    assert failed and "fails" in table and "over 2 x budget: e2_mnist_mlp" in table
    _, failed = rn.budget_table({"e2_mnist_mlp": {"seconds": 1e6, "profile": "paper"}}, ["e2_mnist_mlp"])
    assert not failed  # the budgets are the default profile's


def test_unknown_chapter_names_are_refused():
    with pytest.raises(SystemExit, match="not chapters of _toc.yml: nowhere"):
        rn.main(["--profile", "smoke", "nowhere"])


# -- the sources ---------------------------------------------------------------------------------
def _logic_lines(source: str) -> int:
    """Lines of logic in a cell: its statements, imports not counted (a call that the formatter
    spreads over several lines is one statement; a loop is its header plus its body's statements)."""
    code = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!")))
    return sum(1 for node in ast.walk(ast.parse(code)) if isinstance(node, ast.stmt) and not isinstance(node, IMPORTS))


IMPORTS = (ast.Import, ast.ImportFrom)


def test_logic_lines_count_statements_not_physical_lines():
    assert _logic_lines("import math\nx = f(\n    a,\n    b,\n)\n# note\n") == 1
    assert _logic_lines("for i in range(3):\n    y = i\n    z = y\n") == 3


@pytest.mark.parametrize("path", THEORY, ids=lambda p: p.stem)
def test_theory_cells_are_calls_and_glue(path):
    """The theory chapters' computations live in depthinit.book.theory: no code cell over 15
    statements (issue 10: "no cell over about 15 lines of logic")."""
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type == "code":
            assert not cell.get("outputs") and cell.get("execution_count") is None, "committed with outputs"
            assert _logic_lines(cell.source) <= 15, f"{path.name}: {cell.source[:200]}"


@pytest.mark.parametrize("path", MINE, ids=lambda p: p.stem)
def test_sources_are_templates_of_library_calls(path):
    nb = nbformat.read(path, as_version=4)
    first = nb.cells[0]
    assert first.cell_type == "code" and "parameters" in first.metadata.get("tags", [])
    assert "profile" in rn.parameter_names(path)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.get("outputs") and cell.get("execution_count") is None, "committed with outputs"
            tags = cell.metadata.get("tags", [])
            hidden = {"remove-cell", "remove-input", "hide-input"} & set(tags)
            if hidden:  # glue and orchestration: short; visible cells may teach at length
                assert _logic_lines(cell.source) <= 16, cell.source[:200]
            assert "plt.subplots" not in cell.source or not hidden, "figures are library functions"
        else:
            for fig in re.findall(r"```\{glue:figure\}[^\n]*\n(.*?)\n\n", cell.source, flags=re.DOTALL):
                assert ":alt:" in fig, f"{path.name}: a figure without alt text"
    if path.stem == "experiment":  # executed into several pages: no page-global labels
        assert not any(":name:" in c.source or re.search(r"^\(\S+\)=", c.source, re.MULTILINE) for c in nb.cells)


def test_no_two_notebooks_share_their_code():
    seen: dict[str, str] = {}
    for path in MINE:
        for cell in nbformat.read(path, as_version=4).cells:
            if (
                cell.cell_type == "code"
                and _logic_lines(cell.source) >= 3
                and "parameters" not in cell.metadata.get("tags", [])
            ):
                key = "\n".join(line.strip() for line in cell.source.splitlines() if line.strip())
                assert key not in seen, f"{path.name} repeats a cell of {seen.get(key)}"
                seen[key] = path.name


def test_landing_page_and_verdicts_read_the_same_verdicts():
    def code(name: str) -> str:
        return "\n".join(
            c.source
            for c in nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4).cells
            if c.cell_type == "code"
        )

    for name in ("index", "verdicts", "use_in_your_model"):
        text = code(name)
        assert "book.load_paper_verdicts()" in text and ("book.load_verdicts(profile)" in text), name
        assert "verdict_table(" not in text and "decide_claims(" not in text, f"{name} decides claims itself"


@pytest.mark.parametrize("name", ["experiment", "e4_uniform_he_stall", "e5_sensitivity", "verdicts"])
def test_result_chapters_offer_csv_downloads_and_a_finding_first(name):
    nb = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "book.write_downloads(" in code and "{download}" not in code  # links come from the library
    if name != "verdicts":
        page = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
        assert 0 <= page.index("{admonition} Finding") < page.index("\n## ")  # the finding comes before any section
        assert page.index("{admonition} Finding") < page.index("{glue:figure}")  # then the figure that shows it
