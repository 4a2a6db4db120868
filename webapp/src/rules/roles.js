// Which role may do what, as the web UI offers it. The Manager decides (it
// answers 403 and the UI shows its message); this only greys out what would
// certainly be refused. The table is roles.json, a copy of the Manager's
// (flamenco_pkg/manager/auth/permissions.py, docs/auth.md).
import rules from './roles.json'

export const ROLES = Object.keys(rules.roles)
const RIGHTS = rules.roles

/** Whether `role` has `right` ('job:submit', 'workers:manage', ...). Unknown roles have none. */
export function hasRight(role, right) {
  return (RIGHTS[role] || []).includes(right)
}

/**
 * Whether the user may change `job` (status, priority, tag, blocklist). An
 * artist may change jobs it submitted; a job without a known submitter is
 * left to the Manager to decide.
 */
export function mayChangeJob(user, job) {
  if (hasRight(user.role, 'job:change-any')) return true
  if (!hasRight(user.role, 'job:change-own')) return false
  return !job || !job.submitted_by || job.submitted_by === user.username
}

/** Why `user` may not change `job`, in words for a tooltip or hint; '' when it may. */
export function whyNotChangeJob(user, job) {
  if (mayChangeJob(user, job)) return ''
  if (hasRight(user.role, 'job:change-own')) {
    return `Submitted by ${job.submitted_by}: as ${article(user.role)} you may change only your own jobs.`
  }
  return `As ${article(user.role)} you may look, not change.`
}

/** Whether the user may read a job's history (the audit log). */
export function mayReadJobHistory(user) {
  return hasRight(user.role, 'audit:read')
}

function article(role) {
  return /^[aeiou]/.test(role) ? `an ${role}` : `a ${role}`
}
