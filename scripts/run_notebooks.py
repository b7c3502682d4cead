"""Execute the book's notebooks with papermill, in the order the book needs.

Sources live in notebooks/ (committed without outputs); executed copies go to
book/_executed/ (ignored by git), which _toc.yml points at. Chapters whose
prose summarises the others (the landing page, the reproducibility appendix)
run last. Wall times are written to book/_executed/timings.json.

Usage: python scripts/run_notebooks.py [--profile default] [NAME ...]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "notebooks"
OUT = ROOT / "book" / "_executed"
RUN_LAST = ("index", "reproducibility")


def toc_notebooks() -> list[str]:
    """Names of the executed notebooks _toc.yml refers to, in book order."""
    text = (ROOT / "_toc.yml").read_text()
    names = re.findall(r"book/_executed/([A-Za-z0-9_\-]+)", text)
    missing = [n for n in names if not (SRC / f"{n}.ipynb").exists()]
    if missing:
        sys.exit(f"_toc.yml names notebooks with no source in notebooks/: {missing}")
    return sorted(names, key=lambda n: RUN_LAST.index(n) + 1 if n in RUN_LAST else 0)


def run_benchmark(profile: str) -> float:
    """Run `depthinit bench --json` into book/_executed/bench.json (the reproducibility
    appendix shows it); the smoke profile times fewer K. Returns its wall time."""
    import subprocess

    args = ["--mlp-k", "1,4", "--cnn-k", "1", "--min-time", "0.2"] if profile == "smoke" else []
    start = time.perf_counter()
    print(f"[book] benchmark {' '.join(args)}", flush=True)
    out = subprocess.run([sys.executable, "-m", "depthinit.bench", "--json", *args], cwd=ROOT,
                         check=True, capture_output=True, text=True).stdout
    (OUT / "bench.json").write_text(out)
    seconds = time.perf_counter() - start
    print(f"[book] benchmark: {seconds:.1f} s", flush=True)
    return round(seconds, 2)


def _hide_injected_parameters(path: Path) -> None:
    """Tag papermill's injected-parameters cell remove-cell, so the page does not show it."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        tags = cell.metadata.get("tags", [])
        if "injected-parameters" in tags and "remove-cell" not in tags:
            cell.metadata["tags"] = [*tags, "remove-cell"]
    nbformat.write(nb, path)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--profile", default="default", choices=["smoke", "default", "paper"])
    ap.add_argument("--no-bench", action="store_true",
                    help="do not run the CPU benchmark before the reproducibility appendix")
    ap.add_argument("names", nargs="*", help="run only these notebooks (default: all in _toc.yml)")
    args = ap.parse_args(argv)

    import papermill as pm

    names = args.names or toc_notebooks()
    OUT.mkdir(parents=True, exist_ok=True)
    timings_path = OUT / "timings.json"
    timings = json.loads(timings_path.read_text()) if timings_path.exists() else {}
    timings = {k: v for k, v in timings.items() if k in names} if not args.names else timings
    for name in names:
        if name == "reproducibility" and not args.no_bench:
            timings["benchmark"] = {"seconds": run_benchmark(args.profile), "profile": args.profile}
            timings_path.write_text(json.dumps(timings, indent=2))
        start = time.perf_counter()
        print(f"[book] executing {name} (profile {args.profile})", flush=True)
        pm.execute_notebook(
            str(SRC / f"{name}.ipynb"),
            str(OUT / f"{name}.ipynb"),
            parameters={"profile": args.profile},
            kernel_name="python3",
            cwd=str(ROOT),
            progress_bar=False,
        )
        seconds = time.perf_counter() - start
        _hide_injected_parameters(OUT / f"{name}.ipynb")
        timings[name] = {"seconds": round(seconds, 2), "profile": args.profile}
        timings_path.write_text(json.dumps(timings, indent=2))
        print(f"[book] {name}: {seconds:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
