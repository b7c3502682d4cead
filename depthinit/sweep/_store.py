"""A sweep's output folder: tidy CSV tables written atomically, a provenance record, a lock.

Chapter: "Reproducibility". Layout of ``out/``:

* ``results.csv``: one row per run and epoch (the commit record: a run is
  finished exactly when its rows are here);
* ``runs.csv``: one row per finished run (status, divergence step, final and
  best accuracy, stack it trained in, the full configuration as JSON);
* ``plans.csv``: each run's initialization plan, one row per weight layer;
* ``probes/part-*.csv`` and ``histograms/part-*.csv``: per-layer statistics
  and histogram counts, one file per trained stack;
* ``provenance.json``: experiment, profile, code and package versions, device,
  data source and sha256, timestamps;
* ``.lock``: the process writing here (removed at the end; a stale lock left
  by a killed process is taken over).

Every file is written to a temporary name in the same folder and moved into
place with ``os.replace``, so a reader (or a restarted sweep) sees either the
old or the new table, never a torn one. Tables are rewritten after each
stack; auxiliary rows of runs absent from ``results.csv`` are ignored.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ._spec import SweepError

RESULTS = "results.csv"
RUNS = "runs.csv"
PLANS = "plans.csv"
PROVENANCE = "provenance.json"
LOCK = ".lock"
PART_DIRS = ("probes", "histograms")


def atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "w", encoding="utf-8", newline="") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def atomic_write_csv(path: Path, frame: pd.DataFrame) -> None:
    atomic_write_text(path, frame.to_csv(index=False))


def read_csv(path: Path) -> pd.DataFrame | None:
    if not path.exists():
        return None
    try:
        return pd.read_csv(path, keep_default_na=True, dtype={"run_id": str, "stack": str})
    except pd.errors.EmptyDataError:
        return pd.DataFrame()
    except (pd.errors.ParserError, UnicodeDecodeError) as err:
        raise SweepError(
            f"{path} is not a readable CSV table ({err}); it was not written by depthinit's atomic writer. "
            "Move it away and restart the sweep"
        ) from None


@dataclass
class Results:
    """Everything a sweep folder holds, as DataFrames (empty when absent)."""

    out: Path
    results: pd.DataFrame = field(default_factory=pd.DataFrame)
    runs: pd.DataFrame = field(default_factory=pd.DataFrame)
    plans: pd.DataFrame = field(default_factory=pd.DataFrame)
    probes: pd.DataFrame = field(default_factory=pd.DataFrame)
    histograms: pd.DataFrame = field(default_factory=pd.DataFrame)
    provenance: dict[str, Any] = field(default_factory=dict)

    @property
    def finished(self) -> set[str]:
        return set(self.results["run_id"]) if "run_id" in self.results else set()


def _parts(folder: Path) -> list[Path]:
    return sorted(folder.glob("part-*.csv")) if folder.is_dir() else []


def load(out: str | os.PathLike, *, probes: bool = True) -> Results:
    """Read a sweep folder. Rows of runs that never finished (a killed stack) are dropped."""
    out = Path(out)
    if not out.is_dir():
        raise SweepError(f"{out} is not a folder; pass the --out folder of a sweep")
    r = Results(out)
    prov = out / PROVENANCE
    if prov.exists():
        try:
            r.provenance = json.loads(prov.read_text())
        except json.JSONDecodeError as err:
            raise SweepError(f"{prov} is not valid JSON ({err}); move it away and restart the sweep") from None
    res = read_csv(out / RESULTS)
    if res is None or res.empty:
        return r
    r.results = res.drop_duplicates(["run_id", "epoch"], keep="first").reset_index(drop=True)
    done = r.finished
    for name in ("runs", "plans"):
        t = read_csv(out / f"{name}.csv")
        if t is not None and "run_id" in t:
            t = t[t["run_id"].isin(done)]
            if name == "runs":
                t = t.drop_duplicates("run_id", keep="first")
            setattr(r, name, t.reset_index(drop=True))
    if probes:
        for name in PART_DIRS:
            frames = [f for f in (read_csv(p) for p in _parts(out / name)) if f is not None and "run_id" in f]
            frames = [f[f["run_id"].isin(done)] for f in frames]
            frames = [f for f in frames if len(f)]
            if frames:
                t = pd.concat(frames, ignore_index=True)
                keys = ["run_id", "epoch", "layer", "kind"] + (["bin"] if name == "histograms" else [])
                setattr(r, name, t.drop_duplicates(keys, keep="first").reset_index(drop=True))
    return r


class Lock:
    """An exclusive lock file holding ``pid host``; a lock whose process is gone is taken over."""

    def __init__(self, out: Path) -> None:
        self.path = out / LOCK
        self.held = False

    def __enter__(self) -> Lock:
        me = f"{os.getpid()} {socket.gethostname()}"
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                holder = self.path.read_text().split() if self.path.exists() else []
                if holder and _alive(holder):
                    raise SweepError(
                        f"another sweep (pid {holder[0]} on {holder[1] if len(holder) > 1 else '?'}) is writing "
                        f"to {self.path.parent}; wait for it to finish or use another --out folder"
                    ) from None
                self.path.unlink(missing_ok=True)  # stale: its process is gone
                continue
            with os.fdopen(fd, "w") as f:
                f.write(me)
            self.held = True
            return self
        raise SweepError(f"could not take the lock {self.path}; remove it if no sweep is running")

    def __exit__(self, *exc: Any) -> None:
        if self.held:
            self.path.unlink(missing_ok=True)
            self.held = False


def _alive(holder: list[str]) -> bool:
    try:
        pid = int(holder[0])
    except ValueError:
        return False
    if len(holder) > 1 and holder[1] != socket.gethostname():
        return True  # another machine: cannot tell, assume it runs
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (killed, not yet reaped) is gone for our purposes
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    except (OSError, IndexError):
        return True


def check_folder(out: Path, experiment: str, profile: str) -> None:
    """Refuse a folder that holds another experiment's or profile's results (changing nothing)."""
    if out.exists() and not out.is_dir():
        raise SweepError(f"--out {out} exists and is not a folder; choose a folder path")
    prov = out / PROVENANCE
    found: tuple[str | None, str | None] | None = None
    if prov.exists():
        try:
            p = json.loads(prov.read_text())
            found = (p.get("experiment"), p.get("profile"))
        except json.JSONDecodeError:
            raise SweepError(f"{prov} is not valid JSON; move it away or use another --out folder") from None
    else:
        res = read_csv(out / RESULTS)
        if res is not None and not res.empty and {"experiment", "profile"} <= set(res.columns):
            found = (str(res["experiment"].iloc[0]), str(res["profile"].iloc[0]))
        elif res is not None and not res.empty:
            raise SweepError(f"{out / RESULTS} is not a depthinit results table; use another --out folder")
    if found is None:
        return
    if found[0] != experiment:
        raise SweepError(
            f"{out} holds results of experiment {found[0]!r}, not {experiment!r}; nothing was changed. "
            "Use another --out folder (or delete that one to start over)"
        )
    if found[1] != profile:
        raise SweepError(
            f"{out} holds results of experiment {experiment!r} with profile {found[1]!r}, not {profile!r}; "
            "nothing was changed. Use another --out folder for this profile"
        )


def write_part(out: Path, name: str, stem: str, frame: pd.DataFrame) -> None:
    folder = out / name
    folder.mkdir(exist_ok=True)
    atomic_write_csv(folder / f"part-{stem}.csv", frame)


def drop_orphan_parts(out: Path, finished: Iterable[str]) -> None:
    """Delete part files none of whose runs finished (left by a killed stack)."""
    done = set(finished)
    for name in PART_DIRS:
        for p in _parts(out / name):
            try:
                ids = pd.read_csv(p, usecols=["run_id"], dtype={"run_id": str})["run_id"]
            except (ValueError, pd.errors.EmptyDataError, pd.errors.ParserError):
                ids = pd.Series([], dtype=object)
            if not set(ids) & done:
                p.unlink(missing_ok=True)
