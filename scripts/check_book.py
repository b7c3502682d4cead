"""Open every page of the built book in headless Chromium and fail on anything broken.

For each HTML page of the site (everything under the build folder except the
``_static``/``_sources``/``_images`` asset folders) the check fails when

* an ``<img>`` did not load (not complete, or ``naturalWidth == 0``);
* math did not render: MathJax never finished (``MathJax.startup.promise``), a
  ``.math`` element holds no ``mjx-container``, MathJax reported an
  ``mjx-merror``, or raw TeX delimiters (``$$``, ``\\(``, ``\\[``, ``\\begin{``)
  are left in the page's text outside code;
* a same-site link (``<a href>``, ``<link href>``, a meta refresh) points at a file
  that is not in the build, or at an anchor that the target page does not have;
* the console logged an error, a script threw, a request failed or got an HTTP
  error, or the page requested anything from a host other than the local server
  (the book must work fully offline).

The book-level rules (issue 13), each failing with the page and the element:

* landing page, no visible code: no notebook cell (``div.cell``) of the landing page
  shows a ``.cell_input`` or a ``div.highlight`` outside its ``.cell_output``. Shown
  means laid out with a non-empty box and ``checkVisibility()`` true; cells removed by
  the ``remove-cell``/``remove-input`` tags are not in the page and a ``hide-input``
  toggle is a closed ``<details>``, so neither counts. Printed text outputs are not code.
* alt text, every page: every ``<img>`` has an ``alt`` that is not blank, holds no
  ``/`` or ``\\``, does not end in an image suffix (.png, .svg, ...), is not the image's
  file name or stem, not a myst-nb glue key (read from the notebooks under
  ``_sources/``) and not a bare snake_case identifier.
* figure widths at 1280 px: a visible ``<img>``'s rendered width is at most the content
  width of its block container and of the content column (``article.bd-article``, or the
  ``.full-width``/``.margin`` block it sits in), 1 px tolerance; and its natural width
  (device-pixel-ratio 1) is at most ``--max-natural-ratio`` (2) x the column.
* phone (390 px, mobile emulation): a figure (img, svg, canvas, video, iframe, figure)
  of the page's content that reaches past the viewport, and does not sit in an
  ``overflow-x: auto/scroll`` wrapper that fits, fails (it widens the page or is cut
  off); a table or other element that does is a warning (reported, not failed).
* the explorable (every ``.depthinit-explorable``): its V slider
  (``input[type=range][data-param=V]``) is moved to the far end of its range by
  input/change events, and both the plotted values (numeric attributes of its SVG shapes,
  or its canvas) and the readout (``[data-role=readout]``) must change; then, for every
  option of its selectors, every slider is set to its min and max, and no plotted value
  or readout may show NaN, Infinity or undefined. At least one page must have one
  (``--no-require-explorable`` turns that off; it is not required with ``--only``).
* downloads: every ``<a>`` whose href's path ends in ``.csv`` and every ``a.download``
  resolves to a file in the build (a CSV must have a header and at least one data row
  with as many fields); every page whose path matches ``--download-pages`` (default
  ``(^|/)(e\\d[^/]*|verdicts)\\.html$``: file names starting with "e" and a digit, and
  ``verdicts``) offers at least one such CSV.
* the ".pdf" button's target (``depthinit.pdf`` at the site root, ``make pdf``) is
  checked as a link; a missing one says to run ``make pdf``.

The site is served from 127.0.0.1 by Python's http.server in a thread; Chromium
is driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``), so
nothing beyond the Python standard library and Debian's ``chromium`` package is
needed. When ``/usr/bin/chromium`` is missing and we are root, it is installed
with apt-get (``--no-install`` turns that off). A screenshot of the landing page
is saved to ``<out>/landing.png`` (and at the phone width to ``landing-phone.png``) and
a JSON report to ``<out>/report.json``.

Usage: python scripts/check_book.py [_build/html] [--out _build/check]
       [--chromium /usr/bin/chromium] [--no-install] [--install-only] [--timeout 60]
       [--only GLOB ...] [--shots] [--max-natural-ratio 2] [--download-pages REGEX]
       [--no-require-explorable] [--phone-width 390] [--pdf-name depthinit.pdf]

Exit status: 0 when every page passes, 1 when any check fails, 2 when the check
could not run (no built site, no browser).
"""

from __future__ import annotations

import argparse
import base64
import csv
import fcntl
import fnmatch
import functools
import html.parser
import http.server
import json
import os
import queue
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CHROMIUM = "/usr/bin/chromium"
APT_PACKAGES = ("chromium", "fonts-dejavu-core")
ASSET_DIRS = ("_static", "_sources", "_images")
LOCAL_HOSTS = ("127.0.0.1", "localhost")
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--disable-dev-shm-usage",
    "--metrics-recording-only",
    "--mute-audio",
    "--hide-scrollbars",
    "--window-size=1280,900",
    "--remote-debugging-pipe",
    # No name but the local server resolves: a request to a remote host fails at once (and
    # is reported) instead of waiting on, or reaching, the network.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
)


class CheckError(RuntimeError):
    """The check could not run (no site, no browser, the browser stopped answering)."""


class InPageError(RuntimeError):
    """One of the in-page scripts threw on a page (a problem of that page, not of the check)."""


# ----------------------------------------------------------------------------
# The site on disk: pages, anchors, internal links (pure Python, unit-tested).
# ----------------------------------------------------------------------------


def site_pages(site: Path) -> list[Path]:
    """Every HTML page of the built site, relative to ``site``, sorted; asset folders excluded."""
    pages = [p.relative_to(site) for p in site.rglob("*.html") if p.relative_to(site).parts[0] not in ASSET_DIRS]
    return sorted(pages, key=lambda p: p.as_posix())


class _PageParser(html.parser.HTMLParser):
    """Collects the ids/names a page defines and the same-site URLs it refers to."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.anchors: set[str] = set()
        self.refs: list[str] = []
        self.links: list[tuple[str, str]] = []  # (href, class) of every <a href>
        self.next: str | None = None  # the theme's "next page" link (a.right-next)
        self.refresh: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: (v or "") for k, v in attrs}
        if "id" in a:
            self.anchors.add(a["id"])
        if tag == "a" and "name" in a:
            self.anchors.add(a["name"])
        if tag in ("a", "link") and "href" in a:
            self.refs.append(a["href"])
        if tag == "a" and "href" in a:
            self.links.append((a["href"], a.get("class", "")))
            if "right-next" in a.get("class", "").split() and self.next is None:
                self.next = a["href"]
        if tag == "meta" and a.get("http-equiv", "").lower() == "refresh":
            m = re.search(r"url\s*=\s*['\"]?([^'\"]+)", a.get("content", ""), re.I)
            if m:
                self.refresh = m.group(1).strip()
                self.refs.append(self.refresh)


@functools.lru_cache(maxsize=None)
def parse_page(path: Path) -> _PageParser:
    """Parse one HTML file (cached): its anchors, its hrefs and its meta-refresh target."""
    parser = _PageParser()
    parser.feed(path.read_text(encoding="utf-8", errors="replace"))
    parser.close()
    return parser


def redirect_target(path: Path) -> str | None:
    """The meta-refresh URL of a redirect stub (like the site's root index.html), else None."""
    return parse_page(path).refresh


def internal_target(site: Path, page: Path, href: str) -> tuple[Path, str] | None:
    """Resolve ``href`` found on ``page`` (relative to ``site``) to ``(file, fragment)``.

    Returns None for links that leave the site (another scheme or host) and for
    pure in-page ``#`` links with no fragment. A directory link maps to its
    ``index.html``.
    """
    href = href.strip()
    if not href or href == "#":
        return None
    parts = urlsplit(href)
    if parts.scheme or parts.netloc:
        return None
    base = "/" + page.as_posix()
    resolved = urlsplit(urljoin(base, href))
    rel = unquote(resolved.path).lstrip("/")
    target = site / rel if rel else site
    if not rel or rel.endswith("/") or target.is_dir():
        target = target / "index.html"
    return target, unquote(resolved.fragment)


def check_internal_links(site: Path, page: Path, hrefs: list[str], rules: Rules | None = None) -> list[str]:
    """Problems with the same-site links of ``page``: missing files and missing anchors.

    A missing ``rules.pdf_name`` at the site root (the ".pdf" button's target) says to run
    ``make pdf``.
    """
    problems = []
    seen = set()
    for href in hrefs:
        if href in seen:
            continue
        seen.add(href)
        if is_csv_href(href):
            continue  # download_problems checks CSV links (and their contents)
        resolved = internal_target(site, page, href)
        if resolved is None:
            continue
        target, fragment = resolved
        try:
            target.resolve().relative_to(site.resolve())
        except ValueError:
            problems.append(f"link {href!r} leaves the site ({target})")
            continue
        if not target.is_file():
            rel = target.relative_to(site).as_posix()
            hint = (
                ('; the .pdf button links the book\'s PDF: run `make pdf` (or set depthinit_pdf: "" in _config.yml)')
                if rules is not None and rel == rules.pdf_name
                else ""
            )
            problems.append(f"broken link {href!r}: {rel} is not in the build{hint}")
            continue
        if fragment and target.suffix == ".html" and fragment not in parse_page(target).anchors:
            problems.append(f"broken anchor {href!r}: {target.relative_to(site).as_posix()} has no id {fragment!r}")
    return problems


def is_local_url(url: str) -> bool:
    """True for URLs the offline book may request: the local server, data:, blob:, about:."""
    parts = urlsplit(url)
    if parts.scheme in ("data", "blob", "about", "chrome-error", "devtools"):
        return True
    if parts.scheme in ("http", "https", "ws", "wss"):
        return parts.hostname in LOCAL_HOSTS
    return False


# ----------------------------------------------------------------------------
# The book's rules: what a reader must get (pure Python, unit-tested). The browser
# measures (scripts below); these functions turn the measurements into problems.
# ----------------------------------------------------------------------------

#: An image file name ends in one of these; alt text that does is a file name, not a description.
IMAGE_SUFFIXES = (".png", ".svg", ".jpg", ".jpeg", ".gif", ".webp", ".avif", ".bmp", ".pdf")
#: A figure's natural width (CSS px at device-pixel-ratio 1) may exceed the content column's
#: width by at most this factor (2 allows a "retina" 2x image; more shrinks its fonts by > 2x).
MAX_NATURAL_RATIO = 2.0
#: Pages (paths relative to the site) that must offer at least one CSV download: the
#: experiment chapters (a file name starting with "e" and a digit) and the verdicts chapter.
DOWNLOAD_PAGES = r"(^|/)(e\d[^/]*|verdicts)\.html$"
#: The viewport widths of the two layouts checked (CSS px).
DESKTOP_WIDTH, PHONE_WIDTH = 1280, 390
#: The explorable schedule's root element (book/_static/depthinit-explorable.js).
EXPLORABLE = ".depthinit-explorable"
#: The PDF the ".pdf" button points at (book/_ext/depthinit_site.py's depthinit_pdf).
PDF_NAME = "depthinit.pdf"


@dataclass(frozen=True)
class Rules:
    """The book-level requirements (set from the command line; defaults above)."""

    max_natural_ratio: float = MAX_NATURAL_RATIO
    download_pages: str = DOWNLOAD_PAGES
    require_explorable: bool = True
    phone_width: int = PHONE_WIDTH
    pdf_name: str = PDF_NAME
    glue_keys: frozenset[str] = frozenset()


def glue_keys(site: Path) -> frozenset[str]:
    """The myst-nb glue keys of the notebooks the site ships under ``_sources/`` (any depth)."""
    keys: set[str] = set()
    sources = site / "_sources"
    for nb in sources.rglob("*.ipynb") if sources.is_dir() else ():
        try:
            cells = json.loads(nb.read_text(encoding="utf-8")).get("cells", [])
        except (OSError, ValueError):
            continue
        for cell in cells:
            for output in cell.get("outputs", []) or []:
                name = (output.get("metadata") or {}).get("scrapbook", {}).get("name")
                if isinstance(name, str):
                    keys.add(name)
    return frozenset(keys)


def alt_problem(alt: str | None, src: str, keys: frozenset[str] = frozenset()) -> str | None:
    """Why ``alt`` is not alt text a reader can use (None when it is).

    Required: present, not blank, not a path (one word holding ``/`` or ``\\``, or any
    word that starts like a path -- ``/``, ``./``, ``../``, ``_images/``, a drive letter --
    or holds a ``/`` and ends in an image suffix; "2/n" in a sentence is fine), not ending
    in an image suffix, not the image's file name or stem, not a glue key, and not a bare
    snake_case identifier.
    """
    if alt is None:
        return "has no alt attribute"
    text = alt.strip()
    if not text:
        return "has empty alt text"
    words = text.split()
    if (len(words) == 1 and re.search(r"[/\\]", text)) or any(
        re.match(r"(\.{0,2}/[\w.\-]|_images/|_static/|[A-Za-z]:\\)", w)
        or ("/" in w and w.lower().rstrip(".,;:)").endswith(IMAGE_SUFFIXES))
        for w in words
    ):
        return f"alt text {alt!r} is a file path"
    if text.lower().endswith(IMAGE_SUFFIXES):
        return f"alt text {alt!r} is a file name"
    name = PurePosixPath(unquote(urlsplit(src).path)).name
    if name and text in (name, PurePosixPath(name).stem):
        return f"alt text {alt!r} is the image's file name"
    if text in keys:
        return f"alt text {alt!r} is the glue key"
    if re.fullmatch(r"[A-Za-z0-9_.\-]+", text) and "_" in text:
        return f"alt text {alt!r} is an identifier, not a description"
    return None


def _short(src: str) -> str:
    return src if len(src) <= 90 else src[:60] + "..." + src[-20:]


def image_problems(images: list[dict[str, Any]], rules: Rules) -> list[str]:
    """Alt-text and width problems of the images measured on one page at 1280 px.

    Each image is ``{src, alt, natural_width, width, visible, container_width, column_width}``:
    ``width`` the rendered width, ``container_width`` the content width of its nearest block
    ancestor, ``column_width`` that of the content column (``article``/``main``, or a
    ``.full-width`` block the image sits in). A visible image must fit both; every image's
    natural width must be at most ``rules.max_natural_ratio`` times the column.
    """
    problems = []
    for img in images:
        src = _short(img.get("src") or "(no src)")
        why = alt_problem(img.get("alt"), img.get("src") or "", rules.glue_keys)
        if why:
            problems.append(f"image {src} {why}; describe what the figure shows (alt text from the caption)")
        width, natural = img.get("width") or 0.0, img.get("natural_width") or 0
        container, column = img.get("container_width") or 0.0, img.get("column_width") or 0.0
        if img.get("visible"):
            if container and width > container + 1:
                problems.append(
                    f"image {src} is {width:.0f} px wide, wider than its container "
                    f"({container:.0f} px) at {DESKTOP_WIDTH} px"
                )
            if column and width > column + 1:
                problems.append(
                    f"image {src} is {width:.0f} px wide, wider than the content column "
                    f"({column:.0f} px) at {DESKTOP_WIDTH} px"
                )
        if column and natural > rules.max_natural_ratio * column:
            problems.append(
                f"image {src} is {natural} px wide (natural size, device-pixel-ratio 1), more than "
                f"{rules.max_natural_ratio:g} x the {column:.0f} px content column at {DESKTOP_WIDTH} px: "
                f"it is shrunk {natural / column:.1f}x with its fonts; save it at most "
                f"{int(rules.max_natural_ratio * column)} px wide"
            )
    return problems


def code_cell_problems(cells: list[dict[str, Any]]) -> list[str]:
    """The landing page's visible code: one problem per notebook cell that shows its source.

    Each entry is ``{cell, classes, text}`` for a cell (``div.cell``, 1-based in page order)
    holding a rendered ``.cell_input`` or ``div.highlight`` outside ``.cell_output``.
    """
    return [
        f"landing page shows code: cell {c['cell']} ({c['classes']}) displays {c['text']!r}; tag it "
        "remove-input or remove-cell (hide-input collapses it)"
        for c in cells
    ]


def phone_problems(phone: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(problems, warnings) at the phone width: figures may not overflow, tables only warn.

    ``phone`` is ``{viewport, scroll_width, overflow: [{kind, what, width, right, clipped}]}``
    where each overflowing element reaches past the viewport and is not inside a horizontally
    scrolling wrapper that fits on the screen (``clipped``: an overflow-hidden ancestor cuts
    it off; otherwise it widens the page).
    """
    problems, warnings = [], []
    viewport, scroll_width = phone.get("viewport", 0), phone.get("scroll_width", 0)
    scrolls = scroll_width > viewport + 1
    for item in phone.get("overflow", []):
        effect = (
            "is cut off by its container"
            if item.get("clipped")
            else "makes the page scroll horizontally"
            if scrolls
            else "is cut off at the screen's edge"
        )
        text = (
            f"at {viewport} px (phone) the {item['kind']} {item['what']} is {item['width']:.0f} px wide "
            f"and reaches x = {item['right']:.0f}: it {effect}"
        )
        if item["kind"] == "figure":
            problems.append(text + "; keep figures at most the content width (max-width: 100%)")
        elif item["kind"] == "table":
            warnings.append(text + "; wrap the table so that it scrolls inside its wrapper")
        else:
            warnings.append(text)
    if scrolls and not phone.get("overflow"):
        warnings.append(f"at {viewport} px (phone) the page scrolls horizontally ({scroll_width} px of content)")
    return problems, warnings


def explorable_problems(widgets: list[dict[str, Any]]) -> list[str]:
    """Problems of each explorable on a page, from the in-page slider test (EXPLORABLE_JS)."""
    problems = []
    for w in widgets:
        name = f"explorable #{w['index'] + 1}"
        if not w.get("has_plot"):
            problems.append(f"{name} draws nothing (no SVG shape or canvas inside {EXPLORABLE})")
        if not w.get("has_slider"):
            problems.append(f'{name} has no V slider (an <input type="range" data-param="V">)')
        else:
            move = f"moving the V slider from {w['slider_from']:g} to {w['slider_to']:g}"
            if not w.get("plot_changed"):
                problems.append(f"{name}: {move} did not change the plotted values")
            if not w.get("text_changed"):
                problems.append(f"{name}: {move} did not change the text readout")
        problems += [f"{name} shows a value that is not finite {bad}" for bad in w.get("bad", [])[:10]]
    return problems


def is_csv_href(href: str) -> bool:
    """True when the link's path (query and fragment aside) ends in ``.csv``."""
    return unquote(urlsplit(href.strip()).path).lower().endswith(".csv")


def csv_problem(path: Path) -> str | None:
    """Why a CSV file is not a usable table (None when it has a header and data rows that match)."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            rows = [row for row in csv.reader(f) if row]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        return f"cannot be read as CSV ({exc})"
    if len(rows) < 2:
        return f"has no data row ({len(rows)} non-empty line(s))"
    bad = next((i for i, row in enumerate(rows[1:], start=2) if len(row) != len(rows[0])), None)
    if bad is not None:
        return f"line {bad} has {len(rows[bad - 1])} fields, the header {len(rows[0])}"
    return None


def download_problems(site: Path, page: Path, rules: Rules) -> list[str]:
    """The page's downloads: every CSV link and every ``a.download`` resolves to a file in the
    build (a CSV with a header and a data row); a page matching ``rules.download_pages`` offers
    at least one such CSV."""
    problems, offered = [], 0
    seen = set()
    for href, classes in parse_page(site / page).links:
        csv_link, download = is_csv_href(href), "download" in classes.split()
        if not (csv_link or download) or href in seen:
            continue
        seen.add(href)
        what = "CSV download" if csv_link else "download link"
        parts = urlsplit(href.strip())
        resolved = internal_target(site, page, href)
        if parts.scheme or parts.netloc:
            problems.append(
                f"{what} {href!r} points outside the build; ship the file with the site (MyST's {{download}} role)"
            )
            continue
        if resolved is None:
            problems.append(f"{what} {href!r} has no target")
            continue
        target = resolved[0]
        try:
            rel = target.resolve().relative_to(site.resolve()).as_posix()
        except ValueError:
            problems.append(f"{what} {href!r} leaves the site ({target})")
            continue
        if not target.is_file():
            problems.append(f"{what} {href!r}: {rel} is not in the build")
            continue
        if csv_link:
            why = csv_problem(target)
            if why:
                problems.append(f"CSV download {href!r} ({rel}) {why}")
            else:
                offered += 1
    if re.search(rules.download_pages, page.as_posix()) and not offered:
        problems.append(
            f"no CSV download on this experiment chapter: a page matching {rules.download_pages!r} "
            "needs at least one <a> whose href ends in .csv and resolves to a CSV file in the build "
            "(MyST: {download}`results (CSV) <path/to/file.csv>`)"
        )
    return problems


# ----------------------------------------------------------------------------
# Serving the site and driving Chromium.
# ----------------------------------------------------------------------------


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def serve(site: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    """Serve ``site`` on 127.0.0.1 (a free port) from a daemon thread; return (server, base URL)."""
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="book-server", daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


def ensure_chromium(path: str, *, install: bool) -> str:
    """Return a runnable Chromium, installing Debian's package with apt-get when allowed."""
    if Path(path).is_file() and os.access(path, os.X_OK):
        return path
    if not install:
        raise CheckError(f"no Chromium at {path}; install it (apt-get install -y chromium) or pass --chromium PATH")
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise CheckError(
            f"no Chromium at {path} and cannot install it (needs root and apt-get); run "
            f"'sudo apt-get install -y {' '.join(APT_PACKAGES)}' or pass --chromium PATH"
        )
    print(f"[check-book] installing {' '.join(APT_PACKAGES)} with apt-get", flush=True)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for cmd in (
        ["apt-get", "update", "-qq"],
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *APT_PACKAGES],
    ):
        done = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if done.returncode != 0:
            raise CheckError(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stdout[-2000:]}")
    if not Path(path).is_file():
        raise CheckError(f"apt-get installed {APT_PACKAGES[0]} but {path} still does not exist")
    return path


class Browser:
    """Headless Chromium spoken to over the DevTools protocol on a pipe (fd 3 in, fd 4 out)."""

    def __init__(self, executable: str, *, timeout: float = 60.0) -> None:
        self.timeout = timeout
        self.profile = tempfile.mkdtemp(prefix="check-book-chromium-")
        self.log_path = Path(self.profile) / "chromium.log"
        to_browser_r, to_browser_w = os.pipe()
        from_browser_r, from_browser_w = os.pipe()
        # Move the child's ends above fd 10 so bash's 3</4> redirections cannot clobber them
        # (bash, unlike a POSIX sh, accepts multi-digit descriptors in redirections).
        child_in = fcntl.fcntl(to_browser_r, fcntl.F_DUPFD_CLOEXEC, 10)
        child_out = fcntl.fcntl(from_browser_w, fcntl.F_DUPFD_CLOEXEC, 10)
        os.close(to_browser_r)
        os.close(from_browser_w)
        args = [executable, *CHROMIUM_FLAGS, f"--user-data-dir={self.profile}", "about:blank"]
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [
                    "/bin/bash",
                    "-c",
                    f'exec "$@" 3<&{child_in} 4>&{child_out} {child_in}<&- {child_out}>&-',
                    "chromium",
                    *args,
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                pass_fds=(child_in, child_out),
            )
        os.close(child_in)
        os.close(child_out)
        self._out = os.fdopen(to_browser_w, "wb", buffering=0)
        self._in = from_browser_r
        self._next_id = 0
        self._lock = threading.Lock()
        self._replies: dict[int, dict[str, Any]] = {}
        self._reply_ready = threading.Condition()
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self._reader = threading.Thread(target=self._read, name="cdp-reader", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        buffer = b""
        while True:
            try:
                chunk = os.read(self._in, 1 << 16)
            except OSError:
                chunk = b""
            if not chunk:
                with self._reply_ready:
                    self._replies[-1] = {"closed": True}
                    self._reply_ready.notify_all()
                return
            buffer += chunk
            *messages, buffer = buffer.split(b"\0")
            for raw in messages:
                message = json.loads(raw)
                if "id" in message:
                    with self._reply_ready:
                        self._replies[message["id"]] = message
                        self._reply_ready.notify_all()
                else:
                    self.events.put(message)

    def send(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        *,
        session: str | None = None,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """Send one command and wait for its result; raise CheckError on a protocol error."""
        with self._lock:
            self._next_id += 1
            ident = self._next_id
            message: dict[str, Any] = {"id": ident, "method": method, "params": params or {}}
            if session:
                message["sessionId"] = session
            self._out.write(json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + (timeout or self.timeout)
        with self._reply_ready:
            while ident not in self._replies:
                if -1 in self._replies:
                    raise CheckError(f"Chromium closed the DevTools pipe; see {self.log_path}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise CheckError(f"Chromium did not answer {method} within {timeout or self.timeout:.0f} s")
                self._reply_ready.wait(left)
            reply = self._replies.pop(ident)
        if "error" in reply:
            raise CheckError(f"{method} failed: {reply['error']}")
        return reply.get("result", {})

    def close(self) -> None:
        try:
            self.send("Browser.close", timeout=5)
        except (CheckError, OSError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        try:
            self._out.close()
        except OSError:
            pass
        shutil.rmtree(self.profile, ignore_errors=True)


# The in-page part of the check. Returns plain JSON; awaited by Runtime.evaluate.
PAGE_CHECK_JS = r"""
(async () => {
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const out = {};
  // Images: make lazy ones load, wait for all to settle.
  const imgs = Array.from(document.images);
  for (const img of imgs) { if (img.loading === "lazy") img.loading = "eager"; }
  await Promise.all(imgs.map((img) => img.complete ? null : new Promise((r) => {
    img.addEventListener("load", r, {once: true});
    img.addEventListener("error", r, {once: true});
    setTimeout(r, 15000);
  })));
  out.images = imgs.length;
  out.bad_images = imgs.filter((i) => !(i.complete && i.naturalWidth > 0))
                       .map((i) => i.getAttribute("src") || i.outerHTML.slice(0, 120));
  // Math: wait for MathJax's startup typesetting when the page has math.
  const mathNodes = Array.from(document.querySelectorAll(".math"));
  out.math = mathNodes.length;
  out.mathjax = "absent";
  if (mathNodes.length) {
    const t0 = Date.now();
    const mathjaxScript = Array.from(document.scripts).some((s) => /mathjax/i.test(s.src));
    while (mathjaxScript && !(window.MathJax && MathJax.startup && MathJax.startup.promise)
           && Date.now() - t0 < 20000) {
      await sleep(50);
    }
    if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
      const done = await Promise.race([MathJax.startup.promise.then(() => "done", (e) => "failed: " + e),
                                      sleep(30000).then(() => "timeout")]);
      out.mathjax = done;
    } else {
      out.mathjax = "not loaded";
    }
  }
  out.unrendered = mathNodes.filter((n) => !n.querySelector("mjx-container"))
                            .map((n) => n.textContent.trim().slice(0, 80));
  out.merrors = Array.from(document.querySelectorAll("mjx-merror"))
                     .map((n) => (n.getAttribute("data-mjx-error") || n.textContent).slice(0, 120));
  // Raw TeX left in the text, outside code, scripts and rendered math.
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT, {
    acceptNode: (node) => node.parentElement.closest(
      "pre, code, script, style, textarea, .highlight, mjx-container, mjx-assistive-mml, .math"
    ) ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT,
  });
  out.raw_tex = [];
  const raw = /\$\$|\\\(|\\\[|\\begin\{/;
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const m = n.textContent.match(raw);
    if (m) out.raw_tex.push(n.textContent.trim().slice(0, 80));
  }
  out.links = Array.from(document.querySelectorAll("a[href], link[href]")).map((a) => a.getAttribute("href"));
  out.title = document.title;
  return out;
})()
"""


# The book-level measurements at 1280 px: images (alt, natural and rendered widths, the
# widths of their container and of the content column) and the notebook cells whose source
# is rendered. "Visible" means laid out with a non-empty box and passing checkVisibility():
# cells removed by tag are not in the page, and a collapsed hide-input toggle (a closed
# <details>) is not rendered, so neither counts.
LAYOUT_JS = r"""
(() => {
  const visible = (e) => {
    if (!e.getClientRects().length) return false;
    const r = e.getBoundingClientRect();
    if (r.width <= 0 || r.height <= 0) return false;
    return typeof e.checkVisibility !== "function" ||
           e.checkVisibility({checkOpacity: true, checkVisibilityCSS: true});
  };
  const contentWidth = (e) => {
    const cs = getComputedStyle(e);
    return e.clientWidth - parseFloat(cs.paddingLeft || 0) - parseFloat(cs.paddingRight || 0);
  };
  const block = (e) => {
    for (let a = e.parentElement; a; a = a.parentElement) {
      const d = getComputedStyle(a).display;
      if (d !== "inline" && d !== "contents" && !d.startsWith("inline")) return a;
    }
    return document.body;
  };
  const out = {};
  out.images = Array.from(document.images).map((img) => {
    const column = img.closest(".full-width, .margin, aside") ||
                   img.closest("article.bd-article, article, main, [role=main]") || document.body;
    return {
      src: img.getAttribute("src") || "",
      alt: img.hasAttribute("alt") ? img.getAttribute("alt") : null,
      natural_width: img.naturalWidth,
      width: img.getBoundingClientRect().width,
      visible: visible(img),
      container_width: contentWidth(block(img)),
      column_width: contentWidth(column),
    };
  });
  out.code_cells = [];
  Array.from(document.querySelectorAll("div.cell")).forEach((cell, i) => {
    const shown = Array.from(cell.querySelectorAll(".cell_input, div.highlight"))
      .filter((n) => !n.closest(".cell_output") && visible(n));
    if (shown.length) {
      out.code_cells.push({cell: i + 1, classes: cell.className,
                           text: shown[0].textContent.trim().replace(/\s+/g, " ").slice(0, 80)});
    }
  });
  out.explorables = document.querySelectorAll(%(explorable)s).length;
  return out;
})()
""".replace("%(explorable)s", json.dumps(EXPLORABLE))

# The explorable's slider test: move the V slider (an <input type="range" data-param="V">)
# from where it is to the far end of its range by setting its value and dispatching input
# and change events, and compare the plotted values (the numeric attributes of the SVG
# shapes, or the canvas pixels) and the readout text ([data-role=readout]) before and after;
# then every selector option with every range input at its min and max, each checked for
# NaN/Infinity/undefined; the controls are put back where they were.
EXPLORABLE_JS = r"""
(async () => {
  const pause = () => new Promise((r) => setTimeout(r, 20));
  const ATTRS = ["points", "d", "x", "y", "x1", "x2", "y1", "y2", "cx", "cy", "r", "width", "height",
                 "transform"];
  const BAD = /NaN|Infinity|undefined/;
  const state = (box) => {
    const parts = [], bad = [];
    for (const s of box.querySelectorAll("svg *")) {
      for (const a of ATTRS) {
        const v = s.getAttribute(a);
        if (v === null) continue;
        parts.push(v);
        if (BAD.test(v)) bad.push(`<${s.tagName} ${a}="${v.slice(0, 60)}">`);
      }
    }
    for (const c of box.querySelectorAll("canvas")) {
      try { parts.push(c.toDataURL()); } catch (e) { parts.push(""); }
    }
    const readout = box.querySelector('[data-role="readout"]') || box;
    const text = readout.textContent.replace(/\s+/g, " ").trim();
    const m = text.match(/.{0,40}(NaN|Infinity|undefined).{0,20}/);
    if (m) bad.push(`in the readout: "${m[0]}"`);
    return {plot: parts.join("|"), text, bad, has_plot: parts.length > 0};
  };
  const set = async (input, value) => {
    input.value = String(value);
    input.dispatchEvent(new Event("input", {bubbles: true}));
    input.dispatchEvent(new Event("change", {bubbles: true}));
    await pause();
  };
  const label = (i) => i.getAttribute("data-param") || i.name || i.id || i.type;
  const results = [];
  const boxes = Array.from(document.querySelectorAll(%(explorable)s));
  for (let index = 0; index < boxes.length; index++) {
    const box = boxes[index];
    const before = state(box);
    const r = {index, has_plot: before.has_plot, bad: before.bad.map((b) => "at load: " + b)};
    const v = box.querySelector('input[type="range"][data-param="V"], input[type="range"][name="V"]');
    r.has_slider = !!v;
    if (v) {
      const min = parseFloat(v.min || "0"), max = parseFloat(v.max || "100"), from = parseFloat(v.value);
      await set(v, from - min < (max - min) / 2 ? max : min);
      const after = state(box);
      r.slider_from = from;
      r.slider_to = parseFloat(v.value);
      r.plot_changed = after.plot !== before.plot;
      r.text_changed = after.text !== before.text;
      r.bad.push(...after.bad.map((b) => `after V = ${v.value}: ` + b));
      await set(v, from);
    }
    const ranges = Array.from(box.querySelectorAll('input[type="range"]'));
    const selects = Array.from(box.querySelectorAll("select"));
    const saved = [...ranges, ...selects].map((c) => c.value);
    const choices = selects.length ? selects.flatMap((s) => Array.from(s.options).map((o) => [s, o.value]))
                                   : [[null, null]];
    for (const [sel, value] of choices) {
      if (sel) await set(sel, value);
      for (const input of ranges) {
        const orig = input.value;
        for (const end of [input.min || "0", input.max || "100"]) {
          await set(input, end);
          const where = (sel ? `${label(sel)} = ${value}, ` : "") + `${label(input)} = ${input.value}: `;
          r.bad.push(...state(box).bad.map((b) => where + b));
        }
        await set(input, orig);
      }
    }
    for (const [i, c] of [...ranges, ...selects].entries()) await set(c, saved[i]);
    r.bad = Array.from(new Set(r.bad));
    results.push(r);
  }
  return results;
})()
""".replace("%(explorable)s", json.dumps(EXPLORABLE))

# The phone layout. An element of the page's content (article.bd-article, else main or body)
# overflows when its box reaches past the viewport. Its nearest ancestor that fits in the
# viewport and does not show overflow (overflow-x other than visible) decides what the
# reader sees: auto/scroll means it scrolls inside its wrapper (fine); hidden/clip means it
# is cut off ("clipped"); with no such ancestor it widens the page. Icons of the theme
# (svg.svg-inline--fa) and controls (button) are not content.
PHONE_JS = r"""
(async () => {
  await new Promise((r) => setTimeout(r, 150));
  const root = document.documentElement;
  const viewport = root.clientWidth;
  const content = document.querySelector("article.bd-article") || document.querySelector("main, [role=main]") ||
                  document.body;
  const FIG = "img, svg, canvas, video, iframe, object, embed, figure";
  const found = [];
  for (const e of content.querySelectorAll(FIG + ", table, pre, mjx-container, .cell_output")) {
    if (e.matches("svg.svg-inline--fa") || e.closest("button, svg.svg-inline--fa")) continue;
    if (e.matches("svg") && e.parentElement.closest("svg")) continue;
    if (!e.getClientRects().length) continue;
    const r = e.getBoundingClientRect();
    if (r.width <= 0 || r.height <= 0) continue;
    const right = r.right + window.scrollX, left = r.left + window.scrollX;
    if (right <= viewport + 1 && left >= -1) continue;
    let clip = null;
    for (let a = e.parentElement; a && a !== document.body && a !== root; a = a.parentElement) {
      const ox = getComputedStyle(a).overflowX;
      if (ox === "visible") continue;
      const ar = a.getBoundingClientRect();
      if (ar.right + window.scrollX <= viewport + 1 && ar.left + window.scrollX >= -1) { clip = ox; break; }
    }
    if (clip === "auto" || clip === "scroll") continue;
    const kind = e.matches(FIG) || e.closest("figure") ? "figure" : e.closest("table") ? "table" : "element";
    found.push({e, kind, width: r.width, right, clipped: clip !== null});
  }
  // Report the innermost culprits (the image inside an overflowing output, not the output).
  const inner = found.filter((f) => !found.some((g) => g !== f && f.e.contains(g.e)));
  const what = (e) => {
    const src = e.getAttribute("src");
    if (src) return `<${e.tagName.toLowerCase()} src="${src.slice(0, 80)}">`;
    const cls = (e.getAttribute("class") || "").trim().split(/\s+/).filter(Boolean).slice(0, 3).join(".");
    return `<${e.tagName.toLowerCase()}${cls ? "." + cls : ""}>`;
  };
  return {viewport, scroll_width: Math.max(root.scrollWidth, document.body.scrollWidth),
          overflow: inner.slice(0, 20).map((f) => ({kind: f.kind, what: what(f.e), width: f.width,
                                                    right: f.right, clipped: f.clipped}))};
})()
"""


@dataclass
class PageResult:
    page: str
    problems: list[str] = field(default_factory=list)
    images: int = 0
    math: int = 0
    links: int = 0
    explorables: int = 0
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0


class Tab:
    """One browser tab with its event stream sorted into console errors and requests."""

    def __init__(self, browser: Browser) -> None:
        self.browser = browser
        target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(f"{domain}.enable")
        self.set_viewport(DESKTOP_WIDTH)
        self.send("Network.setCacheDisabled", {"cacheDisabled": True})

    def set_viewport(self, width: int) -> None:
        """Desktop (1280 x 900) or, for a narrower width, a phone (mobile, 844 px high); DPR 1."""
        phone = width < 800
        self.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": 844 if phone else 900, "deviceScaleFactor": 1, "mobile": phone},
        )

    def evaluate(self, expression: str, timeout: float) -> Any:
        """Run ``expression`` in the page (awaiting a promise) and return its JSON value."""
        result = self.send(
            "Runtime.evaluate", {"expression": expression, "awaitPromise": True, "returnByValue": True}, timeout=timeout
        )
        if "exceptionDetails" in result:
            d = result["exceptionDetails"]
            text = d.get("exception", {}).get("description") or d.get("text")
            raise InPageError(f"the in-page check threw: {text}")
        return result["result"].get("value")

    def send(self, method: str, params: dict[str, Any] | None = None, **kw: Any) -> dict[str, Any]:
        return self.browser.send(method, params, session=self.session, **kw)

    def _events(self, until: float, stop: str | None = None) -> list[dict[str, Any]]:
        """Drain this tab's events until ``until`` (monotonic) or, if given, the event ``stop``."""
        got = []
        while True:
            left = until - time.monotonic()
            if left <= 0:
                return got
            try:
                event = self.browser.events.get(timeout=min(left, 0.25))
            except queue.Empty:
                continue
            if event.get("sessionId") != self.session:
                continue
            got.append(event)
            if stop and event["method"] == stop:
                return got

    def visit(self, url: str, timeout: float) -> tuple[dict[str, Any], list[str]]:
        """Load ``url``, run the in-page check, and return (its result, console/network problems)."""
        while not self.browser.events.empty():  # drop what the previous page left behind
            self.browser.events.get_nowait()
        events: list[dict[str, Any]] = []
        nav = self.send("Page.navigate", {"url": url})
        if nav.get("errorText"):
            return {}, [f"navigation failed: {nav['errorText']}"]
        deadline = time.monotonic() + timeout
        events += self._events(deadline, stop="Page.loadEventFired")
        if not any(e["method"] == "Page.loadEventFired" for e in events):
            return {}, [f"the page did not finish loading within {timeout:.0f} s"]
        result = self.send(
            "Runtime.evaluate",
            {"expression": PAGE_CHECK_JS, "awaitPromise": True, "returnByValue": True},
            timeout=timeout,
        )
        if "exceptionDetails" in result:
            return {}, [f"the in-page check threw: {result['exceptionDetails'].get('text')}"]
        # Let late requests (fonts, MathJax extensions) finish and be seen.
        events += self._quiet(events, deadline)
        return result["result"]["value"], problems_from_events(events)

    def _quiet(self, seen: list[dict[str, Any]], deadline: float) -> list[dict[str, Any]]:
        pending = _pending_requests(seen)
        more: list[dict[str, Any]] = []
        idle_since = time.monotonic()
        while time.monotonic() < min(deadline, idle_since + 10):
            batch = self._events(time.monotonic() + 0.3)
            more += batch
            pending = _pending_requests(seen + more)
            if batch:
                idle_since = time.monotonic()
            elif not pending:
                break
        return more

    def screenshot(self, path: Path, *, full_page: bool = False, width: int = DESKTOP_WIDTH) -> None:
        """Save a PNG of the viewport (1280 x 900, or a phone's), or of the whole page's height."""
        phone = width < 800
        metrics = {"width": width, "height": 844 if phone else 900, "deviceScaleFactor": 1, "mobile": phone}
        self.send("Emulation.setDeviceMetricsOverride", metrics)
        if full_page:
            height = self.send("Page.getLayoutMetrics")["cssContentSize"]["height"]
            self.send("Emulation.setDeviceMetricsOverride", {**metrics, "height": int(min(height, 16000))})
        try:
            data = self.send("Page.captureScreenshot", {"format": "png"})["data"]
        finally:
            self.set_viewport(DESKTOP_WIDTH)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))


def _pending_requests(events: list[dict[str, Any]]) -> set[str]:
    started = {e["params"]["requestId"] for e in events if e["method"] == "Network.requestWillBeSent"}
    ended = {
        e["params"]["requestId"] for e in events if e["method"] in ("Network.loadingFinished", "Network.loadingFailed")
    }
    return started - ended


def problems_from_events(events: list[dict[str, Any]]) -> list[str]:
    """Console errors, uncaught exceptions, failed or external requests, from DevTools events."""
    problems = []
    urls: dict[str, str] = {}
    for e in events:
        method, p = e["method"], e.get("params", {})
        if method == "Network.requestWillBeSent":
            url = p["request"]["url"]
            urls[p["requestId"]] = url
            if not is_local_url(url):
                problems.append(f"request to a remote host (the book must work offline): {url}")
        elif method == "Network.responseReceived":
            status = p["response"]["status"]
            if urlsplit(p["response"]["url"]).path == "/favicon.ico" and p.get("type") == "Other":
                continue  # the browser's own guess at a site icon, not something the page asked for
            if status >= 400:
                problems.append(f"HTTP {status} for {p['response']['url']}")
        elif method == "Network.loadingFailed" and not p.get("canceled"):
            url = urls.get(p["requestId"], p["requestId"])
            if is_local_url(url):  # remote ones are reported above already
                problems.append(f"request failed ({p.get('errorText')}): {url}")
        elif method == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in p.get("args", []))
            problems.append(f"console.{p['type']}: {text[:300]}")
        elif method == "Runtime.exceptionThrown":
            d = p["exceptionDetails"]
            text = d.get("exception", {}).get("description") or d.get("text")
            problems.append(f"uncaught exception: {str(text)[:300]}")
        elif method == "Log.entryAdded" and p["entry"]["level"] == "error":
            entry = p["entry"]
            # A failed request is also logged here; the Network events above already report it.
            if entry.get("source") == "network" and entry.get("url"):
                continue
            problems.append(
                f"console error ({entry.get('source')}): {entry['text'][:300]} {entry.get('url', '')}".strip()
            )
    return list(dict.fromkeys(problems))


def check_page(
    tab: Tab, site: Path, base_url: str, page: Path, timeout: float, rules: Rules = Rules(), *, landing: bool = False
) -> PageResult:
    """Load one page and apply every check to it (see the module docstring)."""
    start = time.monotonic()
    result = PageResult(page.as_posix())
    target = redirect_target(site / page)
    if target is not None:
        # A redirect stub (the root index.html): the browser would leave it at once, so only
        # its target is checked here; the target is checked as a page of its own.
        result.problems += check_internal_links(site, page, [target], rules)
        result.links = 1
        result.seconds = time.monotonic() - start
        return result
    value, problems = tab.visit(base_url + page.as_posix(), timeout)
    result.problems += problems
    if value:
        result.images = value["images"]
        result.math = value["math"]
        result.links = len(value["links"])
        result.problems += [f"image did not load: {src}" for src in value["bad_images"]]
        if value["math"] and value["mathjax"] != "done":
            result.problems.append(f"MathJax did not finish ({value['mathjax']})")
        result.problems += [f"math not rendered: {t!r}" for t in value["unrendered"][:10]]
        if len(value["unrendered"]) > 10:
            result.problems.append(f"... and {len(value['unrendered']) - 10} more unrendered math elements")
        result.problems += [f"MathJax error: {t!r}" for t in value["merrors"]]
        result.problems += [f"raw TeX left in the text: {t!r}" for t in value["raw_tex"][:10]]
        result.problems += check_internal_links(site, page, value["links"], rules)
        result.problems += download_problems(site, page, rules)
        try:
            result.problems += book_checks(tab, rules, landing=landing, timeout=timeout, result=result)
        except InPageError as exc:
            result.problems.append(str(exc))
        finally:
            tab.set_viewport(DESKTOP_WIDTH)
    result.seconds = time.monotonic() - start
    return result


def book_checks(tab: Tab, rules: Rules, *, landing: bool, timeout: float, result: PageResult) -> list[str]:
    """The reader-facing checks of one loaded page: images (alt text, widths at 1280 px), the
    landing page's visible code, the explorable's slider test, the phone layout."""
    layout = tab.evaluate(LAYOUT_JS, timeout)
    problems = image_problems(layout["images"], rules)
    if landing:
        problems += code_cell_problems(layout["code_cells"])
    result.explorables = layout["explorables"]
    if layout["explorables"]:
        problems += explorable_problems(tab.evaluate(EXPLORABLE_JS, timeout))
    tab.set_viewport(rules.phone_width)
    phone, warnings = phone_problems(tab.evaluate(PHONE_JS, timeout))
    result.warnings += warnings
    return problems + phone


def landing_page(site: Path) -> Path:
    """The page the site opens on: the root index.html, following its redirect if it is a stub."""
    index = Path("index.html")
    target = redirect_target(site / index) if (site / index).is_file() else None
    if target:
        resolved = internal_target(site, index, target)
        if resolved and resolved[0].is_file():
            return resolved[0].relative_to(site)
    return index


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("site", nargs="?", default=str(ROOT / "_build" / "html"), help="the built site")
    ap.add_argument("--out", default=str(ROOT / "_build" / "check"), help="where the screenshot and report go")
    ap.add_argument("--chromium", default=os.environ.get("CHROMIUM", DEFAULT_CHROMIUM))
    ap.add_argument("--no-install", action="store_true", help="do not apt-get install a missing Chromium")
    ap.add_argument(
        "--install-only",
        action="store_true",
        help=f"only make sure Chromium is there (apt-get install {' '.join(APT_PACKAGES)}), then exit",
    )
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds allowed per page")
    ap.add_argument(
        "--only",
        metavar="GLOB",
        action="append",
        help="check only pages whose path matches GLOB (repeatable), e.g. 'book/intro*'",
    )
    ap.add_argument(
        "--shots", action="store_true", help="also save a full-page screenshot of every checked page under <out>/pages/"
    )
    ap.add_argument(
        "--max-natural-ratio",
        type=float,
        default=MAX_NATURAL_RATIO,
        metavar="F",
        help=f"an image's natural width may be at most F x the content column (default {MAX_NATURAL_RATIO:g})",
    )
    ap.add_argument(
        "--download-pages",
        default=DOWNLOAD_PAGES,
        metavar="REGEX",
        help="pages (path in the site) that must offer a CSV download "
        f"(default {DOWNLOAD_PAGES!r}: e<digit>... and verdicts)",
    )
    ap.add_argument(
        "--no-require-explorable",
        action="store_true",
        help=f"do not require a page with the explorable schedule ({EXPLORABLE})",
    )
    ap.add_argument("--phone-width", type=int, default=PHONE_WIDTH, help="the phone viewport width (px)")
    ap.add_argument(
        "--pdf-name", default=PDF_NAME, help="the book's PDF at the site root that the .pdf button links (for the hint)"
    )
    args = ap.parse_args(argv)
    try:
        re.compile(args.download_pages)
    except re.error as exc:
        ap.error(f"--download-pages {args.download_pages!r} is not a regular expression ({exc})")
    if not args.max_natural_ratio > 0:
        ap.error(f"--max-natural-ratio must be > 0, got {args.max_natural_ratio}")

    if args.install_only:
        try:
            print(f"[check-book] Chromium: {ensure_chromium(args.chromium, install=not args.no_install)}")
        except CheckError as exc:
            print(f"[check-book] {exc}", file=sys.stderr)
            return 2
        return 0
    site = Path(args.site).resolve()
    out = Path(args.out)
    if not (site / "index.html").is_file():
        print(f"[check-book] no built site at {site} (index.html missing); run `make book` first", file=sys.stderr)
        return 2
    landing = landing_page(site)
    pages = [p for p in site_pages(site) if not args.only or any(fnmatch.fnmatch(p.as_posix(), g) for g in args.only)]
    if not pages:
        print(f"[check-book] no page of {site} matches {args.only}", file=sys.stderr)
        return 2
    try:
        chromium = ensure_chromium(args.chromium, install=not args.no_install)
    except CheckError as exc:
        print(f"[check-book] {exc}", file=sys.stderr)
        return 2

    rules = Rules(
        max_natural_ratio=args.max_natural_ratio,
        download_pages=args.download_pages,
        require_explorable=not args.no_require_explorable and not args.only,
        phone_width=args.phone_width,
        pdf_name=args.pdf_name,
        glue_keys=glue_keys(site),
    )
    if landing in pages:
        (out / "landing.png").unlink(missing_ok=True)  # never report a stale screenshot
    start = time.monotonic()
    browser = Browser(chromium, timeout=args.timeout)  # started before the server thread exists
    server, base_url = serve(site)
    results: list[PageResult] = []
    try:
        tab = Tab(browser)
        print(f"[check-book] {len(pages)} pages in {site}, served at {base_url}", flush=True)
        for page in pages:
            result = check_page(tab, site, base_url, page, args.timeout, rules, landing=page == landing)
            results.append(result)
            status = "ok" if not result.problems else f"{len(result.problems)} problem(s)"
            if result.warnings:
                status += f", {len(result.warnings)} warning(s)"
            print(
                f"[check-book] {result.page}: {status} ({result.images} images, {result.math} math, "
                f"{result.seconds:.1f} s)",
                flush=True,
            )
            if page == landing:
                tab.screenshot(out / "landing.png")
                tab.screenshot(out / "landing-phone.png", width=rules.phone_width)
            if args.shots and redirect_target(site / page) is None:
                tab.screenshot(out / "pages" / (page.as_posix().replace("/", "__") + ".png"), full_page=True)
    except CheckError as exc:
        print(f"[check-book] the check could not finish: {exc}", file=sys.stderr)
        return 2
    finally:
        browser.close()
        server.shutdown()
        server.server_close()

    failed = [r for r in results if r.problems]
    site_problems = []
    if rules.require_explorable and not any(r.explorables for r in results):
        site_problems.append(
            f"no page has the explorable schedule ({EXPLORABLE}); embed it with the "
            "depthinit-explorable directive (or pass --no-require-explorable)"
        )
    out.mkdir(parents=True, exist_ok=True)
    report = {
        "site": str(site),
        "pages": len(results),
        "failed_pages": len(failed),
        "site_problems": site_problems,
        "warnings": sum(len(r.warnings) for r in results),
        "rules": {
            "max_natural_ratio": rules.max_natural_ratio,
            "download_pages": rules.download_pages,
            "require_explorable": rules.require_explorable,
            "phone_width": rules.phone_width,
            "desktop_width": DESKTOP_WIDTH,
            "glue_keys": len(rules.glue_keys),
        },
        "landing": landing.as_posix(),
        "screenshot": str(out / "landing.png"),
        "seconds": round(time.monotonic() - start, 1),
        "results": [r.__dict__ for r in results],
    }
    (out / "report.json").write_text(json.dumps(report, indent=2))
    totals = (sum(r.images for r in results), sum(r.math for r in results), sum(r.links for r in results))
    shot = f"; landing page {landing.as_posix()} -> {out / 'landing.png'}" if landing in pages else ""
    print(
        f"[check-book] checked {len(results)} pages in {report['seconds']} s: {totals[0]} images, "
        f"{totals[1]} math elements, {totals[2]} links{shot}"
    )
    if landing in pages and not (out / "landing.png").is_file():
        print(f"[check-book] FAILED: no screenshot of the landing page {landing.as_posix()}", file=sys.stderr)
        return 1
    warned = [r for r in results if r.warnings]
    if warned:
        print(f"[check-book] warnings (reported, not failed) on {len(warned)} page(s):")
        for r in warned:
            print(f"  {r.page}")
            for warning in r.warnings:
                print(f"    - {warning}")
    for problem in site_problems:
        print(f"[check-book] FAILED: {problem}", file=sys.stderr)
    if failed:
        print(f"[check-book] FAILED: {len(failed)} of {len(results)} pages have problems:", file=sys.stderr)
        for r in failed:
            print(f"  {r.page}", file=sys.stderr)
            for problem in r.problems:
                print(f"    - {problem}", file=sys.stderr)
        return 1
    if site_problems:
        return 1
    print(f"[check-book] all {len(results)} pages passed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
