// Audit log entries in words, for a job's history: "canceled by ada, 14:02".
// Pure functions. The Manager names operations by their OpenAPI operationId
// and keeps the request body as details; an unknown operation still reads
// sensibly ("set worker tags").

const STATUS_VERBS = {
  'cancel-requested': 'canceled',
  canceled: 'canceled',
  'pause-requested': 'paused',
  paused: 'paused',
  requeueing: 'requeued',
  queued: 'requeued',
}

const OPERATION_PHRASES = {
  submitJob: 'submitted',
  deleteJob: 'deletion requested',
  setJobTag: 'worker tag changed',
  removeJobBlocklist: 'blocklist changed',
}

/** "setJobPriority" -> "set job priority". */
function words(operation) {
  return operation.replace(/([a-z0-9])([A-Z])/g, '$1 $2').replace(/[._-]+/g, ' ').trim().toLowerCase()
}

/** What was done, as a past-tense phrase ("canceled", "priority set to 80"). */
export function auditAction(entry) {
  const op = String(entry.operation || '')
  const details = entry.details && typeof entry.details === 'object' ? entry.details : {}
  if (/status/i.test(op) && details.status) {
    const verb = STATUS_VERBS[details.status] || `set to ${details.status}`
    return /task/i.test(op) ? `task ${verb}` : verb
  }
  if (/priority/i.test(op) && 'priority' in details) return `priority set to ${details.priority}`
  return OPERATION_PHRASES[op] || words(op) || 'changed'
}

/** "14:02" today, or the date and time for older entries. */
export function auditTime(iso, today = new Date()) {
  const t = new Date(iso)
  if (Number.isNaN(t.getTime())) return ''
  const hhmm = `${String(t.getHours()).padStart(2, '0')}:${String(t.getMinutes()).padStart(2, '0')}`
  return t.toDateString() === today.toDateString() ? hhmm : `${t.toLocaleDateString()} ${hhmm}`
}

/** One line of history: "canceled by ada, 14:02". */
export function describeAuditEntry(entry, today = new Date()) {
  const who = entry.user || 'someone'
  const when = auditTime(entry.time, today)
  return `${auditAction(entry)} by ${who}${when ? ', ' + when : ''}`
}
