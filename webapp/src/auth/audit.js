// Audit log entries in words, for a job's history: "canceled by ada, 14:02".
// Pure functions; the Manager's operation names and details are mapped here
// only, and an unknown operation still reads sensibly.

const STATUS_VERBS = {
  'cancel-requested': 'canceled',
  canceled: 'canceled',
  'pause-requested': 'paused',
  paused: 'paused',
  requeueing: 'requeued',
  queued: 'requeued',
  'under-construction': 'submitted',
}

/** What was done, as a past-tense phrase ("canceled", "priority set to 80"). */
export function auditAction(entry) {
  const op = String(entry.operation || '')
  const details = entry.details && typeof entry.details === 'object' ? entry.details : {}
  const status = details.status || details.new_status
  if (status && /status/.test(op)) {
    const verb = STATUS_VERBS[status] || `set to ${status}`
    return /task/.test(op) ? `task ${verb}` : verb
  }
  if ('priority' in details) return `priority set to ${details.priority}`
  const last = op.split(/[.:/]/).pop()
  if (/^(submit|create|submitted|created)/.test(last) && /job/.test(op)) return 'submitted'
  if (/^delete/.test(last) && /job/.test(op)) return 'deleted'
  return op.replace(/[._-]+/g, ' ').trim() || 'changed'
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
