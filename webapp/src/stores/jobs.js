// All jobs of the farm, kept current by /jobs events.
import { defineStore } from 'pinia'
import { ref } from 'vue'
import { get } from '../api.js'
import { keyedTable, timeValue } from './table.js'

const FIRST_PAGE = 200
const PAGE = 5000
const OVERLAP = 50
// Columns GET /jobs?sort= knows, by the table's column keys.
const SERVER_SORTS = ['status', 'name', 'type', 'priority', 'updated']

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
  let generation = 0

  /** The `sort` the Manager understands for the table's current order (progress it cannot sort by). */
  function serverSort() {
    const { key, desc } = table.sort.value
    return SERVER_SORTS.includes(key) ? `${desc ? '-' : ''}${key}` : '-updated'
  }

  let firstPage = null // the request for the first screenful, while under way

  /** What the first request asks for; index.html asks for the default one early. */
  function firstPagePath() {
    return `/jobs?limit=${FIRST_PAGE}&sort=${serverSort()}`
  }

  /**
   * Load every job. The first load asks for one screenful in the table's
   * order (`?limit=&sort=`), so 100k jobs show their first rows at once. Then
   * every job is fetched in pages of creation order, so the Manager answers
   * Workers between pages, and the result replaces the table (events that
   * arrived meanwhile win, see keyedTable). Pages overlap a little, so jobs
   * deleted between two requests do not make the next page skip a job. A
   * Manager that ignores the parameters answers with every job at once, which
   * is used as is. A reload (after a reconnect) keeps the table whole until
   * the new list is complete.
   */
  async function fetchAll() {
    const mine = ++generation
    table.beginFetch()
    if (!loaded.value) {
      // A second load (the one after the live subscription) waits for the
      // screenful already asked for instead of asking again, then reads
      // every job, since changes made before it subscribed may be missing.
      const own = !firstPage
      if (own) {
        firstPage = get(firstPagePath()).then((body) => {
          if (!loaded.value) {
            table.addMissing(body.jobs)
            loaded.value = true
          }
          return body.jobs.length
        }).finally(() => {
          firstPage = null
        })
      }
      const count = await firstPage
      if (mine !== generation) return
      if (own && count !== FIRST_PAGE) {
        loadedAt.value = Date.now()
        return
      }
    }
    const all = new Map()
    for (let offset = 0; ; offset += PAGE) {
      const from = Math.max(0, offset - OVERLAP)
      const limit = PAGE + (offset - from)
      const page = (await get(`/jobs?sort=created&offset=${from}&limit=${limit}`)).jobs
      if (mine !== generation) return
      for (const job of page) all.set(job.id, job)
      if (page.length !== limit) break // the last page, or a Manager that sent everything
    }
    table.replaceAll([...all.values()])
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

  return { ...table, loaded, loadedAt, fetchAll, applyEvent, firstPagePath }
})
