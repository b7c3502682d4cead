"""A sweep's output folder: tables appended as parts, checked rows, a provenance record, a lock.

Chapter: "Reproducibility". Layout of ``out/`` (layout 2):

* ``results/part-<stem>.csv``: one row per run and epoch of one trained stack;
  the commit record (a run is finished exactly when its rows are here, each
  row's checksum holds and it has as many rows as it says, see
  :mod:`depthinit.sweep._schema`, and its runs and plans records of the same
  stem are intact too);
* ``runs/part-<stem>.csv``: one row per run (status, divergence step, final and
  best accuracy, the stack it trained in, the full configuration as JSON);
* ``plans/part-<stem>.csv``: each run's initialization plan, one row per weight layer;
* ``probes/part-<stem>.parquet`` and ``histograms/part-<stem>.parquet``:
  per-layer statistics and histogram counts;
* ``provenance.json``: experiment, profile, shard, code and package versions,
  device, data source and sha256, timestamps, the layout version;
* ``.lock``: held (``fcntl.flock``) by the process writing here.

One stack writes its parts under one ``stem`` (creation time, then the first
run id), each to a temporary name in the same folder moved into place with
``os.replace``, the results part last. So a reader sees whole parts only; a
process killed mid-stack leaves auxiliary parts without a results part, which
the next start deletes; nothing is ever rewritten. A part damaged afterwards
(a line cut, edited or garbled, the file emptied or its header torn) loses only
the runs whose records fail their check: they are reported, trained again into
a new stack, and the damage is no longer reported once every run of the damaged
stack is finished again. A file under a table folder that no run can be told
from (not written by depthinit) is reported until it is moved away.

Older folders (layout 1: ``results.csv`` at the top) are read as they are;
:func:`migrate` converts one so that a sweep can continue it.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import re
import socket
import time
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from . import _schema as schema
from ._spec import SweepError

LAYOUT = 2
PROVENANCE = "provenance.json"
LOCK = ".lock"
CSV_TABLES = ("results", "runs", "plans")
PARQUET_TABLES = ("probes", "histograms")
PART_DIRS = CSV_TABLES + PARQUET_TABLES


class DamagedResultsWarning(UserWarning):
    """A results part holds rows that fail their check; those runs count as not done."""


# -- writing ------------------------------------------------------------------------------
def _tmp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp-{os.getpid()}")


def _disk_error(path: Path, err: OSError) -> SweepError:
    if err.errno == errno.ENOSPC:
        return SweepError(
            f"no space left on the device holding {path.parent}; free space there (or use "
            "another --out folder) and run the same command again: finished runs are kept"
        )
    return SweepError(
        f"could not write {path}: {err.strerror or err}; check the folder's permissions and "
        "space, then run the same command again"
    )


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and ``os.replace``
    (readers see the old file or the new one, never a part). The temporary file is removed
    on every error; a full disk is a :class:`SweepError` that names the folder."""
    tmp = _tmp_name(path)
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        raise _disk_error(path, err) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    """:func:`atomic_write_bytes` of UTF-8 text."""
    atomic_write_bytes(path, text.encode("utf-8"))


def write_part(out: Path, table: str, stem: str, frame: pd.DataFrame) -> None:
    """Write one stack's rows of ``table`` as ``out/<table>/part-<stem>.(csv|parquet)``."""
    folder = out / table
    try:
        folder.mkdir(exist_ok=True)
    except OSError as err:
        raise _disk_error(folder / "part", err) from None
    if table in CSV_TABLES:
        atomic_write_text(folder / f"part-{stem}.csv", schema.to_checked_csv(frame, schema.TABLES[table], table))
    else:
        import io

        buf = io.BytesIO()
        frame.reset_index(drop=True).to_parquet(buf, index=False)
        atomic_write_bytes(folder / f"part-{stem}.parquet", buf.getvalue())


def new_stem(first_run_id: str) -> str:
    """A part name unique to one stack, sorting by creation time."""
    return f"{time.time_ns():x}-{first_run_id}"


def clean_temporaries(out: Path) -> None:
    """Remove temporary files left by processes that are gone (a killed writer)."""
    for folder in [out, *(out / d for d in PART_DIRS)]:
        if not folder.is_dir():
            continue
        for p in folder.glob(".*.tmp-*"):
            try:
                pid = int(p.name.rsplit("-", 1)[1])
            except ValueError:
                continue
            if pid != os.getpid() and not _pid_alive(pid):
                p.unlink(missing_ok=True)


def _pid_alive(pid: int) -> bool:
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


# -- reading ------------------------------------------------------------------------------
@dataclass
class Results:
    """Everything a sweep folder holds, as typed DataFrames (empty when absent).

    ``problems`` lists rows that failed their check (their runs are not in
    ``finished`` and will be trained again); ``layout`` is the folder's layout.
    """

    out: Path
    results: pd.DataFrame = field(default_factory=lambda: schema.empty(schema.RESULTS, "results"))
    runs: pd.DataFrame = field(default_factory=lambda: schema.empty(schema.RUNS, "runs"))
    plans: pd.DataFrame = field(default_factory=lambda: schema.empty(schema.PLANS, "plans"))
    probes: pd.DataFrame = field(default_factory=pd.DataFrame)
    histograms: pd.DataFrame = field(default_factory=pd.DataFrame)
    provenance: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    layout: int = LAYOUT

    @property
    def finished(self) -> set[str]:
        """Run ids whose results are complete and intact."""
        return set(self.results["run_id"]) if "run_id" in self.results else set()

    def only(self, run_ids: Iterable[str]) -> Results:
        """The same folder restricted to ``run_ids`` (e.g. the runs of the current spec)."""
        keep = set(run_ids)
        out = Results(self.out, provenance=self.provenance, problems=self.problems, layout=self.layout)
        for name in PART_DIRS:
            t = getattr(self, name)
            setattr(out, name, t[t["run_id"].isin(keep)].reset_index(drop=True) if "run_id" in t else t)
        return out


def _parts(folder: Path, suffix: str) -> list[Path]:
    """The part files of a table folder, sorted (by creation time: stems start with it); a
    directory that happens to match the pattern is not a part."""
    return sorted(p for p in folder.glob(f"part-*{suffix}") if p.is_file()) if folder.is_dir() else []


def _read_provenance(out: Path) -> dict[str, Any]:
    prov = out / PROVENANCE
    if not prov.exists():
        return {}
    try:
        record = json.loads(prov.read_text())
    except OSError as err:
        raise SweepError(
            f"cannot read {prov} ({err.strerror or err}); move it away and restart the sweep (the "
            "results parts are kept; the sweep writes a new record)"
        ) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise SweepError(
            f"{prov} is not valid JSON ({err}); move it away and restart the sweep (the results "
            "parts are kept; the sweep writes a new record)"
        ) from None
    if not isinstance(record, dict):
        raise SweepError(
            f"{prov} holds a JSON {type(record).__name__}, not a provenance record (an object); move it "
            "away and restart the sweep (the results parts are kept; the sweep writes a new record)"
        )
    return record


#: What a sweep folder may hold besides hidden files (layout 2, and layout 1's tables).
SWEEP_ENTRIES = (*PART_DIRS, PROVENANCE)
_LAYOUT1_ENTRIES = ("results.csv", "runs.csv", "plans.csv")


def foreign_entries(out: Path) -> list[str]:
    """The names in ``out`` that no depthinit sweep folder holds (hidden files aside)."""
    return sorted(
        x.name
        for x in out.iterdir()
        if not x.name.startswith(".") and x.name not in (*SWEEP_ENTRIES, *_LAYOUT1_ENTRIES)
    )


def _check_readable(out: Path) -> None:
    """SweepError for a path that is not a sweep folder: missing, a file, or a folder of other files only."""
    if not out.is_dir():
        what = "it does not exist" if not out.exists() else "it is a file"
        raise SweepError(f"{out} is not a folder ({what}); pass the --out folder of a sweep")
    stray = foreign_entries(out)
    if stray and not any((out / n).exists() for n in (*SWEEP_ENTRIES, *_LAYOUT1_ENTRIES)):
        raise SweepError(
            f"{out} is not a depthinit sweep folder (it holds {stray[:3]} and no results); pass the "
            "--out folder of a sweep"
        )
    for name in PART_DIRS:
        if (out / name).exists() and not (out / name).is_dir():
            raise SweepError(f"{out / name} is not a folder, so {out} cannot be read as a sweep folder; move it away")


def layout_of(out: Path) -> int | None:
    """2 for this layout, 1 for an older folder (``results.csv`` at the top), None when empty."""
    if (out / "results").is_dir() or _read_provenance(out).get("layout") == LAYOUT:
        return LAYOUT
    if (out / "results.csv").exists():
        return 1
    return None


def load(out: str | os.PathLike, *, probes: bool = True, warn: bool = True) -> Results:
    """Read a sweep folder (either layout). Rows of runs that never finished, or whose rows
    fail their check, are left out; the latter are listed in ``problems`` (and warned about
    with :class:`DamagedResultsWarning` unless ``warn=False``)."""
    out = Path(out)
    _check_readable(out)
    if layout_of(out) == 1:
        from ._legacy import load_layout1

        r = load_layout1(out, probes=probes)
    else:
        r = _load_parts(out, probes=probes)
    if r.problems and warn:
        warnings.warn(
            f"{out}: {len(r.problems)} damaged or incomplete record(s), their runs will be trained "
            f"again: " + "; ".join(r.problems[:5]) + (" ..." if len(r.problems) > 5 else ""),
            DamagedResultsWarning,
            stacklevel=2,
        )
    return r


def _stem(p: Path) -> str:
    return p.name[len("part-") :].rsplit(".", 1)[0]


def _load_parts(out: Path, *, probes: bool) -> Results:
    """Read every CSV part; a run is finished when one stack (one stem) holds all its records
    intact: its complete rows in results/, its row in runs/ and its complete rows in plans/.
    Each finished run's rows come from the first such stack (parts sort by creation time), so
    its tables always agree; a run missing any record counts as not finished and is trained
    again. A damaged part is reported until every run of its stack (the runs its parts name,
    and the run its stem names) is finished, in it or in a stack written later."""
    r = Results(out, provenance=_read_provenance(out))
    stacks: dict[str, dict[str, pd.DataFrame]] = {}  # stem -> table -> its intact rows (text)
    paths: dict[tuple[str, str], Path] = {}
    damage: list[tuple[str, str, list[str], set[str]]] = []  # (stem, table, problems, run ids concerned)
    stack_runs: dict[str, set[str]] = {}
    for name in CSV_TABLES:
        for p in _parts(out / name, ".csv"):
            stem = _stem(p)
            c = schema.read_checked_csv(_read_text(p), schema.TABLES[name], name, str(p.relative_to(out)), typed=False)
            stacks.setdefault(stem, {})[name] = c.frame
            paths[(stem, name)] = p
            tail = stem.rsplit("-", 1)[-1]
            mine = stack_runs.setdefault(stem, {tail} if _RUN_ID.match(tail) else set())
            mine |= set(c.frame["run_id"]) | {i for i in c.damaged_runs if _RUN_ID.match(i)}
            if c.problems:
                damage.append((stem, name, c.problems, {i for i in c.damaged_runs if _RUN_ID.match(i)}))
    chosen: dict[str, str] = {}  # run id -> the stem its records come from
    whole: set[str] = set()  # runs with complete results rows somewhere
    for stem in sorted(stacks):
        t = stacks[stem]
        present = {name: set(t[name]["run_id"]) if name in t else set() for name in CSV_TABLES}
        whole |= present["results"]
        for rid in present["results"] & present["runs"] & present["plans"]:
            chosen.setdefault(rid, stem)
    done = set(chosen)
    for rid in sorted(whole - done):
        damage.append(
            (
                "",
                "runs/plans",
                [f"run {rid} has no intact record in runs/ or plans/ beside its results; it will be trained again"],
                {rid},
            )
        )
    for stem, name, problems, ids in damage:
        concerned = ids | (stack_runs.get(stem, set()) if stem else set())
        if not concerned:  # no run can be told: not a part this library wrote, or damaged beyond telling
            r.problems.append(
                f"{name}/part-{stem}.csv is not a readable part of table {name!r} (torn, damaged "
                "or not written by depthinit); move it away if it is not yours"
            )
        elif not concerned <= done:
            r.problems += problems
    if not done:
        return r
    for name in CSV_TABLES:
        picked = [
            (paths[(stem, name)], t[name][t[name]["run_id"].map(chosen.get).eq(stem)])
            for stem, t in sorted(stacks.items())
            if name in t
        ]
        setattr(r, name, _typed(picked, name, out))
    if probes:
        for name in PARQUET_TABLES:
            frames = []
            for p in _parts(out / name, ".parquet"):
                f = _read_parquet(p, out)
                if len(f):
                    f = f[f["run_id"].isin(done)]
                    frames.append(f.assign(_own=f["run_id"].map(chosen.get).ne(_stem(p))))  # own stack's rows first
            if frames:
                t = pd.concat(frames, ignore_index=True).sort_values("_own", kind="stable").drop(columns="_own")
                keys = ["run_id", "epoch", "layer", "kind"] + (["bin"] if name == "histograms" else [])
                setattr(r, name, t.drop_duplicates(keys, keep="first").reset_index(drop=True))
    return r


_RUN_ID = re.compile(r"^[0-9a-f]{16}$")


def _typed(parts: list[tuple[Path, pd.DataFrame]], table: str, out: Path) -> pd.DataFrame:
    """The text rows of every part of ``table``, concatenated and typed by the schema at once
    (a value that does not parse is a SchemaError naming the part that holds it)."""
    cols = schema.TABLES[table]
    frames = [f for _, f in parts if len(f)]
    if not frames:
        return schema.empty(cols, table)
    try:
        return schema.conform(pd.concat(frames, ignore_index=True), cols, table)
    except schema.SchemaError:
        for p, f in parts:  # find the part: the message names it
            try:
                schema.conform(f, cols, table)
            except schema.SchemaError as err:
                raise schema.SchemaError(f"{p.relative_to(out)}: {err}") from None
        raise


def _read_text(p: Path) -> str:
    try:
        return p.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return p.read_bytes().decode("utf-8", errors="replace")  # garbled bytes then fail their checksums


def _read_parquet(p: Path, out: Path) -> pd.DataFrame:
    try:
        return pd.read_parquet(p)
    except Exception as err:  # pyarrow raises several types for a torn or foreign file
        warnings.warn(
            f"{p.relative_to(out)} is not a readable Parquet file ({type(err).__name__}); its probes are left out",
            DamagedResultsWarning,
            stacklevel=3,
        )
        return pd.DataFrame()


def drop_orphan_parts(out: Path) -> None:
    """Delete auxiliary parts whose stack has no results part (left by a killed stack)."""
    committed = {p.name[len("part-") :].rsplit(".", 1)[0] for p in _parts(out / "results", ".csv")}
    for name in PART_DIRS[1:]:
        for p in _parts(out / name, ""):
            if p.name[len("part-") :].rsplit(".", 1)[0] not in committed:
                p.unlink(missing_ok=True)


# -- the lock -----------------------------------------------------------------------------
class Lock:
    """An exclusive lock on ``out`` held with ``fcntl.flock`` on ``out/.lock``.

    Taking it is atomic, and the kernel releases it when its process ends, however it
    ends: a lock left by a killed process is simply free. The file holds ``pid host``
    of the holder, for the message a second writer gets. The lock is per host: a folder
    on a network file system shared by several machines needs ``--shard`` folders.
    """

    def __init__(self, out: Path) -> None:
        self.path = out / LOCK
        self.fd: int | None = None

    @property
    def held(self) -> bool:
        return self.fd is not None

    def acquire(self) -> bool:
        """Take the lock if it is free (True) or return False at once."""
        while True:
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as err:
                raise SweepError(
                    f"cannot open the lock file {self.path} ({err.strerror or err}); if it is not a "
                    "file, remove it (a sweep's lock is a plain file), and check the folder's "
                    "permissions"
                ) from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                return False
            try:  # the holder we waited for may have removed the file: then lock the new one
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if not same:
                os.close(fd)
                continue
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()} {socket.gethostname()}".encode())
            self.fd = fd
            return True

    def __enter__(self) -> Lock:
        if not self.acquire():
            try:
                holder = self.path.read_text().split()
            except OSError:
                holder = []
            who = f"pid {holder[0]} on {holder[1] if len(holder) > 1 else '?'}" if holder else "another process"
            raise SweepError(
                f"another sweep ({who}) is writing to {self.path.parent}; wait for it to finish "
                "or use another --out folder"
            )
        return self

    def release(self) -> None:
        if self.fd is not None:
            self.path.unlink(missing_ok=True)  # before unlocking: a waiter then sees a new inode and retries
            os.close(self.fd)
            self.fd = None

    def __exit__(self, *exc: Any) -> None:
        self.release()


# -- guards -------------------------------------------------------------------------------
def check_folder(out: Path, experiment: str, profile: str, shard: str | None = None) -> None:
    """Refuse a folder that holds another experiment's, profile's or shard's results (changing nothing)."""
    if out.exists() and not out.is_dir():
        raise SweepError(f"--out {out} exists and is not a folder; choose a folder path")
    if not out.is_dir():
        return
    layout = layout_of(out)
    if layout == 1:
        raise SweepError(
            f"{out} holds results in an older layout (results.csv at the top); convert it with "
            f"`depthinit migrate {out}` (or use a new --out folder) before adding runs to it"
        )
    stray = sorted(x.name for x in out.iterdir() if not x.name.startswith(".") and x.name not in SWEEP_ENTRIES)
    if stray:
        raise SweepError(
            f"{out} is not empty and is not a depthinit sweep folder (it holds {stray[:3]}); use another --out folder"
        )
    for name in PART_DIRS:
        if (out / name).exists() and not (out / name).is_dir():
            raise SweepError(f"{out / name} is not a folder; move it away (or use another --out folder)")
    p = _read_provenance(out)
    if not _parts(out / "results", ".csv"):
        return  # nothing finished here yet: any sweep may use the folder
    found = (p.get("experiment"), p.get("profile"))
    if None in found:  # the record is gone or partial: the results rows say whose they are
        rows = load(out, probes=False, warn=False).results[["experiment", "profile"]].drop_duplicates()
        if len(rows) > 1:
            raise SweepError(
                f"{out} holds results of several experiments or profiles "
                f"({sorted(map(tuple, rows.to_numpy().tolist()))}); use another --out folder"
            )
        if len(rows) == 0:
            return
        found = tuple(rows.iloc[0])
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
    if p and p.get("shard") != shard:  # without a record the shard is unknown (the rows do not say)
        raise SweepError(
            f"{out} holds shard {p.get('shard') or 'none (a whole sweep)'} of {experiment!r}, not "
            f"{shard or 'the whole sweep'}; use another --out folder"
        )


def provenance_of(out: Path) -> Mapping[str, Any]:
    """The folder's provenance record ({} when it has none)."""
    return _read_provenance(out)
