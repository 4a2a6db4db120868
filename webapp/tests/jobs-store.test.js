import { beforeEach, describe, expect, it, vi } from 'vitest'
import { createPinia, setActivePinia } from 'pinia'

// The store's only outside contact is the Manager's API; answer it here.
const answers = []
const asked = []
vi.mock('../src/api.js', () => ({
  get: async (path) => {
    asked.push(path)
    return answers.shift()
  },
}))

const { useJobs } = await import('../src/stores/jobs.js')

function jobs(n, prefix = 'j') {
  return Array.from({ length: n }, (_, i) => ({
    id: `${prefix}${i}`, name: `job ${i}`, status: 'queued', updated: `2026-01-01T00:00:${String(i % 60).padStart(2, '0')}Z`,
  }))
}

describe('jobs store: first screenful, then the whole list', () => {
  beforeEach(() => {
    setActivePinia(createPinia())
    answers.length = 0
    asked.length = 0
  })

  it('asks for one page in the table order, then for every job in overlapping pages', async () => {
    const store = useJobs()
    const every = jobs(12000)
    answers.push({ jobs: every.slice(0, 200) }, { jobs: every.slice(0, 5000) }, { jobs: every.slice(4950, 10000) },
      { jobs: every.slice(9950) })
    await store.fetchAll()
    expect(asked).toEqual([
      '/jobs?limit=200&sort=-updated',
      '/jobs?sort=created&offset=0&limit=5000',
      '/jobs?sort=created&offset=4950&limit=5050',
      '/jobs?sort=created&offset=9950&limit=5050',
    ])
    expect(store.byId.size).toBe(12000)
  })

  it('stops paging when a Manager ignores the parameters', async () => {
    const store = useJobs()
    answers.push({ jobs: jobs(10) })
    await store.fetchAll() // first load done: fewer than a page
    asked.length = 0
    answers.push({ jobs: jobs(7000) }) // a reload; this Manager sends everything
    await store.fetchAll()
    expect(asked).toEqual(['/jobs?sort=created&offset=0&limit=5000'])
    expect(store.byId.size).toBe(7000)
  })

  it('stops after the first answer when it holds fewer jobs than a page, or all of them', async () => {
    const store = useJobs()
    answers.push({ jobs: jobs(12) })
    await store.fetchAll()
    expect(asked).toEqual(['/jobs?limit=200&sort=-updated'])
    expect(store.byId.size).toBe(12)

    // A Manager that ignores ?limit answers with everything at once.
    setActivePinia(createPinia())
    asked.length = 0
    const other = useJobs()
    answers.push({ jobs: jobs(5000) })
    await other.fetchAll()
    expect(asked).toHaveLength(1)
    expect(other.byId.size).toBe(5000)
  })

  it('uses the chosen column for the first page, and -updated for one the Manager cannot sort', async () => {
    const store = useJobs()
    store.sort = { key: 'name', desc: false }
    answers.push({ jobs: jobs(3) })
    await store.fetchAll()
    expect(asked).toEqual(['/jobs?limit=200&sort=name'])

    setActivePinia(createPinia())
    asked.length = 0
    const other = useJobs()
    other.sort = { key: 'progress', desc: true }
    answers.push({ jobs: jobs(3) })
    await other.fetchAll()
    expect(asked).toEqual(['/jobs?limit=200&sort=-updated'])
  })

  it('reloads the whole list without shrinking the table first', async () => {
    const store = useJobs()
    answers.push({ jobs: jobs(10) })
    await store.fetchAll()
    asked.length = 0
    answers.push({ jobs: jobs(11) })
    await store.fetchAll()
    expect(asked).toEqual(['/jobs?sort=created&offset=0&limit=5000'])
    expect(store.byId.size).toBe(11)
  })

  it('asks for the first screenful once when a second load starts while it is under way', async () => {
    const store = useJobs()
    const every = jobs(300)
    answers.push({ jobs: every.slice(0, 200) }, { jobs: every })
    const first = store.fetchAll()
    const second = store.fetchAll() // the load after the live subscription
    await Promise.all([first, second])
    expect(asked).toEqual(['/jobs?limit=200&sort=-updated', '/jobs?sort=created&offset=0&limit=5000'])
    expect(store.byId.size).toBe(300)
  })

  it('reads the whole list after sharing a short first screenful, which may predate the subscription', async () => {
    const store = useJobs()
    answers.push({ jobs: jobs(5) }, { jobs: jobs(6) })
    await Promise.all([store.fetchAll(), store.fetchAll()])
    expect(asked).toEqual(['/jobs?limit=200&sort=-updated', '/jobs?sort=created&offset=0&limit=5000'])
    expect(store.byId.size).toBe(6)
  })
})
