"""The book's library (depthinit.book): loading a chapter's runs, tables on the one divergence
rule, tuning on validation, each experiment's findings, verdicts per optimizer, budgets,
downloads, provenance text. Synthetic sweep folders are trained with the real runner on
tiny data (a 4-layer MLP, 120 training images)."""

from __future__ import annotations

import io
import math
import re
from contextlib import redirect_stdout
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import depthinit
import depthinit.cli
import depthinit.sweep as sw
from depthinit import analysis, book
from depthinit.train import Tensors, TrainConfig

V = sw.PAPER_V


# -- synthetic folders ------------------------------------------------------------------------------
def tiny_data(seed: int = 3) -> Tensors:
    """A learnable 4-class rule on 6 x 6 images: 120 training, 40 validation, 40 test images."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(200, 1, 6, 6, generator=g)
    y = (x.mean(dim=(1, 2, 3)) * 40).long() % 4
    return Tensors(x[:120], y[:120], x[160:], y[160:], x[120:160], y[120:160])


def _train(**kw) -> TrainConfig:
    base = {"lr": 0.05, "epochs": 3, "batch_size": 32, "probe_epochs": (0, 3), "probe_batch": 16}
    base.update(kw)
    return TrainConfig(**base)


def grid_spec(name: str = "fcnn-cifar10", *, seeds=(0, 1, 2)) -> sw.Experiment:
    """E1's shape in miniature: the He-normal schedules, He uniform, Glorot, LSUV; two
    optimizers, each with its own learning-rate grid."""
    inits = (
        sw.init("he"),
        sw.init("he", distribution="uniform"),
        sw.init("depth", schedule="constant", network_variance=V),
        sw.init("depth", schedule="increasing", network_variance=V),
        sw.init("depth", schedule="decreasing", network_variance=V),
        sw.init("glorot"),
        sw.init("lsuv"),
    )
    return sw.Experiment(
        name=name,
        dataset="mnist",
        model=sw.ModelConfig("mlp", depth=4, width=8),
        train=_train(),
        inits=inits,
        seeds=seeds,
        lrs=(0.01, 0.05),
        variants=(
            sw.Variant("sgd", {"train.optimizer": "sgd"}),
            sw.Variant("adam", {"train.optimizer": "adam", "lrs": (0.003, 0.01)}),
        ),
        key="E1",
        chapter="e1_cifar10_mlp",
        title="E1: tiny",
    )


def diverging_spec(name: str = "fcnn-mnist") -> sw.Experiment:
    """One learning rate; the "hot" variant diverges (lr 1e20)."""
    return sw.Experiment(
        name=name,
        dataset="mnist",
        model=sw.ModelConfig("mlp", depth=4, width=8),
        train=_train(epochs=2, probe_epochs=(0, 2)),
        inits=(sw.init("he"), sw.init("depth", schedule="increasing", network_variance=V)),
        seeds=(0, 1, 2),
        variants=(sw.Variant("ok"), sw.Variant("hot", {"train.lr": 1e20})),
        key="E2",
        chapter="e2_mnist_mlp",
    )


def run_into(root: Path, spec: sw.Experiment, profile: str = "default") -> Path:
    out = root / book.RUNS_FOLDER / f"{spec.name}-{profile}"
    sw.run(spec, profile=profile, out=out, device="cpu", data=tiny_data(), progress=False)
    return out


@pytest.fixture(scope="module")
def grid_root(tmp_path_factory) -> Path:
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("grid")
    run_into(root, grid_spec())
    torch.set_num_threads(before)
    return root


@pytest.fixture
def tiny_registry(monkeypatch):
    """The book reads the tiny specs in place of the registered E1 and E2."""
    specs = {"E1": grid_spec(), "fcnn-cifar10": grid_spec(), "E2": diverging_spec(), "fcnn-mnist": diverging_spec()}
    real = book._runs.experiment
    monkeypatch.setattr(book._runs, "experiment", lambda key: specs[key] if key in specs else real(key))
    return specs


def grid_results(root: Path) -> pd.DataFrame:
    return sw.load(root / book.RUNS_FOLDER / "fcnn-cifar10-default", probes=False).results


# -- the one divergence rule: report and book agree ------------------------------------------------
def _report_value(text: str, variant: str, init: str) -> float:
    lines = text.splitlines()
    header = next(line for line in lines if "test_acc_%" in line)
    end = header.index("test_acc_%") + len("test_acc_%")
    row = next(line for line in lines if re.search(rf"^\s*{variant}\s+\S+\s+{re.escape(init)}\s", line))
    return float(row[:end].split()[-1])


def test_report_and_book_table_give_the_same_accuracy_with_a_diverged_run(tmp_path, one_thread):
    out = run_into(tmp_path, diverging_spec())
    buf = io.StringIO()
    with redirect_stdout(buf):
        assert depthinit.cli.main(["report", str(out)]) == 0
    text = buf.getvalue()
    results = sw.load(out, probes=False).results
    assert (results[results["variant"] == "hot"]["status"] == "diverged").any()
    table = book.accuracy_table(results)
    for variant in ("ok", "hot"):
        for init in ("He normal", "He normal, increasing"):
            shown = table.loc[(variant, init), "mean %"]
            assert float(shown) == pytest.approx(_report_value(text, variant, init), abs=0.051)
    # a diverged run scores chance in both: the hot variant's mean is exactly 10 %
    hot = table.loc["hot"]
    assert set(hot["mean %"]) == {"10.0"} and {f.split(" [")[0] for f in hot["failed [Wilson 95 %]"]} == {"3 of 3"}


# -- loading -----------------------------------------------------------------------------------------
def test_folders_follow_the_registry(tmp_path):
    assert book.runs_dir("E1", "default", root=tmp_path) == tmp_path / "book/_executed/runs/fcnn-cifar10-default"
    assert book.runs_dir("sensitivity", "smoke", root=tmp_path).name == "sensitivity-smoke"
    assert book.paper_dir("E2", root=tmp_path) == tmp_path / "results/fcnn-mnist-paper"
    with pytest.raises(ValueError, match="'E99' is not known"):
        book.runs_dir("E99", "default")
    with pytest.raises(ValueError, match="profile='huge' is not valid"):
        book.runs_dir("E1", "huge")
    assert book.chapter_experiments("e1_cifar10_mlp")[0].name == "fcnn-cifar10"
    assert book.chapter_experiments("no_such_chapter") == ()


def test_loading_keeps_only_the_current_specs_runs(grid_root, tiny_registry, monkeypatch):
    full = book.load_runs("E1", "default", root=grid_root)
    assert full is not None and full.results["run_id"].nunique() == 7 * 2 * 3 * 2
    assert not full.probes.empty
    fewer = {**tiny_registry, "E1": grid_spec(seeds=(0, 1)), "fcnn-cifar10": grid_spec(seeds=(0, 1))}
    real = sw.get_experiment
    monkeypatch.setattr(book._runs, "experiment", lambda key: fewer[key] if key in fewer else real(key))
    part = book.load_runs("E1", "default", root=grid_root)
    assert set(part.results["seed"]) == {0, 1} and set(part.probes["seed"]) == {0, 1}
    assert book.load_runs("E1", "smoke", root=grid_root) is None
    assert set(book.load_book_results("default", root=grid_root)) == {"E1"}


def test_stored_paper_run_is_labelled_as_an_older_spec():
    r = book.load_paper_results("E1")
    assert r is not None and r.results["run_id"].nunique() == 95
    assert not book.is_current_spec("E1", r)  # trained with one learning rate, no validation split
    assert "one learning rate (0.002)" in book.run_scale(r.results)
    assert "no validation split" in book.run_scale(r.results)
    assert book.load_paper_results("E5") is None


# -- tuning and tables ---------------------------------------------------------------------------------
def test_tuned_table_takes_each_learning_rate_from_validation(grid_root):
    res = grid_results(grid_root)
    table = book.tuned_table(res)
    final = res[res["epoch"] == res["epoch"].max()]
    for (opt, init), g in final.groupby(["optimizer", "init"]):
        val = g.groupby("lr")["val_acc"].mean()
        best = float(val[val == val.max()].index.min())  # ties to the smaller rate
        row = table.loc[(opt, init)]
        assert float(row["lr chosen on validation"].split()[0]) == pytest.approx(best)
        test = g[g["lr"] == best]["test_acc"].to_numpy(float)
        test = np.where(g[g["lr"] == best]["status"].eq("diverged"), 0.1, test)
        assert float(row["mean %"]) == pytest.approx(100 * test.mean(), abs=0.051)
        assert float(row["median %"]) == pytest.approx(100 * np.median(test), abs=0.051)
        assert row["lr chosen on validation"].endswith("(edge)")  # a grid of two: every choice is an edge
    assert len(table) == 14


def test_a_grid_without_validation_refuses_to_tune_on_test(grid_root):
    res = grid_results(grid_root).assign(val_acc=np.nan)
    with pytest.raises(ValueError, match="never on the test set"):
        book.tuned_table(res)


def test_accuracy_table_clips_intervals_and_orders_by_schedule(grid_root):
    res, _ = book.at_chosen_lr(grid_results(grid_root)[lambda f: f["optimizer"] == "sgd"])
    table = book.accuracy_table(res)
    inits = list(table.index.get_level_values("initialization"))
    assert inits[:4] == ["He normal", "He normal, constant", "He normal, increasing", "He normal, decreasing"]
    assert inits[-1] == "LSUV"
    for text in table["95 % interval"]:
        if text != "–":
            lo, hi = (float(x) for x in text.strip("[]").split(","))
            assert 0.0 <= lo <= hi <= 100.0
    for text in table["failed [Wilson 95 %]"]:
        lo, hi = (float(x) for x in text.split(" [")[1].strip("]").split(","))
        assert 0.0 <= lo <= hi <= 100.0


def test_epoch_table_counts_best_epochs_and_threshold(grid_root):
    res, _ = book.at_chosen_lr(grid_results(grid_root)[lambda f: f["optimizer"] == "sgd"])
    t = book.epoch_table(res, threshold=0.3)
    assert "median epochs to 30 %" in t.columns and len(t) == 7
    he = res[res["init"] == "He normal"]
    hits = []
    for _, g in he.groupby("run_id"):
        g = g[(g["epoch"] > 0) & (g["test_acc"] >= 0.3)]
        hits.append(g["epoch"].min() if len(g) else math.nan)
    row = t.loc["He normal"]
    assert row["never reached"] == sum(math.isnan(h) for h in hits)


# -- findings ---------------------------------------------------------------------------------------
def test_grid_findings_compare_the_proposal_with_he_paired_by_seed(grid_root):
    res = grid_results(grid_root)
    found = book.grid_findings(res, source="this build (default profile)")
    assert [f.optimizer for f in found] == ["sgd", "adam"]
    f = found[0]
    assert f.tuned and f.proposed.label == "He normal, increasing" and f.he_normal.label == "He normal"
    assert f.best_reference.label == "LSUV" and f.n_inits == 7 and f.seeds == 3
    rows, _ = book.at_chosen_lr(res[res["optimizer"] == "sgd"])
    last = rows[rows["epoch"] == rows["epoch"].max()].set_index(["init", "seed"])["test_acc"]
    diff = (last["He normal, increasing"] - last["He normal"]).mean()
    assert f.proposed_vs_he.mean == pytest.approx(diff)
    assert f.best.mean == max(s.mean for s in f.scores)
    text = f.headline()
    assert f"{100 * f.proposed.mean:.1f} %" in text and "chosen on validation" in text


def ablation_spec() -> sw.Experiment:
    """The schedule ablation in miniature: He, He + logit scale, He + layer lrs, He + both and the
    schedule itself, for increasing and decreasing (SGD; float64 so that both match to rounding)."""
    L, V_ = 4, 5.0
    arms = [
        sw.Variant("He", {"inits": (sw.init("he"),)}),
        sw.Variant("He + logit scale", {"inits": (sw.init("he"),), "train.logit_scale": math.sqrt(V_)}),
    ]
    for sched in ("increasing", "decreasing"):
        a = depthinit.alphas(L, schedule=sched, network_variance=V_)
        prefix = np.cumprod(a)  # a bias after layer l is scaled by the product of the alphas up to l
        w = tuple((f"layers.{i}.weight", float(1 / a[i])) for i in range(L))
        b = tuple((f"layers.{i}.bias", float(1 / prefix[i])) for i in range(L))
        arms += [
            sw.Variant(f"He + layer lrs ({sched})", {"inits": (sw.init("he"),), "train.lr_scales": w + b}),
            sw.Variant(
                f"He + both ({sched})",
                {"inits": (sw.init("he"),), "train.lr_scales": w + b, "train.logit_scale": math.sqrt(V_)},
            ),
            sw.Variant(sched, {"inits": (sw.init("depth", schedule=sched, network_variance=V_),)}),
        ]
    return sw.Experiment(
        name="schedule-ablation",
        dataset="mnist",
        model=sw.ModelConfig("mlp", depth=L, width=8),
        train=_train(dtype="float64", probe_epochs=()),
        inits=(sw.init("he"),),
        seeds=(0, 1, 2),
        variants=tuple(arms),
        lrs=(0.02, 0.05),
        chapter="e1_cifar10_mlp",
    )


def test_ablation_both_pieces_reproduce_the_schedule(tmp_path, one_thread):
    out = run_into(tmp_path, ablation_spec())
    res = sw.load(out, probes=False).results
    (f,) = book.ablation_findings(res)
    assert [a.name for a, _ in f.scores] == list(book.ARMS)
    assert set(f.reproduces) == {"increasing", "decreasing"}
    assert all(r.same_function for r in f.reproduces.values())
    # trained in float64 from float32 draws: the paired final difference stays at rounding level
    assert all(abs(r.final.mean) < 1e-3 and r.largest < 1e-2 for r in f.reproduces.values())
    assert set(f.effects) == set(book.ARMS) - {"He"}
    # without the logit scale the layer learning rates alone are a different training
    alone = res[res["variant"] == "He + layer lrs (increasing)"].set_index(["seed", "lr", "epoch"])["test_loss"]
    sched = res[res["variant"] == "increasing"].set_index(["seed", "lr", "epoch"])["test_loss"]
    assert float((alone - sched).abs().max()) > 1e-3
    assert "computes the same function as the increasing schedule at initialization" in f.headline()


def test_arm_names_and_errors():
    assert book.arm("He + both (decreasing)") == book.Arm("He + both (decreasing)", "decreasing", True, True, False)
    assert book.arm("He + logit scale").logit_scale and not book.arm("He + logit scale").layer_lrs
    assert book.arm("increasing").is_schedule
    with pytest.raises(ValueError, match="not an arm of the schedule ablation"):
        book.arm("He + something else")


def test_sensitivity_reads_depth_from_the_layers_column(tmp_path, one_thread):
    grid = sw.depth_grid(
        base=("he",), distribution=("normal",), schedule=("unit", "constant", "increasing"), network_variance=(1.0, V)
    )
    spec = sw.Experiment(
        name="sensitivity",
        dataset="mnist",
        model=sw.ModelConfig("mlp", depth=4, width=8),
        train=_train(),
        inits=grid,
        seeds=(0, 1),
        # misleading names: the depth must come from the runs, not from "L=99"
        variants=(
            sw.Variant("L=99", {"inits": grid}),
            sw.Variant(
                "deep",
                {
                    "model.depth": 6,
                    "inits": sw.depth_grid(
                        base=("he",), distribution=("normal",), schedule=("unit", "increasing"), network_variance=(V,)
                    ),
                },
            ),
        ),
    )
    out = run_into(tmp_path, spec)
    res = sw.load(out).results
    configs = book.configurations(res)
    assert set(configs["L"]) == {4, 6} and book.main_depth(configs) == 4
    views = book.maps(configs)
    assert set(views["V"]["column"]) == {1.0, V} and set(views["L"]["column"]) == {4, 6}
    f = book.sensitivity_findings(res)
    inc = f.of("increasing", "L")
    assert inc is not None and set(inc.trains + inc.breaks + inc.unclear) == {4, 6}
    assert sum(f.counts.values()) == f.n_configs == len(configs)
    sentence = f.of("increasing", "V").sentence()
    assert sentence.startswith("The increasing schedule") and "V = " in sentence and "; ;" not in sentence
    gain = book.output_gain(sw.load(out).probes, res)
    # positive homogeneity: the output's second moment is V times He's for every schedule at init
    at_v = gain[np.isclose(gain["V"], V)]
    np.testing.assert_allclose(at_v["ratio"], V, rtol=1e-4)


def test_stall_findings_read_the_input_scaling_column(tmp_path, one_thread):
    spec = sw.Experiment(
        name="he-uniform-stall",
        dataset="mnist",
        model=sw.ModelConfig("mlp", depth=4, width=8),
        train=_train(),
        inits=(sw.init("he"), sw.init("he", distribution="uniform")),
        seeds=(0, 1, 2),
        variants=(sw.Variant("a", {"preprocess": "unit"}), sw.Variant("b", {"preprocess": "standardize"})),
    )
    res = sw.load(run_into(tmp_path, spec)).results
    f = book.stall_findings(res)
    assert set(f.he_uniform) == {"unit", "standardize"} and f.runs == 3
    final = res[(res["epoch"] == 3) & (res["preprocess"] == "unit") & (res["distribution"] == "uniform")]
    assert f.he_uniform["unit"].mean == pytest.approx(final["test_acc"].mean())
    assert ("does not reproduce" in f.headline()) == (not f.stalls)
    assert f.stalls == (f.he_uniform["unit"].high < analysis.CHANCE + analysis.TRAINS_MARGIN)


def test_signals_at_init_follow_homogeneity_and_the_theory():
    x = torch.rand(32, 1, 6, 6, generator=torch.Generator().manual_seed(0))
    sig = book.signals_at_init(
        {"unit": x, "standardize": (x - x.mean()) / x.std()}, seeds=range(4), depth=6, width=16, classes=4
    )
    assert set(sig["inputs"]) == {"unit", "standardize"} and set(sig["init"]) == {"He normal", "He uniform"}
    summary = book.signal_summary(sig)
    first = summary[(summary["depth"] == 1) & (summary["init"] == "He normal")]
    # layer 1: E[y²] = n Var[w] E[x²] = 2 E[x²] on average; the median of 4 seeds is within 30 %
    np.testing.assert_allclose(first["median"] / first["forward_variance"], 1.0, rtol=0.3)
    f = book.signal_findings(summary)
    assert f.common_share[("unit", 1)] > f.common_share[("standardize", 1)]


# -- verdicts --------------------------------------------------------------------------------------
def test_verdicts_are_decided_per_optimizer_at_the_tuned_rates(grid_root, tiny_registry):
    v = book.load_verdicts("default", root=grid_root)
    assert [t.optimizer for t in v.tables] == ["sgd", "adam"] and v.primary.optimizer == "sgd"
    assert [t.optimizer for t in v.own] == []  # the book's own claims read E6-E8, which did not run
    for t in v.tables:
        assert t.tuned and t.experiments == ("E1",)
        assert list(t.summary["claim"]) == list(range(1, 8))
        assert set(t.summary["verdict"]) <= set(analysis.VERDICTS)
        assert sum(t.counts().values()) == 7
    # the same numbers as analysis.verdict_table on the tuned SGD rows by hand
    res = grid_results(grid_root)
    rows = analysis.tuned(res[res["optimizer"] == "sgd"])
    summary, _ = analysis.verdict_table({"E1": rows}, analysis.paper_claims())
    assert list(summary["verdict"]) == list(v.primary.summary["verdict"])


def _table(verdicts: dict[int, str]) -> book.VerdictTable:
    summary = pd.DataFrame(
        [
            {
                "claim": n,
                "source": "paper",
                "text": f"claim {n}",
                "experiment": "E1",
                "estimate": "",
                "verdict": verdicts.get(n, analysis.INCONCLUSIVE),
            }
            for n in range(1, 8)
        ]
    )
    return book.VerdictTable("sgd", summary, pd.DataFrame(columns=["claim"]), True, ("E1",))


def test_advice_and_answer_follow_the_verdicts():
    cases = [
        ({6: analysis.SUPPORTED, 7: analysis.SUPPORTED}, book.HELPS),
        ({6: analysis.CONTRADICTED}, book.HURTS),
        ({7: analysis.CONTRADICTED}, book.HURTS),
        ({6: analysis.EQUIVALENT}, book.UNDECIDED),
        ({}, book.UNDECIDED),
    ]
    for verdicts, expected in cases:
        bv = book.BookVerdicts("test run", "default", (_table(verdicts),))
        assert book.helps(bv.primary) == expected
        a = book.advice(bv)
        assert a.answer == expected
        for n in (1, 6, 7):
            assert f"(claim {n}) — {verdicts.get(n, analysis.INCONCLUSIVE)}" in a.text
        first = book.answer(bv, None).split(". Why")[0].replace("**", "")
        assert first.startswith({book.HELPS: "Yes", book.HURTS: "No", book.UNDECIDED: "Not shown"}[expected])
        n_sup = sum(v == analysis.SUPPORTED for v in verdicts.values())
        assert f"{n_sup} of the paper's 7 claims are supported" in first
    assert not book.BookVerdicts("none", "default", ())
    assert book.advice(book.BookVerdicts("none", "default", ())).answer == book.UNDECIDED


def test_verdict_html_has_one_class_per_verdict_and_no_cut_text():
    long = "x" * 400
    summary = pd.DataFrame(
        [
            {"claim": i + 1, "source": "paper", "text": long + v, "experiment": "E1", "estimate": "e", "verdict": v}
            for i, v in enumerate(analysis.VERDICTS)
        ]
    )
    html = book.verdict_html(summary)
    assert html.startswith('<table class="verdict-table">')
    for v in analysis.VERDICTS:
        assert f'class="verdict verdict-{v}"' in html and long + v in html
    assert "…" not in html and "..." not in html


def test_rules_table_lists_every_claim_with_its_fallback():
    t = book.rules_table(book.claims())
    assert list(t.index) == list(range(1, 8)) and t.loc[3, "read on"] == "E4 or E1"


# -- budgets, downloads, provenance, chapters -------------------------------------------------------------
def test_budgets_are_stated_once_and_read_through_the_registry():
    assert book.budget_of("e1_cifar10_mlp") == book.BUDGETS["E1"] == 600
    assert book.budget_of("e5_sensitivity") == book.BUDGETS["E5"]
    assert book.budget_of("theory_forward") == 25 and book.budget_of("theory_new_chapter") == book.THEORY_BUDGET
    assert math.isnan(book.budget_of("unknown_page"))
    assert [book.status_of(s, 100.0) for s in (90, 150, 201)] == ["within", "over", "fails"]
    t = book.timing_table(
        {
            "e2_mnist_mlp": {"seconds": 2.5 * book.BUDGETS["E2"], "profile": "default"},
            "e3_cifar10_cnn": {"seconds": 3.0, "profile": "smoke"},
        }
    )
    assert list(t["status"]) == ["fails", "(smoke profile)"] and t.loc[0, "ratio"] == pytest.approx(2.5)


def test_downloads_are_written_next_to_the_executed_notebooks(tmp_path):
    paths = book.write_downloads("e1_cifar10_mlp", {"results": pd.DataFrame({"a": [1, 2]})}, root=tmp_path)
    assert paths["results"] == Path("downloads/e1_cifar10_mlp-results.csv")
    assert (tmp_path / "book/_executed" / paths["results"]).read_text().splitlines() == ["a", "1", "2"]
    md = book.downloads_markdown(paths, {"results": "every run and epoch"})
    assert md == "- {download}`e1_cifar10_mlp-results.csv <downloads/e1_cifar10_mlp-results.csv>`: every run and epoch"
    with pytest.raises(ValueError, match="download name '../x' is not valid"):
        book.write_downloads("../x", {}, root=tmp_path)


def test_architecture_prose_comes_from_the_spec():
    cnn = sw.get_experiment("E3").resolve("default").model
    text = book.describe_model(cnn)
    assert f"{cnn.depth} 3 x 3 convolutions with {cnn.channels} channels" in text
    assert f"({cnn.layers} weight layers)" in text
    other = replace(cnn, depth=7, channels=9, pool_every=None)
    assert "7 3 x 3 convolutions with 9 channels, no pooling" in book.describe_model(other)
    mlp = sw.get_experiment("E1").resolve("default").model
    assert f"{mlp.depth} weight layers, {mlp.width} units" in book.describe_model(mlp)


def test_small_runs_say_they_are_too_small(grid_root):
    res = grid_results(grid_root)
    assert book.too_small(res) == ""
    one = res[res["seed"] == 0]
    assert "1 seed per configuration" in book.too_small(one)
    assert book.join_words(["He normal, increasing", "LSUV"]) == "He normal, increasing and LSUV"
    assert book.join_words(["log", "log, c=1", "power"]) == "log; log, c=1; and power"
    assert book.join_words(["a", "b", "c"]) == "a, b and c" and book.join_words([]) == "none"


def test_sections_appear_by_what_the_registry_holds(monkeypatch):
    assert book.chapter_sections("e1_cifar10_mlp") == {"why", "ablation"}
    assert book.ablation_experiment("e1_cifar10_mlp") == "schedule-ablation"
    assert book.chapter_sections("e2_mnist_mlp") == frozenset()
    assert book.template_key("e3_cifar10_cnn") == "E3" and book.template_key("verdicts") is None
    assert book.template_key("e1_cifar10_mlp") == "E1" and book.why_chapter() == "e1_cifar10_mlp"
    without = {k: v for k, v in sw.EXPERIMENTS.items() if k != "schedule-ablation"}
    monkeypatch.setattr(book._runs.sweep, "EXPERIMENTS", without)
    monkeypatch.setattr(book._chapters, "EXPERIMENTS", without)
    assert book.chapter_sections("e1_cifar10_mlp") == {"why"}  # the mechanism stays, the ablation goes
    assert book.ablation_experiment("e1_cifar10_mlp") is None


def test_book_is_reachable_from_the_package_and_labels_are_the_sweeps():
    assert depthinit.book.grid_findings is book.grid_findings
    assert not hasattr(depthinit.plotting, "scheme_label") and not hasattr(book, "init_label")
