// Workers and worker tags, kept current by /workers and /workertags events.
import { defineStore } from 'pinia'
import { ref } from 'vue'
import { get } from '../api.js'
import { keyedTable, timeValue } from './table.js'

export const useWorkers = defineStore('workers', () => {
  const table = keyedTable({
    sorters: {
      name: (w) => w.name.toLowerCase(),
      status: (w) => w.status,
      version: (w) => w.version,
      last_seen: (w) => timeValue(w.last_seen || ''),
    },
    defaultSort: { key: 'name', desc: false },
  })
  const tags = ref([])

  async function fetchAll() {
    table.beginFetch()
    const body = await get('/worker-mgt/workers')
    table.replaceAll(body.workers)
  }

  async function fetchTags() {
    const body = await get('/worker-mgt/tags')
    tags.value = body.tags
  }

  function applyEvent(ev) {
    if (ev.deleted_at) {
      table.remove(ev.id)
      return null
    }
    const old = table.byId.value.get(ev.id) || {}
    const row = {
      ...old, id: ev.id, name: ev.name, status: ev.status, version: ev.version,
      can_restart: ev.can_restart, last_seen: ev.last_seen || old.last_seen,
    }
    delete row.status_change
    if (ev.status_change) row.status_change = ev.status_change
    table.byId.value.set(ev.id, Object.freeze(row))
    table.touch()
    return row
  }

  function applyTagEvent(ev) {
    const list = tags.value.filter((t) => t.id !== ev.tag.id)
    if (!ev.was_deleted) list.push(ev.tag)
    list.sort((a, b) => a.name.localeCompare(b.name))
    tags.value = list
  }

  return { ...table, tags, fetchAll, fetchTags, applyEvent, applyTagEvent }
})
