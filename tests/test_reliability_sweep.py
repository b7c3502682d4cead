"""Reliability of sweep folders: torn and damaged rows, the lock under races, full disks,
killed writers, validation before anything is written, older folders. One test per case."""

import errno
import json
import multiprocessing as mp
import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import depthinit.sweep as sw
from depthinit.sweep import _store as store

from test_sweep import tiny_data, tiny_spec  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _one_thread(one_thread):
    yield


def _sweep(out, **kw):
    return sw.run(tiny_spec(**kw), out=out, device="cpu", data=tiny_data(), max_members=2, progress=False)


# -- results integrity ------------------------------------------------------------------------
class TestResultsIntegrity:
    def test_a_results_part_cut_in_half_is_reported_and_its_run_trained_again(self, tmp_path):
        out = tmp_path / "out"
        full = _sweep(out)
        part = sorted((out / "results").glob("part-*.csv"))[-1]
        text = part.read_text()
        part.write_text(text[: len(text) - 25])  # the last line loses its end
        with pytest.warns(sw.DamagedResultsWarning, match="torn or damaged"):
            r = sw.load(out)
        assert len(r.finished) == 5 and r.problems
        p = json.loads((out / "provenance.json").read_text())
        assert p["runs_done"] == 6  # what the folder claimed before the damage; the next sweep corrects it
        with pytest.warns(sw.DamagedResultsWarning):
            again = _sweep(out)
        assert again["run_id"].nunique() == 6 and not again.duplicated(["run_id", "epoch"]).any()
        cols = ["run_id", "epoch", "test_acc"]
        pd.testing.assert_frame_equal(again[cols], full[cols])  # the retrained run gives the same numbers
        assert json.loads((out / "provenance.json").read_text())["runs_done"] == 6

    def test_a_garbled_line_in_the_middle_is_caught_by_its_checksum(self, tmp_path):
        out = tmp_path / "out"
        _sweep(out)
        part = sorted((out / "results").glob("part-*.csv"))[0]
        lines = part.read_text().split("\n")
        lines[2] = lines[2].replace(",ok,", ",OK,", 1) if ",ok," in lines[2] else lines[2][:-1] + "0"
        part.write_text("\n".join(lines))
        with pytest.warns(sw.DamagedResultsWarning, match="line 3"):
            r = sw.load(out)
        bad = lines[2].split(",", 1)[0]
        assert bad not in r.finished and len(r.finished) == 5

    def test_a_part_from_another_version_is_refused_with_what_to_do(self, tmp_path):
        out = tmp_path / "out"
        _sweep(out)
        part = sorted((out / "results").glob("part-*.csv"))[0]
        part.write_text("run_id,epoch,test_acc\nabc,1,0.5\n")
        with pytest.raises(sw.SchemaError, match="migrate"):
            sw.load(out)

    def test_diverged_runs_have_nan_final_accuracy_everywhere(self, tmp_path):
        spec = dict(inits=(sw.init("he"),), variants=(sw.Variant("hot", {"train.lr": 1e20}),), seeds=(0,))
        out = tmp_path / "out"
        _sweep(out, **spec)
        r = sw.load(out)
        assert r.runs["final_test_acc"].isna().all() and r.runs["best_epoch"].isna().all()
        assert r.results.groupby("run_id").tail(1)["test_acc"].isna().all()


# -- the lock ---------------------------------------------------------------------------------
def _racer(out: str, barrier, wins, rounds: int) -> None:
    for r in range(rounds):
        barrier.wait()
        lock = store.Lock(Path(out))
        got = lock.acquire()
        if got:
            with wins.get_lock():
                wins[r] += 1
        barrier.wait()  # every process has tried while the winner holds it
        if got:
            lock.release()
        barrier.wait()


@pytest.mark.parametrize("processes, rounds", [(2, 300), (8, 200)])
def test_exactly_one_process_holds_the_lock_in_every_round(tmp_path, processes, rounds):
    out = tmp_path / "out"
    out.mkdir()
    (out / ".lock").write_text("999999 a-host-long-gone")  # a stale lock left by a killed sweep
    ctx = mp.get_context("fork")
    barrier = ctx.Barrier(processes)
    wins = ctx.Array("i", rounds)
    procs = [ctx.Process(target=_racer, args=(str(out), barrier, wins, rounds)) for _ in range(processes)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads: the children only race here
        for p in procs:
            p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    assert list(wins) == [1] * rounds


def test_a_lock_file_with_nothing_in_it_is_not_a_holder(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / ".lock").write_text("")
    with store.Lock(out) as lock:
        assert lock.held
        assert (out / ".lock").read_text().split()[0] == str(os.getpid())


# -- the disk ---------------------------------------------------------------------------------
class TestDisk:
    def test_a_full_disk_names_the_folder_and_leaves_no_temporary_file(self, tmp_path, monkeypatch):
        out = tmp_path / "out"
        real = os.replace

        def full(src, dst):
            if "results" in str(dst):
                raise OSError(errno.ENOSPC, "No space left on device")
            return real(src, dst)

        monkeypatch.setattr(os, "replace", full)
        with pytest.raises(sw.SweepError, match=f"no space left on the device holding {out / 'results'}"):
            _sweep(out)
        monkeypatch.undo()
        assert not list(out.rglob(".*.tmp-*"))
        df = _sweep(out)  # space again: the same command finishes the grid
        assert df["run_id"].nunique() == 6

    def test_temporary_files_of_a_killed_writer_are_removed_at_the_next_start(self, tmp_path):
        out = tmp_path / "out"
        _sweep(out, seeds=(0,))
        dead = 2**22 + 12345  # above pid_max on this machine: no such process
        junk = [out / f".provenance.json.tmp-{dead}", out / "results" / f".part-x.csv.tmp-{dead}"]
        for j in junk:
            j.write_text("half a table")
        mine = out / f".other.tmp-{os.getpid()}"
        mine.write_text("in use")
        _sweep(out)
        assert not any(j.exists() for j in junk) and mine.exists()


# -- validation before writing ------------------------------------------------------------------
class TestValidateFirst:
    @pytest.mark.parametrize("kwargs, match", [
        ({"profile": "fast"}, "profile='fast' is not valid"),
        ({"shard": "3/2"}, "shard='3/2' is not valid"),
        ({"shard": "a/b"}, "shard='a/b' is not valid"),
        ({"device": "tpu"}, "device='tpu' is not valid"),
        ({"max_members": 0}, "max_members=0 is not valid"),
        ({"max_members": True}, "max_members=True is not valid"),
    ])
    def test_bad_arguments_write_nothing(self, tmp_path, kwargs, match):
        out = tmp_path / "out"
        args = {"out": out, "device": "cpu", "data": tiny_data(), "progress": False, **kwargs}
        with pytest.raises(sw.SweepError, match=match):
            sw.run(tiny_spec(), **args)
        assert not out.exists()

    def test_missing_data_writes_nothing(self, tmp_path):
        out = tmp_path / "out"
        with pytest.raises(ValueError, match="mnist"):
            sw.run("fcnn-mnist", profile="smoke", out=out, device="cpu", data_root=str(tmp_path / "nowhere"),
                   progress=False)
        assert not out.exists()

    def test_a_folder_with_no_finished_run_does_not_block_another_experiment(self, tmp_path):
        out = tmp_path / "out"
        out.mkdir()
        (out / "provenance.json").write_text(json.dumps({"experiment": "other", "profile": "default",
                                                         "status": "running"}))
        assert _sweep(out, seeds=(0,))["run_id"].nunique() == 3

    def test_a_folder_of_foreign_files_is_refused(self, tmp_path):
        out = tmp_path / "out"
        out.mkdir()
        (out / "thesis.tex").write_text("\\documentclass{article}")
        with pytest.raises(sw.SweepError, match="not a depthinit sweep folder"):
            _sweep(out)
        assert sorted(p.name for p in out.iterdir()) == ["thesis.tex"]


# -- older folders ------------------------------------------------------------------------------
def _layout1(out: Path) -> pd.DataFrame:
    """A folder as depthinit 0.1 wrote it (results.csv at the top, short labels)."""
    df = _sweep(out.parent / "source", seeds=(0,))
    r = sw.load(out.parent / "source")
    out.mkdir(exist_ok=True)
    old = r.results.drop(columns=["val_loss", "val_acc", "n_val", "logit_scale", "activation", "batch_norm"])
    old["init"] = old["init"].map({"He normal": "he-normal", "LSUV": "lsuv"}).fillna("he-normal-increasing-V5")
    old.to_csv(out / "results.csv", index=False)
    r.runs.drop(columns=["best_epoch", "final_val_acc", "best_val_acc"]).to_csv(out / "runs.csv", index=False)
    r.plans.to_csv(out / "plans.csv", index=False)
    (out / "probes").mkdir()
    r.probes.to_csv(out / "probes" / "part-a.csv", index=False)
    (out / "provenance.json").write_text(json.dumps({"experiment": "tiny", "profile": "default"}))
    return df


def test_an_older_folder_reads_and_migrates(tmp_path):
    out = tmp_path / "old"
    df = _layout1(out)
    r = sw.load(out)
    assert r.layout == 1 and set(r.results["init"]) == set(df["init"])  # labels rebuilt from the configs
    assert r.results["val_acc"].isna().all() and (r.results["n_val"] == 0).all()
    with pytest.raises(sw.SweepError, match="depthinit migrate"):
        _sweep(out, seeds=(0,))
    assert "depthinit migrate" in sw.report(out)
    assert sw.migrate(out) == 3
    assert not (out / "results.csv").exists() and sw.load(out).layout == 2
    again = _sweep(out, seeds=(0, 1))  # the sweep goes on where the old one stopped
    assert again["run_id"].nunique() == 6
    cols = ["run_id", "epoch", "test_acc"]
    np.testing.assert_allclose(again[again["seed"] == 0][cols[2]].to_numpy(), df[cols[2]].to_numpy())


def test_the_stored_paper_run_is_in_the_current_layout():
    folder = ROOT / "results" / "fcnn-cifar10-paper"
    r = sw.load(folder, probes=False)
    assert r.layout == 2 and not r.problems and len(r.finished) == 95
    assert {"He normal", "He normal, increasing", "LSUV"} <= set(r.results["init"])
    assert torch.isfinite(torch.tensor(r.runs["final_test_acc"].dropna().to_numpy())).all()
