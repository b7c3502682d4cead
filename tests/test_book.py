"""The experiment chapters' shared helpers: folders, loading live and paper-scale sweeps,
E4/E5 specs, accuracy tables and curves over seeds, per-layer tables, signal statistics."""

import dataclasses
import json
import math
import shutil

import numpy as np
import pandas as pd
import pytest
import torch

import depthinit.sweep as sw
from depthinit import analysis, book
from depthinit.models import MLP
from depthinit.sweep import paper_variants as pv
from depthinit.train import Tensors, TrainConfig


def tiny_data(seed: int = 3) -> Tensors:
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(160, 1, 6, 6, generator=g)
    y = (x.mean(dim=(1, 2, 3)) * 40).long() % 4
    return Tensors(x[:120], y[:120], x[120:], y[120:])


def tiny_spec(name: str) -> sw.Experiment:
    return sw.Experiment(
        name=name, dataset="mnist", model=sw.ModelConfig("mlp", depth=4, width=8),
        train=TrainConfig(lr=0.05, epochs=2, batch_size=32, probe_epochs=(0, 2), probe_batch=16),
        inits=(sw.init("he"), sw.init("he", distribution="uniform"),
               sw.init("depth", schedule="increasing", network_variance=5.0)),
        seeds=(0, 1, 2),
    )


def fake_sweep(folder, name: str, profile: str = "default") -> sw.Results:
    sw.run(tiny_spec(name), profile=profile, out=folder, device="cpu", data=tiny_data(), progress=False)
    return book.load_folder(folder)


# -- folders and specs ----------------------------------------------------------------------------
def test_folders_follow_experiment_and_profile(tmp_path):
    assert book.runs_dir("E1", "default", root=tmp_path) == tmp_path / "book/_executed/runs/fcnn-cifar10-default"
    assert book.runs_dir("sensitivity", "smoke", root=tmp_path).name == "sensitivity-smoke"
    assert book.paper_dir("E2", root=tmp_path) == tmp_path / "results/fcnn-mnist-paper"
    with pytest.raises(ValueError, match="'E9' is not a chapter"):
        book.runs_dir("E9", "default")
    with pytest.raises(ValueError, match="profile='huge'"):
        book.runs_dir("E1", "huge")


@pytest.mark.parametrize("key", list(book.BOOK_EXPERIMENTS))
def test_every_chapter_has_a_spec_with_three_profiles(key):
    spec = book.experiment_spec(key)
    assert spec.name == book.BOOK_EXPERIMENTS[key]
    for profile in ("smoke", "default", "paper"):
        runs = spec.resolve(profile).runs(profile)
        assert len({r.run_id for r in runs}) == len(runs) > 0
    paper = spec.resolve("paper")
    assert paper.train.n_train is None and paper.train.epochs >= 30 and len(paper.seeds) >= 5


def test_stall_experiment_crosses_inits_with_input_scaling():
    runs = pv.HE_UNIFORM_STALL.resolve("default").runs("default")
    cells = {(r.preprocess, r.init.label) for r in runs}
    labels = {i.label for i in pv.stall_inits()}
    assert labels == {"he-normal-unit", "he-uniform-unit", "he-normal-increasing", "he-uniform-increasing"}
    assert cells == {(p, l) for p in ("unit", "standardize") for l in labels}
    assert {r.model.depth for r in runs} == {54} and {r.seed for r in runs} == set(range(5))
    e1 = sw.get_experiment("fcnn-cifar10").resolve("default")
    assert {r.train.probe_epochs for r in runs} == {(0, 1, 2, e1.train.epochs)}
    # trained exactly as E1, so E1's He runs are E4's first three seeds
    strip = lambda c: {k: v for k, v in c.items() if k not in ("experiment",)} | {
        "train": {k: v for k, v in c["train"].items() if k != "probe_epochs"}}
    e4_he = {(r.init.label, r.seed): strip(r.config()) for r in runs if r.preprocess == "unit"}
    for r in e1.runs("default"):
        if (r.init.label, r.seed) in e4_he:
            assert strip(r.config()) == e4_he[r.init.label, r.seed]


def test_book_claims_route_the_stall_to_e4_inputs_in_unit_range():
    claims = book.book_claims()
    assert [c.experiment for c in claims] == ["E1", "E1", "E4", "E1", "E1", "E1", "E1"]
    rows = []
    for prep, he_uniform in (("unit", 0.10), ("standardize", 0.40)):
        for init, scheme, dist, acc in (("he-normal", "he", "normal", 0.40), ("he-uniform", "he", "uniform", he_uniform)):
            for seed in range(4):
                rows.append(dict(run_id=f"{prep}{init}{seed}", init=init, scheme=scheme, base=None, distribution=dist,
                                 schedule="unit", network_variance=math.nan, preprocess=prep, seed=seed, epoch=1,
                                 test_acc=acc + 0.003 * seed, status="ok"))
    summary, details = analysis.verdict_table({"E4": pd.DataFrame(rows)}, [claims[2]])
    assert summary.loc[0, "verdict"] == analysis.SUPPORTED  # standardized runs, where He uniform trains, stay out
    assert details["n"].tolist() == [4, 4]
    only_e1 = book.book_claims({"E1": pd.DataFrame(rows)})
    assert only_e1[2].experiment == "E1" and only_e1[2].rule == analysis.paper_claims()[2].rule
    assert book.book_claims({"E1": None, "E4": None})[2].experiment == "E4"


def test_sensitivity_covers_each_setting_once():
    runs = pv.SENSITIVITY.resolve("default").runs("default")
    cols = pd.DataFrame([{**r.init.columns(), "variant": r.variant, "L": r.model.layers, "seed": r.seed}
                         for r in runs])
    nv = cols[cols.variant == "network variance"]
    assert set(nv.network_variance.dropna()) == set(pv.SENSITIVITY_V)
    assert set(nv.schedule) == {"unit", "constant", "increasing", "decreasing"}
    assert set(cols[cols.variant == "depth function"].depth_fn) == set(pv.SENSITIVITY_DEPTH_FNS)
    assert set(cols[cols.variant == "offset"].offset) == set(pv.SENSITIVITY_OFFSETS)
    assert set(cols.L) == {10, 20, 54, 100}
    assert set(cols[cols.L == 100].schedule) == {"unit", "constant", "increasing", "decreasing"}
    with pytest.raises(sw.SweepError, match="not one of E4/E5"):
        pv.get_variant_experiment("fcnn-cifar10")


# -- loading --------------------------------------------------------------------------------------
def test_load_book_results_reads_what_the_chapters_ran(tmp_path, monkeypatch):
    monkeypatch.setattr(book, "experiment_spec", lambda key: tiny_spec(book.experiment_name(key)))
    assert book.load_book_results("default", root=tmp_path) == {}
    fake_sweep(book.runs_dir("E1", "default", root=tmp_path), "fcnn-cifar10")
    fake_sweep(book.runs_dir("E4", "smoke", root=tmp_path), "he-uniform-stall", profile="smoke")
    got = book.load_book_results("default", root=tmp_path)
    assert list(got) == ["E1"]
    assert got["E1"]["run_id"].nunique() == 9 and set(got["E1"]["epoch"]) == {0, 1, 2}
    assert list(book.load_book_results("smoke", root=tmp_path)) == ["E4"]
    summary, _ = analysis.verdict_table(got, book.book_claims())
    assert len(summary) == 7  # the landing page's call works on what the loader returns


def test_runs_of_an_earlier_spec_in_the_folder_are_left_out(tmp_path, monkeypatch):
    old = tiny_spec("fcnn-cifar10")
    new = dataclasses.replace(old, train=dataclasses.replace(old.train, lr=0.02), seeds=(0, 1))
    out = book.runs_dir("E1", "default", root=tmp_path)
    sw.run(old, out=out, device="cpu", data=tiny_data(), progress=False)
    monkeypatch.setattr(book, "experiment_spec", lambda key: new)
    monkeypatch.setattr(book, "run_sweep", lambda spec, **kw: sw.run(spec, data=tiny_data(), device="cpu", **kw))
    r = book.run_chapter("E1", "default", root=tmp_path)
    assert sw.load(out).results["run_id"].nunique() == 9 + 6  # both versions stay in the folder
    assert r.results["run_id"].nunique() == 6 and set(r.results["lr"]) == {0.02}
    assert set(r.probes["run_id"]) == set(r.results["run_id"])
    assert book.load_book_results("default", root=tmp_path)["E1"]["run_id"].nunique() == 6


def test_paper_results_present_absent_and_misplaced(tmp_path):
    assert book.load_paper_results("E1", root=tmp_path) is None
    r = fake_sweep(book.paper_dir("E1", root=tmp_path), "fcnn-cifar10", profile="default")
    got = book.load_paper_results("E1", root=tmp_path)
    assert got is not None and len(got.results) == len(r.results) and len(got.probes) > 0
    note = book.source_note(got)
    assert "experiment fcnn-cifar10, profile default" in note and "9 runs" in note and "3 seeds" in note
    assert "device cpu" in note
    shutil.copytree(book.paper_dir("E1", root=tmp_path), book.paper_dir("E2", root=tmp_path))
    with pytest.raises(ValueError, match="holds results of experiment 'fcnn-cifar10', not 'fcnn-mnist'"):
        book.load_paper_results("E2", root=tmp_path)


def test_source_note_names_the_data_and_its_digest(tmp_path):
    r = fake_sweep(tmp_path / "s", "fcnn-cifar10")
    r.provenance["data"] = [{"name": "cifar10", "source": "cifar10-jpeg.zip (JPEG q75)",
                             "sha256": {"cifar10-jpeg.zip": "0287a3668d9e0d204fc6"}}]
    note = book.source_note(r)
    assert "cifar10-jpeg.zip (JPEG q75) (sha256 0287a3668d9e)" in note
    assert "120 training and 40 test images, 2 epochs" in note


def test_load_folder_keeps_run_ids_that_look_like_numbers(tmp_path):
    r = fake_sweep(tmp_path / "s", "fcnn-cifar10")
    old = r.results["run_id"].iloc[0]
    new = "0123456789012345"  # a possible 16-hex-digit run id that pandas reads as an integer
    for name in ("results.csv", "runs.csv", "plans.csv"):
        t = pd.read_csv(tmp_path / "s" / name, dtype={"run_id": str})
        t["run_id"] = t["run_id"].replace(old, new)
        t.to_csv(tmp_path / "s" / name, index=False)
    part = tmp_path / "s" / "probes" / "part-numeric.csv"
    probes = r.probes[r.probes["run_id"] == old].assign(run_id=new)
    probes.to_csv(part, index=False)
    got = book.load_folder(tmp_path / "s")
    assert new in got.finished
    assert (got.probes["run_id"] == new).sum() == len(probes) > 0


# -- tables and curves ----------------------------------------------------------------------------
def _table(rows):
    base = dict(scheme="he", base=None, distribution="normal", schedule="unit", network_variance=math.nan,
                depth_fn=None, offset=math.nan, variant="base", train_loss=1.0)
    return pd.DataFrame([{**base, **r} for r in rows])


def test_final_accuracy_counts_diverged_runs_at_chance():
    rows = []
    for seed, acc in enumerate((0.30, 0.34, 0.32)):
        rows += [dict(run_id=f"a{seed}", init="he-normal", seed=seed, epoch=e, test_acc=acc * e / 2, status="ok")
                 for e in (0, 1, 2)]
    rows += [dict(run_id="b0", init="big", scheme="depth", base="he", schedule="increasing", seed=0, epoch=e,
                  test_acc=a, status="diverged") for e, a in ((0, 0.1), (1, float("nan")))]
    rows += [dict(run_id=f"b{s}", init="big", scheme="depth", base="he", schedule="increasing", seed=s, epoch=e,
                  test_acc=0.2, status="ok") for s in (1, 2) for e in (0, 1, 2)]
    t = book.final_accuracy(_table(rows)).set_index("init")
    est = analysis.t_interval([0.30, 0.34, 0.32])
    assert t.loc["he-normal", "test_acc"] == pytest.approx(est.mean)
    assert (t.loc["he-normal", "low"], t.loc["he-normal", "high"]) == pytest.approx((est.low, est.high))
    assert t.loc["big", "diverged"] == 1 and t.loc["big", "test_acc"] == pytest.approx((0.1 + 0.2 + 0.2) / 3)
    assert list(t.index) == ["he-normal", "big"]  # sorted best first
    assert t.loc["big", "label"] == "He normal, increasing"
    shown = book.accuracy_display(t.reset_index())
    assert shown.iloc[0]["test accuracy % [95 % CI]"].startswith("32.0 [")


def test_curve_frame_pads_a_diverged_run_with_chance():
    rows = [dict(run_id=f"r{s}", init="x", seed=s, epoch=e, test_acc=0.2 + 0.1 * e, test_loss=2.0, status="ok")
            for s in (0, 1) for e in (0, 1, 2, 3)]
    rows += [dict(run_id="r2", init="x", seed=2, epoch=e, test_acc=a, test_loss=l, status="diverged")
             for e, a, l in ((0, 0.2, 2.0), (1, float("nan"), float("nan")))]
    c = book.curve_frame(_table(rows)).set_index("epoch")
    assert list(c.index) == [0, 1, 2, 3] and (c["n"] == 3).all()
    assert c.loc[3, "mean"] == pytest.approx((0.5 + 0.5 + 0.1) / 3)
    assert c.loc[0, "low"] == pytest.approx(0.2) and c.loc[0, "high"] == pytest.approx(0.2)
    loss = book.curve_frame(_table(rows), measure="test_loss").set_index("epoch")
    assert loss.loc[0, "n"] == 3 and loss.loc[2, "n"] == 2  # a diverged run has no loss after it diverged
    with pytest.raises(ValueError, match="measure='nope'"):
        book.curve_frame(_table(rows), measure="nope")


def test_labels():
    assert book.init_label(dict(scheme="he", distribution="uniform")) == "He uniform"
    assert book.init_label(dict(scheme="depth", base="glorot", distribution="normal", schedule="unit")) == \
        "Glorot normal"
    assert book.init_label(dict(scheme="depth", base="he", distribution="normal", schedule="constant",
                                network_variance=5.0, depth_fn=None, offset=math.nan)) == "He normal, constant, V=5"
    assert book.init_label(dict(scheme="depth", base="he", distribution="normal", schedule="increasing",
                                network_variance=22.0, depth_fn="power", offset=1.0)) == \
        "He normal, increasing, power, c=1"
    assert book.init_label(dict(scheme="random_walk", distribution="normal")) == "Random walk"
    assert book.scheme_group(dict(scheme="depth", base="glorot")) == "Glorot"
    assert book.scheme_group(dict(scheme="lsuv")) == "references"


def test_layer_tables_and_figures(tmp_path):
    r = fake_sweep(tmp_path / "s", "fcnn-cifar10")
    t = book.layer_table(r.probes, kind="weight", stat="std", epoch=0)
    assert list(t.columns) == [1, 2, 3, 4] and len(t) == 3
    he = r.probes[(r.probes.kind == "weight") & (r.probes.epoch == 0) & (r.probes.init == "he-normal")]
    assert t.loc["he-normal", 2] == pytest.approx(he[he.depth == 2]["std"].mean())
    assert t.loc["he-normal", 2] == pytest.approx(math.sqrt(2 / 8), rel=0.3)
    fig = book.plot_layer_heatmaps(r.probes, order=["he-normal", "he-uniform", "he-normal-increasing-V5"])
    assert len(fig.axes) == 3 * 2 + 3  # six heatmaps and a colour bar per kind
    tall = book.plot_layer_heatmaps(r.probes, order=["he-normal"], kinds=("gradient",), epochs=(0, 2),
                                    epochs_as_rows=True)
    assert [a.get_title() for a in tall.axes if a.get_title()] == ["gradient, epoch 0", "gradient, epoch 2"]
    import matplotlib.pyplot as plt

    fig2, ax = plt.subplots()
    book.plot_layer_quantiles(r.probes, ax, kind="activation", init="he-normal", epoch=2)
    book.plot_curves(book.curve_frame(r.results), ax, chance=0.25)
    plt.close("all")
    with pytest.raises(ValueError, match="no weight probes at epoch 7"):
        book.layer_table(r.probes, kind="weight", epoch=7)


# -- signals --------------------------------------------------------------------------------------
def test_signal_statistics_measure_the_common_part_of_the_signal(gen):
    import depthinit

    model = MLP(256, 10, depth=6, width=128)
    depthinit.init_(model, "he", generator=gen)
    x = torch.randn(512, 256, generator=gen)
    centred = book.signal_statistics(model, x)
    shifted = book.signal_statistics(model, x * 0.25 + 0.5)  # [0, 1]-like: mean 0.5, std 0.25
    assert list(centred["depth"]) == list(range(1, 7))
    assert centred.loc[0, "common_share"] == pytest.approx(0.0, abs=0.02)
    assert abs(centred.loc[0, "cosine"]) < 0.02
    assert shifted.loc[0, "common_share"] > 0.6 and shifted.loc[0, "cosine"] > 0.7
    assert shifted.loc[0, "input_mean"] == pytest.approx(0.5, abs=0.01)
    # E[y^2] of the first layer: n Var[w] E[x^2] whatever the input's mean
    for frame, moment in ((centred, 1.0), (shifted, 0.25 ** 2 + 0.5 ** 2)):
        assert frame.loc[0, "second_moment"] == pytest.approx(2 * moment, rel=0.1)
    # matches the theory module's measurement of E[y^2]
    from depthinit.theory import measure_variances

    m = measure_variances(model, x, generator=torch.Generator().manual_seed(0))
    assert np.allclose(centred["second_moment"], m["forward_variance"], rtol=1e-4)
    with pytest.raises(ValueError, match="B >= 2"):
        book.signal_statistics(model, x[:1])


def test_chapter_times_reads_the_runner_record(tmp_path):
    path = tmp_path / book.TIMINGS_FILE
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"e1_cifar10_mlp": {"seconds": 12.5, "profile": "default"},
                                "index": {"seconds": 1.0, "profile": "default"}}))
    t = book.chapter_times(root=tmp_path)
    assert t.to_dict("records") == [{"chapter": "E1", "notebook": "e1_cifar10_mlp", "profile": "default",
                                     "seconds": 12.5}]
    assert book.chapter_times(root=tmp_path / "none").empty


def test_grid_findings_and_figures_of_the_papers_grid():
    rows = []
    grid = [("he", "he", "normal", "unit", 0.40), ("he", "he", "uniform", "unit", 0.38),
            ("depth", "he", "normal", "increasing", 0.12), ("depth", "glorot", "normal", "unit", 0.10),
            ("lsuv", None, "orthogonal", None, 0.30)]
    for scheme, base, dist, sched, acc in grid:
        init = "-".join(str(x) for x in (scheme, base, dist, sched))
        for seed in range(3):
            status = "diverged" if (sched == "increasing" and seed == 0) else "ok"
            for epoch in (0, 1, 2):
                a = float("nan") if status == "diverged" and epoch == 2 else 0.1 + (acc - 0.1) * epoch / 2 + 0.004 * seed
                rows.append(dict(run_id=f"{init}{seed}", init=init, scheme=scheme, base=base, distribution=dist,
                                 schedule=sched, seed=seed, epoch=epoch, test_acc=a, status=status,
                                 train_loss=2.0))
    res = _table(rows)
    f = book.grid_findings(res)
    assert f["best"] == "He normal" and f["trained"] == 3 and f["trained_names"] == "He normal; He uniform; LSUV"
    assert f["stuck"] == 1 and f["stuck_names"] == "Glorot normal" and f["diverged_runs"] == 1 and f["diverged_inits"] == "He normal, increasing (1 of 3)"
    assert book.grid_order(res) == {"He": ["he-he-normal-unit", "he-he-uniform-unit", "depth-he-normal-increasing"],
                                    "Glorot": ["depth-glorot-normal-unit"], "references": ["lsuv-None-orthogonal-None"]}
    styles = book.grid_styles(res)
    assert styles["he-he-uniform-unit"]["ls"] == "--" and styles["he-he-normal-unit"]["ls"] == "-"
    assert styles["he-he-normal-unit"]["color"] == styles["depth-glorot-normal-unit"]["color"]  # same schedule
    fig = book.plot_grid_curves(res, note="a note")
    assert len(fig.axes) == 3 and any(t.get_text() == "a note" for t in fig.texts)
    both = book.accuracy_side_by_side({"live": res, "stored": res[res["seed"] < 2]})
    assert list(both.columns) == ["live: test accuracy % [95 % CI]", "live: seeds", "stored: test accuracy % [95 % CI]",
                                  "stored: seeds"]
    assert both.loc["He normal", "stored: seeds"] == 2
    import matplotlib.pyplot as plt

    plt.close("all")


def test_profile_note_says_what_ran():
    spec = book.experiment_spec("E1")
    assert "smoke profile" in book.profile_note("smoke", spec) and "mean nothing" in book.profile_note("smoke", spec)
    e = spec.resolve("default")
    note = book.profile_note("default", spec)
    assert f"{len(e.runs())} runs" in note and f"{e.train.n_train} training" in note
    assert "all training and all test images" in book.profile_note("paper", spec)


def test_verdict_lines_say_what_holds_with_every_estimate():
    summary = pd.DataFrame([{"claim": 1, "text": "A beats B.", "experiment": "E1", "estimate": "x",
                             "verdict": analysis.SUPPORTED},
                            {"claim": 2, "text": "C stalls.", "experiment": "E4", "estimate": "experiment not run",
                             "verdict": analysis.INCONCLUSIVE}])
    details = pd.DataFrame([{"claim": 1, "comparison": "a - b", "mean": 0.031, "low": 0.012, "high": 0.05, "n": 3,
                             "verdict": analysis.SUPPORTED}])
    text = book.verdict_lines(summary, details)
    assert text.splitlines() == [
        "- **Claim 1** (A beats B) holds, read on E1: a - b: +3.1 points [+1.2, +5.0] (supported).",
        "- **Claim 2** (C stalls) cannot be decided, read on E4: experiment not run.",
    ]
