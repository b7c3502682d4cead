"""Sweeps: specs, run ids, the resumable runner, its folder guard, kill-and-restart, shipped smoke profiles."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import depthinit.sweep as sw
from depthinit.train import Tensors, TrainConfig

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models run as fast on one thread and do not stall when other work shares the cores."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def tiny_data(seed: int = 3) -> Tensors:
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(160, 1, 6, 6, generator=g)
    y = (x.mean(dim=(1, 2, 3)) * 40).long() % 4  # a learnable rule
    return Tensors(x[:120], y[:120], x[120:], y[120:])


def tiny_spec(name: str = "tiny", **kw) -> sw.Experiment:
    base = dict(
        name=name,
        dataset="mnist",
        model=sw.ModelConfig("mlp", depth=4, width=8),
        train=TrainConfig(lr=0.05, epochs=2, batch_size=32, probe_epochs=(0, 2), probe_batch=16),
        inits=(sw.init("he"), sw.init("depth", schedule="increasing", network_variance=5.0), sw.init("lsuv")),
        seeds=(0, 1),
    )
    base.update(kw)
    return sw.Experiment(**base)


# -- specs ----------------------------------------------------------------------------------
def test_paper_grid_is_the_papers_comparison():
    grid = sw.paper_grid()
    labels = [i.label for i in grid]
    assert len(grid) == 19 and len(set(labels)) == 19
    assert {
        "He normal, increasing",
        "Glorot uniform, decreasing",
        "He uniform",
        "Orthogonal",
        "Random walk",
        "LSUV",
    } <= set(labels)
    cols = pd.DataFrame([i.columns() for i in grid])
    depth = cols[cols["scheme"] == "depth"]
    assert set(zip(depth["base"], depth["distribution"], depth["schedule"])) == {
        (b, d, s)
        for b in ("he", "glorot")
        for d in ("normal", "uniform")
        for s in ("unit", "constant", "increasing", "decreasing")
    }
    assert depth.loc[depth["schedule"] != "unit", "network_variance"].eq(22.0).all()
    assert depth.loc[depth["schedule"] == "unit", "network_variance"].isna().all()


def test_one_registry_holds_every_experiment_with_its_chapter():
    names = sw.experiments()
    assert {"fcnn-cifar10", "schedule-ablation", "fcnn-mnist", "cnn-cifar10", "he-uniform-stall", "sensitivity"} <= set(
        names
    )
    assert list(sw.EXPERIMENTS) == names
    keys = [sw.EXPERIMENTS[n].key for n in names]
    assert {"E1", "E2", "E3", "E4", "E5"} <= set(keys) and len(set(keys)) == len(keys)
    toc = (ROOT / "_toc.yml").read_text()
    for name in names:
        spec = sw.get_experiment(name)
        assert sw.get_experiment(spec.key) is spec and spec in sw.by_chapter(spec.chapter)
        assert f"book/_executed/{spec.chapter}" in toc, f"{name}'s chapter is not in the book"
        assert spec.description and spec.title
        assert set(spec.profiles) == set(sw.PROFILES)
        smoke, paper = spec.resolve("smoke"), spec.resolve("paper")
        assert len(smoke.seeds) == 1 and smoke.train.epochs == 1
        assert paper.train.n_train is None and paper.train.epochs >= 30 and len(paper.seeds) >= 5
        assert len(paper.runs("paper")) >= len(spec.resolve("default").runs("default"))
    for name in ("fcnn-mnist", "cnn-cifar10"):
        default = sw.get_experiment(name).resolve("default")
        assert len(default.runs("default")) == 19 * len(default.seeds) * max(len(default.lrs), 1)
    # E1: both optimizers, each with its learning-rate grid and a validation split; every paper init at scale
    e1 = sw.get_experiment("E1")
    for profile in sw.PROFILES:
        runs = e1.resolve(profile).runs(profile)
        assert {r.train.optimizer for r in runs} == {"sgd", "adam"} and all(r.train.n_val > 0 for r in runs)
        for opt in ("sgd", "adam"):
            assert len({r.train.lr for r in runs if r.train.optimizer == opt}) >= (5 if profile == "paper" else 2)
    paper = e1.resolve("paper").runs("paper")
    assert {r.init.label for r in paper} >= {i.label for i in sw.paper_grid()} and len({r.seed for r in paper}) >= 5
    lrs = sorted({r.train.lr for r in paper if r.train.optimizer == "sgd"})
    assert lrs[-1] / lrs[0] >= 30
    for name, seeds in (("fcnn-cifar10", 3), ("fcnn-mnist", 2)):
        d = sw.get_experiment(name).resolve("default")
        assert len(d.seeds) >= seeds and (d.model.depth, d.model.width) == (54, 64)


def test_variants_and_overrides_need_no_code():
    spec = tiny_spec(
        inits=sw.depth_grid(
            base=("he",),
            distribution=("normal",),
            schedule=("increasing",),
            network_variance=(1, 2, 5, 22, 100),
            depth_fn=("log", "power"),
        ),
        variants=(
            sw.Variant("L=4"),
            sw.Variant("L=6", {"model.depth": 6}),
            sw.Variant("std", {"preprocess": "standardize", "train.lr": 0.01}),
        ),
    )
    runs = spec.runs("default")
    assert len(runs) == 3 * 10 * 2
    assert {r.model.depth for r in runs} == {4, 6}
    assert {(r.variant, r.preprocess, r.train.lr) for r in runs} >= {("std", "standardize", 0.01)}
    labels = {r.init.label for r in runs}
    assert "He normal, increasing, V=100, power" in labels and "He normal, increasing" in labels
    # dotted overrides are checked as a whole and rejected clearly
    assert sw.override(spec, {"train.epochs": 1, "train.probe_epochs": (0,)}).train.epochs == 1
    with pytest.raises(sw.SweepError, match="no field 'epoch'"):
        sw.override(spec, {"train.epoch": 1})
    with pytest.raises(sw.SweepError, match="probe_epochs"):
        sw.override(spec, {"train.epochs": 1})


def test_spec_errors_name_what_to_do():
    with pytest.raises(sw.SweepError, match="not known; registered experiments: fcnn-cifar10 \\(E1\\)"):
        sw.get_experiment("fcnn-imagenet")
    with pytest.raises(sw.SweepError, match="profile 'fast' is not defined.*'smoke', 'default', 'paper'"):
        sw.get_experiment("fcnn-mnist").resolve("fast")
    with pytest.raises(sw.SweepError, match="dataset"):
        tiny_spec(dataset="svhn")
    with pytest.raises(sw.SweepError, match="duplicate init labels"):
        tiny_spec(inits=(sw.init("he"), sw.init("he")))
    with pytest.raises(ValueError, match="schedule"):
        sw.init("depth", schedule="sideways")
    with pytest.raises(sw.SweepError, match="seeds"):
        tiny_spec(seeds=(0, 0))
    with pytest.raises(sw.SweepError, match="lrs"):
        tiny_spec(lrs=(0.1, -1.0))
    with pytest.raises(sw.SweepError, match="unknown profile"):
        tiny_spec(profiles={"fast": {}})


def test_a_learning_rate_grid_multiplies_the_runs_and_stacks_together():
    spec = tiny_spec(lrs=(0.01, 0.03, 0.1))
    runs = spec.runs()
    assert len(runs) == 3 * 3 * 2 and {r.train.lr for r in runs} == {0.01, 0.03, 0.1}
    assert len({r.run_id for r in runs}) == len(runs)
    assert len({r.stack_key() for r in runs}) == 1  # the rate is per member: one stack


def test_run_ids_are_stable_hashes_of_the_configuration():
    runs = tiny_spec().runs("default")
    again = tiny_spec().runs("smoke")  # the profile name is a label; the settings are what count
    assert [r.run_id for r in runs] == [r.run_id for r in again]
    assert len({r.run_id for r in runs}) == len(runs)
    ids = {r.run_id for r in tiny_spec(train=TrainConfig(lr=0.05, epochs=3, batch_size=32)).runs()}
    assert not ids & {r.run_id for r in runs}
    moved = [
        r.run_id
        for r in tiny_spec(
            train=TrainConfig(lr=0.05, epochs=2, batch_size=32, probe_epochs=(0, 2), probe_batch=16, device="cuda")
        ).runs()
    ]
    assert moved == [r.run_id for r in runs]  # where it runs is not part of the run
    assert all(len(i) == 16 and int(i, 16) >= 0 for i in moved)


def test_stacks_group_by_seed_and_cap():
    runs = tiny_spec(variants=(sw.Variant("a"), sw.Variant("b", {"model.width": 4}))).runs()
    groups = sw.stacks(runs, 4)
    assert sum(map(len, groups)) == len(runs) and all(len(g) <= 4 for g in groups)
    for g in groups:
        assert len({r.stack_key() for r in g}) == 1
        assert [r.seed for r in g] == sorted(r.seed for r in g)


# -- the runner ------------------------------------------------------------------------------
def test_run_writes_tidy_results_and_skips_finished_runs(tmp_path, monkeypatch):
    out = tmp_path / "out"
    df = sw.run(tiny_spec(), profile="default", out=out, device="cpu", data=tiny_data(), max_members=4, progress=False)
    required = [
        "run_id",
        "experiment",
        "dataset",
        "model",
        "scheme",
        "base",
        "distribution",
        "schedule",
        "network_variance",
        "depth_fn",
        "seed",
        "epoch",
        "train_loss",
        "train_acc",
        "test_loss",
        "test_acc",
        "status",
        "wall_s",
    ]
    assert set(required) <= set(df.columns)
    assert len(df) == 6 * 3 and not df.duplicated(["run_id", "epoch"]).any()
    assert df.groupby("run_id")["epoch"].apply(list).map(lambda e: e == [0, 1, 2]).all()
    assert set(df["status"]) == {"ok"}
    assert (df["n_train"] == 120).all() and (df["experiment"] == "tiny").all()
    loaded = sw.load(out)

    def by_run(f):
        return f.sort_values(["run_id", "epoch"]).reset_index(drop=True)

    pd.testing.assert_frame_equal(by_run(loaded.results), by_run(df))
    assert [r.run_id for r in tiny_spec().runs()] == list(dict.fromkeys(df["run_id"]))  # spec order
    assert len(loaded.runs) == 6 and set(loaded.runs["stack_size"]) == {4, 2}
    assert loaded.runs.loc[loaded.runs["init"] == "LSUV", "lsuv_converged"].notna().all()
    assert loaded.runs["run_id"].map(type).eq(str).all() and loaded.results["seed"].dtype == "int64"
    assert len(loaded.plans) == 6 * 4 and set(loaded.plans["depth"]) == {1, 2, 3, 4}
    assert len(loaded.probes) == 6 * 2 * 4 * 3
    assert set(loaded.probes["kind"]) == {"weight", "gradient", "activation"}
    assert (
        loaded.histograms.groupby(["run_id", "epoch", "layer", "kind"])["count"].sum().sum() == loaded.probes["n"].sum()
    )
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["experiment"] == "tiny" and prov["profile"] == "default" and prov["status"] == "complete"
    assert prov["runs_done"] == prov["runs_total"] == 6
    assert {"torch", "numpy", "pyarrow"} <= set(prov["packages"]) and prov["device"]["type"] == "cpu"
    assert prov["layout"] == 2 and prov["shard"] is None and prov["all_runs"] == 6
    assert "commit" in prov["code"] and prov["data"][0]["source"] == "in-memory tensors"
    assert not (out / ".lock").exists()

    # nothing is rewritten: one part per stack and table, probes in Parquet
    assert len(list((out / "results").glob("part-*.csv"))) == 2
    assert len(list((out / "probes").glob("part-*.parquet"))) == 2
    # a restart trains nothing and returns the same table
    import depthinit.sweep._runner as runner

    def boom(*a, **k):
        raise AssertionError("a finished run was trained again")

    monkeypatch.setattr(runner, "train_many", boom)
    again = sw.run(tiny_spec(), profile="default", out=out, device="cpu", data=tiny_data(), progress=False)
    pd.testing.assert_frame_equal(again, df)
    # one new seed trains only the new runs
    monkeypatch.undo()
    more = sw.run(
        tiny_spec(seeds=(0, 1, 2)), profile="default", out=out, device="cpu", data=tiny_data(), progress=False
    )
    assert more["run_id"].nunique() == 9
    pd.testing.assert_frame_equal(more[more["seed"] < 2].reset_index(drop=True), df)


def test_results_do_not_depend_on_how_runs_are_stacked(tmp_path):
    a = sw.run(tiny_spec(), out=tmp_path / "a", device="cpu", data=tiny_data(), max_members=6, progress=False)
    b = sw.run(tiny_spec(), out=tmp_path / "b", device="cpu", data=tiny_data(), max_members=1, progress=False)
    cols = ["train_loss", "train_acc", "test_loss", "test_acc"]
    assert (a["run_id"] == b["run_id"]).all()
    np.testing.assert_allclose(a[cols].to_numpy(), b[cols].to_numpy(), rtol=1e-4, atol=1e-5)


def test_diverged_run_is_a_result(tmp_path):
    spec = tiny_spec(
        inits=(sw.init("he"),), variants=(sw.Variant("ok"), sw.Variant("hot", {"train.lr": 1e20})), seeds=(0,)
    )
    df = sw.run(spec, out=tmp_path / "o", device="cpu", data=tiny_data(), progress=False)
    hot = df[df["variant"] == "hot"]
    assert (hot["status"] == "diverged").all() and hot["train_loss"].iloc[-1] != hot["train_loss"].iloc[-1]
    assert (df[df["variant"] == "ok"]["status"] == "ok").all()
    runs = sw.load(tmp_path / "o").runs.set_index("variant")
    assert runs.loc["hot", "diverged_step"] >= 1
    # a diverged run has no final accuracy in the runs table; summaries count it at chance
    assert np.isnan(runs.loc["hot", "final_test_acc"]) and np.isnan(runs.loc["hot", "best_test_acc"])
    assert np.isfinite(runs.loc["ok", "final_test_acc"])
    s = sw.summary(df).set_index("variant")
    assert s.loc["hot", "diverged"] == 1 and s.loc["hot", "failed"] == 1
    assert s.loc["hot", "mean"] == pytest.approx(0.1)


def test_folder_of_another_experiment_is_refused_untouched(tmp_path):
    out = tmp_path / "out"
    sw.run(tiny_spec(seeds=(0,)), out=out, device="cpu", data=tiny_data(), progress=False)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    with pytest.raises(sw.SweepError, match="holds results of experiment 'tiny'.*another --out"):
        sw.run(tiny_spec("other", seeds=(0,)), out=out, device="cpu", data=tiny_data(), progress=False)
    with pytest.raises(sw.SweepError, match="profile 'default', not 'smoke'"):
        sw.run(tiny_spec(seeds=(0,)), profile="smoke", out=out, device="cpu", data=tiny_data(), progress=False)
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


_HOLD_SCRIPT = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    import depthinit.sweep as sw
    lock = sw.Lock(Path({out!r}))
    lock.__enter__()
    print("held", flush=True)
    time.sleep(60)
    """
)


def test_live_lock_refuses_a_second_writer(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-c", _HOLD_SCRIPT.format(out=str(out))], stdout=subprocess.PIPE, text=True, cwd=ROOT
    )
    try:
        assert proc.stdout.readline().strip() == "held"
        with pytest.raises(sw.SweepError, match=f"another sweep \\(pid {proc.pid} on"):
            sw.run(tiny_spec(seeds=(0,)), out=out, device="cpu", data=tiny_data(), progress=False)
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()
    assert (out / ".lock").exists()  # the killed holder could not clean up; its lock is free all the same
    df = sw.run(tiny_spec(seeds=(0,)), out=out, device="cpu", data=tiny_data(), progress=False)
    assert df["run_id"].nunique() == 3 and not (out / ".lock").exists()


_KILL_SCRIPT = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {tests!r})
    from test_sweep import tiny_data, tiny_spec
    import depthinit.sweep as sw
    spec = tiny_spec(seeds=tuple(range(8)))
    sw.run(spec, out={out!r}, device="cpu", data=tiny_data(), max_members=1, progress=False)
    """
)


def test_sigkill_mid_sweep_then_restart_finishes_every_run_once(tmp_path):
    out = tmp_path / "out"
    script = _KILL_SCRIPT.format(tests=str(ROOT / "tests"), out=str(out))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-c", script], env=env, cwd=ROOT)
    try:
        deadline = time.time() + 90
        while time.time() < deadline:
            if (out / "results").is_dir() and len(list((out / "results").glob("part-*.csv"))) >= 3:
                break
            if proc.poll() is not None:
                pytest.fail("the sweep ended before it could be killed")
            time.sleep(0.05)
        else:
            pytest.fail("the sweep wrote no results in 90 s")
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    partial = sw.load(out, probes=False).results
    n_before = partial["run_id"].nunique()
    assert 3 <= n_before < 24
    assert (out / ".lock").exists()  # the killed process could not clean up
    spec = tiny_spec(seeds=tuple(range(8)))
    df = sw.run(spec, out=out, device="cpu", data=tiny_data(), max_members=1, progress=False)
    expected = {r.run_id for r in spec.runs()}
    assert set(df["run_id"]) == expected and len(expected) == 24
    assert not df.duplicated(["run_id", "epoch"]).any() and len(df) == 24 * 3
    loaded = sw.load(out)
    assert len(loaded.runs) == 24 and loaded.runs["run_id"].is_unique
    assert not loaded.probes.duplicated(["run_id", "epoch", "layer", "kind"]).any()
    # finished runs were kept as they were
    kept = df[df["run_id"].isin(set(partial["run_id"]))].sort_values(["run_id", "epoch"]).reset_index(drop=True)
    partial = partial.sort_values(["run_id", "epoch"]).reset_index(drop=True)
    np.testing.assert_array_equal(kept["test_loss"].to_numpy(), partial["test_loss"].to_numpy())
    parts = list((out / "probes").glob("part-*.parquet"))
    assert len(parts) == 24 and len(list((out / "results").glob("part-*.csv"))) == 24


def test_report_summarises(tmp_path):
    out = tmp_path / "out"
    df = sw.run(tiny_spec(), out=out, device="cpu", data=tiny_data(), progress=False)
    text = sw.report(out)
    assert "experiment 'tiny', profile 'default': 6 of 6 runs done (complete)" in text
    assert "LSUV" in text and "He normal" in text and "diverged runs count at chance" in text
    s = sw.summary(df)
    assert len(s) == 3 and (s["seeds"] == 2).all()
    last = df[df["epoch"] == 2].groupby("init")["test_acc"].mean()
    np.testing.assert_allclose(s.set_index("init")["mean"].sort_index(), last.sort_index())


def test_resolve_device(monkeypatch):
    assert sw.resolve_device("cpu").type == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert sw.resolve_device("auto").type == "cuda"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    mps = getattr(torch.backends, "mps", None)
    if mps is not None:
        monkeypatch.setattr(mps, "is_available", lambda: True)
        assert sw.resolve_device("auto").type == "mps"
        monkeypatch.setattr(mps, "is_available", lambda: False)
    assert sw.resolve_device("auto").type == "cpu"
    with pytest.raises(sw.SweepError, match="CUDA is not available"):
        sw.resolve_device("cuda")
    with pytest.raises(sw.SweepError, match="not valid"):
        sw.resolve_device("tpu-3")


# -- shards, merging, progress ----------------------------------------------------------------
def test_three_shards_merged_equal_one_unsharded_sweep(tmp_path):
    spec = tiny_spec(seeds=(0, 1, 2), lrs=(0.02, 0.05))
    whole = sw.run(spec, out=tmp_path / "whole", device="cpu", data=tiny_data(), progress=False)
    parts = [tmp_path / f"shard{i}" for i in range(3)]
    ids = []
    for i, folder in enumerate(parts):
        df = sw.run(spec, out=folder, device="cpu", data=tiny_data(), progress=False, shard=f"{i}/3")
        ids.append(set(df["run_id"]))
    assert sum(map(len, ids)) == 18 and set.union(*ids) == set(whole["run_id"])
    assert [len(s) for s in ids] == [6, 6, 6]
    assert sw.merge(tmp_path / "merged", parts) == 18
    merged = sw.load(tmp_path / "merged")
    assert merged.provenance["shard"] is None and len(merged.provenance["merged_from"]) == 3
    key = ["run_id", "epoch"]
    a = whole.sort_values(key).reset_index(drop=True)
    b = merged.results.sort_values(key).reset_index(drop=True)
    cols = [c for c in a.columns if c != "wall_s"]
    pd.testing.assert_frame_equal(a[cols], b[cols], check_exact=False, rtol=1e-5)
    assert len(merged.runs) == 18 and len(merged.probes) == len(sw.load(tmp_path / "whole").probes)
    # a missing, doubled or foreign shard is refused before anything is written
    with pytest.raises(sw.SweepError, match="missing \\[2\\]"):
        sw.merge(tmp_path / "m2", parts[:2])
    with pytest.raises(sw.SweepError, match="given twice \\[1\\]"):
        sw.merge(tmp_path / "m3", [parts[0], parts[1], parts[1]])
    with pytest.raises(sw.SweepError, match="a whole sweep, not a shard"):
        sw.merge(tmp_path / "m4", [tmp_path / "whole"])
    other = tmp_path / "other"
    sw.run(
        tiny_spec(seeds=(0, 1, 2), lrs=(0.02, 0.05), name="other"),
        out=other,
        device="cpu",
        data=tiny_data(),
        progress=False,
        shard="2/3",
    )
    with pytest.raises(sw.SweepError, match="different experiments"):
        sw.merge(tmp_path / "m5", [parts[0], parts[1], other])
    with pytest.raises(sw.SweepError, match="not an empty folder"):
        sw.merge(tmp_path / "whole", parts)
    assert not any((tmp_path / m).exists() for m in ("m2", "m3", "m4", "m5"))
    # a shard folder takes only its own shard
    with pytest.raises(sw.SweepError, match="holds shard 0/3"):
        sw.run(spec, out=parts[0], device="cpu", data=tiny_data(), progress=False, shard="1/3")


def test_progress_writes_log_lines_when_not_on_a_terminal(capsys):
    p = sw.Progress(total=4, desc="tiny [default]", interval=0.0)
    assert p.mode == "log"  # pytest's captured stderr is not a terminal
    for _ in range(4):
        p.update()
    p.close()
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines[0].startswith("tiny [default]: 1 of 4 runs done, 3 left,") and "about" in lines[0]
    assert lines[-1].startswith("tiny [default]: 4 of 4 runs done, 0 left")
    quiet = sw.Progress(total=4, desc="x", enabled=False)
    quiet.update(4)
    quiet.close()
    assert capsys.readouterr().err == ""


def test_a_sweep_piped_to_a_file_reports_progress(tmp_path, capsys):
    sw.run(tiny_spec(seeds=(0,)), out=tmp_path / "o", device="cpu", data=tiny_data(), max_members=1)
    err = capsys.readouterr().err
    assert "tiny [default]: 3 of 3 runs done, 0 left" in err


def test_he_with_the_schedules_rates_and_logit_scale_is_the_schedule_through_the_runner(tmp_path):
    """The ablation's "both" arm reproduces the schedule run for run (float64, same seeds)."""
    from depthinit.sweep._ablation_specs import schedule_lr_scales

    V = 5.0
    he = sw.init("depth", schedule="unit")
    both = {
        "inits": (he,),
        "train.lr_scales": schedule_lr_scales("increasing", layers=4, network_variance=V),
        "train.logit_scale": V**0.5,
    }
    spec = tiny_spec(
        inits=(he,),
        seeds=(0, 1),
        train=TrainConfig(lr=0.02, epochs=3, batch_size=32, dtype="float64"),
        variants=(
            sw.Variant("both", both),
            sw.Variant("schedule", {"inits": (sw.init("depth", schedule="increasing", network_variance=V),)}),
            sw.Variant("He", {"inits": (he,)}),
        ),
    )
    df = sw.run(spec, out=tmp_path / "o", device="cpu", data=tiny_data(), progress=False)
    a = df[df["variant"] == "both"].sort_values(["seed", "epoch"])
    b = df[df["variant"] == "schedule"].sort_values(["seed", "epoch"])
    c = df[df["variant"] == "He"].sort_values(["seed", "epoch"])
    # the weights are drawn in float32 (one rounding each for sqrt(alpha) U and W), trained in float64
    for col in ("train_loss", "test_loss", "test_acc"):
        np.testing.assert_allclose(a[col].to_numpy(), b[col].to_numpy(), rtol=1e-6, atol=1e-9)
    assert not np.allclose(a["test_loss"].to_numpy(), c["test_loss"].to_numpy(), rtol=1e-3)  # it is not He
