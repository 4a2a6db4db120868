// The tasks of the job being shown (up to 100k), kept current by /task events.
import { defineStore } from 'pinia'
import { ref } from 'vue'
import { get } from '../api.js'
import { keyedTable, timeValue } from './table.js'
import { taskDuration } from '../timing.js'

const FIRST_PAGE = 200

export const useTasks = defineStore('tasks', () => {
  const table = keyedTable({
    sorters: {
      index_in_job: (t) => t.index_in_job,
      status: (t) => t.status,
      name: (t) => t.name.toLowerCase(),
      type: (t) => t.task_type,
      worker: (t) => (t.worker && t.worker.name) || '',
      updated: (t) => timeValue(t.updated),
      progress: (t) => (t.steps_total ? t.steps_completed / t.steps_total : 0),
      duration: (t) => taskDuration(t, Date.now()) ?? -1,
    },
    defaultSort: { key: 'index_in_job', desc: false },
  })
  const jobId = ref('')
  const loading = ref(false)
  let generation = 0

  /**
   * Load the job's tasks. The first request asks for one screenful
   * (`?limit=`), so the table shows rows at once on a Manager that pages;
   * the rest follows (`?offset=`). A Manager that ignores the parameters
   * answers the first request with every task, which is used as is.
   */
  async function fetchForJob(id) {
    const mine = ++generation
    table.beginFetch()
    if (id !== jobId.value) {
      table.replaceAll([])
      table.selected.value = new Set()
    }
    jobId.value = id
    if (!id) return
    loading.value = true
    try {
      const first = (await get(`/jobs/${id}/tasks?limit=${FIRST_PAGE}`)).tasks
      if (mine !== generation) return
      table.replaceAll(first)
      if (first.length !== FIRST_PAGE) return
      const rest = (await get(`/jobs/${id}/tasks?offset=${FIRST_PAGE}`)).tasks
      if (mine !== generation) return
      table.addMissing(rest)
    } finally {
      if (mine === generation) loading.value = false
    }
  }

  function applyEvent(ev) {
    if (ev.job_id !== jobId.value) return null
    const old = table.byId.value.get(ev.id)
    const fields = {
      id: ev.id, name: ev.name, status: ev.status, updated: ev.updated,
      steps_completed: ev.steps_completed, steps_total: ev.steps_total,
      // Always set, so a requeue (no times in the event) clears the old run's.
      started_at: ev.started_at, finished_at: ev.finished_at,
    }
    if (ev.worker) fields.worker = { id: ev.worker.uuid, name: ev.worker.name, address: '' }
    if (!old) {
      // A task we have not seen (the list is still loading): wait for the fetch.
      return null
    }
    table.upsert(fields)
    return table.byId.value.get(ev.id)
  }

  return { ...table, jobId, loading, fetchForJob, applyEvent }
})
