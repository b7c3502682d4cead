#!/usr/bin/env bash
# The project's GPU check, in one call of under 8 minutes on a CUDA machine:
#   1. the training-step benchmark at K in {16, 80, 320} (MLP) and {1, 16, 80} (CNN);
#   2. E1 (fcnn-cifar10) at the paper profile, end to end (full data, 30 epochs, 5 seeds);
#   3. a plain-text table of both.
# Results land in $OUT (or ./out/gpu): bench.json, bench.txt, the sweep's results and
# provenance, and a log. Needs the CIFAR-10 data under $DEPTHINIT_DATA.
# A dry run on a CPU (tiny sizes, smoke profile): benchmarks/gpu_check.sh --dry-run
set -uo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
OUT="${OUT:-$PWD/out/gpu}"
PY="${PYTHON:-python3}"
mkdir -p "$OUT"
device=cuda; mlp_k=16,80,320; cnn_k=1,16,80; profile=paper; min_time=1.0
if [ "${1:-}" = "--dry-run" ]; then device=cpu; mlp_k=2; cnn_k=1; profile=smoke; min_time=0; fi
log="$OUT/log.txt"
{
  echo "== gpu_check $(date -u +%FT%TZ) device=$device profile=$profile"
  command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
  "$PY" -c "import torch, sys; print('python', sys.version.split()[0], 'torch', torch.__version__, 'cuda', torch.cuda.is_available())"
  start=$(date +%s)
  "$PY" -m depthinit.cli bench --device "$device" --mlp-k "$mlp_k" --cnn-k "$cnn_k" --min-time "$min_time" --json \
    > "$OUT/bench.json" || echo "bench FAILED"
  echo "bench: $(( $(date +%s) - start )) s"
  "$PY" -c "import json, sys; from depthinit.bench import format_table; print(format_table(json.load(open(sys.argv[1]))))" \
    "$OUT/bench.json" | tee "$OUT/bench.txt"
  start=$(date +%s)
  "$PY" -m depthinit.cli sweep fcnn-cifar10 --profile "$profile" --device "$device" --no-progress \
    --out "$OUT/fcnn-cifar10-$profile" || echo "sweep FAILED"
  echo "sweep: $(( $(date +%s) - start )) s"
  "$PY" -m depthinit.cli report "$OUT/fcnn-cifar10-$profile" || echo "report FAILED"
  # One archive without the (large) histogram parts, so it can travel and be committed
  # under results/; the book's live runs carry the histograms.
  tar czf "$OUT/fcnn-cifar10-$profile.tgz" -C "$OUT" --exclude histograms "fcnn-cifar10-$profile" \
    && rm -rf "$OUT/fcnn-cifar10-$profile" && ls -la "$OUT"
} 2>&1 | tee "$log"
