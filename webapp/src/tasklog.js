// Task log text kept as lines, loaded from the end of the file backwards in
// byte ranges and grown by live chunks. Pure functions; TaskLog.vue does I/O.

const NEWLINE = 10
const decoder = new TextDecoder()

/**
 * Lines of a byte range [`from`, ...) of the log. A range that does not start
 * the file may begin inside a line: that part is left out, and `start` says
 * where the first whole line begins. Splitting at newline bytes is safe in
 * UTF-8 (a newline byte is never part of another character).
 */
export function linesOfRange(bytes, from) {
  let skip = 0
  if (from > 0) {
    const nl = bytes.indexOf(NEWLINE)
    if (nl < 0) return { start: from + bytes.length, lines: [] }
    skip = nl + 1
  }
  return { start: from + skip, lines: splitLines(decoder.decode(bytes.subarray(skip))) }
}

/** "a\nb\n" -> ["a", "b"]; a last line without newline is kept. */
export function splitLines(text) {
  if (!text) return []
  const lines = text.split('\n')
  if (lines[lines.length - 1] === '') lines.pop()
  return lines
}

/** Lines containing `query` (any case), with their line numbers (1 = first loaded line). */
export function search(lines, query, limit = 5000) {
  const needle = query.toLowerCase()
  const found = []
  let total = 0
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].toLowerCase().includes(needle)) {
      total++
      if (found.length < limit) found.push({ n: i + 1, text: lines[i] })
    }
  }
  return { found, total }
}

/** `text` split around each occurrence of `query` (any case): [{text, hit}], for highlighting. */
export function highlight(text, query) {
  const parts = []
  const lower = text.toLowerCase()
  const needle = query.toLowerCase()
  let at = 0
  while (needle) {
    const i = lower.indexOf(needle, at)
    if (i < 0) break
    if (i > at) parts.push({ text: text.slice(at, i), hit: false })
    parts.push({ text: text.slice(i, i + needle.length), hit: true })
    at = i + needle.length
  }
  if (at < text.length) parts.push({ text: text.slice(at), hit: false })
  return parts
}
