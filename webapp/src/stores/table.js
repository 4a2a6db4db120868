// A keyed collection for big tables (10k jobs, 100k tasks): rows live in a
// plain Map (no deep reactivity per row); one `version` counter tells Vue
// that something changed, and the sorted, filtered view is computed lazily.
import { computed, ref, shallowRef, triggerRef } from 'vue'

export function timeValue(iso) {
  const t = Date.parse(iso)
  return Number.isNaN(t) ? 0 : t
}

/**
 * `sorters`: column key -> function(row) giving a comparable value.
 * Returns refs and helpers for one table.
 */
export function keyedTable({ sorters, defaultSort, filterKey = 'status' }) {
  const byId = shallowRef(new Map())
  const sort = ref({ ...defaultSort })
  const statusFilter = ref([]) // empty: all statuses
  const selected = ref(new Set())

  // Rows that events added, changed or removed since beginFetch(): the
  // answer of a fetch that started earlier must not undo them.
  let changedSinceFetch = new Set()
  let removedSinceFetch = new Set()

  function touch() {
    triggerRef(byId)
  }

  /** Call right before requesting the rows that replaceAll() will get. */
  function beginFetch() {
    changedSinceFetch = new Set()
    removedSinceFetch = new Set()
  }

  /**
   * Replace every row with a fresh fetch. A row that an event made newer
   * while the fetch was under way keeps the event's version; a row an event
   * created or deleted meanwhile stays created or deleted.
   */
  function replaceAll(rows) {
    const old = byId.value
    const map = new Map()
    for (const row of rows) {
      if (removedSinceFetch.has(row.id)) continue
      const known = old.get(row.id)
      const keep = known && known.updated && row.updated && timeValue(known.updated) > timeValue(row.updated)
      map.set(row.id, Object.freeze(keep ? { ...row, ...known } : row))
    }
    for (const id of changedSinceFetch) {
      if (!map.has(id) && old.has(id)) map.set(id, old.get(id))
    }
    beginFetch()
    byId.value = map
    const keep = new Set([...selected.value].filter((id) => map.has(id)))
    if (keep.size !== selected.value.size) selected.value = keep
  }

  /** Add rows not known yet (a later page); known rows keep their live state. */
  function addMissing(rows) {
    const map = byId.value
    for (const row of rows) if (!map.has(row.id)) map.set(row.id, Object.freeze(row))
    touch()
  }

  function upsert(row) {
    changedSinceFetch.add(row.id)
    removedSinceFetch.delete(row.id)
    const old = byId.value.get(row.id)
    byId.value.set(row.id, Object.freeze(old ? { ...old, ...row } : row))
    touch()
  }

  function remove(id) {
    changedSinceFetch.delete(id)
    removedSinceFetch.add(id)
    if (byId.value.delete(id)) {
      touch()
      if (selected.value.has(id)) {
        const next = new Set(selected.value)
        next.delete(id)
        selected.value = next
      }
    }
  }

  const rows = computed(() => {
    const filter = statusFilter.value
    let list = [...byId.value.values()]
    if (filter.length) list = list.filter((r) => filter.includes(r[filterKey]))
    const key = sorters[sort.value.key] || sorters[defaultSort.key]
    const dir = sort.value.desc ? -1 : 1
    const decorated = list.map((r) => [key(r), r])
    decorated.sort((a, b) => (a[0] < b[0] ? -dir : a[0] > b[0] ? dir : 0))
    return decorated.map((d) => d[1])
  })

  const statusCounts = computed(() => {
    const counts = {}
    for (const r of byId.value.values()) counts[r[filterKey]] = (counts[r[filterKey]] || 0) + 1
    return counts
  })

  /** Click selection: plain click selects one, ctrl/cmd toggles, shift selects a range. */
  function clickSelect(id, event, anchorId) {
    const mod = event && (event.ctrlKey || event.metaKey)
    if (event && event.shiftKey && anchorId) {
      const list = rows.value
      const a = list.findIndex((r) => r.id === anchorId)
      const b = list.findIndex((r) => r.id === id)
      if (a >= 0 && b >= 0) {
        const [lo, hi] = a < b ? [a, b] : [b, a]
        const next = new Set(mod ? selected.value : [])
        for (let i = lo; i <= hi; i++) next.add(list[i].id)
        selected.value = next
        return
      }
    }
    if (mod) {
      const next = new Set(selected.value)
      if (next.has(id)) next.delete(id)
      else next.add(id)
      selected.value = next
      return
    }
    selected.value = new Set([id])
  }

  function selectedRows() {
    return [...selected.value].map((id) => byId.value.get(id)).filter(Boolean)
  }

  return {
    byId, sort, statusFilter, selected, rows, statusCounts,
    beginFetch, replaceAll, addMissing, upsert, remove, clickSelect, selectedRows, touch,
  }
}
