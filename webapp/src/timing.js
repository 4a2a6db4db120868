// Render times, a job's elapsed time and its estimated time left, from the
// tasks' optional `started_at` / `finished_at` (a Manager that does not send
// them simply gets no times). Pure functions, no Vue: the views call
// `summarizeTasks` when the tasks change (it walks every task once, fine for
// 100k) and `jobTimes` on every clock tick (it only does arithmetic).

const RUNNING_JOB = new Set(['active', 'queued', 'requeueing', 'pause-requested', 'cancel-requested'])
const WILL_RUN = new Set(['active', 'queued', 'soft-failed'])

function ms(iso) {
  if (!iso) return null
  const t = Date.parse(iso)
  return Number.isNaN(t) ? null : t
}

/** Seconds the task's latest run took, or has been running at `nowMs`; null when it has not run. */
export function taskDuration(task, nowMs) {
  const start = ms(task.started_at)
  if (start === null) return null
  const end = ms(task.finished_at)
  if (end !== null) return Math.max(0, (end - start) / 1000)
  if (task.status === 'active') return Math.max(0, (nowMs - start) / 1000)
  return null
}

/**
 * What `jobTimes` needs, gathered in one pass: first start, last finish,
 * mean render time of completed tasks (per task type and overall), the
 * running tasks' types and starts, and how many tasks are still to run.
 */
export function summarizeTasks(tasks) {
  let firstStart = null
  let lastFinish = null
  const sums = new Map() // task type -> [total seconds, count]
  let total = 0
  let count = 0
  const running = []
  const waiting = new Map() // task type -> tasks still to start
  for (const t of tasks) {
    const start = ms(t.started_at)
    const end = ms(t.finished_at)
    if (start !== null && (firstStart === null || start < firstStart)) firstStart = start
    if (end !== null && (lastFinish === null || end > lastFinish)) lastFinish = end
    if (t.status === 'completed' && start !== null && end !== null) {
      const s = Math.max(0, (end - start) / 1000)
      const acc = sums.get(t.task_type) || [0, 0]
      acc[0] += s
      acc[1] += 1
      sums.set(t.task_type, acc)
      total += s
      count += 1
    } else if (t.status === 'active') {
      running.push({ type: t.task_type, start })
    } else if (WILL_RUN.has(t.status)) {
      waiting.set(t.task_type, (waiting.get(t.task_type) || 0) + 1)
    }
  }
  const meanByType = new Map([...sums].map(([type, [s, n]]) => [type, s / n]))
  return { firstStart, lastFinish, meanByType, mean: count ? total / count : null, completed: count, running, waiting }
}

/**
 * The job's elapsed time and estimated time left, in seconds (null when
 * unknown). Elapsed runs from the first task start to now while the job is
 * running, else to the last task finish. Time left: every task still to run
 * takes the mean time of completed tasks of its type (or of all types), a
 * running one only what its mean leaves; the work is shared by as many
 * workers as run the job's tasks now (at least one). No estimate before a
 * task completed or once the job stopped running.
 */
export function jobTimes(summary, jobStatus, nowMs) {
  const running = RUNNING_JOB.has(jobStatus)
  let elapsed = null
  if (summary.firstStart !== null) {
    const end = running ? nowMs : (summary.lastFinish ?? nowMs)
    elapsed = Math.max(0, (end - summary.firstStart) / 1000)
  }
  let eta = null
  if (running && summary.mean !== null) {
    const mean = (type) => summary.meanByType.get(type) ?? summary.mean
    let work = 0
    for (const [type, n] of summary.waiting) work += n * mean(type)
    for (const r of summary.running) {
      const done = r.start === null ? 0 : (nowMs - r.start) / 1000
      work += Math.max(0, mean(r.type) - done)
    }
    eta = work / Math.max(1, summary.running.length)
  }
  return { elapsed, eta }
}

/** [x: index_in_job, y: seconds, names] of the finished runs, in task order, for the chart. */
export function durationSeries(tasks) {
  const points = []
  for (const t of tasks) {
    if (!t.finished_at) continue
    const d = taskDuration(t, 0)
    if (d !== null) points.push([t.index_in_job, d, t.name])
  }
  points.sort((a, b) => a[0] - b[0])
  return [points.map((p) => p[0]), points.map((p) => p[1]), points.map((p) => p[2])]
}

/** "0.8 s", "12 s", "3 min 05 s", "2 h 03 min"; '' for null. */
export function formatDuration(seconds) {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return ''
  if (seconds < 10) return `${(Math.floor(seconds * 10) / 10).toFixed(1)} s`
  const s = Math.floor(seconds)
  if (s < 60) return `${s} s`
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`
}
