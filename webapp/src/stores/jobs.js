// All jobs of the farm, kept current by /jobs events.
import { defineStore } from 'pinia'
import { ref } from 'vue'
import { get } from '../api.js'
import { keyedTable, timeValue } from './table.js'

export const useJobs = defineStore('jobs', () => {
  const table = keyedTable({
    sorters: {
      status: (j) => j.status,
      name: (j) => j.name.toLowerCase(),
      type: (j) => j.type,
      priority: (j) => j.priority,
      progress: (j) => (j.steps_total ? j.steps_completed / j.steps_total : 0),
      updated: (j) => timeValue(j.updated),
    },
    defaultSort: { key: 'updated', desc: true },
  })
  const loaded = ref(false)
  const loadedAt = ref(0)

  async function fetchAll() {
    table.beginFetch()
    const body = await get('/jobs')
    table.replaceAll(body.jobs)
    loaded.value = true
    loadedAt.value = Date.now()
  }

  /** Apply a /jobs event. Returns the merged job, or null when it was deleted. */
  function applyEvent(ev) {
    if (ev.was_deleted) {
      table.remove(ev.id)
      return null
    }
    const fields = {
      id: ev.id, updated: ev.updated, status: ev.status, type: ev.type, priority: ev.priority,
      steps_completed: ev.steps_completed, steps_total: ev.steps_total,
    }
    if (ev.name !== undefined) fields.name = ev.name
    if (ev.delete_requested_at) fields.delete_requested_at = ev.delete_requested_at
    if (!table.byId.value.has(ev.id) && fields.name === undefined) fields.name = ''
    table.upsert(fields)
    return table.byId.value.get(ev.id)
  }

  return { ...table, loaded, loadedAt, fetchAll, applyEvent }
})
