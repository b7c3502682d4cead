"""Combine the folders of a sharded sweep into one.

Chapter: "Reproducibility". ``depthinit sweep NAME --shard I/N --out DIR_I`` on
N machines (a SLURM job array, or GNU parallel over the GPUs of one machine),
then ``depthinit merge OUT DIR_0 ... DIR_{N-1}``: the result is the folder one
unsharded sweep would have written (same runs, same rows).
"""

from __future__ import annotations

import errno
import json
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

from . import _store as store
from ._spec import SweepError


def _clean_killed_merges(out: Path) -> None:
    """Remove the temporary folders that merges into ``out`` killed midway left beside it."""
    for p in out.parent.glob(f".{out.name}.merge-tmp-*"):
        try:
            pid = int(p.name.rsplit("-", 1)[1])
        except ValueError:
            continue
        if pid != os.getpid() and not store._pid_alive(pid):
            shutil.rmtree(p, ignore_errors=True)


def merge(out: str | os.PathLike, folders: Sequence[str | os.PathLike]) -> int:
    """Merge the shard folders ``folders`` into the new folder ``out``; returns the runs merged.

    Checked first, nothing written on failure: every folder is a complete shard
    (``status == "complete"``) of the same experiment, profile, spec and data files; the shard
    indices are distinct and together 0..N-1 of one N; no run is in two shards; the
    runs add up to the whole sweep's. ``out`` must not exist or be empty. The merged folder is
    built beside ``out`` (``.<name>.merge-tmp-<pid>``) and renamed into place when complete:
    a full disk or a kill leaves no half-merged ``out``, and the next merge into ``out`` removes
    what a killed one left.
    """
    out = Path(out)
    dirs = [Path(f) for f in folders]
    if not dirs:
        raise SweepError("merge needs at least one shard folder")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise SweepError(f"{out} exists and is not an empty folder; merge into a new folder")
    provs, finished = [], []
    for d in dirs:
        if not d.is_dir() or store.layout_of(d) != store.LAYOUT:
            raise SweepError(
                f"{d} is not a sweep folder of this depthinit version; pass the --out folders of "
                "`depthinit sweep ... --shard I/N`"
            )
        p = dict(store.provenance_of(d))
        r = store.load(d, probes=False)
        if p.get("status") != "complete" or r.problems:
            raise SweepError(
                f"{d} is not a complete shard (status {p.get('status')!r}, "
                f"{len(r.problems)} damaged records); run its sweep command again to finish it"
            )
        provs.append(p)
        finished.append(r.finished)
    first = provs[0]

    def digests(p: dict) -> dict:
        return {x.get("name"): x.get("sha256") for x in p.get("data", []) if isinstance(x, dict) and x.get("sha256")}

    for d, p in zip(dirs[1:], provs[1:]):
        for key in ("experiment", "profile", "spec"):
            if p.get(key) != first.get(key):
                raise SweepError(f"{d} and {dirs[0]} come from different {key}s; merge shards of one sweep only")
        a, b = digests(first), digests(p)
        clash = sorted(n for n in set(a) & set(b) if a[n] != b[n])
        if clash:
            raise SweepError(
                f"{d} and {dirs[0]} were trained on different {clash[0]} files (sha256 {b[clash[0]]} and "
                f"{a[clash[0]]}); merge shards trained on the same data only"
            )
    shards = [p.get("shard") for p in provs]
    if None in shards:
        raise SweepError(f"{dirs[shards.index(None)]} is a whole sweep, not a shard; nothing to merge")
    from ._runner import parse_shard

    pairs: list[tuple[int, int]] = []
    for d, text in zip(dirs, shards):
        try:
            pair = parse_shard(text)
        except SweepError:
            pair = None
        if pair is None:
            raise SweepError(
                f"{d / store.PROVENANCE} names the shard {text!r}, not I/N; the folder was not written "
                "by `depthinit sweep --shard I/N` (or its record was edited): run that shard again"
            )
        pairs.append(pair)
    n = {b for _, b in pairs}
    if len(n) != 1:
        raise SweepError(f"the folders are shards of different splits ({sorted(map(str, shards))}); use one N")
    (n_total,) = n
    indices = sorted(a for a, _ in pairs)
    if indices != list(range(n_total)):
        missing = sorted(set(range(n_total)) - set(indices))
        doubled = sorted({i for i in indices if indices.count(i) > 1})
        raise SweepError(f"shards missing {missing} or given twice {doubled} of {n_total}; pass each shard once")
    seen: set[str] = set()
    for d, ids in zip(dirs, finished):
        both = seen & ids
        if both:
            raise SweepError(f"{d} repeats {len(both)} run(s) of another shard; these are not shards of one sweep")
        seen |= ids
    expected = first.get("all_runs")
    if expected is not None and len(seen) != int(expected):
        raise SweepError(f"the shards hold {len(seen)} runs but the sweep has {expected}; a run is missing")
    # everything goes to a temporary folder beside out, renamed into place when complete: a reader
    # (or a kill) never meets a half-merged folder
    out.parent.mkdir(parents=True, exist_ok=True)
    _clean_killed_merges(out)
    tmp = out.with_name(f".{out.name}.merge-tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        tmp.mkdir()
        for d in dirs:
            for table in store.PART_DIRS:
                src = d / table
                if src.is_dir():
                    (tmp / table).mkdir(exist_ok=True)
                    for part in sorted(src.glob("part-*")):
                        shutil.copy2(part, tmp / table / part.name)
        prov = {
            **first,
            "shard": None,
            "runs_total": len(seen),
            "runs_done": len(seen),
            "status": "complete",
            "merged_from": [{"folder": str(d), "shard": s} for d, s in zip(dirs, shards)],
        }
        store.atomic_write_text(tmp / store.PROVENANCE, json.dumps(prov, indent=2, default=str) + "\n")
        os.replace(tmp, out)  # out is absent or an empty folder
    except OSError as err:
        shutil.rmtree(tmp, ignore_errors=True)
        if err.errno == errno.ENOSPC:
            raise SweepError(
                f"no space left on the device holding {out.parent} while merging into {out}; free "
                "space there (or merge into another folder) and run the same command again: the shard "
                "folders are unchanged"
            ) from None
        raise SweepError(
            f"could not write the merged folder {out}: {err.strerror or err}; check the folder's "
            "permissions and space, then run the same command again"
        ) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return len(seen)
