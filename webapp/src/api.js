// Thin fetch wrapper around the Manager's /api/v3. Errors become ApiError with
// the Manager's message, so views can show it instead of a JSON dump. With
// auth on, writes carry the session's CSRF token, and a 401 tells the
// session module that the login is gone.
import { ref } from 'vue'

/** Number of API calls in flight; the header shows a spinner while > 0. */
export const inFlight = ref(0)

let csrfToken = ''
const SESSION_PATHS = new Set(['/auth/login', '/auth/me']) // their 401 is an answer, not a lost session
const unauthorizedHooks = new Set()

/** The token the Manager gave at login; sent as X-CSRF-Token on every non-GET request. */
export function setCsrfToken(token) {
  csrfToken = token || ''
}

/** Call `fn()` when an API call (other than login and /auth/me) answers 401. */
export function onUnauthorized(fn) {
  unauthorizedHooks.add(fn)
  return () => unauthorizedHooks.delete(fn)
}

/** The headers of a request: JSON body type, and the CSRF token for writes. */
export function requestHeaders(method, hasBody) {
  const headers = {}
  if (hasBody) headers['Content-Type'] = 'application/json'
  if (csrfToken && method !== 'GET' && method !== 'HEAD') headers['X-CSRF-Token'] = csrfToken
  return headers
}

export class ApiError extends Error {
  constructor(status, message) {
    super(message)
    this.status = status
  }
}

async function errorFrom(resp) {
  let message = `${resp.status} ${resp.statusText}`
  try {
    const body = await resp.json()
    if (body && body.message) message = body.message
  } catch {
    /* not JSON: keep the status line */
  }
  return new ApiError(resp.status, message)
}

/**
 * The answer index.html asked for before the app loaded, if it is for this
 * GET; each is used once, so later calls ask the Manager again.
 */
function prefetched(method, path, init) {
  const store = typeof window !== 'undefined' ? window.__flamencoPrefetch : null
  if (method !== 'GET' || !store || !(path in store)) return null
  const response = store[path]
  delete store[path]
  // A refused or failed early answer (e.g. asked before logging in) is asked for again.
  const again = () => fetch(`/api/v3${path}`, init)
  return response.then((resp) => (resp.ok ? resp : again()), again)
}

/**
 * Call the API. Resolves to the parsed JSON body, the text for text/plain,
 * or null for 204. Rejects with ApiError for any non-2xx answer.
 */
export async function call(method, path, body) {
  const init = { method, headers: requestHeaders(method, body !== undefined) }
  if (body !== undefined) init.body = JSON.stringify(body)
  inFlight.value++
  try {
    let resp
    try {
      resp = await (prefetched(method, path, init) || fetch(`/api/v3${path}`, init))
    } catch (err) {
      throw new ApiError(0, `the Manager cannot be reached (${err.message})`)
    }
    if (resp.status === 401 && !SESSION_PATHS.has(path)) for (const fn of unauthorizedHooks) fn()
    if (!resp.ok) throw await errorFrom(resp)
    if (resp.status === 204) return null
    const type = resp.headers.get('Content-Type') || ''
    return type.startsWith('application/json') ? resp.json() : resp.text()
  } finally {
    inFlight.value--
  }
}

export const get = (path) => call('GET', path)
export const post = (path, body) => call('POST', path, body === undefined ? {} : body)
export const put = (path, body) => call('PUT', path, body)
export const del = (path, body) => call('DELETE', path, body)
