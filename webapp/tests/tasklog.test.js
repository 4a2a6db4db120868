import { describe, expect, it } from 'vitest'
import { highlight, linesOfRange, search, splitLines } from '../src/tasklog.js'

const bytes = (text) => new TextEncoder().encode(text)

describe('task log lines', () => {
  it('drops the partial first line of a range that starts inside the file', () => {
    const text = 'first line\nsecond é line\nthird\n'
    expect(linesOfRange(bytes(text), 0)).toEqual({ start: 0, lines: ['first line', 'second é line', 'third'] })
    const from = 4 // inside "first line"
    const part = linesOfRange(bytes(text).subarray(from), from)
    expect(part).toEqual({ start: 11, lines: ['second é line', 'third'] })
    // A range inside one long line holds no whole line.
    expect(linesOfRange(bytes('abcdef'), 3)).toEqual({ start: 9, lines: [] })
  })

  it('splits text into lines, keeping a last line without newline', () => {
    expect(splitLines('a\nb\n')).toEqual(['a', 'b'])
    expect(splitLines('a\nb')).toEqual(['a', 'b'])
    expect(splitLines('')).toEqual([])
  })

  it('finds lines in any case and splits them for highlighting', () => {
    const lines = ['Fra:1 Rendering', 'Saved: x.png', 'fra:2 rendering done']
    expect(search(lines, 'RENDERING')).toEqual({ total: 2, found: [{ n: 1, text: 'Fra:1 Rendering' }, { n: 3, text: 'fra:2 rendering done' }] })
    expect(search(lines, 'rendering', 1).found).toHaveLength(1)
    expect(highlight('a Render b render', 'render')).toEqual([
      { text: 'a ', hit: false }, { text: 'Render', hit: true }, { text: ' b ', hit: false }, { text: 'render', hit: true },
    ])
  })
})
