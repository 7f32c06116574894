# Sourced by run-shard.sh and run-study-task.sh: sets $index to the task index of the cluster's
# job array, from, in order, $MMMI_JOB_ID, $SLURM_ARRAY_TASK_ID (Slurm), $JOB_COMPLETION_INDEX
# (Kubernetes indexed Job), $MMMI_PROCESS (HTCondor's $(Process)); exits 2 naming them if none is set.
index="${MMMI_JOB_ID:-${SLURM_ARRAY_TASK_ID:-${JOB_COMPLETION_INDEX:-${MMMI_PROCESS:-}}}}"
if [[ -z "$index" ]]; then
  echo "$(basename "$0"): no task index (set SLURM_ARRAY_TASK_ID, JOB_COMPLETION_INDEX, MMMI_PROCESS or MMMI_JOB_ID)" >&2
  exit 2
fi
