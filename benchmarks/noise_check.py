"""The CPU noise target of issue 16: the benchmark's loop / vectorised ratio of the MLP at
K = 16 varies by less than 20 % between two runs, the second with a CPU-burning process
beside it.

Usage: python benchmarks/noise_check.py [--out FILE.json] [--quick] [-- BENCH ARGS...]

Runs ``python -m depthinit.bench --json`` twice, as the book build runs it (its default
arguments, or ``--mlp-k 16 --cnn-k 0 --no-throughput`` with ``--quick``, or the arguments
after ``--``). Before the second run it starts one burner (``python -c "while True: pass"``,
one core busy) and stops it by its PID after that run. Prints both ratios with their
per-round ranges, the relative change |r2 - r1| / r1, whether it is below the bound, the load
averages and the busiest processes on the machine before each run (the machine may be
shared); ``--out`` also writes them as JSON. Not collected by pytest.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

BOUND = 0.2
ROOT = Path(__file__).resolve().parents[1]


def busiest(n: int = 8) -> list[str]:
    """The n processes using the most CPU (``ps``), as lines."""
    try:
        out = subprocess.run(
            ["ps", "-eo", "pid,pcpu,etime,comm", "--sort=-pcpu"], capture_output=True, text=True, timeout=10
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [line.strip() for line in out.splitlines()[1 : n + 1]]


def bench(args: list[str]) -> dict:
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "depthinit.bench", "--json", *args], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout
    result = json.loads(out)
    result["wall_s"] = time.perf_counter() - start
    return result


def summary(result: dict) -> dict:
    row = result["mlp"]["16"]
    return {
        "loop_over_vectorised": row["loop_over_vectorised"],
        "min": row["loop_over_vectorised_min"],
        "max": row["loop_over_vectorised_max"],
        "loop_ms": row["loop_ms"],
        "vectorised_ms": row["vectorised_ms"],
        "loop_spread": row["loop_spread"],
        "vectorised_spread": row["vectorised_spread"],
        "flagged": result.get("flagged", []),
        "load_before": result.get("load_before"),
        "load_after": result.get("load_after"),
        "threads": result.get("threads"),
        "wall_s": result["wall_s"],
    }


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    extra: list[str] = []
    if "--" in argv:
        i = argv.index("--")
        argv, extra = argv[:i], argv[i + 1 :]
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=None, help="also write the result as JSON here")
    ap.add_argument("--quick", action="store_true", help="time only the MLP at K = 16 (no CNN, no throughput)")
    args = ap.parse_args(argv)
    bench_args = extra or (["--mlp-k", "16", "--cnn-k", "0", "--no-throughput"] if args.quick else [])
    if bench_args and "--mlp-k" in bench_args and "16" not in bench_args[bench_args.index("--mlp-k") + 1].split(","):
        raise SystemExit("the benchmark arguments must time the MLP at K = 16 (--mlp-k ... must include 16)")

    record: dict = {"bench_args": bench_args, "bound": BOUND}
    record["busiest_before_quiet"] = busiest()
    print(f"run 1 (no burner): depthinit.bench {' '.join(bench_args)}", flush=True)
    quiet = summary(bench(bench_args))
    record["quiet"] = quiet
    burner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(1.0)
        record["burner_pid"] = burner.pid
        record["busiest_before_burner"] = busiest()
        print(f"run 2 (burner PID {burner.pid} beside it)", flush=True)
        loaded = summary(bench(bench_args))
    finally:
        burner.terminate()
        try:
            burner.wait(timeout=10)
        except subprocess.TimeoutExpired:
            burner.kill()
            burner.wait()
    record["burner"] = loaded
    r1, r2 = quiet["loop_over_vectorised"], loaded["loop_over_vectorised"]
    change = abs(r2 - r1) / r1
    record["change"] = change
    record["ok"] = change < BOUND
    for name, s in (("without burner", quiet), ("with burner", loaded)):
        print(
            f"{name}: loop/vectorised at K=16 = {s['loop_over_vectorised']:.2f} (rounds {s['min']:.2f} to "
            f"{s['max']:.2f}; loop {s['loop_ms']:.2f} ms, vectorised {s['vectorised_ms']:.2f} ms; threads "
            f"{s['threads']}; load {s['load_before']} -> {s['load_after']}; {s['wall_s']:.0f} s)"
        )
    print(f"change {100 * change:.1f} % (bound {100 * BOUND:.0f} %): {'PASS' if record['ok'] else 'FAIL'}")
    print("busiest processes before run 1:", *record["busiest_before_quiet"], sep="\n  ")
    print("busiest processes before run 2:", *record["busiest_before_burner"], sep="\n  ")
    if args.out:
        Path(args.out).write_text(json.dumps(record, indent=2) + "\n")
    return 0 if record["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
