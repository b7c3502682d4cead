"""The depthinit command: help everywhere, plan, sweep errors, report, bench dispatch."""

import subprocess
import sys
from pathlib import Path

import pytest
import torch

import depthinit.sweep as sw
from depthinit import cli

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_sweep import tiny_data, tiny_spec  # noqa: E402


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.parametrize("argv", [[], ["plan"], ["sweep"], ["report"], ["list"]])
def test_every_command_has_help(argv, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main([*argv, "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "usage: depthinit" in out


def test_console_entry_point_runs():
    done = subprocess.run([sys.executable, "-m", "depthinit.cli", "--help"], capture_output=True, text=True,
                          timeout=60)
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
    assert "fcnn-imagenet" in err and "fcnn-cifar10, fcnn-mnist, cnn-cifar10" in err
    assert cli.main(["sweep", "fcnn-mnist", "--profile", "huge", "--out", str(tmp_path / "o")]) == 2
    assert "'smoke', 'default', 'paper'" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_sweep_missing_data_is_a_clear_error(tmp_path, capsys):
    empty = tmp_path / "nodata"
    empty.mkdir()
    code = cli.main(["sweep", "fcnn-mnist", "--profile", "smoke", "--device", "cpu", "--out", str(tmp_path / "o"),
                     "--data-root", str(empty), "--cache-dir", str(tmp_path / "cache"), "--no-progress"])
    assert code == 2
    err = capsys.readouterr().err
    assert "depthinit sweep: error:" in err and "mnist" in err.lower()
    assert not (tmp_path / "o").exists()


def test_sweep_into_another_experiments_folder_is_refused(tmp_path, capsys):
    out = tmp_path / "o"
    sw.run(tiny_spec(seeds=(0,)), out=out, device="cpu", data=tiny_data(), progress=False)
    before = (out / "results.csv").read_bytes()
    assert cli.main(["sweep", "fcnn-mnist", "--profile", "smoke", "--out", str(out)]) == 2
    assert "holds results of experiment 'tiny'" in capsys.readouterr().err
    assert (out / "results.csv").read_bytes() == before


def test_report_prints_a_summary(tmp_path, capsys):
    out = tmp_path / "o"
    sw.run(tiny_spec(), out=out, device="cpu", data=tiny_data(), progress=False)
    assert cli.main(["report", str(out)]) == 0
    text = capsys.readouterr().out
    assert "6 of 6 runs done" in text and "final_test_acc" in text and "lsuv" in text
    assert cli.main(["report", str(tmp_path / "missing")]) == 2
    assert "not a folder" in capsys.readouterr().err


def test_list_shows_experiments_and_profiles(capsys):
    assert cli.main(["list"]) == 0
    out = capsys.readouterr().out
    for name in ("fcnn-cifar10", "fcnn-mnist", "cnn-cifar10"):
        assert name in out
    assert "57 runs" in out and "smoke" in out and "paper" in out


def test_bench_dispatches_its_arguments(monkeypatch):
    from depthinit import bench

    called = {}
    monkeypatch.setattr(bench, "main", lambda argv: called.setdefault("argv", argv) and 0)
    assert cli.main(["bench", "--json", "--mlp-k", "1"]) == 0
    assert called["argv"] == ["--json", "--mlp-k", "1"]
