#!/usr/bin/env bash
# The paper's v2 estimator study on Slurm: three job arrays chained by dependencies.
#   generate  one task per ρ_θ dataset (8);
#   estimate  TASKS tasks, each every TASKS-th estimate (8 ρ_θ × 2 inputs × 2 protocols × 8 estimators = 256);
#   report    one task: the merge (rows, figures, README.md).
# Run from the repository root:
#   environments/slurm/study-v2.sh <out folder> [TASKS] [extra study flags…]
#   environments/slurm/study-v2.sh study-v2 32
#   environments/slurm/study-v2.sh study-v2-small 4 --draws 2000 --steps 2000      # scaled down
# Extra sbatch flags for every stage: MMMI_SBATCH="--partition=cpu --cpus-per-task=4".
set -euo pipefail
out="${1:?give the study folder, e.g. study-v2}"
tasks="${2:-16}"
shift $(( $# >= 2 ? 2 : 1 ))
datasets="$(node packages/mi-bench/bin/mmmi-bench.js study --preset paper-v2 --out "$out" "$@" --plan | sed -n 's/^datasets: //p')"
mkdir -p logs  # the default --output of study-task.sbatch
script=environments/slurm/study-task.sbatch
# shellcheck disable=SC2086
gen=$(sbatch --parsable ${MMMI_SBATCH:-} --array=0-$((datasets - 1)) "$script" --preset paper-v2 --out "$out" "$@" --stage generate --num_jobs "$datasets")
# shellcheck disable=SC2086
est=$(sbatch --parsable ${MMMI_SBATCH:-} --dependency=afterok:"$gen" --array=0-$((tasks - 1)) "$script" --preset paper-v2 --out "$out" "$@" --stage estimate --num_jobs "$tasks")
# shellcheck disable=SC2086
rep=$(sbatch --parsable ${MMMI_SBATCH:-} --dependency=afterok:"$est" --array=0 "$script" --preset paper-v2 --out "$out" "$@" --stage report)
echo "generate: job $gen ($datasets tasks); estimate: job $est ($tasks tasks); report: job $rep"
