#!/usr/bin/env bash
# The project's GPU check: one prepared script that measures every GPU target of the
# benchmark issue (16) on a CUDA machine and writes what it measured under results/.
#
#   benchmarks/gpu_check.sh [--dry-run] [all|bench|sweep]     (default: all)
#
# Stages:
#   bench  `depthinit bench` at MLP K = 16, 80, 320 and CNN K = 1, 16 (the plain loop only up
#          to K = 16), interleaved rounds with spread and flags, the engine with and without
#          its CUDA graph, every engine strategy per model and K, the sweep throughput;
#   sweep  `depthinit sweep fcnn-cifar10 --profile paper --device cuda` into a fresh folder,
#          timed: whatever the registry holds for E1's paper profile (the learning-rate
#          grid included, once the registry has it);
#   then   the targets, from the two (depthinit.bench.check_targets):
#            MLP at K = 320 >= 50 % of the measured sgemm rate,
#            MLP at K = 16 >= 5x faster per model-step than the stored run (results/gpu-bench-h200.json),
#            CNN at K = 16 no slower than torch.func,
#            the E1 grid (>= 475 runs x 30 epochs) within 600 s.
#
# Outputs: $RESULTS (default results/gpu-check): log.txt, bench.json, bench.txt, sweep.json,
# targets.json, targets.txt and fcnn-cifar10-paper.tgz (the sweep folder without its large
# histogram parts). On the device machine ($OUT set) the folder is also copied into $OUT.
# Time: the bench stage takes about 1-2 minutes on an H200; with "all" the sweep gets what is
# left of $BUDGET seconds (default 590, one 10-minute call) and is stopped there (the sweep is
# resumable; the target then reads "not finished"). Run "sweep" alone for a full 10 minutes.
# Needs the CIFAR-10 files under $DEPTHINIT_DATA (default: ./shared/data or ../shared/data).
#
# --dry-run: the same steps on the CPU at toy sizes (K = 2, the smoke profile), to check the
# script and its outputs without a GPU.
set -uo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
PY="${PYTHON:-python3}"
[ -x .venv/bin/python ] && [ -z "${PYTHON:-}" ] && PY=.venv/bin/python
if [ -z "${DEPTHINIT_DATA:-}" ]; then
  for d in shared/data ../shared/data; do [ -d "$d" ] && export DEPTHINIT_DATA="$PWD/$d" && break; done
fi

dry=0; stage=all
for a in "$@"; do
  case "$a" in
    --dry-run) dry=1 ;;
    all|bench|sweep) stage="$a" ;;
    *) echo "usage: benchmarks/gpu_check.sh [--dry-run] [all|bench|sweep]" >&2; exit 2 ;;
  esac
done
if [ "$dry" = 1 ]; then
  device=cpu; mlp_k=2; cnn_k=1; loop_max=2; rounds=2; min_time=0; profile=smoke
  RESULTS="${RESULTS:-${TMPDIR:-/tmp}/depthinit-gpu-check-dry-run}"
else
  device=cuda; mlp_k=16,80,320; cnn_k=1,16; loop_max=16; rounds=5; min_time=0.2; profile=paper
  RESULTS="${RESULTS:-results/gpu-check}"
fi
BUDGET="${BUDGET:-590}"
mkdir -p "$RESULTS"
sweep_dir="$RESULTS/fcnn-cifar10-$profile"
log="$RESULTS/log.txt"
t0=$(date +%s)

{
  echo "== gpu_check $(date -u +%FT%TZ) stage=$stage device=$device profile=$profile results=$RESULTS"
  command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
  "$PY" -c "import torch, sys; print('python', sys.version.split()[0], 'torch', torch.__version__, 'cuda', torch.cuda.is_available())"
  git rev-parse HEAD 2>/dev/null | sed 's/^/commit /'

  if [ "$stage" = all ] || [ "$stage" = bench ]; then
    start=$(date +%s)
    "$PY" -m depthinit.bench --device "$device" --mlp-k "$mlp_k" --cnn-k "$cnn_k" --loop-max-k "$loop_max" \
      --rounds "$rounds" --min-time "$min_time" --strategies --json > "$RESULTS/bench.json" \
      || echo "bench FAILED"
    echo "bench: $(( $(date +%s) - start )) s"
    "$PY" -c "import json, sys; from depthinit.bench import format_table; print(format_table(json.load(open(sys.argv[1]))))" \
      "$RESULTS/bench.json" | tee "$RESULTS/bench.txt"
  fi

  if [ "$stage" = all ] || [ "$stage" = sweep ]; then
    left=$(( BUDGET - ($(date +%s) - t0) - 25 ))
    [ "$stage" = sweep ] && left=$(( BUDGET - 25 ))
    [ "$left" -lt 30 ] && left=30
    rm -rf "$sweep_dir"  # a fresh folder: a resumed sweep would not time the whole grid
    echo "sweep: fcnn-cifar10 --profile $profile --device $device (stopped after $left s if not done)"
    start=$(date +%s)
    timeout "$left" "$PY" -m depthinit.cli sweep fcnn-cifar10 --profile "$profile" --device "$device" --no-progress \
      --out "$sweep_dir"
    rc=$?
    seconds=$(( $(date +%s) - start ))
    echo "sweep: $seconds s (exit $rc)"
    "$PY" - "$sweep_dir" "$seconds" "$rc" "$RESULTS/sweep.json" <<'EOF'
import json, sys
from depthinit.sweep import load
from depthinit.sweep import SweepError
folder, seconds, rc, out = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
try:
    r = load(folder, probes=False)
    prov, runs = r.provenance, r.runs
except SweepError as err:  # stopped before it wrote anything
    print(err)
    prov, runs = {}, []
record = {"folder": folder, "wall_s": seconds, "exit": rc, "finished": rc == 0 and prov.get("status") == "complete",
          "runs_total": prov.get("runs_total"), "runs_done": prov.get("runs_done"),
          "epochs": int(runs["epochs"].min()) if len(runs) and "epochs" in runs.columns else None,
          "max_members": prov.get("max_members"), "device": prov.get("device")}
json.dump(record, open(out, "w"), indent=2)
print(json.dumps(record))
EOF
    "$PY" -m depthinit.cli report "$sweep_dir" || echo "report FAILED"
    tar czf "$sweep_dir.tgz" -C "$RESULTS" --exclude histograms "$(basename "$sweep_dir")" && rm -rf "$sweep_dir"
  fi

  "$PY" - "$RESULTS" <<'EOF'
import json, sys
from pathlib import Path
from depthinit.bench import check_targets
res = Path(sys.argv[1])
bench = json.loads((res / "bench.json").read_text()) if (res / "bench.json").is_file() else {}
base_path = Path("results") / "gpu-bench-h200.json"
baseline = json.loads(base_path.read_text()) if base_path.is_file() else None
sweep = json.loads((res / "sweep.json").read_text()) if (res / "sweep.json").is_file() else {}
done = sweep.get("finished")
targets = check_targets(bench, baseline=baseline, sweep_seconds=sweep.get("wall_s") if done else None,
                        sweep_runs=sweep.get("runs_done"), sweep_epochs=sweep.get("epochs"))
if sweep and not done:
    targets[-1]["needed"] += f" (the sweep did not finish: {sweep.get('runs_done')} of {sweep.get('runs_total')} runs in {sweep.get('wall_s')} s)"
(res / "targets.json").write_text(json.dumps(targets, indent=2) + "\n")
lines = [f"{'PASS' if t['ok'] else 'FAIL' if t['ok'] is False else 'n/a '}  {t['what']}: measured "
         f"{'-' if t['measured'] is None else format(t['measured'], '.3g')}, needed {t['needed']}" for t in targets]
(res / "targets.txt").write_text("\n".join(lines) + "\n")
print("\n".join(lines))
EOF
  echo "total: $(( $(date +%s) - t0 )) s"
  ls -la "$RESULTS"
} 2>&1 | tee -a "$log"

if [ -n "${OUT:-}" ] && [ "$(cd "$RESULTS" && pwd)" != "$(cd "$OUT" 2>/dev/null && pwd)" ]; then
  mkdir -p "$OUT" && cp -r "$RESULTS" "$OUT/"
fi
