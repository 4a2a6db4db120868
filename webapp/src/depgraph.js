// Job -> job dependencies in the web UI: collecting a job's chain and laying
// it out as a small left-to-right graph (dependencies left, dependents right).
// Pure functions apart from `collectChain`, which is given the fetcher.

export const MAX_CHAIN_JOBS = 30

/**
 * The jobs linked to `start` through depends_on/dependents, at most `limit`,
 * as a Map id -> job. `fetchJob(id)` returns a Job (with depends_on and
 * dependents) or null when it is gone.
 */
export async function collectChain(start, fetchJob, limit = MAX_CHAIN_JOBS) {
  const jobs = new Map([[start.id, start]])
  const queue = [start]
  while (queue.length && jobs.size < limit) {
    const job = queue.shift()
    for (const id of [...(job.depends_on || []), ...(job.dependents || [])]) {
      if (jobs.has(id) || jobs.size >= limit) continue
      const linked = await fetchJob(id)
      if (!linked) continue
      jobs.set(id, linked)
      queue.push(linked)
    }
  }
  return jobs
}

/**
 * Columns by longest path from the jobs without (known) dependencies; rows
 * in order of first appearance. Returns {nodes: [{id, job, col, row, x, y}],
 * edges: [{from, to, x1, y1, x2, y2}], width, height}.
 */
export function layoutChain(jobs, { nodeWidth = 150, nodeHeight = 34, gapX = 40, gapY = 14 } = {}) {
  const ids = [...jobs.keys()]
  const deps = (id) => (jobs.get(id).depends_on || []).filter((d) => jobs.has(d))
  const col = new Map()
  const visiting = new Set()
  const depth = (id) => {
    if (col.has(id)) return col.get(id)
    if (visiting.has(id)) return 0 // a cycle (the Manager refuses them): do not loop
    visiting.add(id)
    const value = Math.max(-1, ...deps(id).map(depth)) + 1
    visiting.delete(id)
    col.set(id, value)
    return value
  }
  ids.forEach(depth)
  const rowsUsed = new Map()
  const nodes = ids.map((id) => {
    const c = col.get(id)
    const r = rowsUsed.get(c) || 0
    rowsUsed.set(c, r + 1)
    return { id, job: jobs.get(id), col: c, row: r, x: c * (nodeWidth + gapX), y: r * (nodeHeight + gapY) }
  })
  const byId = new Map(nodes.map((n) => [n.id, n]))
  const edges = []
  for (const n of nodes) {
    for (const d of deps(n.id)) {
      const from = byId.get(d)
      edges.push({ from: d, to: n.id, x1: from.x + nodeWidth, y1: from.y + nodeHeight / 2, x2: n.x, y2: n.y + nodeHeight / 2 })
    }
  }
  const cols = Math.max(0, ...nodes.map((n) => n.col)) + 1
  const rows = Math.max(0, ...rowsUsed.values())
  return { nodes, edges, width: cols * (nodeWidth + gapX) - gapX, height: rows * (nodeHeight + gapY) - gapY, nodeWidth, nodeHeight }
}
