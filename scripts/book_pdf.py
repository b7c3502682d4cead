"""Print the built book to one PDF with headless Chromium, offline.

The pages are taken in the book's order: from the landing page, following each page's
"next" link (``a.right-next``, the theme's footer). In one tab on the landing page,
served from 127.0.0.1, the script fetches every page, moves each page's article into one
document (a page break before each chapter; ids prefixed so that links between chapters
become links inside the PDF; images and other links made absolute), typesets the math
with the site's own MathJax, draws the explorable figures, and prints the document with
DevTools ``Page.printToPDF`` (A4, page numbers in the footer, a PDF outline of the
headings). Nothing is fetched from outside: the browser resolves no host name but the
local server's, as in ``scripts/check_book.py``, whose Browser, Tab and server it uses.

The PDF goes to ``_build/pdf/depthinit.pdf`` and is copied to the site's root as
``depthinit.pdf``, the target of the site's ".pdf" button (``depthinit_pdf`` in
_config.yml; book/_ext/depthinit_site.py).

Usage: python scripts/book_pdf.py [_build/html] [--out _build/pdf/depthinit.pdf]
       [--no-copy] [--chromium /usr/bin/chromium] [--no-install] [--timeout 300]

Exit status: 0 when the PDF was written, 1 when a page could not be printed (a fetch
failed, math did not render), 2 when it could not run (no site, no browser).
"""

from __future__ import annotations

import argparse
import base64
import html
import json
import re
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import check_book as cb

ROOT = cb.ROOT
PDF_NAME = cb.PDF_NAME

# A4 in inches; margins leave room for the footer's page numbers.
PRINT_OPTIONS = {
    "paperWidth": 8.27,
    "paperHeight": 11.69,
    "marginTop": 0.55,
    "marginBottom": 0.65,
    "marginLeft": 0.6,
    "marginRight": 0.6,
    "printBackground": True,
    "displayHeaderFooter": True,
    "headerTemplate": "<span></span>",
    "footerTemplate": (
        '<div style="width: 100%; font-size: 8px; color: #555; text-align: center;">'
        '<span class="title"></span> &middot; <span class="pageNumber"></span> / '
        '<span class="totalPages"></span></div>'
    ),
    "generateDocumentOutline": True,
    "transferMode": "ReturnAsStream",
}


class PdfError(RuntimeError):
    """The book could not be printed (a page failed to load, math did not render)."""


def page_order(site: Path, landing: Path) -> list[Path]:
    """The book's pages in reading order: the landing page, then each page's ``a.right-next``.

    Stops at the last page, at a link out of the site or to a missing file, and at a page
    already taken (a cycle).
    """
    order = [landing]
    seen = {landing}
    while True:
        href = cb.parse_page(site / order[-1]).next
        if not href:
            return order
        resolved = cb.internal_target(site, order[-1], href)
        if resolved is None or not resolved[0].is_file():
            return order
        nxt = resolved[0].resolve().relative_to(site.resolve())
        if nxt in seen:
            return order
        seen.add(nxt)
        order.append(nxt)


# Runs on the landing page; argument: [{url, title}] in book order. Returns counts.
BUILD_JS = r"""
(async (pages, bookTitle) => {
  const article = document.querySelector("article.bd-article") || document.querySelector("main") || document.body;
  const where = new Map(pages.map((p, i) => [new URL(p.url).pathname, i]));
  const docs = [];
  for (const p of pages) {
    const r = await fetch(p.url);
    if (!r.ok) throw new Error(`HTTP ${r.status} for ${p.url}`);
    docs.push(new DOMParser().parseFromString(await r.text(), "text/html"));
  }
  const anchor = (i, id) => id ? `pdf-p${i}-${id}` : `pdf-p${i}`;
  const sections = [];
  // A cover with the book's title and its contents.
  const cover = document.createElement("section");
  cover.className = "depthinit-pdf-cover";
  const h = document.createElement("p");
  h.className = "depthinit-pdf-title";
  h.textContent = bookTitle;
  cover.appendChild(h);
  const toc = document.createElement("ol");
  docs.forEach((d, i) => {
    const li = document.createElement("li");
    const a = document.createElement("a");
    a.href = "#" + anchor(i);
    const h1 = d.querySelector("article h1, main h1, h1");
    a.textContent = (h1 ? h1.textContent : pages[i].title).replace(/[#¶]\s*$/, "").trim();
    li.appendChild(a);
    toc.appendChild(li);
  });
  cover.appendChild(toc);
  sections.push(cover);
  docs.forEach((d, i) => {
    const base = pages[i].url;
    const src = d.querySelector("article.bd-article") || d.querySelector("main") || d.body;
    const content = document.importNode(src, true);
    content.querySelectorAll("script, noscript, .headerlink, .prev-next-area, .prev-next-footer")
           .forEach((e) => e.remove());
    content.querySelectorAll("[id]").forEach((e) => { e.id = anchor(i, e.id); });
    content.querySelectorAll("[src]").forEach((e) => e.setAttribute("src", new URL(e.getAttribute("src"), base).href));
    content.querySelectorAll("a[href]").forEach((a) => {
      const u = new URL(a.getAttribute("href"), base);
      if (u.origin === location.origin && where.has(u.pathname)) {
        a.setAttribute("href", "#" + anchor(where.get(u.pathname), decodeURIComponent(u.hash.slice(1))));
      } else {
        a.setAttribute("href", u.href);
      }
    });
    const section = document.createElement("section");
    section.className = "depthinit-pdf-page";
    section.id = anchor(i);
    while (content.firstChild) section.appendChild(content.firstChild);
    sections.push(section);
  });
  article.replaceChildren(...sections);
  // The theme's print-only page header (the landing page's title and contents) is not the book's.
  document.querySelectorAll(".onlyprint, #jb-print-docs-body").forEach((e) => e.remove());
  document.title = bookTitle;
  // Math: the site's MathJax (loaded from a page that has it when the landing page has none).
  if (!(window.MathJax && window.MathJax.typesetPromise)) {
    for (let i = 0; i < docs.length; i++) {
      const scripts = Array.from(docs[i].querySelectorAll("script"))
        .filter((s) => /mathjax/i.test(s.getAttribute("src") || "") || /MathJax\s*=/.test(s.textContent));
      if (!scripts.some((s) => s.getAttribute("src"))) continue;
      for (const s of scripts) {
        const n = document.createElement("script");
        if (s.getAttribute("src")) {
          n.src = new URL(s.getAttribute("src"), pages[i].url).href;
          await new Promise((ok, fail) => {
            n.onload = ok;
            n.onerror = () => fail(new Error("MathJax did not load from " + n.src));
            document.head.appendChild(n);
          });
        } else {
          n.textContent = s.textContent;
          document.head.appendChild(n);
        }
      }
      break;
    }
  }
  const out = {pages: docs.length};
  if (window.MathJax && MathJax.startup) {
    await MathJax.startup.promise;
    await MathJax.typesetPromise([article]);
  }
  out.math = article.querySelectorAll(".math").length;
  out.unrendered = Array.from(article.querySelectorAll(".math")).filter((n) => !n.querySelector("mjx-container"))
                        .map((n) => n.textContent.trim().slice(0, 60)).slice(0, 10);
  if (window.depthinitExplorable) out.explorables = window.depthinitExplorable.initAll(article);
  const imgs = Array.from(article.querySelectorAll("img"));
  imgs.forEach((img) => { img.loading = "eager"; });
  await Promise.all(imgs.map((img) => img.complete ? null : new Promise((r) => {
    img.addEventListener("load", r, {once: true});
    img.addEventListener("error", r, {once: true});
    setTimeout(r, 15000);
  })));
  out.images = imgs.length;
  out.bad_images = imgs.filter((i) => !(i.complete && i.naturalWidth > 0)).map((i) => i.getAttribute("src"));
  return out;
})
"""


def book_title(site: Path, landing: Path) -> str:
    """The site's title: the landing page's <title> after its " — " (Sphinx's "page — project")."""
    text = (site / landing).read_text(encoding="utf-8", errors="replace")
    m = re.search(r"<title>(.*?)</title>", text, re.S)
    title = html.unescape(re.sub(r"\s+", " ", m.group(1)).strip()) if m else "The book"
    return title.split(" \u2014 ", 1)[1].strip() if " \u2014 " in title else title


def print_pdf(tab: cb.Tab, timeout: float) -> bytes:
    """Page.printToPDF of the tab's document, read back through the stream handle."""
    reply = tab.send("Page.printToPDF", PRINT_OPTIONS, timeout=timeout)
    if reply.get("data"):
        return base64.b64decode(reply["data"])
    handle, chunks = reply["stream"], []
    while True:
        part = tab.send("IO.read", {"handle": handle, "size": 1 << 20}, timeout=timeout)
        data = part.get("data", "")
        chunks.append(base64.b64decode(data) if part.get("base64Encoded") else data.encode("latin-1"))
        if part.get("eof"):
            break
    tab.send("IO.close", {"handle": handle})
    return b"".join(chunks)


def pdf_page_count(pdf: bytes) -> int:
    """The number of page objects in a PDF (``/Type /Page``, not ``/Pages``)."""
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf))


def build(site: Path, out: Path, *, chromium: str, timeout: float, copy: bool) -> dict:
    """Print ``site`` to ``out`` (and to ``site/depthinit.pdf`` with ``copy``); return a summary."""
    start = time.monotonic()
    landing = cb.landing_page(site)
    order = page_order(site, landing)
    title = book_title(site, landing)
    browser = cb.Browser(chromium, timeout=timeout)
    server, base_url = cb.serve(site)
    try:
        tab = cb.Tab(browser)
        tab.set_viewport(cb.DESKTOP_WIDTH)
        value, problems = tab.visit(base_url + landing.as_posix(), timeout)
        if problems and not value:
            raise PdfError(f"the landing page {landing.as_posix()} did not load: {problems}")
        pages = [{"url": base_url + p.as_posix(), "title": p.stem} for p in order]
        expression = f"({BUILD_JS})({json.dumps(pages)}, {json.dumps(title)})"
        try:
            merged = tab.evaluate(expression, timeout)
        except cb.InPageError as exc:
            raise PdfError(f"merging the pages failed: {exc}") from None
        if merged["unrendered"]:
            raise PdfError(f"math did not render in the PDF document: {merged['unrendered']}")
        if merged["bad_images"]:
            raise PdfError(f"images did not load: {merged['bad_images']}")
        pdf = print_pdf(tab, timeout)
    finally:
        browser.close()
        server.shutdown()
        server.server_close()
    if not pdf.startswith(b"%PDF-"):
        raise PdfError("Chromium did not return a PDF")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(pdf)
    if copy:
        shutil.copyfile(out, site / PDF_NAME)
    return {
        "pdf": str(out),
        "bytes": len(pdf),
        "pages_in_book": len(order),
        "pdf_pages": pdf_page_count(pdf),
        "math": merged["math"],
        "images": merged["images"],
        "explorables": merged.get("explorables", 0),
        "order": [p.as_posix() for p in order],
        "seconds": round(time.monotonic() - start, 1),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("site", nargs="?", default=str(ROOT / "_build" / "html"), help="the built site")
    ap.add_argument("--out", default=str(ROOT / "_build" / "pdf" / "depthinit.pdf"), help="the PDF to write")
    ap.add_argument("--no-copy", action="store_true", help=f"do not copy the PDF to <site>/{PDF_NAME}")
    ap.add_argument("--chromium", default=cb.DEFAULT_CHROMIUM)
    ap.add_argument("--no-install", action="store_true", help="do not apt-get install a missing Chromium")
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds allowed for each step")
    args = ap.parse_args(argv)

    site = Path(args.site).resolve()
    if not (site / "index.html").is_file():
        print(f"[book-pdf] no built site at {site} (index.html missing); run `make book` first", file=sys.stderr)
        return 2
    try:
        chromium = cb.ensure_chromium(args.chromium, install=not args.no_install)
    except cb.CheckError as exc:
        print(f"[book-pdf] {exc}", file=sys.stderr)
        return 2
    try:
        summary = build(site, Path(args.out), chromium=chromium, timeout=args.timeout, copy=not args.no_copy)
    except PdfError as exc:
        print(f"[book-pdf] FAILED: {exc}", file=sys.stderr)
        return 1
    except cb.CheckError as exc:
        print(f"[book-pdf] could not print: {exc}", file=sys.stderr)
        return 2
    print(
        f"[book-pdf] {summary['pages_in_book']} pages of the book -> {summary['pdf']} "
        f"({summary['pdf_pages']} PDF pages, {summary['bytes'] / 1e6:.1f} MB, {summary['math']} math, "
        f"{summary['images']} images) in {summary['seconds']} s"
    )
    if not args.no_copy:
        print(f"[book-pdf] copied to {site / PDF_NAME} (the site's .pdf button)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
