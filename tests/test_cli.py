"""The depthinit command: help everywhere, plan, sweep errors, report, bench dispatch."""

import subprocess
import sys
from pathlib import Path

import pytest
import torch

import depthinit.sweep as sw
from depthinit import cli

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_sweep import tiny_data, tiny_spec

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.parametrize("argv", [[], ["plan"], ["sweep"], ["report"], ["list"], ["merge"], ["migrate"]])
def test_every_command_has_help(argv, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main([*argv, "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "usage: depthinit" in out


def test_console_entry_point_runs():
    done = subprocess.run([sys.executable, "-m", "depthinit.cli", "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "plan" in done.stdout and "sweep" in done.stdout and "report" in done.stdout


def test_plan_prints_the_per_layer_table(capsys):
    assert cli.main(["plan", "--scheme", "depth", "--schedule", "increasing", "--network-variance", "22"]) == 0
    out = capsys.readouterr().out
    lines = [l for l in out.splitlines() if l.strip().startswith("layers.")]
    assert len(lines) == 54
    assert "alpha" in out and "std" in out
    assert cli.main(["plan", "--model", "cnn", "--scheme", "lsuv", "--depth", "3", "--input", "mnist"]) == 0
    out = capsys.readouterr().out
    assert "convs.2" in out and "classifier" in out and "lsuv_iterations" in out
    assert cli.main(["plan", "--scheme", "he", "-o", "mode=fan_out", "--depth", "3"]) == 0
    assert "fan_out" in capsys.readouterr().out


def test_plan_bad_option_is_a_clear_error(capsys):
    assert cli.main(["plan", "--scheme", "he", "-o", "schedule=increasing"]) == 2
    err = capsys.readouterr().err
    assert "depthinit plan: error:" in err and "'schedule'" in err and "valid options" in err
    assert cli.main(["plan", "--scheme", "he", "-o", "oops"]) == 2
    assert "KEY=VALUE" in capsys.readouterr().err


def test_sweep_unknown_experiment_and_profile(tmp_path, capsys):
    assert cli.main(["sweep", "fcnn-imagenet", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "fcnn-imagenet" in err and "fcnn-cifar10 (E1)" in err and "sensitivity (E5)" in err
    assert cli.main(["sweep", "fcnn-mnist", "--profile", "huge", "--out", str(tmp_path / "o")]) == 2
    assert "'smoke', 'default', 'paper'" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_sweep_missing_data_is_a_clear_error(tmp_path, capsys):
    empty = tmp_path / "nodata"
    empty.mkdir()
    code = cli.main(
        [
            "sweep",
            "fcnn-mnist",
            "--profile",
            "smoke",
            "--device",
            "cpu",
            "--out",
            str(tmp_path / "o"),
            "--data-root",
            str(empty),
            "--cache-dir",
            str(tmp_path / "cache"),
            "--no-progress",
        ]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "depthinit sweep: error:" in err and "mnist" in err.lower()
    assert not (tmp_path / "o").exists()


def test_sweep_into_another_experiments_folder_is_refused(tmp_path, capsys):
    out = tmp_path / "o"
    sw.run(tiny_spec(seeds=(0,)), out=out, device="cpu", data=tiny_data(), progress=False)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert cli.main(["sweep", "fcnn-mnist", "--profile", "smoke", "--out", str(out)]) == 2
    assert "holds results of experiment 'tiny'" in capsys.readouterr().err
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


def test_report_prints_a_summary(tmp_path, capsys):
    out = tmp_path / "o"
    sw.run(tiny_spec(), out=out, device="cpu", data=tiny_data(), progress=False)
    assert cli.main(["report", str(out)]) == 0
    text = capsys.readouterr().out
    assert "6 of 6 runs done" in text and "test_acc_%" in text and "LSUV" in text
    assert cli.main(["report", str(tmp_path / "missing")]) == 2
    assert "not a folder" in capsys.readouterr().err


def test_list_shows_every_registered_experiment(capsys):
    assert cli.main(["list"]) == 0
    out = capsys.readouterr().out
    for name, spec in sw.EXPERIMENTS.items():
        assert f"{name} ({spec.key})" in out and spec.chapter in out
    for name in ("he-uniform-stall", "sensitivity"):
        assert name in out
    assert "smoke" in out and "paper" in out


@pytest.mark.parametrize("name", sw.experiments())
def test_smoke_profile_of_every_registered_experiment_from_the_cli(name, data_root, tmp_path, capsys):
    out = tmp_path / "o"
    spec = sw.get_experiment(name)
    assert (
        cli.main(
            [
                "sweep",
                spec.key or name,
                "--profile",
                "smoke",
                "--device",
                "cpu",
                "--out",
                str(out),
                "--data-root",
                str(data_root),
                "--max-members",
                "64",
            ]
        )
        == 0
    )
    text = capsys.readouterr().out
    n = len(spec.resolve("smoke").runs("smoke"))
    assert f"experiment {name!r}, profile 'smoke': {n} of {n} runs done (complete)" in text
    r = sw.load(out)
    assert set(r.results["epoch"]) == {0, 1} and r.results["train_loss"].iloc[0] > 0
    assert r.provenance["data"][0]["sha256"], "the data's digests are recorded"


def test_version(capsys):
    from depthinit import __version__

    with pytest.raises(SystemExit) as exit_:
        cli.main(["--version"])
    assert exit_.value.code == 0 and capsys.readouterr().out.strip() == f"depthinit {__version__}"


@pytest.mark.parametrize(
    "argv, match",
    [
        (["plan", "--depth", "0"], "--depth 0 is not valid"),
        (["plan", "--example-batch", "-1"], "--example-batch -1 is not valid"),
        (["sweep", "fcnn-mnist", "--device", "meta", "--out", "{tmp}/o"], "device='meta' cannot train"),
        (["sweep", "fcnn-mnist", "--device", "mps", "--out", "{tmp}/o"], "MPS is not available"),
        (["sweep", "fcnn-mnist", "--shard", "2/2", "--out", "{tmp}/o"], "shard='2/2' is not valid"),
        (["report", "{tmp}"], "no finished runs|not a folder"),
        (["merge", "{tmp}/m", "{tmp}/nothing"], "not a sweep folder"),
    ],
)
def test_errors_are_one_line_and_exit_2(argv, match, tmp_path, capsys, monkeypatch):
    import re

    mps = getattr(torch.backends, "mps", None)
    if mps is not None:
        monkeypatch.setattr(mps, "is_available", lambda: False)
    code = cli.main([a.replace("{tmp}", str(tmp_path)) for a in argv])
    captured = capsys.readouterr()
    if argv[0] == "report":  # an empty folder is a report of nothing, not an error
        assert code == 0 and "no finished runs" in captured.out
        return
    assert code == 2 and re.search(match, captured.err)
    assert len(captured.err.strip().splitlines()) == 1 and "Traceback" not in captured.err
    assert not (tmp_path / "o").exists()


def test_debug_shows_the_traceback(tmp_path):
    with pytest.raises(ValueError, match="--depth 0"):
        cli.main(["--debug", "plan", "--depth", "0"])


def test_merge_and_migrate_from_the_command_line(tmp_path, capsys):
    spec = tiny_spec(seeds=(0, 1))
    for i in range(2):
        sw.run(spec, out=tmp_path / f"s{i}", device="cpu", data=tiny_data(), progress=False, shard=f"{i}/2")
    assert cli.main(["merge", str(tmp_path / "all"), str(tmp_path / "s0"), str(tmp_path / "s1")]) == 0
    assert "merged 6 runs from 2 shard folders" in capsys.readouterr().out
    assert cli.main(["migrate", str(tmp_path / "all")]) == 0
    assert "6 runs in the current layout" in capsys.readouterr().out


def test_bench_dispatches_its_arguments(monkeypatch):
    from depthinit import bench

    called = {}
    monkeypatch.setattr(bench, "main", lambda argv: called.setdefault("argv", argv) and 0)
    assert cli.main(["bench", "--json", "--mlp-k", "1"]) == 0
    assert called["argv"] == ["--json", "--mlp-k", "1"]
