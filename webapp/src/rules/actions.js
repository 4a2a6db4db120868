// Status-to-action rules of the web UI. The API accepts any status change;
// these rules only decide which buttons are offered, as upstream's UI does.
import rules from './actions.json'

export const JOB_ACTIONS = ['pause', 'cancel', 'requeue', 'delete']
export const TASK_ACTIONS = ['cancel', 'requeue']

export const JOB_ACTION_LABELS = {
  pause: 'Pause',
  cancel: 'Cancel',
  requeue: 'Requeue',
  delete: 'Delete…',
}
export const JOB_ACTION_DONE = {
  pause: 'paused',
  cancel: 'cancelled',
  requeue: 'requeued',
  delete: 'marked for deletion',
}
export const TASK_ACTION_LABELS = { cancel: 'Cancel', requeue: 'Requeue' }

/** Whether a job in `jobStatus` may get `action`. */
export function jobActionAllowed(action, jobStatus) {
  const allowed = rules.job_actions[action]
  if (!allowed) throw new Error(`unknown job action ${action}`)
  return allowed.includes(jobStatus)
}

/** The status a job action sends to POST /jobs/{id}/setstatus (null: delete). */
export function jobActionStatus(action) {
  return rules.job_action_status[action]
}

/** Whether a task in `taskStatus`, of a job in `jobStatus`, may get `action`. */
export function taskActionAllowed(action, taskStatus, jobStatus) {
  const allowed = rules.task_actions[action]
  if (!allowed) throw new Error(`unknown task action ${action}`)
  if (action === 'cancel' && rules.task_cancel_blocked_by_job.includes(jobStatus)) return false
  return allowed.includes(taskStatus)
}

export function taskActionStatus(action) {
  return rules.task_action_status[action]
}

/** The job actions offered for a selection: those allowed for at least one job. */
export function offeredJobActions(statuses) {
  return JOB_ACTIONS.filter((a) => statuses.some((s) => jobActionAllowed(a, s)))
}

export function offeredTaskActions(taskStatuses, jobStatus) {
  return TASK_ACTIONS.filter((a) => taskStatuses.some((s) => taskActionAllowed(a, s, jobStatus)))
}

export const WORKER_ACTIONS = rules.worker_actions
