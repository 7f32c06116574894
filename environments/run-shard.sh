#!/usr/bin/env bash
# Generate one shard of a dataset: the task index of the cluster's job array becomes --job_id
# (and so the shard's file name and, by default, its sample seed).
#
#   environments/run-shard.sh @generation_arguments/multimodal_decay_DAG.txt --transform tanh [flags…]
#
# The index is taken from, in order: $MMMI_JOB_ID, $SLURM_ARRAY_TASK_ID (Slurm),
# $JOB_COMPLETION_INDEX (Kubernetes indexed Job), $MMMI_PROCESS (HTCondor's $(Process),
# passed by htcondor/generate.sub). Rerunning a task resumes or skips its shard.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="${MMMI_REPO:-$(dirname "$here")}"
# shellcheck source=task-index.sh
source "$here/task-index.sh"
if [[ $# -eq 0 ]]; then
  echo "run-shard.sh: give the argument file and flags, e.g. @generation_arguments/simple_fig1_DAG.txt --transform tanh" >&2
  exit 2
fi
cd "$repo"
exec node packages/dataset-generation/bin/mmmi-generate.js "$@" --job_id "$index"
