#!/usr/bin/env bash
# One task of a study stage: the task index of the cluster's job array becomes --job_id, and
# the task runs every --num_jobs-th unit of the stage from it (a dataset per ρ_θ, or one
# estimate each). A unit done earlier is skipped, so a rerun or requeued task continues.
#
#   environments/run-study-task.sh --preset paper-v2 --stage estimate --num_jobs 16 [flags…]
#
# The index is taken as run-shard.sh takes it: $MMMI_JOB_ID, $SLURM_ARRAY_TASK_ID (Slurm),
# $JOB_COMPLETION_INDEX (Kubernetes indexed Job), $MMMI_PROCESS (HTCondor's $(Process)).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="${MMMI_REPO:-$(dirname "$here")}"
# shellcheck source=task-index.sh
source "$here/task-index.sh"
cd "$repo"
exec node packages/mi-bench/bin/mmmi-bench.js study "$@" --job_id "$index"
