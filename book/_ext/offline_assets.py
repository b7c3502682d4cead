"""Sphinx extension: keep the built book's pages offline and free of console errors.

Loaded from _config.yml (``sphinx: local_extensions``). Two fixes, applied to each
page's script and stylesheet lists just before it is written:

* Inline scripts added with ``app.add_js_file(None, body=...)`` appear twice
  under Sphinx 7.4 (the builder registers them once as ``None`` and once as
  ``''``); sphinx-thebe's ``const THEBE_JS_URL = ...`` then throws
  "Identifier 'THEBE_JS_URL' has already been declared" on every page.
  Duplicate inline scripts are dropped.
* With the thebe launch button off (``launch_buttons: thebe: false``), sphinx-thebe's
  config script, loader and stylesheet are dropped as well: they only point the
  browser at unpkg.com, and the book must work with no network.

``scripts/check_book.py`` (``make check-book``) verifies the result in a browser.
"""

from __future__ import annotations

from typing import Any

from sphinx.application import Sphinx

THEBE_MARKERS = ("sphinx-thebe.js", "sphinx-thebe.css", "THEBE_JS_URL")


def _thebe_enabled(app: Sphinx) -> bool:
    options = app.config.html_theme_options or {}
    return bool(options.get("launch_buttons", {}).get("thebe"))


def _mentions_thebe(asset: Any) -> bool:
    text = f"{asset.filename or ''} {asset.attributes.get('body', '')}"
    return any(marker in text for marker in THEBE_MARKERS)


def clean_assets(app: Sphinx, pagename: str, templatename: str, context: dict, doctree: Any) -> None:
    """Drop duplicate inline scripts (and thebe's assets when thebe is off) from one page."""
    drop_thebe = not _thebe_enabled(app)
    for key in ("script_files", "css_files"):
        assets = context.get(key)
        if not isinstance(assets, list):
            continue
        seen: set[tuple] = set()
        kept = []
        for asset in assets:
            if not hasattr(asset, "attributes"):
                kept.append(asset)
                continue
            if drop_thebe and _mentions_thebe(asset):
                continue
            ident = (asset.filename or "", asset.priority, tuple(sorted(asset.attributes.items())))
            if ident in seen:
                continue
            seen.add(ident)
            kept.append(asset)
        assets[:] = kept  # the builder restores its own list after each page


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("html-page-context", clean_assets, priority=900)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
