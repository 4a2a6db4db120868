// Small formatting helpers shared by the views.
import { ref } from 'vue'

/** Ticks every second so relative times ("3 min ago") stay current. */
export const now = ref(Date.now())
if (typeof window !== 'undefined') setInterval(() => (now.value = Date.now()), 1000)

export function relativeTime(iso, reference = now.value) {
  if (!iso) return ''
  const t = Date.parse(iso)
  if (Number.isNaN(t) || t < 86400000) return ''
  const s = Math.round((reference - t) / 1000)
  if (s < 5) return 'just now'
  if (s < 60) return `${s} s ago`
  if (s < 3600) return `${Math.floor(s / 60)} min ago`
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`
  return new Date(t).toLocaleDateString()
}

export function dateTime(iso) {
  if (!iso) return '-'
  const t = Date.parse(iso)
  if (Number.isNaN(t) || t < 86400000) return '-'
  return new Date(t).toLocaleString()
}

export function percent(done, total) {
  if (!total) return 0
  return Math.min(100, Math.round((100 * done) / total))
}

export function plural(n, word) {
  return `${n} ${word}${n === 1 ? '' : 's'}`
}

export const JOB_STATUSES = [
  'active', 'queued', 'paused', 'pause-requested', 'completed', 'failed', 'canceled',
  'cancel-requested', 'requeueing', 'under-construction',
]
export const TASK_STATUSES = ['active', 'queued', 'soft-failed', 'paused', 'completed', 'failed', 'canceled']
export const WORKER_STATUSES = ['awake', 'asleep', 'starting', 'offline', 'error', 'restart', 'testing']
