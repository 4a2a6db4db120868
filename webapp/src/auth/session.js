// Who is logged in. The Manager tells at start (GET /auth/me); with auth off
// it answers auth_enabled false and every action stays available, as before.
import { reactive } from 'vue'
import { ApiError, call, get, onUnauthorized, post, setCsrfToken } from '../api.js'
import { hasRight } from '../rules/roles.js'

/**
 * state: 'checking' (asking the Manager), 'login' (a login is needed),
 * 'ready' (logged in, or auth is off).
 */
export const session = reactive({
  state: 'checking',
  authEnabled: false,
  username: '',
  role: '',
  expired: false, // the Manager forgot our session mid-way (shown on the login page)
})

/** Who acts, for the rights checks; with auth off everybody may do everything, as before. */
export function currentUser() {
  return session.authEnabled ? { username: session.username, role: session.role } : { username: '', role: 'admin' }
}

/** Whether the current user has `right` (see rules/roles.js); always with auth off. */
export function can(right) {
  return hasRight(currentUser().role, right)
}

const loginListeners = new Set()
const logoutListeners = new Set()

/** Run `fn` whenever the session ends (logout, or a 401 mid-session). */
export function onSessionEnd(fn) {
  logoutListeners.add(fn)
  return () => logoutListeners.delete(fn)
}

/** Run `fn` whenever a session starts (after a login, or at start when one exists). */
export function onSessionStart(fn) {
  loginListeners.add(fn)
  return () => loginListeners.delete(fn)
}

function apply(me) {
  session.authEnabled = !!me.auth_enabled
  session.username = me.username || ''
  session.role = me.role || (session.authEnabled ? 'viewer' : 'admin')
  setCsrfToken(me.csrf_token || '')
  session.state = 'ready'
  session.expired = false
  for (const fn of loginListeners) fn()
}

function end(expired) {
  if (session.state !== 'ready') return
  session.state = 'login'
  session.expired = expired
  session.username = ''
  session.role = ''
  setCsrfToken('')
  for (const fn of logoutListeners) fn()
}

/** Ask the Manager who we are. A Manager without auth endpoints (404) has auth off. */
export async function checkSession() {
  try {
    apply(await get('/auth/me'))
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      session.authEnabled = true
      session.state = 'login'
      return
    }
    if (err instanceof ApiError && err.status === 404) {
      apply({ auth_enabled: false })
      return
    }
    throw err
  }
}

/** Ask again whether the session still stands (the live connection was refused); if not, log in again. */
export async function verifySession() {
  try {
    await get('/auth/me')
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) end(true)
  }
}

/** The message for a failed login, by the Manager's status. */
export function loginErrorMessage(err) {
  if (!(err instanceof ApiError)) return String(err)
  if (err.status === 401) return 'Wrong username or password.'
  if (err.status === 429) return `Too many failed logins from here: wait a little and try again. (${err.message})`
  if (err.status === 0) return err.message
  return `The Manager refused the login: ${err.message}`
}

export async function login(username, password) {
  apply({ auth_enabled: true, ...(await post('/auth/login', { username, password })) })
}

export async function logout() {
  try {
    await call('POST', '/auth/logout', {})
  } finally {
    end(false)
  }
}

// Any 401 while logged in means the session is gone: back to the login page.
onUnauthorized(() => {
  if (session.authEnabled) end(true)
})
