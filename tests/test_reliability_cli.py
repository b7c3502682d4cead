"""Reliability of the command line (issue 14, found by benchmarks/attacks.py): every error is one
line on stderr and exit status 2, with no traceback unless --debug; the benchmark's errors too
(they used to print tracebacks or exit 1 without "error:")."""

import pytest

from depthinit import cli

pytestmark = pytest.mark.usefixtures("one_thread")


def _refused(argv, capsys, *matches):
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err and lines[0].startswith(f"depthinit {argv[0]}: error: ")
    for m in matches:
        assert m in lines[0], lines[0]


@pytest.mark.parametrize(
    "argv, match",
    [
        (["bench", "--device", "tpu", "--no-throughput"], "device='tpu' is not a valid torch device"),
        (["bench", "--device=meta", "--no-throughput"], "device='meta' holds no data"),
        (["bench", "--rounds", "0", "--no-throughput"], "--rounds=0: expected an integer >= 1"),
        (["bench", "--mlp-k", "x", "--no-throughput"], "--mlp-k='x': expected comma-separated positive integers"),
    ],
)
def test_benchmark_errors_are_one_line(argv, match, capsys):
    _refused(argv, capsys, match)


def test_debug_shows_the_benchmarks_traceback():
    with pytest.raises(ValueError, match="device='tpu'"):
        cli.main(["--debug", "bench", "--device", "tpu"])


@pytest.mark.parametrize(
    "argv, setup, match",
    [
        (
            ["report", "{f}"],
            lambda f: (f.mkdir(), (f / "thesis.tex").write_text("x")),
            "is not a depthinit sweep folder",
        ),
        (["report", "{f}"], lambda f: None, "is not a folder (it does not exist)"),
        (["migrate", "{f}"], lambda f: f.mkdir(), "holds no depthinit results to migrate"),
        (["migrate", "{f}"], lambda f: f.write_text("x"), "is not a folder (it is a file)"),
        (["sweep", "nope", "--out", "{f}"], lambda f: None, "Use one of those names or keys (`depthinit list`"),
    ],
)
def test_folder_and_name_errors_are_one_line(argv, setup, match, capsys, tmp_path):
    f = tmp_path / "f"
    setup(f)
    _refused([a.replace("{f}", str(f)) for a in argv], capsys, match)


@pytest.mark.parametrize(
    "argv, match",
    [
        (
            ["plan", "--example-batch", "1000000000"],
            "the example batch would take .* GiB .* choose a smaller --example-batch",
        ),
        (["plan", "--width", "10000000", "--depth", "3"], "the model would take .* choose a smaller --width"),
    ],
)
def test_plan_refuses_sizes_it_cannot_hold_before_allocating(argv, match, capsys):
    assert cli.main(argv) == 2
    import re

    assert re.search(match, capsys.readouterr().err)
