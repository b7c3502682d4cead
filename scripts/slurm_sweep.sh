#!/usr/bin/env bash
# A sweep spread over a SLURM job array: one shard per array task, each into its own folder,
# then one merge. Usage (from the repository root, with the venv built by `make install`):
#
#   N=8 EXPERIMENT=fcnn-cifar10 PROFILE=paper OUT=results/fcnn-cifar10-paper \
#     sbatch --array=0-7 --gres=gpu:1 --time=02:00:00 scripts/slurm_sweep.sh
#   # when every task has finished (or: sbatch --dependency=afterok:<jobid> ... with MERGE=1):
#   .venv/bin/depthinit merge "$OUT" "$OUT".shard-*-of-8
#
# A task that was killed can simply be resubmitted: the sweep resumes in its shard folder and
# trains only what is missing. `depthinit merge` refuses shards of different specs, profiles or
# splits, a missing or doubled shard, and a shard that is not complete.
#SBATCH --job-name=depthinit-sweep
#SBATCH --output=depthinit-%A_%a.log
set -euo pipefail
: "${N:?set N, the number of shards (the array size)}"
: "${EXPERIMENT:?set EXPERIMENT, e.g. fcnn-cifar10 (see depthinit list)}"
: "${OUT:?set OUT, the merged folder; shards go to OUT.shard-I-of-N}"
PROFILE="${PROFILE:-paper}"
I="${SLURM_ARRAY_TASK_ID:?run this under sbatch --array=0-$((N - 1))}"
exec .venv/bin/depthinit sweep "$EXPERIMENT" --profile "$PROFILE" --device auto \
  --shard "$I/$N" --out "$OUT.shard-$I-of-$N" ${DATA_ROOT:+--data-root "$DATA_ROOT"}
