// The chain collector and the small graph layout of job dependencies.
import { describe, expect, it } from 'vitest'
import { collectChain, layoutChain } from '../src/depgraph.js'

const A = { id: 'a', name: 'bake', status: 'completed', depends_on: [], dependents: ['b'] }
const B = { id: 'b', name: 'render', status: 'active', depends_on: ['a'], dependents: ['c', 'd'] }
const C = { id: 'c', name: 'comp', status: 'queued', depends_on: ['b'], dependents: ['e'] }
const D = { id: 'd', name: 'proxy', status: 'queued', depends_on: ['b'], dependents: ['e'] }
const E = { id: 'e', name: 'encode', status: 'queued', depends_on: ['c', 'd'], dependents: [] }
const ALL = new Map([A, B, C, D, E].map((j) => [j.id, j]))

describe('collectChain', () => {
  it('walks both ways from the job, each job fetched once', async () => {
    const fetched = []
    const chain = await collectChain(C, async (id) => (fetched.push(id), ALL.get(id)))
    expect([...chain.keys()].sort()).toEqual(['a', 'b', 'c', 'd', 'e'])
    expect(fetched.sort()).toEqual(['a', 'b', 'd', 'e'])
  })

  it('stops at the limit and skips jobs that are gone', async () => {
    const chain = await collectChain(B, async (id) => (id === 'a' ? null : ALL.get(id)), 3)
    expect([...chain.keys()]).toEqual(['b', 'c', 'd'])
  })
})

describe('layoutChain', () => {
  it('puts each job right of everything it depends on', () => {
    const g = layoutChain(ALL)
    const col = Object.fromEntries(g.nodes.map((n) => [n.id, n.col]))
    expect(col).toEqual({ a: 0, b: 1, c: 2, d: 2, e: 3 })
    expect(g.edges.map((e) => `${e.from}>${e.to}`).sort()).toEqual(['a>b', 'b>c', 'b>d', 'c>e', 'd>e'])
    const rows = g.nodes.filter((n) => n.col === 2).map((n) => n.y)
    expect(new Set(rows).size).toBe(2) // side by side, not on top of each other
    for (const e of g.edges) expect(e.x2).toBeGreaterThan(e.x1)
  })

  it('does not loop on a cycle', () => {
    const cyc = new Map([['x', { id: 'x', depends_on: ['y'] }], ['y', { id: 'y', depends_on: ['x'] }]])
    expect(layoutChain(cyc).nodes.length).toBe(2)
  })
})
