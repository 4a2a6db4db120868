import { describe, expect, it } from 'vitest'
import { keyedTable, timeValue } from '../src/stores/table.js'

function jobsTable() {
  return keyedTable({ sorters: { updated: (j) => timeValue(j.updated) }, defaultSort: { key: 'updated', desc: true } })
}

describe('keyedTable and a fetch racing live events', () => {
  it('keeps a row an event created while the fetch was under way', () => {
    const table = jobsTable()
    table.beginFetch()
    table.upsert({ id: 'new', status: 'queued', updated: '2026-01-01T00:00:02Z' })
    table.replaceAll([{ id: 'old', status: 'active', updated: '2026-01-01T00:00:01Z' }])
    expect([...table.byId.value.keys()].sort()).toEqual(['new', 'old'])
  })

  it('does not bring back a row an event deleted while the fetch was under way', () => {
    const table = jobsTable()
    table.replaceAll([{ id: 'gone', status: 'queued', updated: '2026-01-01T00:00:01Z' }])
    table.beginFetch()
    table.remove('gone')
    table.replaceAll([{ id: 'gone', status: 'queued', updated: '2026-01-01T00:00:01Z' }])
    expect(table.byId.value.has('gone')).toBe(false)
  })

  it('keeps the newer event version of a row over an older fetched one', () => {
    const table = jobsTable()
    table.beginFetch()
    table.upsert({ id: 'j', status: 'completed', updated: '2026-01-01T00:00:05Z' })
    table.replaceAll([{ id: 'j', status: 'active', updated: '2026-01-01T00:00:03Z' }])
    expect(table.byId.value.get('j').status).toBe('completed')
  })

  it('drops rows the server no longer has when no event touched them', () => {
    const table = jobsTable()
    table.replaceAll([{ id: 'a', updated: '2026-01-01T00:00:01Z' }, { id: 'b', updated: '2026-01-01T00:00:01Z' }])
    table.beginFetch()
    table.replaceAll([{ id: 'a', updated: '2026-01-01T00:00:01Z' }])
    expect([...table.byId.value.keys()]).toEqual(['a'])
  })
})
