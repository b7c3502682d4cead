"""scripts/check_book.py and the site's own assets (book/_static, book/_ext).

Pure-Python parts (the site walk, links, the book-level rules) are tested on their own.
The browser tests build tiny sites in a temporary folder (no Jupyter Book build): one
clean site that passes every check, with the real explorable script and stylesheet, and
one with a fault per page, each caught with its message. Nothing leaves the machine
(Chromium resolves no host name but the local server's). The explorable's formulas are
evaluated in Node (or Chromium) and compared with depthinit.init.alphas.

Under CI (CI=true, exported by .ci/run, which installs Chromium first) a missing
Chromium fails the browser tests instead of skipping them.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest

from depthinit.init import alphas

ROOT = Path(__file__).resolve().parents[1]
STATIC = ROOT / "book" / "_static"
EXPLORABLE_JS = STATIC / "depthinit-explorable.js"
SITE_CSS = STATIC / "depthinit.css"


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def cb():
    yield _load("check_book", ROOT / "scripts" / "check_book.py")
    sys.modules.pop("check_book", None)


@pytest.fixture(scope="module")
def pdf():
    """scripts/book_pdf.py (it imports check_book from its own folder)."""
    yield _load("book_pdf", ROOT / "scripts" / "book_pdf.py")
    sys.modules.pop("book_pdf", None)


CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


def need_chromium() -> str:
    """The Chromium to use; under CI its absence is a failure, elsewhere a skip."""
    if Path(CHROMIUM).is_file():
        return CHROMIUM
    if os.environ.get("CI") == "true":
        pytest.fail(
            f"CI=true but there is no Chromium at {CHROMIUM}; .ci/run must install "
            "Debian's chromium and fonts-dejavu-core before `make test`"
        )
    pytest.skip(f"no Chromium at {CHROMIUM} (install Debian's chromium; CI fails here instead)")


def png(width: int, height: int) -> bytes:
    """A grey PNG of the given size (stdlib only)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\0" + b"\x80" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


# ----------------------------------------------------------------------------
# The sites.
# ----------------------------------------------------------------------------


def page(title: str, body: str, *, head: str = "") -> str:
    """A page shaped like the book's: the content in article.bd-article."""
    return (
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{title}</title>'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<link rel="stylesheet" href="{{root}}_static/depthinit.css">{head}</head><body>'
        f'<main><article class="bd-article" style="max-width: 700px; margin: 0 auto">{body}</article></main>'
        "</body></html>"
    )


CELL_HIDDEN = """<div class="cell tag_hide-input docutils container">
<details class="hide above-input"><summary>Show code cell source</summary>
<div class="cell_input docutils container"><div class="highlight"><pre>glue("n", 3)</pre></div></div>
</details>
<div class="cell_output docutils container"><div class="output stream highlight-myst-ansi">
<div class="highlight"><pre>printed output is not code</pre></div></div></div></div>"""

CELL_VISIBLE = """<div class="cell docutils container">
<div class="cell_input docutils container"><div class="highlight"><pre>from myst_nb import glue</pre></div></div>
</div>"""

WIDE_TABLE = "<table><tr>" + "".join(f"<td>column {i} value</td>" for i in range(12)) + "</tr></table>"

LANDING = page(
    "landing",
    f"""
<h1 id="top">Does depth-aware initialization help?</h1>
{CELL_HIDDEN}
<figure><img src="_images/dot.png" alt="Test accuracy of each initialization, He first">
<figcaption>Accuracy.</figcaption></figure>
<div class="pst-scrollable-table-container">{WIDE_TABLE}</div>
<a href="#top">here</a> <a href="sub/page.html#part">sub</a> <a href="sub/">dir</a>
<a href="https://arxiv.org/abs/2509.05018">a link out is fine</a>
<pre>$$ code may show TeX $$</pre>
""",
)

EXPLORABLE_PAGE = page(
    "e1",
    """
<h1>E1</h1>
<p><a class="reference download internal" download="" href="_downloads/0a1b/e1_results.csv">results (CSV)</a></p>
<div class="depthinit-explorable" data-v="22" data-l="54"></div>
""",
    head='<script defer src="{root}_static/depthinit-explorable.js"></script>',
)

VERDICTS = page("verdicts", '<h1>Verdicts</h1><a href="_downloads/9f/verdicts.csv">verdicts.csv</a>')

SUB = """<!DOCTYPE html><html><head><title>sub</title></head><body>
<h2 id="part">Part</h2><a href="../landing.html">back</a></body></html>"""

RESULTS_CSV = "key,init,seed,accuracy\nE1,he,0,0.41\nE1,increasing,0,0.38\n"

BAD = """<!DOCTYPE html><html><head><title>bad</title>
<script src="http://cdn.example.com/lib.js"></script></head><body>
<img src="_images/missing.png" alt="A missing figure">
<a href="nowhere.html">broken</a> <a href="landing.html#no-such-id">bad anchor</a>
<span class="math">\\(x^2\\)</span>
<p>Raw $$ a + b $$ left in prose.</p>
<script>console.error("boom");</script>
</body></html>"""

BAD_LANDING = page(
    "landing",
    f"<h1>Landing</h1>{CELL_HIDDEN}{CELL_VISIBLE}"
    '<details open><div class="cell"><div class="cell_input"><pre>shown()</pre></div></div></details>',
)

ALT = page(
    "alt",
    """
<img src="_images/dot.png">
<img src="_images/dot.png" alt="  ">
<img src="_images/dot.png" alt="_images/dot.png">
<img src="_images/dot.png" alt="accuracy.svg">
<img src="_images/dot.png" alt="dot">
<img src="_images/dot.png" alt="e1_accuracy_figure">
<img src="_images/dot.png" alt="layer_norms">
""",
)

WIDE = page(
    "wide",
    """
<img src="_images/huge.png" alt="A figure saved far larger than the column">
<img src="_images/dot.png" alt="A figure forced wider than the column" style="width: 900px; max-width: none">
""",
)

PHONE = page(
    "phone",
    f"""
<img src="_images/mid.png" alt="A figure of fixed width" style="width: 600px; max-width: none">
{WIDE_TABLE.replace("<table>", '<table style="display: table">')}
""",
)

NO_CSV = page("e2 no csv", "<h1>E2</h1><p>No download here.</p>")

BAD_CSV = page(
    "e3 bad csv",
    """
<a href="data/missing.csv">missing</a>
<a href="https://example.org/remote.csv">remote</a>
<a href="_downloads/empty.csv">empty</a>
<a href="_downloads/ragged.csv">ragged</a>
<a class="reference download internal" href="_downloads/plans.zip">plans</a>
""",
)

BROKEN_EXPLORABLES = page(
    "explorables",
    """
<div class="depthinit-explorable" id="frozen">
  <input type="range" data-param="V" min="0" max="10" step="1" value="4">
  <svg><polyline points="0,0 10,10"></polyline></svg><div data-role="readout">V = 4</div>
</div>
<div class="depthinit-explorable" id="nan">
  <input type="range" data-param="V" min="0" max="10" step="1" value="4">
  <svg><polyline points="0,0 10,10"></polyline></svg><div data-role="readout">V = 4</div>
</div>
<div class="depthinit-explorable" id="empty"><p>Nothing here.</p></div>
<script>
  const box = document.getElementById("nan");
  box.querySelector("input").addEventListener("input", (e) => {
    box.querySelector("polyline").setAttribute("points", "0,NaN 10," + (1 / (e.target.value - 10)));
    box.querySelector("[data-role=readout]").textContent = "V = " + e.target.value + ", product NaN";
  });
</script>
""",
)


def make_site(root: Path, *, bad: bool) -> Path:
    """The clean site (landing page, an experiment chapter with the explorable, verdicts, a
    subfolder); with ``bad``, the same plus one page per fault and a faulty landing page."""
    for folder in ("_images", "_static", "sub", "_downloads/0a1b", "_downloads/9f", "_sources"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    (root / "_images" / "dot.png").write_bytes(png(40, 30))
    (root / "_images" / "huge.png").write_bytes(png(1800, 40))
    (root / "_images" / "mid.png").write_bytes(png(600, 40))
    shutil.copy(EXPLORABLE_JS, root / "_static" / EXPLORABLE_JS.name)
    shutil.copy(SITE_CSS, root / "_static" / SITE_CSS.name)
    (root / "_static" / "ignored.html").write_text("<a href='nowhere.html'>not a page</a>")
    (root / "_downloads" / "0a1b" / "e1_results.csv").write_text(RESULTS_CSV)
    (root / "_downloads" / "9f" / "verdicts.csv").write_text("claim,verdict\n1,supported\n")
    (root / "index.html").write_text('<meta http-equiv="Refresh" content="0; url=landing.html" />')
    pages = {
        "landing.html": BAD_LANDING if bad else LANDING,
        "e1_cifar10_mlp.html": EXPLORABLE_PAGE,
        "verdicts.html": VERDICTS,
    }
    if bad:
        pages.update(
            {
                "bad.html": BAD,
                "alt.html": ALT,
                "wide.html": WIDE,
                "phone.html": PHONE,
                "e2_no_csv.html": NO_CSV,
                "e3_bad_csv.html": BAD_CSV,
                "explorables.html": BROKEN_EXPLORABLES,
            }
        )
        (root / "_downloads" / "empty.csv").write_text("key,accuracy\n")
        (root / "_downloads" / "ragged.csv").write_text("key,accuracy\nE1,0.4,extra\n")
        notebook = {
            "cells": [
                {
                    "cell_type": "code",
                    "outputs": [
                        {"output_type": "display_data", "metadata": {"scrapbook": {"name": "e1_accuracy_figure"}}}
                    ],
                }
            ]
        }
        (root / "_sources" / "alt.ipynb").write_text(json.dumps(notebook))
    for name, text in pages.items():
        (root / name).write_text(text.replace("{root}", ""))
    (root / "sub" / "page.html").write_text(SUB)
    (root / "sub" / "index.html").write_text(SUB)
    return root


# ----------------------------------------------------------------------------
# The site on disk.
# ----------------------------------------------------------------------------


def test_site_pages_skip_asset_folders(cb, tmp_path):
    site = make_site(tmp_path / "site", bad=False)
    pages = [p.as_posix() for p in cb.site_pages(site)]
    assert pages == [
        "e1_cifar10_mlp.html",
        "index.html",
        "landing.html",
        "sub/index.html",
        "sub/page.html",
        "verdicts.html",
    ]


def test_internal_target_resolution(cb, tmp_path):
    site = make_site(tmp_path / "site", bad=False)
    page = Path("sub/page.html")
    assert cb.internal_target(site, page, "../landing.html#top") == (site / "landing.html", "top")
    assert cb.internal_target(site, page, "#part") == (site / "sub/page.html", "part")
    assert cb.internal_target(site, Path("landing.html"), "sub/") == (site / "sub/index.html", "")
    assert cb.internal_target(site, Path("landing.html"), "sub") == (site / "sub/index.html", "")
    assert cb.internal_target(site, page, "https://example.org/x.html") is None
    assert cb.internal_target(site, page, "mailto:someone@example.org") is None
    assert cb.internal_target(site, page, "#") is None


def test_check_internal_links_reports_missing_files_and_anchors(cb, tmp_path):
    site = make_site(tmp_path / "site", bad=False)
    problems = cb.check_internal_links(
        site,
        Path("landing.html"),
        ["#top", "sub/page.html#part", "nowhere.html", "sub/page.html#nope", "../../etc/passwd", "depthinit.pdf"],
        cb.Rules(),
    )
    assert len(problems) == 4
    assert "nowhere.html is not in the build" in problems[0]
    assert "has no id 'nope'" in problems[1]
    assert "etc/passwd is not in the build" in problems[2]  # ".." cannot climb above the site root
    assert "depthinit.pdf is not in the build; the .pdf button links the book's PDF: run `make pdf`" in problems[3]


def test_redirect_and_landing_page(cb, tmp_path):
    site = make_site(tmp_path / "site", bad=False)
    assert cb.redirect_target(site / "index.html") == "landing.html"
    assert cb.redirect_target(site / "landing.html") is None
    assert cb.landing_page(site) == Path("landing.html")


@pytest.mark.parametrize(
    "url, local",
    [
        ("http://127.0.0.1:8000/a.js", True),
        ("http://localhost/a.js", True),
        ("data:image/png;base64,AAAA", True),
        ("https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-mml-chtml.js", False),
        ("https://unpkg.com/thebe@0.8.2/lib/index.js", False),
        ("wss://example.org/socket", False),
    ],
)
def test_is_local_url(cb, url, local):
    assert cb.is_local_url(url) is local


def test_problems_from_events(cb):
    events = [
        {
            "method": "Network.requestWillBeSent",
            "params": {"requestId": "1", "request": {"url": "https://fonts.example/x.woff"}},
        },
        {"method": "Network.loadingFailed", "params": {"requestId": "1", "errorText": "net::ERR_NAME_NOT_RESOLVED"}},
        {
            "method": "Network.requestWillBeSent",
            "params": {"requestId": "2", "request": {"url": "http://127.0.0.1:1/a.png"}},
        },
        {
            "method": "Network.responseReceived",
            "params": {
                "requestId": "2",
                "type": "Image",
                "response": {"url": "http://127.0.0.1:1/a.png", "status": 404},
            },
        },
        {
            "method": "Network.responseReceived",
            "params": {
                "requestId": "3",
                "type": "Other",
                "response": {"url": "http://127.0.0.1:1/favicon.ico", "status": 404},
            },
        },
        {"method": "Runtime.consoleAPICalled", "params": {"type": "error", "args": [{"value": "boom"}]}},
        {"method": "Runtime.consoleAPICalled", "params": {"type": "log", "args": [{"value": "fine"}]}},
        {
            "method": "Runtime.exceptionThrown",
            "params": {"exceptionDetails": {"text": "Uncaught", "exception": {"description": "TypeError: x"}}},
        },
    ]
    problems = cb.problems_from_events(events)
    assert problems == [
        "request to a remote host (the book must work offline): https://fonts.example/x.woff",
        "HTTP 404 for http://127.0.0.1:1/a.png",
        "console.error: boom",
        "uncaught exception: TypeError: x",
    ]


def test_missing_site_exits_2(cb, tmp_path, capsys):
    assert cb.main([str(tmp_path / "nothing"), "--out", str(tmp_path / "out"), "--no-install"]) == 2
    assert "run `make book` first" in capsys.readouterr().err


def test_bad_options_are_refused(cb, tmp_path, capsys):
    site = make_site(tmp_path / "site", bad=False)
    with pytest.raises(SystemExit):
        cb.main([str(site), "--download-pages", "e(", "--no-install"])
    assert "--download-pages 'e(' is not a regular expression" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cb.main([str(site), "--max-natural-ratio", "0", "--no-install"])
    assert "--max-natural-ratio must be > 0" in capsys.readouterr().err


# ----------------------------------------------------------------------------
# The book's rules, without a browser.
# ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "alt, reason",
    [
        (None, "has no alt attribute"),
        ("   ", "has empty alt text"),
        ("_images/abc123.png", "is a file path"),
        ("..\\figures\\e1", "is a file path"),
        ("Figure from ../figures/e1 here", "is a file path"),
        ("Accuracy, saved as out/e1/accuracy.png", "is a file path"),
        ("see C:\\plots", "is a file path"),
        ("e1_accuracy.PNG", "is a file name"),
        ("figure.svg", "is a file name"),
        ("abc123", "is the image's file name"),
        ("e1_fig", "is the glue key"),
        ("layer_norm_heatmap", "is an identifier, not a description"),
    ],
)
def test_alt_text_that_is_not_a_description(cb, alt, reason):
    why = cb.alt_problem(alt, "../_images/abc123.png", frozenset({"e1_fig"}))
    assert why is not None and reason in why


@pytest.mark.parametrize(
    "alt",
    [
        "Test accuracy per initialization",
        "Accuracy",
        "α_l per layer for V = 22",
        "E1: accuracy (CIFAR-10, 5 seeds)",
        "He's variance 2/n against 2α_l/n_l",
        "Data cifar10-jpeg.zip (image-folder zip), code 3d0889b",
        "α_l = V^1/(L-1) ln l / G_L for four depths",
    ],
)
def test_alt_text_that_describes(cb, alt):
    assert cb.alt_problem(alt, "../_images/abc123.png", frozenset({"e1_fig"})) is None


def test_image_widths(cb):
    rules = cb.Rules()
    fits = {
        "src": "a.png",
        "alt": "A figure",
        "natural_width": 1400,
        "width": 700.0,
        "visible": True,
        "container_width": 700.0,
        "column_width": 700.0,
    }
    assert cb.image_problems([fits], rules) == []
    too_big = dict(fits, natural_width=1401)
    (problem,) = cb.image_problems([too_big], rules)
    assert "a.png is 1401 px wide (natural size, device-pixel-ratio 1), more than 2 x the 700 px" in problem
    assert "save it at most 1400 px wide" in problem
    assert cb.image_problems([too_big], cb.Rules(max_natural_ratio=2.5)) == []
    wider = dict(fits, width=720.0, container_width=650.0)
    problems = cb.image_problems([wider], rules)
    assert problems == [
        "image a.png is 720 px wide, wider than its container (650 px) at 1280 px",
        "image a.png is 720 px wide, wider than the content column (700 px) at 1280 px",
    ]
    hidden = dict(wider, visible=False)  # in a collapsed toggle: not laid out, natural width still checked
    assert cb.image_problems([hidden], rules) == []


def test_code_cell_problems_name_the_cell(cb):
    (problem,) = cb.code_cell_problems([{"cell": 3, "classes": "cell docutils container", "text": "glue('x', 1)"}])
    assert problem.startswith("landing page shows code: cell 3 (cell docutils container) displays \"glue('x', 1)\"")
    assert "remove-input" in problem


def test_phone_figures_fail_tables_warn(cb):
    phone = {
        "viewport": 390,
        "scroll_width": 620,
        "overflow": [
            {"kind": "figure", "what": '<img src="a.png">', "width": 600.0, "right": 620.0},
            {"kind": "table", "what": "<table>", "width": 500.0, "right": 520.0},
        ],
    }
    problems, warnings = cb.phone_problems(phone)
    assert problems == [
        'at 390 px (phone) the figure <img src="a.png"> is 600 px wide and reaches x = 620: '
        "it makes the page scroll horizontally; keep figures at most the content width "
        "(max-width: 100%)"
    ]
    assert len(warnings) == 1 and warnings[0].startswith("at 390 px (phone) the table <table> is 500 px wide")
    edge, _ = cb.phone_problems(dict(phone, scroll_width=390))
    assert "it is cut off at the screen's edge" in edge[0]
    phone["overflow"][0]["clipped"] = True
    clipped, _ = cb.phone_problems(phone)
    assert "it is cut off by its container" in clipped[0]
    _, only = cb.phone_problems({"viewport": 390, "scroll_width": 500, "overflow": []})
    assert only == ["at 390 px (phone) the page scrolls horizontally (500 px of content)"]
    assert cb.phone_problems({"viewport": 390, "scroll_width": 390, "overflow": []}) == ([], [])


def test_explorable_problems(cb):
    ok = {
        "index": 0,
        "has_plot": True,
        "has_slider": True,
        "slider_from": 1.34,
        "slider_to": -1.0,
        "plot_changed": True,
        "text_changed": True,
        "bad": [],
    }
    assert cb.explorable_problems([ok]) == []
    frozen = dict(ok, plot_changed=False, text_changed=False, bad=['after V = -1: <polyline points="0,NaN">'])
    assert cb.explorable_problems([frozen]) == [
        "explorable #1: moving the V slider from 1.34 to -1 did not change the plotted values",
        "explorable #1: moving the V slider from 1.34 to -1 did not change the text readout",
        'explorable #1 shows a value that is not finite after V = -1: <polyline points="0,NaN">',
    ]
    assert cb.explorable_problems([{"index": 1, "has_plot": False, "has_slider": False, "bad": []}]) == [
        "explorable #2 draws nothing (no SVG shape or canvas inside .depthinit-explorable)",
        'explorable #2 has no V slider (an <input type="range" data-param="V">)',
    ]


def test_csv_downloads_and_experiment_chapters(cb, tmp_path):
    site = make_site(tmp_path / "site", bad=True)
    rules = cb.Rules()
    assert cb.download_problems(site, Path("e1_cifar10_mlp.html"), rules) == []
    assert cb.download_problems(site, Path("verdicts.html"), rules) == []
    assert cb.download_problems(site, Path("landing.html"), rules) == []  # not an experiment chapter
    (no_csv,) = cb.download_problems(site, Path("e2_no_csv.html"), rules)
    assert no_csv.startswith("no CSV download on this experiment chapter")
    problems = cb.download_problems(site, Path("e3_bad_csv.html"), rules)
    assert problems == [
        "CSV download 'data/missing.csv': data/missing.csv is not in the build",
        "CSV download 'https://example.org/remote.csv' points outside the build; ship the file with the site "
        "(MyST's {download} role)",
        "CSV download '_downloads/empty.csv' (_downloads/empty.csv) has no data row (1 non-empty line(s))",
        "CSV download '_downloads/ragged.csv' (_downloads/ragged.csv) line 2 has 3 fields, the header 2",
        "download link '_downloads/plans.zip': _downloads/plans.zip is not in the build",
        problems[-1],
    ]
    assert problems[-1].startswith("no CSV download on this experiment chapter")
    # The rule is configurable: only pages named results*.html need one.
    assert cb.download_problems(site, Path("e2_no_csv.html"), cb.Rules(download_pages=r"results")) == []


@pytest.mark.parametrize(
    "href, csv",
    [("a/b.csv", True), ("B.CSV?x=1#top", True), ("b.csv.html", False), ("data.tsv", False), ("%20x.csv", True)],
)
def test_is_csv_href(cb, href, csv):
    assert cb.is_csv_href(href) is csv


def test_glue_keys_come_from_the_shipped_notebooks(cb, tmp_path):
    site = make_site(tmp_path / "site", bad=True)
    assert cb.glue_keys(site) == frozenset({"e1_accuracy_figure"})
    assert cb.glue_keys(tmp_path / "nowhere") == frozenset()


# ----------------------------------------------------------------------------
# In Chromium.
# ----------------------------------------------------------------------------


def run_check(cb, site: Path, out: Path, *extra: str) -> tuple[int, dict]:
    code = cb.main(
        [str(site), "--out", str(out), "--no-install", "--chromium", need_chromium(), "--timeout", "30", *extra]
    )
    return code, json.loads((out / "report.json").read_text())


def test_browser_check_passes_a_clean_site(cb, tmp_path, capsys):
    good = make_site(tmp_path / "good", bad=False)
    code, report = run_check(cb, good, tmp_path / "out")
    assert code == 0, capsys.readouterr().err
    assert report["pages"] == 6 and report["failed_pages"] == 0 and report["site_problems"] == []
    assert report["warnings"] == 0  # the wide table scrolls inside its wrapper on the phone
    assert report["landing"] == "landing.html"
    assert (tmp_path / "out" / "landing.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "out" / "landing-phone.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    by_page = {r["page"]: r for r in report["results"]}
    assert by_page["landing.html"]["images"] == 1
    assert by_page["e1_cifar10_mlp.html"]["explorables"] == 1  # the real widget answered its slider


def test_browser_check_catches_every_fault(cb, tmp_path, capsys):
    bad = make_site(tmp_path / "bad", bad=True)
    code, report = run_check(cb, bad, tmp_path / "out")
    assert code == 1
    err = capsys.readouterr().err
    assert "FAILED: 8 of 13 pages" in err
    problems = {r["page"]: "\n".join(r["problems"]) for r in report["results"]}
    expected = {
        "bad.html": [
            "request to a remote host (the book must work offline): http://cdn.example.com/lib.js",
            "image did not load: _images/missing.png",
            "broken link 'nowhere.html'",
            "broken anchor 'landing.html#no-such-id'",
            "MathJax did not finish (not loaded)",
            "math not rendered: '\\\\(x^2\\\\)'",
            "raw TeX left in the text: 'Raw $$ a + b $$ left in prose.'",
            "console.error: boom",
            "HTTP 404 for http",
        ],
        "landing.html": [
            "landing page shows code: cell 2 (cell docutils container) displays 'from myst_nb import glue'",
            "landing page shows code: cell 3 (cell) displays 'shown()'",
        ],
        "alt.html": [
            "image _images/dot.png has no alt attribute",
            "image _images/dot.png has empty alt text",
            "image _images/dot.png alt text '_images/dot.png' is a file path",
            "image _images/dot.png alt text 'accuracy.svg' is a file name",
            "image _images/dot.png alt text 'dot' is the image's file name",
            "image _images/dot.png alt text 'e1_accuracy_figure' is the glue key",
            "image _images/dot.png alt text 'layer_norms' is an identifier, not a description",
        ],
        "wide.html": [
            "image _images/huge.png is 1800 px wide (natural size, device-pixel-ratio 1), more than 2 x the 700 px "
            "content column at 1280 px",
            "image _images/dot.png is 900 px wide, wider than its container (700 px) at 1280 px",
            "image _images/dot.png is 900 px wide, wider than the content column (700 px) at 1280 px",
        ],
        "phone.html": [
            'at 390 px (phone) the figure <img src="_images/mid.png"> is 600 px wide',
            "it makes the page scroll horizontally",
        ],
        "e2_no_csv.html": ["no CSV download on this experiment chapter"],
        "e3_bad_csv.html": [
            "CSV download 'data/missing.csv': data/missing.csv is not in the build",
            "has no data row",
            "line 2 has 3 fields",
            "download link '_downloads/plans.zip'",
        ],
        "explorables.html": [
            "explorable #1: moving the V slider from 4 to 10 did not change the plotted values",
            "explorable #1: moving the V slider from 4 to 10 did not change the text readout",
            'explorable #2 shows a value that is not finite after V = 10: <polyline points="0,NaN',
            "explorable #2 shows a value that is not finite after V = 10: in the readout",
            "explorable #3 draws nothing",
            "explorable #3 has no V slider",
        ],
    }
    for name, messages in expected.items():
        for message in messages:
            assert message in problems[name], f"{message!r} not reported for {name}; got:\n{problems[name]}"
    assert "cell 1" not in problems["landing.html"]  # a collapsed hide-input toggle is hidden
    for name in ("e1_cifar10_mlp.html", "verdicts.html", "sub/page.html"):
        assert problems[name] == "", problems[name]
    warnings = next(r for r in report["results"] if r["page"] == "phone.html")["warnings"]
    assert any(w.startswith("at 390 px (phone) the table <table") for w in warnings), warnings


def test_a_site_without_the_explorable_fails(cb, tmp_path, capsys):
    site = tmp_path / "site"
    (site / "_static").mkdir(parents=True)
    shutil.copy(SITE_CSS, site / "_static" / SITE_CSS.name)
    (site / "index.html").write_text('<meta http-equiv="Refresh" content="0; url=only.html" />')
    (site / "only.html").write_text(page("only", "<h1>No explorable here</h1>").replace("{root}", ""))
    code, report = run_check(cb, site, tmp_path / "out")
    assert code == 1 and report["failed_pages"] == 0
    assert report["site_problems"] == [
        "no page has the explorable schedule (.depthinit-explorable); embed it with "
        "the depthinit-explorable directive (or pass --no-require-explorable)"
    ]
    assert "FAILED: no page has the explorable schedule" in capsys.readouterr().err
    code, _ = run_check(cb, site, tmp_path / "out2", "--no-require-explorable")
    assert code == 0


# ----------------------------------------------------------------------------
# The explorable's numbers against the library.
# ----------------------------------------------------------------------------

CASES = [
    {"L": 54, "schedule": schedule, "V": 22.0, "depth_fn": "log", "offset": 0.0}
    for schedule in ("increasing", "decreasing", "constant", "unit")
] + [
    {"L": 10, "schedule": "increasing", "V": 3.5, "depth_fn": "log", "offset": 2.0},
    {"L": 30, "schedule": "decreasing", "V": 100.0, "depth_fn": "power", "offset": 1.5},
    {"L": 30, "schedule": "increasing", "V": 0.2, "depth_fn": "power", "offset": 0.0, "shape": 1.7},
    {"L": 7, "schedule": "increasing", "V": 22.0, "depth_fn": "linear", "offset": 4.0},
    {"L": 120, "schedule": "decreasing", "V": 1000.0, "depth_fn": "geometric", "offset": 3.0},
    {"L": 200, "schedule": "increasing", "V": 0.1, "depth_fn": "geometric", "offset": 10.0, "shape": 1.5},
    {"L": 2, "schedule": "increasing", "V": 5.0, "depth_fn": "log", "offset": 0.0},
]

NODE_SCRIPT = """
const api = require(process.argv[1]);
const cases = JSON.parse(require("fs").readFileSync(0, "utf8"));
const out = cases.map((c) => {
  const a = api.alphas(c.L, {schedule: c.schedule, networkVariance: c.V, depthFn: c.depth_fn,
                             offset: c.offset, shape: c.shape});
  return {alphas: a, products: api.products(a), summary: api.summary(a)};
});
process.stdout.write(JSON.stringify(out));
"""


def js_results(cases: list[dict]) -> list[dict]:
    """The explorable's alphas/products/summary for each case, from Node or else Chromium."""
    node = shutil.which("node")
    if node:
        done = subprocess.run(
            [node, "-e", NODE_SCRIPT, str(EXPLORABLE_JS)],
            input=json.dumps(cases),
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return json.loads(done.stdout)
    cb = _load("check_book_js", ROOT / "scripts" / "check_book.py")
    browser = cb.Browser(need_chromium(), timeout=30)
    try:
        tab = cb.Tab(browser)
        tab.evaluate(EXPLORABLE_JS.read_text(), 30)
        expr = (
            f"JSON.parse({json.dumps(json.dumps(cases))}).map((c) => {{ const api = window.depthinitExplorable;"
            " const a = api.alphas(c.L, {schedule: c.schedule, networkVariance: c.V, depthFn: c.depth_fn,"
            " offset: c.offset, shape: c.shape});"
            " return {alphas: a, products: api.products(a), summary: api.summary(a)}; })"
        )
        return tab.evaluate(expr, 30)
    finally:
        browser.close()


def test_explorable_formulas_match_the_library():
    for case, got in zip(CASES, js_results(CASES), strict=True):
        want = alphas(
            case["L"],
            schedule=case["schedule"],
            network_variance=case["V"],
            depth_fn=case["depth_fn"],
            offset=case["offset"],
            shape=case.get("shape"),
        )
        js = np.array(got["alphas"], dtype=np.float64)
        np.testing.assert_allclose(js, want, rtol=1e-9, atol=0, err_msg=str(case))
        # The products in log10 (they overflow a double at the extreme settings), to 1e-9 in
        # log10, that is a relative error of 2.3e-9 in the product.
        forward = np.array(got["products"]["logForward"], dtype=np.float64)
        backward = np.array(got["products"]["logBackward"], dtype=np.float64)
        np.testing.assert_allclose(forward, np.cumsum(np.log10(want)), rtol=0, atol=1e-9, err_msg=str(case))
        np.testing.assert_allclose(
            backward, np.cumsum(np.log10(want)[::-1])[::-1], rtol=0, atol=1e-9, err_msg=str(case)
        )
        end = np.log10(case["V"]) if case["schedule"] != "unit" else 0.0  # the products reach V at both ends
        assert got["summary"]["logForwardEnd"] == pytest.approx(end, abs=1e-9)
        assert got["summary"]["logBackwardStart"] == pytest.approx(end, abs=1e-9)
        assert got["summary"]["below"] == int(np.sum(want[1:] < 1))
        assert got["summary"]["minForwardAt"] == int(np.argmin(np.cumsum(np.log10(want)))) + 1


def test_explorable_summary_matches_the_reconstruction():
    """L = 54, V = 22, log reading: 15 of 53 factors below one, alpha_2 = 0.248, alpha_54 = 1.430
    (/work/shared/design/reconstruction.md's table); c = 2 gives 16 below one."""
    cases = [{"L": 54, "schedule": "increasing", "V": 22.0, "depth_fn": "log", "offset": c} for c in (0.0, 2.0)]
    plain, shifted = (r["summary"] for r in js_results(cases))
    assert (plain["below"], plain["layers"]) == (15, 53)
    assert round(plain["first"], 3) == 0.248 and round(plain["last"], 3) == 1.430
    assert shifted["below"] == 16 and round(shifted["first"], 3) == 0.469


NODE_ERRORS = """
const api = require(process.argv[1]);
const tries = [[1, {schedule: "increasing"}], [5.5, {schedule: "constant"}],
               [5, {schedule: "sideways"}], [5, {schedule: "increasing", networkVariance: 0}],
               [5, {schedule: "increasing", offset: -1}], [5, {schedule: "increasing", depthFn: "cubic"}],
               [5, {schedule: "increasing", depthFn: "power", shape: -2}]];
process.stdout.write(JSON.stringify(tries.map(([L, o]) => { try { api.alphas(L, o); return null; }
                                                           catch (e) { return e.message; } })));
"""


def test_explorable_rejects_bad_inputs_like_the_library():
    node = shutil.which("node")
    if node is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but node is missing (the book's `make mathjax` needs npm/node too)")
        pytest.skip("no node on this machine")
    done = subprocess.run(
        [node, "-e", NODE_ERRORS, str(EXPLORABLE_JS)], capture_output=True, text=True, timeout=60, check=True
    )
    messages = json.loads(done.stdout)
    assert messages == [
        "L=1 is not valid; a depth schedule needs an integer number of weight layers L >= 2",
        "L=5.5 is not valid; a depth schedule needs an integer number of weight layers L >= 2",
        "schedule=sideways is not valid; expected one of unit, constant, increasing, decreasing",
        "network_variance=0 is not valid; expected a finite number > 0",
        "offset=-1 is not valid; expected a finite number >= 0",
        "depth_fn=cubic is not valid; expected one of log, power, linear, geometric",
        "shape=-2 is not valid; expected a finite number > 0",
    ]
    for L, kwargs in [
        (1, {"schedule": "increasing"}),
        (5, {"schedule": "sideways"}),
        (5, {"schedule": "increasing", "network_variance": 0}),
        (5, {"schedule": "increasing", "offset": -1}),
        (5, {"schedule": "increasing", "depth_fn": "cubic"}),
        (5, {"schedule": "increasing", "depth_fn": "power", "shape": -2}),
    ]:
        with pytest.raises(ValueError):
            alphas(L, **kwargs)


# ----------------------------------------------------------------------------
# The Sphinx extension.
# ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def site_ext():
    yield _load("depthinit_site", ROOT / "book" / "_ext" / "depthinit_site.py")
    sys.modules.pop("depthinit_site", None)


def test_pdf_button_points_at_the_pdf_or_goes(site_ext):
    class App:
        class config:
            depthinit_pdf = "depthinit.pdf"

    def context():
        return {
            "pathto": lambda name, resource: f"../../{name}",
            "header_buttons": [
                {
                    "type": "group",
                    "buttons": [
                        {"type": "link", "label": "download-source-button", "url": "x.md"},
                        {"type": "javascript", "javascript": "window.print()", "label": "download-pdf-button"},
                    ],
                },
                {"type": "javascript", "label": "fullscreen-button"},
            ],
        }

    ctx = context()
    site_ext.pdf_button(App, "book/intro", "page.html", ctx, None)
    pdf = ctx["header_buttons"][0]["buttons"][1]
    assert pdf["type"] == "link" and pdf["url"] == "../../depthinit.pdf" and "javascript" not in pdf
    App.config.depthinit_pdf = ""
    ctx = context()
    site_ext.pdf_button(App, "book/intro", "page.html", ctx, None)
    assert [b["label"] for b in ctx["header_buttons"][0]["buttons"]] == ["download-source-button"]


def test_explorable_directive_writes_the_markup(site_ext, tmp_path):
    from sphinx.application import Sphinx

    src = tmp_path / "src"
    src.mkdir()
    (src / "conf.py").write_text(
        f"import sys\nsys.path.insert(0, {str(ROOT / 'book' / '_ext')!r})\n"
        "extensions = ['depthinit_site']\nhtml_static_path = []\n"
    )
    (src / "index.rst").write_text(
        "Title\n=====\n\n.. depthinit-explorable::\n   :v: 22\n   :l: 54\n"
        "   :depth-fn: power\n   :shape: 0.7\n\n.. depthinit-explorable::\n"
    )
    app = Sphinx(
        str(src),
        str(src),
        str(tmp_path / "out"),
        str(tmp_path / "doctrees"),
        "html",
        status=None,
        warning=None,
        freshenv=True,
    )
    app.build()
    text = (tmp_path / "out" / "index.html").read_text()
    assert (
        '<div class="depthinit-explorable" data-depth-fn="power" data-l="54" data-shape="0.7" data-v="22.0">'
    ) in text
    assert text.count('class="depthinit-explorable"') == 2
    assert "_static/depthinit-explorable.js" in text and "_static/depthinit.css" in text
    (src / "index.rst").write_text("Title\n=====\n\n.. depthinit-explorable::\n   :l: 500\n")
    warnings = tmp_path / "warnings.txt"
    with warnings.open("w") as stream:
        Sphinx(
            str(src),
            str(src),
            str(tmp_path / "out2"),
            str(tmp_path / "doctrees2"),
            "html",
            status=None,
            warning=stream,
            freshenv=True,
        ).build()
    assert "L=500 is outside the explorable's range 2..200" in warnings.read_text()


def test_figure_images_get_their_caption_as_alt_text(site_ext, tmp_path):
    from sphinx.application import Sphinx

    src = tmp_path / "src"
    src.mkdir()
    (src / "dot.png").write_bytes(png(4, 3))
    (src / "conf.py").write_text(
        f"import sys\nsys.path.insert(0, {str(ROOT / 'book' / '_ext')!r})\nextensions = ['depthinit_site']\n"
    )
    (src / "index.rst").write_text(
        "Title\n=====\n\n.. figure:: dot.png\n\n   Test accuracy of  each\n"
        "   scheme, :math:`\\alpha_l = \\ln(l + c)`.\n\n"
        ".. figure:: dot.png\n   :alt: Given alt\n\n   A caption.\n\n.. image:: dot.png\n"
    )
    Sphinx(
        str(src),
        str(src),
        str(tmp_path / "out"),
        str(tmp_path / "doctrees"),
        "html",
        status=None,
        warning=None,
        freshenv=True,
    ).build()
    alts = re.findall(r'<img[^>]*alt="([^"]*)"', (tmp_path / "out" / "index.html").read_text())
    assert alts == ["Test accuracy of each scheme, α_l = ln(l + c).", "Given alt", "_images/dot.png"]


# ----------------------------------------------------------------------------
# The PDF of the whole book (scripts/book_pdf.py).
# ----------------------------------------------------------------------------


def chain(site: Path, order: list[str]) -> None:
    """Give each page of ``order`` the theme's "next" link to the following one."""
    for here, there in itertools.pairwise(order):
        path = site / here
        up = "../" * here.count("/")
        path.write_text(
            path.read_text().replace(
                "</body>", f'<footer><a class="right-next" href="{up}{there}">next</a></footer></body>'
            )
        )


def test_page_order_follows_the_next_links(pdf, tmp_path):
    site = make_site(tmp_path / "site", bad=False)
    chain(site, ["landing.html", "sub/page.html", "e1_cifar10_mlp.html", "verdicts.html"])
    order = [p.as_posix() for p in pdf.page_order(site, Path("landing.html"))]
    assert order == ["landing.html", "sub/page.html", "e1_cifar10_mlp.html", "verdicts.html"]
    chain(site, ["verdicts.html", "landing.html"])  # a cycle ends the walk
    assert len(pdf.page_order(site, Path("landing.html"))) == 4
    assert pdf.book_title(site, Path("landing.html")) == "landing"
    (site / "landing.html").write_text("<title>Intro — depthinit: a book</title>")
    assert pdf.book_title(site, Path("landing.html")) == "depthinit: a book"


def test_pdf_page_count(pdf):
    fake = b"%PDF-1.4 1 0 obj <</Type /Pages /Count 2>> 2 0 obj <</Type /Page>> 3 0 obj <</Type/Page /X 1>>"
    assert pdf.pdf_page_count(fake) == 2


def test_the_book_prints_to_one_pdf(pdf, tmp_path, capsys):
    site = make_site(tmp_path / "site", bad=False)
    chain(site, ["landing.html", "e1_cifar10_mlp.html", "verdicts.html"])
    out = tmp_path / "pdf" / "book.pdf"
    assert (
        pdf.main([str(site), "--out", str(out), "--no-install", "--chromium", need_chromium(), "--timeout", "60"]) == 0
    ), capsys.readouterr().err
    data = out.read_bytes()
    assert data.startswith(b"%PDF-") and (site / "depthinit.pdf").read_bytes() == data
    # A cover with the contents, then one page run per chapter (a page break before each).
    assert pdf.pdf_page_count(data) >= 4
    # The outline holds every chapter's heading, in the book's order.
    titles = [t.decode("latin-1") for t in re.findall(rb"/Title \(([^)]*)\)", data)]
    chapters = [t for t in titles if t in ("Does depth-aware initialization help?", "E1", "Verdicts")]
    assert chapters == ["Does depth-aware initialization help?", "E1", "Verdicts"], titles
    assert "3 pages of the book" in capsys.readouterr().out


def test_pdf_without_a_site_exits_2(pdf, tmp_path, capsys):
    assert pdf.main([str(tmp_path / "nothing"), "--no-install"]) == 2
    assert "run `make book` first" in capsys.readouterr().err
