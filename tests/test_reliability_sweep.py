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
from test_sweep import tiny_data, tiny_spec

import depthinit.sweep as sw
from depthinit.sweep import _store as store
from depthinit.train import Tensors, TrainConfig

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
    @pytest.mark.parametrize(
        "kwargs, match",
        [
            ({"profile": "fast"}, "profile='fast' is not valid"),
            ({"shard": "3/2"}, "shard='3/2' is not valid"),
            ({"shard": "a/b"}, "shard='a/b' is not valid"),
            ({"device": "tpu"}, "device='tpu' is not valid"),
            ({"max_members": 0}, "max_members=0 is not valid"),
            ({"max_members": True}, "max_members=True is not valid"),
        ],
    )
    def test_bad_arguments_write_nothing(self, tmp_path, kwargs, match):
        out = tmp_path / "out"
        args = {"out": out, "device": "cpu", "data": tiny_data(), "progress": False, **kwargs}
        with pytest.raises(sw.SweepError, match=match):
            sw.run(tiny_spec(), **args)
        assert not out.exists()

    def test_missing_data_writes_nothing(self, tmp_path):
        out = tmp_path / "out"
        with pytest.raises(ValueError, match="mnist"):
            sw.run(
                "fcnn-mnist",
                profile="smoke",
                out=out,
                device="cpu",
                data_root=str(tmp_path / "nowhere"),
                progress=False,
            )
        assert not out.exists()

    def test_a_folder_with_no_finished_run_does_not_block_another_experiment(self, tmp_path):
        out = tmp_path / "out"
        out.mkdir()
        (out / "provenance.json").write_text(
            json.dumps({"experiment": "other", "profile": "default", "status": "running"})
        )
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


# -- found by benchmarks/attacks.py ---------------------------------------------------------------
def _small(name="tiny", **kw):
    """Four runs (two inits, two seeds) of one epoch, no probes: the damage tests sweep often."""
    base = {
        "inits": (sw.init("he"), sw.init("glorot")),
        "seeds": (0, 1),
        "train": TrainConfig(lr=0.05, epochs=1, batch_size=32),
        **kw,
    }
    return tiny_spec(name, **base)


def _small_sweep(out, spec=None, **kw):
    kw.setdefault("data", tiny_data())
    return sw.run(spec or _small(), out=out, device="cpu", max_members=2, progress=False, **kw)


@pytest.fixture(scope="module")
def finished_folder(tmp_path_factory):
    """A finished sweep of 4 runs in 2 stacks (copied by each test that damages it)."""
    out = tmp_path_factory.mktemp("finished") / "out"
    _small_sweep(out)
    return out


@pytest.fixture
def folder(finished_folder, tmp_path):
    import shutil

    out = tmp_path / "out"
    shutil.copytree(finished_folder, out)
    return out


def _quiet_load(out):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sw.DamagedResultsWarning)
        return sw.load(out, probes=False)


class TestDamageIsRepaired:
    @pytest.mark.parametrize(
        "table, edit",
        [
            ("results", lambda t: t[: len(t) - 25]),  # the last line cut
            ("results", lambda t: t[:100]),  # cut inside the header
            ("results", lambda t: "x" + t[1:]),  # a garbled header
            ("runs", lambda t: t[: len(t) - 25]),
            ("plans", lambda t: t.replace(",", ";", 3)),
        ],
        ids=["results cut", "results cut in the header", "results header garbled", "runs cut", "plans garbled"],
    )
    def test_damage_is_reported_its_runs_retrained_then_no_longer_reported(self, folder, table, edit):
        part = sorted((folder / table).glob("part-*.csv"))[-1]
        part.write_text(edit(part.read_text()))
        with pytest.warns(sw.DamagedResultsWarning):
            r = sw.load(folder, probes=False)
        assert r.problems and len(r.finished) < 4  # a damaged record never counts as done
        assert set(r.runs["run_id"]) == set(r.plans["run_id"]) == r.finished
        with pytest.warns(sw.DamagedResultsWarning):  # the sweep says what it trains again
            df = _small_sweep(folder)
        assert df["run_id"].nunique() == 4 and not df.duplicated(["run_id", "epoch"]).any()
        with warnings.catch_warnings():
            warnings.simplefilter("error", sw.DamagedResultsWarning)  # repaired: nothing left to report
            again = sw.load(folder, probes=False)
        assert not again.problems and len(again.finished) == 4
        assert set(again.runs["run_id"]) == set(again.plans["run_id"]) == again.finished

    def test_a_deleted_runs_part_is_not_a_finished_run(self, folder):
        sorted((folder / "runs").glob("part-*.csv"))[0].unlink()
        r = _quiet_load(folder)
        assert len(r.finished) == 2 and any("no intact record in runs/" in m for m in r.problems)
        with pytest.warns(sw.DamagedResultsWarning):
            _small_sweep(folder)
        assert len(sw.load(folder, probes=False).runs) == 4

    def test_a_foreign_file_named_like_a_part_is_reported_not_counted(self, folder):
        (folder / "results" / "part-notes.csv").write_text("a,b\n1,2\n")
        r = _quiet_load(folder)
        assert len(r.finished) == 4
        assert any("part-notes.csv is not a readable part" in m and "move it away" in m for m in r.problems)

    def test_report_counts_only_intact_runs(self, folder):
        part = sorted((folder / "results").glob("part-*.csv"))[0]
        part.write_text(part.read_text()[:-20])
        text = sw.report(folder)
        assert (
            "3 runs intact here; the last sweep recorded 4 of 4 done (complete); damaged records: run the same "
            "sweep again"
        ) in text


class TestFolderIdentity:
    @pytest.mark.parametrize("content", ["[1, 2]", '"hello"'])
    def test_a_provenance_that_is_not_an_object_is_a_clear_error(self, folder, content):
        (folder / "provenance.json").write_text(content)
        with pytest.raises(sw.SweepError, match=r"not a provenance record .* move it away"):
            _small_sweep(folder)

    def test_without_provenance_the_results_rows_say_whose_folder_it_is(self, folder):
        (folder / "provenance.json").unlink()
        with pytest.raises(sw.SweepError, match="holds results of experiment 'tiny', not 'other'"):
            _small_sweep(folder, _small("other"))
        assert _small_sweep(folder)["run_id"].nunique() == 4  # the same sweep resumes

    def test_a_part_folder_replaced_by_a_file_is_refused(self, folder):
        import shutil

        shutil.rmtree(folder / "results")
        (folder / "results").write_text("x")
        with pytest.raises(sw.SweepError, match=r"results is not a folder; move it away"):
            _small_sweep(folder)

    @pytest.mark.parametrize("make", [lambda p: (p / "thesis.tex").write_text("x"), lambda p: None])
    def test_load_and_report_refuse_what_is_not_a_sweep_folder(self, tmp_path, make):
        f = tmp_path / "f"
        f.mkdir()
        make(f)
        if any(f.iterdir()):
            for call in (sw.load, sw.report):
                with pytest.raises(sw.SweepError, match=r"is not a depthinit sweep folder .* pass the --out folder"):
                    call(f)
        else:
            assert "no finished runs yet" in sw.report(f)  # an empty folder is a sweep that has not started


class TestValidatedBeforeWriting:
    @pytest.mark.parametrize(
        "kw, match",
        [
            ({"strategy": "nope"}, "strategy='nope' is not valid"),
            ({"data": object()}, "lacks x_train"),
            (
                {
                    "data": Tensors(
                        tiny_data().x_train * float("nan"), tiny_data().y_train, tiny_data().x_test, tiny_data().y_test
                    )
                },
                "x_train holds a non-finite value",
            ),
            (
                {
                    "data": Tensors(
                        tiny_data().x_train, tiny_data().y_train, tiny_data().x_test, tiny_data().y_test + 50
                    )
                },
                "y_test holds the label",
            ),
            (
                {"spec": _small(inits=(sw.init("he"), sw.init("fixup")))},
                "init 'Fixup' .* declares no residual structure",
            ),
            (
                {
                    "spec": _small(model=sw.ModelConfig("cnn", depth=2, channels=4)),
                    "data": Tensors(
                        torch.rand(8, 16),
                        torch.zeros(8, dtype=torch.long),
                        torch.rand(4, 16),
                        torch.zeros(4, dtype=torch.long),
                    ),
                },
                "cannot run on the training inputs",
            ),
        ],
        ids=["strategy", "data without tensors", "NaN inputs", "test labels", "fixup on an MLP", "CNN on flat data"],
    )
    def test_nothing_is_written(self, tmp_path, kw, match):
        out = tmp_path / "out"
        spec = kw.pop("spec", None)
        with pytest.raises((sw.SweepError, ValueError), match=match):
            _small_sweep(out, spec, **kw)
        assert not out.exists()


class TestMergeAndMigrate:
    @pytest.fixture
    def shards(self, tmp_path):
        for i in range(2):
            _small_sweep(tmp_path / f"s{i}", shard=f"{i}/2")
        return [tmp_path / "s0", tmp_path / "s1"]

    def test_a_malformed_shard_record_is_named(self, shards, tmp_path):
        p = shards[1] / "provenance.json"
        p.write_text(p.read_text().replace('"shard": "1/2"', '"shard": "one/two"'))
        with pytest.raises(sw.SweepError, match=r"names the shard 'one/two', not I/N"):
            sw.merge(tmp_path / "m", shards)
        assert not (tmp_path / "m").exists()

    def test_shards_trained_on_different_data_files_are_not_merged(self, shards, tmp_path):
        for shard, tag in zip(shards, ("aaaa", "bbbb")):
            p = shard / "provenance.json"
            p.write_text(json.dumps({**json.loads(p.read_text()), "data": [{"name": "mnist", "sha256": {"f": tag}}]}))
        with pytest.raises(sw.SweepError, match="were trained on different mnist files"):
            sw.merge(tmp_path / "m", shards)
        assert not (tmp_path / "m").exists()

    def test_a_full_disk_while_merging_leaves_no_half_merged_folder(self, shards, tmp_path, monkeypatch):
        import shutil

        real, calls = shutil.copy2, []

        def copy(src, dst, **kw):
            calls.append(src)
            if len(calls) == 3:
                raise OSError(errno.ENOSPC, "No space left on device")
            return real(src, dst, **kw)

        monkeypatch.setattr(shutil, "copy2", copy)
        with pytest.raises(sw.SweepError, match=r"no space left on the device holding .* shard folders are unchanged"):
            sw.merge(tmp_path / "m", shards)
        monkeypatch.undo()
        assert not (tmp_path / "m").exists() and not list(tmp_path.glob(".m.merge-tmp-*"))
        assert sw.merge(tmp_path / "m", shards) == 4

    @pytest.mark.parametrize(
        "make, match",
        [
            (lambda t: t / "nope", r"is not a folder \(it does not exist\)"),
            (lambda t: (t / "e").mkdir() or t / "e", r"holds no depthinit results to migrate \(no results.csv"),
        ],
    )
    def test_migrate_says_what_it_needs(self, tmp_path, make, match):
        with pytest.raises(sw.SweepError, match=match + ".*pass the --out folder of a sweep written by depthinit 0.1"):
            sw.migrate(make(tmp_path))

    def test_a_garbled_run_config_in_an_older_folder_names_the_file(self, tmp_path):
        out = tmp_path / "old"
        _layout1(out)
        runs = pd.read_csv(out / "runs.csv")
        runs.loc[0, "config"] = "{not json"
        runs.to_csv(out / "runs.csv", index=False)
        with pytest.raises(sw.SweepError, match=r"runs.csv: the config of run .* is not a readable run configuration"):
            sw.load(out)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: sw.get_experiment("E99"), "Use one of those names or keys"),
        (lambda: _small(profiles={"fast": {}}), "use only those names"),
        (lambda: sw.override(_small(), {"train.epochz": 2}), "use one of its fields"),
        (lambda: _small().resolve("smoke"), "Pick one of those, or define it"),
    ],
)
def test_spec_errors_say_what_to_do(call, match):
    with pytest.raises(sw.SweepError, match=match):
        call()


class TestSecondPass:
    def test_the_folder_is_checked_again_under_the_lock(self, tmp_path, monkeypatch):
        """Another experiment finishing into the folder while this sweep validates (after its first
        check, before its lock) used to be mixed with it."""
        from depthinit.sweep import _runner

        out, real, done = tmp_path / "out", _runner._validate, []

        def slow(*args):
            real(*args)
            if not done:
                done.append(1)
                _small_sweep(out, _small("first"))

        monkeypatch.setattr(_runner, "_validate", slow)
        with pytest.raises(sw.SweepError, match="holds results of experiment 'first', not 'second'"):
            _small_sweep(out, _small("second"))
        assert set(sw.load(out, probes=False).results["experiment"]) == {"first"}

    def test_a_lock_or_provenance_that_is_a_directory_is_a_clear_error(self, folder):
        (folder / ".lock").mkdir()
        with pytest.raises(
            sw.SweepError,
            match=r"cannot open the lock file .*\.lock .* if it is not a file, "
            "remove it",
        ):
            _small_sweep(folder, _small(seeds=(0, 1, 2)))
        (folder / ".lock").rmdir()
        (folder / "provenance.json").unlink()
        (folder / "provenance.json").mkdir()
        with pytest.raises(sw.SweepError, match=r"cannot read .*provenance.json .* move it away"):
            _small_sweep(folder)

    def test_a_directory_named_like_a_part_is_not_a_part(self, folder):
        (folder / "results" / "part-zz.csv").mkdir()
        assert len(sw.load(folder, probes=False).finished) == 4

    def test_a_killed_merges_temporary_folder_is_removed_by_the_next_merge(self, tmp_path):
        for i in range(2):
            _small_sweep(tmp_path / f"s{i}", shard=f"{i}/2")
        dead = 2**22 + 4321  # above pid_max: no such process
        left = tmp_path / f".m.merge-tmp-{dead}"
        (left / "results").mkdir(parents=True)
        assert sw.merge(tmp_path / "m", [tmp_path / "s0", tmp_path / "s1"]) == 4
        assert not left.exists() and not list(tmp_path.glob(".m.merge-tmp-*"))

    def test_a_resume_on_other_data_files_is_refused(self, tmp_path):
        """Run ids name the data set, not its bytes: CIFAR-10 from the JPEG zip and from the binary
        archive used to be mixed silently in one folder."""
        from dataclasses import dataclass

        @dataclass(frozen=True)
        class Sourced(Tensors):
            tag: str = ""

            def provenance(self):
                return {"name": "mnist", "source": f"files {self.tag}", "sha256": {"f": self.tag}}

        def data(tag):
            d = tiny_data()
            return Sourced(d.x_train, d.y_train, d.x_test, d.y_test, tag=tag)

        out = tmp_path / "out"
        _small_sweep(out, data=data("aaaa"))
        with pytest.raises(
            sw.SweepError,
            match=r"trained on mnist files with sha256 \{'f': 'aaaa'\}, but this sweep "
            r"reads files bbbb .* nothing was changed",
        ):
            _small_sweep(out, _small(seeds=(0, 1, 2)), data=data("bbbb"))
        assert len(sw.load(out, probes=False).finished) == 4
        assert _small_sweep(out, _small(seeds=(0, 1, 2)), data=data("aaaa"))["run_id"].nunique() == 6
