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
* points the theme's ".pdf" download button, which calls ``window.print()``, at the
  whole book's PDF (``depthinit_pdf``, default ``depthinit.pdf`` at the site root, written
  there by ``make pdf``); ``depthinit_pdf = ""`` removes the button instead.

``scripts/check_book.py`` (``make check-book``) checks the result in a browser: the
explorable answers a slider change, the PDF link resolves.
"""

from __future__ import annotations

import html
import math
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
    option_spec = {
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
                kept.append({
                    "type": "link",
                    "url": context["pathto"](target, 1),
                    "text": ".pdf",
                    "tooltip": "Download the whole book as PDF",
                    "icon": "fas fa-file-pdf",
                    "label": "download-pdf-button",
                })
        buttons[:] = kept


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_config_value("depthinit_pdf", "depthinit.pdf", "html", types=[str])
    app.add_css_file(CSS)
    app.add_js_file(JS, loading_method="defer")
    app.add_directive("depthinit-explorable", ExplorableDirective)
    app.connect("html-page-context", pdf_button, priority=600)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
