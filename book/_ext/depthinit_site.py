"""Sphinx extension: the book's own styles, the explorable schedule and the PDF button.

Loaded from _config.yml (``sphinx: local_extensions``). It

* adds ``_static/depthinit.css`` (verdict colours, figures at most the content width,
  tables that scroll inside their wrapper on a phone) and
  ``_static/depthinit-explorable.js`` (the explorable depth schedule) to every page;
  both are served from the site, nothing from a CDN;
* defines the ``depthinit-explorable`` directive, which writes the widget's markup::

      ```{depthinit-explorable}
      :v: 22
      :l: 54
      :offset: 0
      :depth-fn: log
      ```

  (every option optional; ``:shape:`` sets p of the power reading or r of the geometric
  one). The same widget can be written as raw HTML:
  ``<div class="depthinit-explorable" data-v="22" data-l="54" data-offset="0"
  data-depth-fn="log"></div>``;
* gives every image inside a figure that has no alt text its figure's caption as alt text
  (``{glue:figure}`` with a caption, ``{figure}``); an image with neither keeps docutils'
  default (its path), which ``make check-book`` reports;
* points the theme's ".pdf" download button, which calls ``window.print()``, at the
  whole book's PDF (``depthinit_pdf``, default ``depthinit.pdf`` at the site root, written
  there by ``make pdf``); ``depthinit_pdf = ""`` removes the button instead.

``scripts/check_book.py`` (``make check-book``) checks the result in a browser: the
explorable answers a slider change, the PDF link resolves.
"""

from __future__ import annotations

import html
import math
import re
from typing import Any

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

CSS = "depthinit.css"
JS = "depthinit-explorable.js"
DEPTH_FNS = ("log", "power", "linear", "geometric")


def _positive(value: str | None) -> str:
    number = float(directives.unchanged_required(value))
    if not (math.isfinite(number) and number > 0):
        raise ValueError(f"{value!r} is not a finite number > 0")
    return repr(number)


def _non_negative(value: str | None) -> str:
    number = float(directives.unchanged_required(value))
    if not (math.isfinite(number) and number >= 0):
        raise ValueError(f"{value!r} is not a finite number >= 0")
    return repr(number)


def _depth(value: str | None) -> str:
    number = directives.positive_int(value)
    if not 2 <= number <= 200:
        raise ValueError(f"L={number} is outside the explorable's range 2..200")
    return str(number)


def _depth_fn(value: str | None) -> str:
    return directives.choice(value, DEPTH_FNS)


class ExplorableDirective(SphinxDirective):
    """``{depthinit-explorable}``: the interactive depth schedule (options give its start)."""

    has_content = False
    option_spec = {  # noqa: RUF012 - the Sphinx directive API
        "v": _positive,
        "l": _depth,
        "offset": _non_negative,
        "depth-fn": _depth_fn,
        "shape": _positive,
    }

    def run(self) -> list[nodes.Node]:
        attrs = "".join(f' data-{key}="{html.escape(value)}"' for key, value in sorted(self.options.items()))
        markup = (
            f'<div class="depthinit-explorable"{attrs}>'
            "<noscript>The explorable depth schedule needs JavaScript.</noscript></div>"
        )
        return [nodes.raw("", markup, format="html")]


GREEK = {
    name: chr(code)
    for name, code in (
        ("alpha", 0x3B1),
        ("beta", 0x3B2),
        ("gamma", 0x3B3),
        ("delta", 0x3B4),
        ("epsilon", 0x3B5),
        ("eta", 0x3B7),
        ("theta", 0x3B8),
        ("lambda", 0x3BB),
        ("mu", 0x3BC),
        ("nu", 0x3BD),
        ("pi", 0x3C0),
        ("rho", 0x3C1),
        ("sigma", 0x3C3),
        ("tau", 0x3C4),
        ("phi", 0x3C6),
        ("chi", 0x3C7),
        ("psi", 0x3C8),
        ("omega", 0x3C9),
        ("Delta", 0x394),
        ("Sigma", 0x3A3),
        ("Pi", 0x3A0),
        ("prod", 0x220F),
        ("sum", 0x2211),
        ("le", 0x2264),
        ("leq", 0x2264),
        ("ge", 0x2265),
        ("geq", 0x2265),
        ("times", 0xD7),
        ("cdot", 0xB7),
        ("approx", 0x2248),
        ("infty", 0x221E),
        ("to", 0x2192),
        ("sqrt", 0x221A),
    )
}


def plain_math(tex: str) -> str:
    """TeX as readable text for alt text: Greek letters and a few operators as Unicode, other
    commands by name (``\\ln`` -> ``ln``), no braces or backslashes."""
    text = re.sub(r"\\([A-Za-z]+)", lambda m: GREEK.get(m.group(1), m.group(1)), tex)
    text = re.sub(r"\\[,;:! ]", " ", text)
    return " ".join(text.replace("{", "").replace("}", "").replace("\\", " ").split())


def caption_text(caption: nodes.Element) -> str:
    """A caption's text with its math made readable (see :func:`plain_math`)."""
    parts = []
    for node in caption.findall(lambda n: isinstance(n, (nodes.Text, nodes.math))):
        if isinstance(node, nodes.math):
            parts.append(plain_math(node.astext()))
        elif not any(isinstance(a, nodes.math) for a in _ancestors(node)):
            parts.append(str(node))
    return " ".join("".join(parts).split())


def _ancestors(node: nodes.Node):
    parent = node.parent
    while parent is not None:
        yield parent
        parent = parent.parent


def alt_from_caption(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """Alt text from the figure's caption for images that have none."""
    for image in doctree.findall(nodes.image):
        if image.get("alt"):
            continue
        figure = image.parent
        while figure is not None and not isinstance(figure, nodes.figure):
            figure = figure.parent
        caption = figure.next_node(nodes.caption) if figure is not None else None
        text = caption_text(caption) if caption is not None else ""
        if text:
            image["alt"] = text


def pdf_button(app: Sphinx, pagename: str, templatename: str, context: dict, doctree: Any) -> None:
    """Point the theme's print-to-PDF button at the book's PDF, or drop it."""
    target = app.config.depthinit_pdf
    for group in context.get("header_buttons", []):
        buttons = group.get("buttons")
        if not isinstance(buttons, list):
            continue
        kept = []
        for button in buttons:
            if button.get("label") != "download-pdf-button":
                kept.append(button)
                continue
            if target:
                kept.append(
                    {
                        "type": "link",
                        "url": context["pathto"](target, 1),
                        "text": ".pdf",
                        "tooltip": "Download the whole book as PDF",
                        "icon": "fas fa-file-pdf",
                        "label": "download-pdf-button",
                    }
                )
        buttons[:] = kept


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_config_value("depthinit_pdf", "depthinit.pdf", "html", types=[str])
    app.add_css_file(CSS)
    app.add_js_file(JS, loading_method="defer")
    app.add_directive("depthinit-explorable", ExplorableDirective)
    app.connect("doctree-resolved", alt_from_caption)
    app.connect("html-page-context", pdf_button, priority=600)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
