"""scripts/check_book.py: the site walk and link logic, and (with Chromium) the browser check.

The browser test builds a two-page site in a temporary folder: one clean page with
an image, in-site links and math that needs no MathJax, one page with every fault
the check must catch. Nothing leaves the machine (Chromium resolves no host name
but the local server's).
"""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def cb():
    spec = importlib.util.spec_from_file_location("check_book", ROOT / "scripts" / "check_book.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["check_book"] = module
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop("check_book", None)


# A 1x1 red PNG.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
)

GOOD = """<!DOCTYPE html><html><head><title>good</title>
<link rel="stylesheet" href="_static/style.css"></head><body>
<h1 id="top">Good</h1><img src="_images/dot.png" alt="dot">
<a href="#top">here</a> <a href="sub/page.html#part">sub</a> <a href="sub/">dir</a>
<a href="https://arxiv.org/abs/2509.05018">a link out is fine</a>
<pre>$$ code may show TeX $$</pre>
</body></html>"""

SUB = """<!DOCTYPE html><html><head><title>sub</title></head><body>
<h2 id="part">Part</h2><a href="../good.html">back</a></body></html>"""

BAD = """<!DOCTYPE html><html><head><title>bad</title>
<script src="http://cdn.example.com/lib.js"></script></head><body>
<img src="_images/missing.png" alt="missing">
<a href="nowhere.html">broken</a> <a href="good.html#no-such-id">bad anchor</a>
<span class="math">\\(x^2\\)</span>
<p>Raw $$ a + b $$ left in prose.</p>
<script>console.error("boom");</script>
</body></html>"""


def make_site(root: Path, *, bad: bool) -> Path:
    (root / "_images").mkdir(parents=True)
    (root / "_static").mkdir()
    (root / "sub").mkdir()
    (root / "_images" / "dot.png").write_bytes(PNG)
    (root / "_static" / "style.css").write_text("body { color: black; }")
    (root / "_static" / "ignored.html").write_text("<a href='nowhere.html'>not a page</a>")
    (root / "index.html").write_text('<meta http-equiv="Refresh" content="0; url=good.html" />')
    (root / "good.html").write_text(GOOD)
    (root / "sub" / "page.html").write_text(SUB)
    (root / "sub" / "index.html").write_text(SUB)
    if bad:
        (root / "bad.html").write_text(BAD)
    return root


def test_site_pages_skip_asset_folders(cb, tmp_path):
    site = make_site(tmp_path / "site", bad=True)
    pages = [p.as_posix() for p in cb.site_pages(site)]
    assert pages == ["bad.html", "good.html", "index.html", "sub/index.html", "sub/page.html"]


def test_internal_target_resolution(cb, tmp_path):
    site = make_site(tmp_path / "site", bad=False)
    page = Path("sub/page.html")
    assert cb.internal_target(site, page, "../good.html#top") == (site / "good.html", "top")
    assert cb.internal_target(site, page, "#part") == (site / "sub/page.html", "part")
    assert cb.internal_target(site, Path("good.html"), "sub/") == (site / "sub/index.html", "")
    assert cb.internal_target(site, Path("good.html"), "sub") == (site / "sub/index.html", "")
    assert cb.internal_target(site, page, "https://example.org/x.html") is None
    assert cb.internal_target(site, page, "mailto:someone@example.org") is None
    assert cb.internal_target(site, page, "#") is None


def test_check_internal_links_reports_missing_files_and_anchors(cb, tmp_path):
    site = make_site(tmp_path / "site", bad=False)
    problems = cb.check_internal_links(
        site, Path("good.html"),
        ["#top", "sub/page.html#part", "nowhere.html", "sub/page.html#nope", "../../etc/passwd"],
    )
    assert len(problems) == 3
    assert "nowhere.html is not in the build" in problems[0]
    assert "has no id 'nope'" in problems[1]
    assert "etc/passwd is not in the build" in problems[2]  # ".." cannot climb above the site root


def test_redirect_and_landing_page(cb, tmp_path):
    site = make_site(tmp_path / "site", bad=False)
    assert cb.redirect_target(site / "index.html") == "good.html"
    assert cb.redirect_target(site / "good.html") is None
    assert cb.landing_page(site) == Path("good.html")


@pytest.mark.parametrize("url, local", [
    ("http://127.0.0.1:8000/a.js", True),
    ("http://localhost/a.js", True),
    ("data:image/png;base64,AAAA", True),
    ("https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-mml-chtml.js", False),
    ("https://unpkg.com/thebe@0.8.2/lib/index.js", False),
    ("wss://example.org/socket", False),
])
def test_is_local_url(cb, url, local):
    assert cb.is_local_url(url) is local


def test_problems_from_events(cb):
    events = [
        {"method": "Network.requestWillBeSent", "params": {"requestId": "1", "request": {"url": "https://fonts.example/x.woff"}}},
        {"method": "Network.loadingFailed", "params": {"requestId": "1", "errorText": "net::ERR_NAME_NOT_RESOLVED"}},
        {"method": "Network.requestWillBeSent", "params": {"requestId": "2", "request": {"url": "http://127.0.0.1:1/a.png"}}},
        {"method": "Network.responseReceived", "params": {"requestId": "2", "type": "Image",
                                                          "response": {"url": "http://127.0.0.1:1/a.png", "status": 404}}},
        {"method": "Network.responseReceived", "params": {"requestId": "3", "type": "Other",
                                                          "response": {"url": "http://127.0.0.1:1/favicon.ico", "status": 404}}},
        {"method": "Runtime.consoleAPICalled", "params": {"type": "error", "args": [{"value": "boom"}]}},
        {"method": "Runtime.consoleAPICalled", "params": {"type": "log", "args": [{"value": "fine"}]}},
        {"method": "Runtime.exceptionThrown", "params": {"exceptionDetails": {"text": "Uncaught",
                                                                              "exception": {"description": "TypeError: x"}}}},
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


chromium = os.environ.get("CHROMIUM", "/usr/bin/chromium")
needs_chromium = pytest.mark.skipif(not Path(chromium).is_file(), reason=f"no Chromium at {chromium}")


@needs_chromium
def test_browser_check_passes_a_clean_site_and_catches_every_fault(cb, tmp_path, capsys):
    good = make_site(tmp_path / "good", bad=False)
    out = tmp_path / "out-good"
    assert cb.main([str(good), "--out", str(out), "--no-install", "--chromium", chromium, "--timeout", "30"]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["pages"] == 4 and report["failed_pages"] == 0
    assert report["landing"] == "good.html"
    assert (out / "landing.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    by_page = {r["page"]: r for r in report["results"]}
    assert by_page["good.html"]["images"] == 1

    bad = make_site(tmp_path / "bad", bad=True)
    out = tmp_path / "out-bad"
    assert cb.main([str(bad), "--out", str(out), "--no-install", "--chromium", chromium, "--timeout", "30"]) == 1
    report = json.loads((out / "report.json").read_text())
    assert report["failed_pages"] == 1
    problems = "\n".join(next(r for r in report["results"] if r["page"] == "bad.html")["problems"])
    for expected in (
        "request to a remote host (the book must work offline): http://cdn.example.com/lib.js",
        "image did not load: _images/missing.png",
        "broken link 'nowhere.html'",
        "broken anchor 'good.html#no-such-id'",
        "MathJax did not finish (not loaded)",
        "math not rendered: '\\\\(x^2\\\\)'",
        "raw TeX left in the text: 'Raw $$ a + b $$ left in prose.'",
        "console.error: boom",
        "HTTP 404 for http",
    ):
        assert expected in problems, f"{expected!r} not reported; got:\n{problems}"
    assert "FAILED: 1 of 5 pages" in capsys.readouterr().err
