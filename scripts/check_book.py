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

The site is served from 127.0.0.1 by Python's http.server in a thread; Chromium
is driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``), so
nothing beyond the Python standard library and Debian's ``chromium`` package is
needed. When ``/usr/bin/chromium`` is missing and we are root, it is installed
with apt-get (``--no-install`` turns that off). A screenshot of the landing page
is saved to ``<out>/landing.png`` and a JSON report to ``<out>/report.json``.

Usage: python scripts/check_book.py [_build/html] [--out _build/check]
       [--chromium /usr/bin/chromium] [--no-install] [--timeout 60]
       [--only GLOB ...] [--shots]

Exit status: 0 when every page passes, 1 when any check fails, 2 when the check
could not run (no built site, no browser).
"""

from __future__ import annotations

import argparse
import base64
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
from pathlib import Path
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


# ----------------------------------------------------------------------------
# The site on disk: pages, anchors, internal links (pure Python, unit-tested).
# ----------------------------------------------------------------------------


def site_pages(site: Path) -> list[Path]:
    """Every HTML page of the built site, relative to ``site``, sorted; asset folders excluded."""
    pages = [
        p.relative_to(site)
        for p in site.rglob("*.html")
        if p.relative_to(site).parts[0] not in ASSET_DIRS
    ]
    return sorted(pages, key=lambda p: p.as_posix())


class _PageParser(html.parser.HTMLParser):
    """Collects the ids/names a page defines and the same-site URLs it refers to."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.anchors: set[str] = set()
        self.refs: list[str] = []
        self.refresh: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: (v or "") for k, v in attrs}
        if "id" in a:
            self.anchors.add(a["id"])
        if tag == "a" and "name" in a:
            self.anchors.add(a["name"])
        if tag in ("a", "link") and "href" in a:
            self.refs.append(a["href"])
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


def check_internal_links(site: Path, page: Path, hrefs: list[str]) -> list[str]:
    """Problems with the same-site links of ``page``: missing files and missing anchors."""
    problems = []
    seen = set()
    for href in hrefs:
        if href in seen:
            continue
        seen.add(href)
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
            problems.append(f"broken link {href!r}: {target.relative_to(site).as_posix()} is not in the build")
            continue
        if fragment and target.suffix == ".html" and fragment not in parse_page(target).anchors:
            problems.append(
                f"broken anchor {href!r}: {target.relative_to(site).as_posix()} has no id {fragment!r}"
            )
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
# Serving the site and driving Chromium.
# ----------------------------------------------------------------------------


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
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
                ["/bin/bash", "-c", f'exec "$@" 3<&{child_in} 4>&{child_out} {child_in}<&- {child_out}>&-',
                 "chromium", *args],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, pass_fds=(child_in, child_out),
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

    def send(self, method: str, params: dict[str, Any] | None = None, *, session: str | None = None,
             timeout: float | None = None) -> dict[str, Any]:
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


@dataclass
class PageResult:
    page: str
    problems: list[str] = field(default_factory=list)
    images: int = 0
    math: int = 0
    links: int = 0
    seconds: float = 0.0


class Tab:
    """One browser tab with its event stream sorted into console errors and requests."""

    def __init__(self, browser: Browser) -> None:
        self.browser = browser
        target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(f"{domain}.enable")
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": False})
        self.send("Network.setCacheDisabled", {"cacheDisabled": True})

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
        result = self.send("Runtime.evaluate",
                           {"expression": PAGE_CHECK_JS, "awaitPromise": True, "returnByValue": True},
                           timeout=timeout)
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

    def screenshot(self, path: Path, *, full_page: bool = False) -> None:
        """Save a PNG of the viewport (1280 x 900), or of the whole page's height."""
        metrics = {"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": False}
        if full_page:
            height = self.send("Page.getLayoutMetrics")["cssContentSize"]["height"]
            self.send("Emulation.setDeviceMetricsOverride", {**metrics, "height": int(min(height, 16000))})
        try:
            data = self.send("Page.captureScreenshot", {"format": "png"})["data"]
        finally:
            if full_page:
                self.send("Emulation.setDeviceMetricsOverride", metrics)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))


def _pending_requests(events: list[dict[str, Any]]) -> set[str]:
    started = {e["params"]["requestId"] for e in events if e["method"] == "Network.requestWillBeSent"}
    ended = {e["params"]["requestId"] for e in events
             if e["method"] in ("Network.loadingFinished", "Network.loadingFailed")}
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
            problems.append(f"console error ({entry.get('source')}): {entry['text'][:300]} {entry.get('url', '')}".strip())
    return list(dict.fromkeys(problems))


def check_page(tab: Tab, site: Path, base_url: str, page: Path, timeout: float) -> PageResult:
    start = time.monotonic()
    result = PageResult(page.as_posix())
    target = redirect_target(site / page)
    if target is not None:
        # A redirect stub (the root index.html): the browser would leave it at once, so only
        # its target is checked here; the target is checked as a page of its own.
        result.problems += check_internal_links(site, page, [target])
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
        result.problems += check_internal_links(site, page, value["links"])
    result.seconds = time.monotonic() - start
    return result


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
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds allowed per page")
    ap.add_argument("--only", metavar="GLOB", action="append",
                    help="check only pages whose path matches GLOB (repeatable), e.g. 'book/intro*'")
    ap.add_argument("--shots", action="store_true",
                    help="also save a full-page screenshot of every checked page under <out>/pages/")
    args = ap.parse_args(argv)

    site = Path(args.site).resolve()
    out = Path(args.out)
    if not (site / "index.html").is_file():
        print(f"[check-book] no built site at {site} (index.html missing); run `make book` first", file=sys.stderr)
        return 2
    landing = landing_page(site)
    pages = [p for p in site_pages(site)
             if not args.only or any(fnmatch.fnmatch(p.as_posix(), g) for g in args.only)]
    if not pages:
        print(f"[check-book] no page of {site} matches {args.only}", file=sys.stderr)
        return 2
    try:
        chromium = ensure_chromium(args.chromium, install=not args.no_install)
    except CheckError as exc:
        print(f"[check-book] {exc}", file=sys.stderr)
        return 2

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
            result = check_page(tab, site, base_url, page, args.timeout)
            results.append(result)
            status = "ok" if not result.problems else f"{len(result.problems)} problem(s)"
            print(f"[check-book] {result.page}: {status} ({result.images} images, {result.math} math, "
                  f"{result.seconds:.1f} s)", flush=True)
            if page == landing:
                tab.screenshot(out / "landing.png")
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
    out.mkdir(parents=True, exist_ok=True)
    report = {
        "site": str(site),
        "pages": len(results),
        "failed_pages": len(failed),
        "landing": landing.as_posix(),
        "screenshot": str(out / "landing.png"),
        "seconds": round(time.monotonic() - start, 1),
        "results": [r.__dict__ for r in results],
    }
    (out / "report.json").write_text(json.dumps(report, indent=2))
    totals = (sum(r.images for r in results), sum(r.math for r in results), sum(r.links for r in results))
    shot = f"; landing page {landing.as_posix()} -> {out / 'landing.png'}" if landing in pages else ""
    print(f"[check-book] checked {len(results)} pages in {report['seconds']} s: {totals[0]} images, "
          f"{totals[1]} math elements, {totals[2]} links{shot}")
    if landing in pages and not (out / "landing.png").is_file():
        print(f"[check-book] FAILED: no screenshot of the landing page {landing.as_posix()}", file=sys.stderr)
        return 1
    if failed:
        print(f"[check-book] FAILED: {len(failed)} of {len(results)} pages have problems:", file=sys.stderr)
        for r in failed:
            print(f"  {r.page}", file=sys.stderr)
            for problem in r.problems:
                print(f"    - {problem}", file=sys.stderr)
        return 1
    print(f"[check-book] all {len(results)} pages passed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
