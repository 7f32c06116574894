/**
 * Which scheduler job (or array task) this process runs as, from the variables the schedulers
 * set. A scheduler never runs one job, or one task of an array, twice at the same time: a
 * lock left by "our" job on another node belongs to an earlier run of it that has ended (a
 * requeued task after preemption or a node failure), so it can be taken over at once.
 *
 * A Kubernetes pod's HOSTNAME is its name, not a job: a retried pod gets a new one, so there
 * is nothing to recognise it by and its locks wait out the timer.
 */

export interface SchedulerJob {
  /** e.g. 'Slurm'. */
  scheduler: string;
  /** The job's id, with the array index where there is one, e.g. '1234_5'. */
  id: string;
  /** How many times the scheduler has restarted this job (Slurm's SLURM_RESTART_COUNT), where it says. */
  attempt?: number;
}

interface JobVariables {
  scheduler: string;
  /** All must be set; their values joined by '_' make the id. */
  id: readonly string[];
  /** The restart count, where the scheduler sets one. */
  attempt?: string;
}

/** First match wins: an array task before a plain job of the same scheduler. */
export const SCHEDULER_JOB_VARIABLES: readonly JobVariables[] = [
  // every task of a Slurm array has its own SLURM_JOB_ID too, but the array's pair is what users see and requeue
  { scheduler: 'Slurm', id: ['SLURM_ARRAY_JOB_ID', 'SLURM_ARRAY_TASK_ID'], attempt: 'SLURM_RESTART_COUNT' },
  { scheduler: 'Slurm', id: ['SLURM_JOB_ID'], attempt: 'SLURM_RESTART_COUNT' },
  // PBS Pro and Torque: an array subjob's PBS_JOBID carries its index, e.g. 1234[5].server
  { scheduler: 'PBS', id: ['PBS_JOBID'] },
  // LSF: the elements of an array share LSB_JOBID and differ in LSB_JOBINDEX (0 outside arrays)
  { scheduler: 'LSF', id: ['LSB_JOBID', 'LSB_JOBINDEX'] },
  { scheduler: 'LSF', id: ['LSB_JOBID'] },
  // Grid Engine: JOB_ID alone is too common a name to trust; SGE_TASK_ID is always set ('undefined' outside arrays)
  { scheduler: 'Grid Engine', id: ['JOB_ID', 'SGE_TASK_ID'] },
];

/** The scheduler job this process runs as, or undefined outside one. */
export function schedulerJob(env: NodeJS.ProcessEnv = process.env): SchedulerJob | undefined {
  for (const v of SCHEDULER_JOB_VARIABLES) {
    const values = v.id.map((name) => env[name]?.trim());
    if (!values.every((value): value is string => Boolean(value))) continue;
    const attempt = v.attempt !== undefined ? Number(env[v.attempt] ?? 0) : undefined;
    return { scheduler: v.scheduler, id: values.join('_'), ...(attempt !== undefined && Number.isInteger(attempt) && { attempt }) };
  }
  return undefined;
}

/** How a job reads in a message: 'Slurm job 1234_5'. */
export function describeJob(job: SchedulerJob): string {
  return `${job.scheduler} job ${job.id}${job.attempt ? ` (restart ${job.attempt})` : ''}`;
}

/**
 * Whether `theirs` is an earlier run of the job we are: the same scheduler and id, and, where
 * both restart counts are known, ours is the later one (two runs of one attempt on two nodes
 * are two steps of one allocation, which may both be alive).
 */
export function earlierRunOfOurJob(theirs: SchedulerJob | undefined, ours: SchedulerJob | undefined): boolean {
  if (!theirs || !ours || theirs.scheduler !== ours.scheduler || theirs.id !== ours.id) return false;
  return theirs.attempt === undefined || ours.attempt === undefined || ours.attempt > theirs.attempt;
}
