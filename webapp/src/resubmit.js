// Resubmitting a job: the same job type and settings as a new job, or only the
// frames that did not render. Pure functions; ResubmitJob.vue does the calls.

/** Task statuses whose frames count as rendered. */
const DONE = new Set(['completed'])

/** The frame range a task renders (`--render-frame 1..3` gives "1-3"), or null. */
export function taskFrames(task) {
  for (const command of task.commands || []) {
    const args = (command.parameters && command.parameters.args) || []
    const at = args.indexOf('--render-frame')
    if (at >= 0 && typeof args[at + 1] === 'string') return args[at + 1].replaceAll('..', '-')
  }
  return null
}

/** Summaries of the tasks whose frames were not rendered. */
export function unfinished(taskSummaries) {
  return taskSummaries.filter((t) => !DONE.has(t.status))
}

/** Frames of these (full) tasks as one range text, like "2,3-5"; "" when none render frames. */
export function framesOf(tasks) {
  return tasks.map(taskFrames).filter(Boolean).join(',')
}

/** Whether this job's type takes a `frames` setting, so a subset of frames can be resubmitted. */
export function hasFrames(job) {
  return Boolean(job.settings && typeof job.settings.frames === 'string')
}

/**
 * The submission for a new job like `job`. With `frames`, only those frames.
 * Settings keep their stored form ({variables} included); submitter "manager"
 * makes the Manager read paths as its own. No type etag: the job type as it is
 * now compiles it. No Shaman checkout: the files stay the original job's.
 */
export function resubmission(job, frames = '') {
  const body = {
    name: `${job.name} (${frames ? 'frames ' + frames : 'again'})`.slice(0, 64),
    type: job.type,
    priority: job.priority,
    submitter_platform: 'manager',
    settings: { ...job.settings, ...(frames ? { frames } : {}) },
    metadata: { ...(job.metadata || {}), resubmitted_from: job.id },
  }
  if (job.worker_tag) body.worker_tag = job.worker_tag
  return body
}
