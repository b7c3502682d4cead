"""The package as a product (issue 15): a light core install and the conventions of a PyPI package.

The slow test builds the wheel, installs it into a fresh venv beside torch and numpy only
(offline, from this machine's local wheels and indexes) and runs the README's library
example there. The fast ones check the metadata, the license, the citation and the pins.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

import depthinit

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

ROOT = Path(__file__).resolve().parents[1]
IN_CI = os.environ.get("CI", "").lower() == "true"
OPTIONAL = ("pandas", "scipy", "PIL", "tqdm", "sympy")  # import names the core install must not have
PAPER_TITLE = "Incorporating Each Layer Depth Information for Better Initialization Scheme"


# The README's library example, read from the README itself so that the test runs what it shows.
def _readme_example() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Use the library", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, flags=re.S)
    assert match, "README.md has no python block under '## Use the library'"
    return match.group(1)


README_EXAMPLE = _readme_example()

# The data layer of the core install: IDX reads without extras, the image reader names its extra.
CORE_DATA_CHECK = """
import gzip, sys
import numpy as np
import depthinit.data as dd
path = sys.argv[1]
open(path, "wb").write(gzip.compress(bytes([0, 0, 8, 1, 0, 0, 0, 3, 7, 8, 9])))
assert dd.read_idx(path).tolist() == [7, 8, 9]
try:
    dd.read_image_folder(path)
except ImportError as e:
    assert "depthinit[experiments]" in str(e), e
else:
    raise AssertionError("read_image_folder worked without Pillow")
print("core data ok")
"""


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def requirement_name(spec: str) -> str:
    name = re.split(r"[<>=!~;\[ ]", spec, maxsplit=1)[0]
    return re.sub(r"[-_.]+", "-", name).lower()


# ----------------------------------------------------------------------------- metadata


def test_core_dependencies_are_torch_and_numpy_and_extras_hold_the_rest():
    project = pyproject()["project"]
    assert {requirement_name(d) for d in project["dependencies"]} == {"torch", "numpy"}
    extras = {k: {requirement_name(d) for d in v} for k, v in project["optional-dependencies"].items()}
    assert extras["experiments"] >= {"pandas", "scipy", "pillow", "tqdm", "sympy", "pyarrow"}
    assert "depthinit[experiments]" in project["optional-dependencies"]["book"]
    assert extras["book"] >= {"jupyter-book", "papermill", "matplotlib", "seaborn", "ipykernel"}
    assert "jupyter-book>=1,<2" in project["optional-dependencies"]["book"]
    assert extras["test"] >= {"pytest", "ruff", "mypy"}
    assert "depthinit[book,test]" in project["optional-dependencies"]["dev"]


def test_every_extra_is_pinned_exactly_for_the_book_build():
    pins = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"requirements.txt: {line!r} is not an exact pin"
            pins[requirement_name(name)] = version
    project = pyproject()["project"]
    wanted = {requirement_name(d) for d in project["dependencies"]}
    for deps in project["optional-dependencies"].values():
        wanted |= {requirement_name(d) for d in deps if not d.startswith("depthinit[")}
    assert sorted(wanted - pins.keys()) == []


def test_version_has_one_source():
    project = pyproject()
    assert "version" not in project["project"] and "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "depthinit.__version__"}
    # The attribute setuptools reads statically: a plain string assignment in depthinit/__init__.py.
    tree = ast.parse((ROOT / "depthinit" / "__init__.py").read_text())
    assigned = [
        n.value.value
        for n in tree.body
        if isinstance(n, ast.Assign) and any(getattr(t, "id", None) == "__version__" for t in n.targets)
    ]
    assert assigned == [depthinit.__version__]
    assert re.fullmatch(r"\d+\.\d+\.\d+", depthinit.__version__)
    assert metadata.version("depthinit") == depthinit.__version__
    assert "version" not in yaml.safe_load((ROOT / "CITATION.cff").read_text())


def test_license_citation_changelog_and_typing_marker():
    project = pyproject()["project"]
    assert project["license"] == "MIT" and project["license-files"] == ["LICENSE"]
    license_text = (ROOT / "LICENSE").read_text()
    assert license_text.startswith("MIT License") and "Copyright (c) 2026 the depthinit contributors" in license_text
    assert project["urls"]["Paper"] == "https://arxiv.org/abs/2509.05018"
    assert any(c.startswith("Programming Language :: Python :: 3") for c in project["classifiers"])
    assert "Typing :: Typed" in project["classifiers"]
    assert (ROOT / "depthinit" / "py.typed").is_file()
    assert pyproject()["tool"]["setuptools"]["package-data"]["depthinit"] == ["py.typed"]

    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert cff["cff-version"] == "1.2.0" and cff["type"] == "software" and cff["license"] == "MIT"
    assert cff["authors"] and "depthinit" in cff["title"]
    (paper,) = cff["references"]
    assert paper["title"] == PAPER_TITLE and paper["url"] == "https://arxiv.org/abs/2509.05018"
    assert {"value": "arXiv:2509.05018"}.items() <= paper["identifiers"][0].items()
    # The author as the book's bibliography has it (from the arXiv metadata).
    bib = (ROOT / "book" / "references.bib").read_text()
    entry = bib[bib.index(PAPER_TITLE) :].split("}", 2)[1]
    assert f"{paper['authors'][0]['family-names']}, {paper['authors'][0]['given-names']}" in entry

    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert "Keep a Changelog" in changelog and "## [Unreleased]" in changelog
    assert f"## [{depthinit.__version__}] - " in changelog


def test_data_and_provenance_import_no_optional_package_at_top_level():
    """pandas, scipy, Pillow, tqdm and sympy are imported inside the functions that need them."""
    files = sorted((ROOT / "depthinit" / "data").glob("*.py")) + [ROOT / "depthinit" / "provenance.py"]
    for path in files:
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            else:
                continue
            assert not [n for n in names if n.split(".")[0] in OPTIONAL], f"{path.name}: top-level import of {names}"


# ----------------------------------------------------------------------------- the core install


def unavailable(message: str) -> None:
    """Off CI a machine without the local wheels skips; on CI (CI=true) it is a failure."""
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


def local_sources() -> list[str]:
    """pip options that reach only this machine's local wheels and indexes (never the network)."""
    out = subprocess.run(
        [sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True, check=False
    ).stdout
    find_links, indexes = [], []
    for line in out.splitlines():
        key, _, value = line.partition("=")
        values = value.strip().strip("'\"").split()
        if key.endswith(".find-links"):
            find_links += [v for v in values if Path(v.removeprefix("file://")).is_dir()]
        elif key.endswith("index-url"):
            indexes += [v for v in values if v.startswith("file://")]
    args: list[str] = []
    for link in dict.fromkeys(find_links):
        args += ["--find-links", link]
    indexes = list(dict.fromkeys(indexes))
    if not indexes:
        return ["--no-index", *args]
    args += ["--index-url", indexes[0]]
    for index in indexes[1:]:
        args += ["--extra-index-url", index]
    return args


def run(cmd: list[str], *, cwd: Path, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)


@pytest.mark.slow
def test_core_wheel_in_a_fresh_venv_runs_the_readme_example(tmp_path):
    """pip install of the wheel beside torch and numpy only; no pandas, scipy, Pillow, tqdm, sympy."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env.update(PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1")

    # The wheel, built from a copy of the sources with this environment's setuptools (no network).
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "depthinit", src / "depthinit", ignore=shutil.ignore_patterns("__pycache__"))
    built = run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "-w",
            str(tmp_path / "wheels"),
            str(src),
        ],
        cwd=tmp_path,
        env=env,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    (wheel,) = (tmp_path / "wheels").glob("depthinit-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        meta = zf.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert "depthinit/py.typed" in names and any(n.endswith("licenses/LICENSE") for n in names)
    core = [
        line.split(":", 1)[1].strip()
        for line in meta.splitlines()
        if line.startswith("Requires-Dist:") and "extra ==" not in line
    ]
    assert sorted(requirement_name(r) for r in core) == ["numpy", "torch"]
    assert f"Version: {depthinit.__version__}" in meta

    # A fresh venv with torch (without its optional-for-import dependencies, sympy among them),
    # numpy, and typing_extensions, which `import torch` needs.
    venv = tmp_path / "venv"
    made = run([sys.executable, "-m", "venv", str(venv)], cwd=tmp_path, env=env)
    assert made.returncode == 0, made.stderr[-3000:]
    python = str(venv / "bin" / "python")
    pins = [
        f"torch=={torch.__version__.split('+')[0]}",
        f"numpy=={np.__version__}",
        f"typing_extensions=={metadata.version('typing_extensions')}",
    ]
    base = run(
        [python, "-m", "pip", "install", "--no-deps", *local_sources(), *pins], cwd=tmp_path, env=env, timeout=300
    )
    if base.returncode != 0:
        unavailable(f"cannot install {' '.join(pins)} offline from this machine's local wheels:\n{base.stderr[-2000:]}")
    installed = run([python, "-m", "pip", "install", "--no-deps", "--no-index", str(wheel)], cwd=tmp_path, env=env)
    assert installed.returncode == 0, installed.stderr[-3000:]

    present = run(
        [python, "-c", f"import importlib.util as u; print([m for m in {OPTIONAL!r} if u.find_spec(m)])"],
        cwd=tmp_path,
        env=env,
    )
    assert present.stdout.strip() == "[]", present.stdout + present.stderr

    example = run([python, "-c", README_EXAMPLE], cwd=tmp_path, env=env)
    assert example.returncode == 0, f"the README example fails in the core install:\n{example.stderr[-3000:]}"
    header = [line for line in example.stdout.splitlines() if "alpha" in line.split()]
    assert header, f"print(plan) shows no alpha column:\n{example.stdout}"

    data = run([python, "-c", CORE_DATA_CHECK, str(tmp_path / "tiny-idx1-ubyte.gz")], cwd=tmp_path, env=env)
    assert data.returncode == 0 and "core data ok" in data.stdout, data.stderr[-3000:]
    where = run([python, "-c", "import depthinit; print(depthinit.__file__)"], cwd=tmp_path, env=env)
    assert where.stdout.strip().startswith(str(venv))  # the installed wheel, not the checkout
