// index.html asks for the jobs list's first screenful before the app has
// loaded; the app must ask for exactly that path, and use the answer once.
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createPinia, setActivePinia } from 'pinia'
import { get } from '../src/api.js'
import { useJobs } from '../src/stores/jobs.js'

const html = readFileSync(resolve(__dirname, '../index.html'), 'utf8')
const script = html.match(/<script>([\s\S]*?)<\/script>/)[1]

function runPrefetch(pathname) {
  delete window.__flamencoPrefetch
  const fetched = []
  const fakeFetch = (url) => {
    fetched.push(url)
    return Promise.resolve(new Response('{"jobs": []}', { headers: { 'Content-Type': 'application/json' } }))
  }
  new Function('location', 'fetch', script)({ pathname }, fakeFetch)
  return fetched
}

afterEach(() => {
  delete window.__flamencoPrefetch
  vi.unstubAllGlobals()
})

describe('the early jobs request of index.html', () => {
  it('is the first request of the jobs store', () => {
    setActivePinia(createPinia())
    const fetched = runPrefetch('/app/jobs')
    expect(fetched).toEqual([`/api/v3${useJobs().firstPagePath()}`])
  })

  it.each([['/app/', 1], ['/app', 1], ['/app/jobs/abc/def', 1], ['/app/workers', 0], ['/app/jobsx', 0]])(
    'is made on %s: %i', (pathname, n) => {
      expect(runPrefetch(pathname)).toHaveLength(n)
    })

  it('answers the first matching GET only; later ones go to the Manager', async () => {
    runPrefetch('/app/jobs')
    const path = Object.keys(window.__flamencoPrefetch)[0]
    const calls = []
    vi.stubGlobal('fetch', async (url) => {
      calls.push(url)
      return new Response('{"jobs": [{"id": "live"}]}', { headers: { 'Content-Type': 'application/json' } })
    })
    expect(await get(path)).toEqual({ jobs: [] })
    expect(calls).toEqual([])
    expect(await get(path)).toEqual({ jobs: [{ id: 'live' }] })
    expect(calls).toEqual([`/api/v3${path}`])
  })

  it('is asked for again when the early answer was refused (not logged in yet)', async () => {
    delete window.__flamencoPrefetch
    const early = (url) => Promise.resolve(new Response('{"code": 401, "message": "log in"}',
      { status: 401, headers: { 'Content-Type': 'application/json' } }))
    new Function('location', 'fetch', script)({ pathname: '/app/jobs' }, early)
    const path = Object.keys(window.__flamencoPrefetch)[0]
    const calls = []
    vi.stubGlobal('fetch', async (url) => {
      calls.push(url)
      return new Response('{"jobs": [{"id": "after-login"}]}', { headers: { 'Content-Type': 'application/json' } })
    })
    expect(await get(path)).toEqual({ jobs: [{ id: 'after-login' }] })
    expect(calls).toEqual([`/api/v3${path}`])
  })
})
