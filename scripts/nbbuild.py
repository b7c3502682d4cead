"""Write a notebook source from a compact Python description (used by developers
to author chapters; not needed to build the book).

A spec file is Python that defines CELLS: a list of (kind, source, tags) with kind
"md" or "code". The parameters cell is added first automatically.
Usage: python scripts/nbbuild.py spec.py notebooks/NAME.ipynb
"""

from __future__ import annotations

import runpy
import sys

import nbformat as nbf


def build(cells: list[tuple], path: str) -> None:
    nb = nbf.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    out = [
        nbf.v4.new_code_cell(
            'profile = "default"  # smoke | default | paper', metadata={"tags": ["parameters", "remove-cell"]}
        )
    ]
    for kind, source, *rest in cells:
        tags = rest[0] if rest else []
        meta = {"tags": list(tags)} if tags else {}
        cell = (
            nbf.v4.new_markdown_cell(source.strip("\n"), metadata=meta)
            if kind == "md"
            else nbf.v4.new_code_cell(source.strip("\n"), metadata=meta)
        )
        out.append(cell)
    nb.cells = out
    nbf.write(nb, path)


if __name__ == "__main__":
    spec = runpy.run_path(sys.argv[1])
    build(spec["CELLS"], sys.argv[2])
