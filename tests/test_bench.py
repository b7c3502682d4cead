"""The benchmark runs, prints the documented JSON shape, and rejects bad arguments."""

import json

import pytest

from depthinit import bench


def test_bench_json_shape(capsys):
    assert bench.main(["--json", "--mlp-k", "2", "--cnn-k", "1", "--min-time", "0"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["sgemm_gflops"] > 0
    for kind in ("mlp", "cnn"):
        row = out[kind]["2" if kind == "mlp" else "1"]
        for key in ("loop_ms", "torch_func_ms", "vectorised_ms", "peak_mb", "gflops",
                    "loop_over_vectorised", "torch_func_over_vectorised"):
            assert row[key] > 0, (kind, key)
        assert row["loop_over_vectorised"] == pytest.approx(row["loop_ms"] / row["vectorised_ms"])


def test_bench_table_and_errors(capsys):
    res = bench.run(mlp_ks=(1,), cnn_ks=(), methods=("vectorised",), min_time=0)
    text = bench.format_table(res)
    assert "sgemm" in text and "mlp" in text
    with pytest.raises(ValueError, match="unknown method"):
        bench.run(methods=("fast",))
    with pytest.raises(SystemExit, match="--mlp-k='x'"):
        bench.main(["--mlp-k", "x"])
