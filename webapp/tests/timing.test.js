import { describe, expect, it } from 'vitest'
import { durationSeries, formatDuration, jobTimes, summarizeTasks, taskDuration } from '../src/timing.js'

const T0 = Date.parse('2026-01-01T00:00:00Z')
const at = (s) => new Date(T0 + s * 1000).toISOString()

function task(index, status, start, end, type = 'blender') {
  const t = { id: `t${index}`, name: `frame ${index}`, index_in_job: index, status, task_type: type }
  if (start !== null) t.started_at = at(start)
  if (end !== null) t.finished_at = at(end)
  return t
}

describe('taskDuration', () => {
  it('is the finished run length', () => {
    expect(taskDuration(task(1, 'completed', 10, 25), T0 + 999e3)).toBe(15)
  })
  it('runs on with the clock while active', () => {
    expect(taskDuration(task(1, 'active', 10, null), T0 + 14e3)).toBe(4)
  })
  it('is null for a task that has not run, or whose run has no end and is not active', () => {
    expect(taskDuration(task(1, 'queued', null, null), T0)).toBeNull()
    expect(taskDuration(task(1, 'paused', 3, null), T0 + 9e3)).toBeNull()
  })
})

describe('jobTimes', () => {
  it('estimates the rest from the mean of completed tasks, shared by the running workers', () => {
    const tasks = [
      task(1, 'completed', 0, 10), task(2, 'completed', 0, 20), // mean 15 s
      task(3, 'active', 20, null), task(4, 'active', 25, null),
      task(5, 'queued', null, null), task(6, 'queued', null, null),
    ]
    const { elapsed, eta } = jobTimes(summarizeTasks(tasks), 'active', T0 + 30e3)
    expect(elapsed).toBe(30)
    // queued: 2 × 15; running: (15 − 10) + (15 − 5); two workers.
    expect(eta).toBe((30 + 5 + 10) / 2)
  })

  it('uses each task type its own mean, falling back to the overall mean', () => {
    const tasks = [
      task(1, 'completed', 0, 2, 'misc'), task(2, 'completed', 2, 12, 'blender'),
      task(3, 'queued', null, null, 'blender'), task(4, 'queued', null, null, 'ffmpeg'),
    ]
    const { eta } = jobTimes(summarizeTasks(tasks), 'active', T0 + 12e3)
    expect(eta).toBe(10 + 6) // blender 10 s; ffmpeg unseen: overall mean (2 + 10) / 2
  })

  it('has no estimate before the first task completed', () => {
    const tasks = [task(1, 'active', 0, null), task(2, 'queued', null, null)]
    expect(jobTimes(summarizeTasks(tasks), 'active', T0 + 5e3)).toEqual({ elapsed: 5, eta: null })
  })

  it('stops the clock at the last finish once the job is done, with nothing left', () => {
    const tasks = [task(1, 'completed', 0, 10), task(2, 'completed', 10, 40)]
    expect(jobTimes(summarizeTasks(tasks), 'completed', T0 + 3600e3)).toEqual({ elapsed: 40, eta: null })
  })

  it('never estimates less than zero for a task running longer than the mean', () => {
    const tasks = [task(1, 'completed', 0, 10), task(2, 'active', 10, null)]
    expect(jobTimes(summarizeTasks(tasks), 'active', T0 + 100e3).eta).toBe(0)
  })

  it('knows nothing for tasks without times (a Manager that does not send them)', () => {
    const tasks = [{ id: 'a', status: 'completed', task_type: 'x', index_in_job: 1 }]
    expect(jobTimes(summarizeTasks(tasks), 'completed', T0)).toEqual({ elapsed: null, eta: null })
  })
})

describe('durationSeries', () => {
  it('gives finished runs in task order', () => {
    const tasks = [task(3, 'completed', 0, 4), task(1, 'failed', 0, 2), task(2, 'active', 1, null)]
    expect(durationSeries(tasks)).toEqual([[1, 3], [2, 4], ['frame 1', 'frame 3']])
  })
})

describe('formatDuration', () => {
  it.each([
    [null, ''], [0.84, '0.8 s'], [12.7, '12 s'], [185, '3 min 05 s'], [7380, '2 h 03 min'],
  ])('%s -> %s', (s, text) => {
    expect(formatDuration(s)).toBe(text)
  })
})
