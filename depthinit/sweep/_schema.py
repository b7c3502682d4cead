"""The results schema: every table's columns with declared types, and a row format that
reveals a torn or damaged write.

Chapter: "Reproducibility". Nothing is inferred on read: a run id such as
``505e919181943700`` stays text, an empty cell of a float column is NaN, of a
text column missing, and a value that does not parse as its declared type is an
error that names the table, the column and the value.

The small human-readable tables (results, runs, plans) are CSV; every data line
ends with ``row_crc``, the CRC-32 (8 hex digits) of the rest of the line, and
carries ``run_rows``, the number of lines its run has in that table. A line cut
in half, edited by hand or garbled fails its checksum; a run with fewer valid
lines than ``run_rows`` is incomplete. Probes and histograms (large, numeric)
are Parquet, whose own footer and page checksums reject a torn file.
"""

from __future__ import annotations

import io
import re
import zlib
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

# -- column types -----------------------------------------------------------------------
STR, INT, NINT, FLOAT, BOOL, NBOOL = "str", "int", "nullable int", "float", "bool", "nullable bool"

#: Columns that describe a run (what :meth:`depthinit.sweep.Run.columns` returns), in order.
RUN_COLUMNS: dict[str, str] = {
    "run_id": STR,
    "experiment": STR,
    "profile": STR,
    "variant": STR,
    "dataset": STR,
    "preprocess": STR,
    "model": STR,
    "layers": INT,
    "width": INT,
    "activation": STR,
    "batch_norm": BOOL,
    "init": STR,
    "scheme": STR,
    "base": STR,
    "distribution": STR,
    "schedule": STR,
    "network_variance": FLOAT,
    "depth_fn": STR,
    "offset": FLOAT,
    "v_reading": STR,
    "seed": INT,
    "optimizer": STR,
    "lr": FLOAT,
    "logit_scale": FLOAT,
    "batch_size": INT,
    "epochs": INT,
    "n_train": INT,
    "n_val": INT,
    "n_test": INT,
}
#: Per-epoch metrics of the results table.
METRIC_COLUMNS: dict[str, str] = {
    "epoch": INT,
    "train_loss": FLOAT,
    "train_acc": FLOAT,
    "val_loss": FLOAT,
    "val_acc": FLOAT,
    "test_loss": FLOAT,
    "test_acc": FLOAT,
    "status": STR,
    "wall_s": FLOAT,
}
#: Integrity columns ending every CSV data line.
CHECK_COLUMNS: dict[str, str] = {"run_rows": INT, "row_crc": STR}

RESULTS: dict[str, str] = {**RUN_COLUMNS, **METRIC_COLUMNS}
RUNS: dict[str, str] = {
    **RUN_COLUMNS,
    "status": STR,
    "diverged_epoch": NINT,
    "diverged_step": NINT,
    "epochs_done": INT,
    "final_test_acc": FLOAT,
    "best_test_acc": FLOAT,
    "best_epoch": NINT,
    "final_val_acc": FLOAT,
    "best_val_acc": FLOAT,
    "final_train_loss": FLOAT,
    "wall_s": FLOAT,
    "stack": STR,
    "stack_size": INT,
    "stack_wall_s": FLOAT,
    "device": STR,
    "lsuv_converged": NBOOL,
    "config": STR,
}
PLANS: dict[str, str] = {
    "run_id": STR,
    "init": STR,
    "layer": STR,
    "kind": STR,
    "depth": INT,
    "fan_in": INT,
    "fan_out": INT,
    "distribution": STR,
    "alpha": FLOAT,
    "variance": FLOAT,
    "std": FLOAT,
    "bound": FLOAT,
    "gain": FLOAT,
    "lsuv_iterations": NINT,
    "lsuv_variance_out": FLOAT,
    "lsuv_converged": NBOOL,
}
_PROBE_KEYS: dict[str, str] = {
    "run_id": STR,
    "variant": STR,
    "init": STR,
    "seed": INT,
    "epoch": INT,
    "layer": STR,
    "depth": INT,
    "kind": STR,
}
#: The numeric statistic columns of a probe row come from :data:`depthinit.train.STAT_COLUMNS`.
PROBE_KEYS = _PROBE_KEYS
HISTOGRAM_KEYS: dict[str, str] = {**_PROBE_KEYS, "bin": INT, "count": INT}

TABLES: dict[str, dict[str, str]] = {"results": RESULTS, "runs": RUNS, "plans": PLANS}


class SchemaError(ValueError):
    """A table does not match its declared schema (a column is missing, unknown or unparsable)."""


def conform(frame: pd.DataFrame, schema: Mapping[str, str], table: str) -> pd.DataFrame:
    """``frame`` with exactly the columns of ``schema``, in order, cast to their types.

    Columns of the schema that ``frame`` lacks are filled with missing values;
    a column ``frame`` has that the schema does not declare is an error (every
    column must be declared).
    """
    unknown = [c for c in frame.columns if c not in schema]
    if unknown:
        raise SchemaError(
            f"table {table!r} got undeclared column(s) {unknown}; declare them in depthinit/sweep/_schema.py"
        )
    out = {}
    for col, kind in schema.items():
        values = frame[col] if col in frame.columns else pd.Series([None] * len(frame), index=frame.index)
        out[col] = _cast(values, kind, table, col)
    return pd.DataFrame(out, index=frame.index)


def _cast(values: pd.Series, kind: str, table: str, col: str) -> pd.Series:
    try:
        if kind == STR:
            return values.astype("str")  # missing stays missing (NaN), everything else its text
        if kind == FLOAT:
            return pd.to_numeric(values, errors="raise").astype("float64")
        if kind == INT:
            if values.isna().any():
                raise ValueError("missing value in a column that must have one")
            return pd.to_numeric(values, errors="raise").astype("int64")
        if kind == NINT:
            return pd.to_numeric(values, errors="raise").astype("Int64")
        if kind in (BOOL, NBOOL):

            def parse(v: object) -> object:
                if v is None or (isinstance(v, float) and np.isnan(v)):
                    if kind == BOOL:
                        raise ValueError("missing value in a column that must have one")
                    return None
                if isinstance(v, (bool, np.bool_)):
                    return bool(v)
                text = str(v).strip().lower()
                if text in ("true", "1"):
                    return True
                if text in ("false", "0"):
                    return False
                raise ValueError(f"{v!r} is not a boolean")

            parsed = values.map(parse)
            return parsed.astype(bool) if kind == BOOL else parsed.astype(object)
    except (ValueError, TypeError) as err:
        raise SchemaError(f"table {table!r}, column {col!r}: values do not parse as {kind} ({err})") from None
    raise SchemaError(f"unknown column kind {kind!r}")


# -- the checked CSV format -----------------------------------------------------------------
def crc(text: str) -> str:
    """CRC-32 of ``text`` (UTF-8) as 8 hex digits."""
    return f"{zlib.crc32(text.encode('utf-8')) & 0xFFFFFFFF:08x}"


def to_checked_csv(frame: pd.DataFrame, schema: Mapping[str, str], table: str) -> str:
    """The CSV text of ``frame`` (conformed to ``schema``) with ``run_rows`` and ``row_crc``
    ending each line."""
    f = conform(frame, schema, table)
    f["run_rows"] = f.groupby("run_id")["run_id"].transform("size").astype("int64")
    text = f.to_csv(index=False, lineterminator="\n")
    lines = text.rstrip("\n").split("\n")
    if len(lines) != len(f) + 1:
        raise SchemaError(f"table {table!r}: a value contains a line break; it cannot be stored")
    out = [lines[0] + ",row_crc"] + [f"{line},{crc(line)}" for line in lines[1:]]
    return "\n".join(out) + "\n"


@dataclass
class Checked:
    """What :func:`read_checked_csv` found: the valid rows of complete runs, the problems,
    and the run ids each problem concerns (``damaged_runs``; the first field of a torn line)."""

    frame: pd.DataFrame
    problems: list[str]
    damaged_runs: set[str]


_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")


def read_checked_csv(text: str, schema: Mapping[str, str], table: str, name: str, *, typed: bool = True) -> Checked:
    """Parse a checked CSV: lines whose checksum fails are reported, runs with fewer valid
    lines than ``run_rows`` are reported and left out; the rest is typed by ``schema``.

    A file that is empty, holds only (part of) its header, or whose header is garbled (bytes
    that are not column names, or one name changed) is reported as damaged as a whole (no
    row counts). Rows below a well-formed header that starts with ``run_id`` and has another
    number of columns (a part written by another version of depthinit) are a
    :class:`SchemaError`. ``typed=False`` leaves the values as text (the declared columns, in
    order), for :func:`conform` to type many parts at once."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    blank = empty(schema, table) if typed else pd.DataFrame(columns=list(schema), dtype=object)
    if not lines:
        return Checked(
            blank, [f"{name} is empty (cut when written, or truncated since); its runs will be trained again"], set()
        )
    header = lines[0]
    expected = ",".join([*schema, "run_rows", "row_crc"])
    if len(lines) == 1:
        return Checked(
            blank,
            [f"{name} holds no rows (cut when written, or truncated since); its runs will be trained again"],
            set(),
        )
    if header != expected:
        fields = header.split(",")
        if fields[0] == "run_id" and all(_IDENT.match(f) for f in fields) and len(fields) != len(schema) + 2:
            # whole column names from run_id on, another number of them, rows below: another version's table
            raise SchemaError(
                f"{name} has the header {header[:120]!r}..., not the declared columns of table "
                f"{table!r}; it was written by another version of depthinit. Run `depthinit migrate` "
                "on the folder or use a new --out folder"
            )
        return Checked(blank, [f"{name}: its header is torn or damaged; its runs will be trained again"], set())
    good, problems, bad_ids = [], [], set()
    for number, line in enumerate(lines[1:], start=2):
        body, sep, check = line.rpartition(",")
        if not sep or check != crc(body):
            problems.append(f"{name}, line {number}: torn or damaged (checksum mismatch)")
            bad_ids.add(line.split(",", 1)[0])
            continue
        good.append(body)
    raw = pd.read_csv(
        io.StringIO("\n".join([header.rpartition(",")[0], *good]) + "\n"),
        dtype=str,
        keep_default_na=False,
        na_values=[""],
    )
    rows = raw["run_rows"].astype("int64") if len(raw) else pd.Series([], dtype="int64")
    counts = raw.groupby("run_id")["run_id"].transform("size") if len(raw) else rows
    complete = counts.eq(rows)
    for rid in sorted(set(raw.loc[~complete, "run_id"]) | (bad_ids & set(raw["run_id"]))):
        problems.append(f"{name}: run {rid} is incomplete; it will be trained again")
    damaged = set(raw.loc[~complete, "run_id"]) | bad_ids
    keep = raw[complete & ~raw["run_id"].isin(damaged)].drop(columns=["run_rows"]).reset_index(drop=True)
    return Checked(conform(keep, schema, table) if typed else keep, problems, damaged)


_EMPTY: dict[str, pd.DataFrame] = {}


def empty(schema: Mapping[str, str], table: str) -> pd.DataFrame:
    """A table with no rows and the declared columns and types (a fresh copy each call)."""
    key = table + "|" + ",".join(f"{k}:{v}" for k, v in schema.items())
    if key not in _EMPTY:
        _EMPTY[key] = conform(pd.DataFrame(columns=list(schema)), schema, table)
    return _EMPTY[key].copy()
