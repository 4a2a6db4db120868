// Logins, rights and history: the pure rules, the API wrapper's CSRF token
// and lost-session handling, and the components as an artist sees them.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createApp, nextTick } from 'vue'
import { createPinia } from 'pinia'
import { ApiError, del, get, post, requestHeaders, setCsrfToken } from '../src/api.js'
import { hasRight, mayChangeJob, mayReadJobHistory, whyNotChangeJob } from '../src/rules/roles.js'
import { auditAction, describeAuditEntry } from '../src/auth/audit.js'
import { checkSession, currentUser, login, loginErrorMessage, logout, onSessionEnd, session, verifySession } from '../src/auth/session.js'
import JobActions from '../src/components/JobActions.vue'
import TaskActions from '../src/components/TaskActions.vue'
import LoginView from '../src/views/LoginView.vue'

const ada = { username: 'ada', role: 'artist' }

function json(status, body) {
  return new Response(status === 204 ? null : JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } })
}

/** A fake Manager: `routes` maps "METHOD /path" to [status, body]; calls are recorded. */
function stubManager(routes) {
  const calls = []
  vi.stubGlobal('fetch', vi.fn(async (url, init) => {
    const key = `${init.method} ${url.replace('/api/v3', '')}`
    calls.push({ key, headers: init.headers, body: init.body && JSON.parse(init.body) })
    const [status, body] = routes[key] || [404, { code: 404, message: `no route ${key}` }]
    return json(status, body)
  }))
  return calls
}

async function signIn(me) {
  stubManager({ 'GET /auth/me': [200, me] })
  await checkSession()
  vi.unstubAllGlobals()
}

afterEach(() => {
  vi.unstubAllGlobals()
  setCsrfToken('')
  Object.assign(session, { state: 'checking', authEnabled: false, username: '', role: '', expired: false })
})

describe('rights', () => {
  it('grows from viewer to admin', () => {
    expect(hasRight('viewer', 'job:submit')).toBe(false)
    expect(hasRight('artist', 'job:submit')).toBe(true)
    expect(hasRight('artist', 'workers:manage')).toBe(false)
    expect(hasRight('manager', 'workers:manage')).toBe(true)
    expect(hasRight('manager', 'users:manage')).toBe(false)
    expect(hasRight('admin', 'users:manage')).toBe(true)
    expect(hasRight('worker', 'job:submit')).toBe(false)
    expect(hasRight('nobody', 'job:submit')).toBe(false)
  })

  it('lets an artist change only its own jobs', () => {
    expect(mayChangeJob(ada, { submitted_by: 'ada' })).toBe(true)
    expect(mayChangeJob(ada, { submitted_by: 'bob' })).toBe(false)
    expect(mayChangeJob(ada, {})).toBe(true) // unknown submitter: the Manager decides
    expect(mayChangeJob({ username: 'cy', role: 'manager' }, { submitted_by: 'bob' })).toBe(true)
    expect(mayChangeJob({ username: 'vi', role: 'viewer' }, { submitted_by: 'vi' })).toBe(false)
    expect(whyNotChangeJob(ada, { submitted_by: 'bob' })).toBe('Submitted by bob: as an artist you may change only your own jobs.')
    expect(whyNotChangeJob({ username: 'vi', role: 'viewer' }, {})).toBe('As a viewer you may look, not change.')
    expect(whyNotChangeJob(ada, { submitted_by: 'ada' })).toBe('')
  })

  it('shows history to managers and admins', () => {
    expect(mayReadJobHistory({ role: 'manager' })).toBe(true)
    expect(mayReadJobHistory({ role: 'viewer' })).toBe(false)
  })

  it('allows everything with auth off', () => {
    expect(currentUser()).toEqual({ username: '', role: 'admin' })
  })
})

describe('history lines', () => {
  const today = new Date(2026, 10, 30, 15, 0)
  it('says who did what, when', () => {
    const time = new Date(2026, 10, 30, 14, 2).toISOString()
    expect(describeAuditEntry({ time, user: 'ada', operation: 'setJobStatus', details: { status: 'cancel-requested', reason: 'x' } }, today))
      .toBe('canceled by ada, 14:02')
    expect(describeAuditEntry({ time, user: 'cy', operation: 'setJobPriority', details: { priority: 80 } }, today))
      .toBe('priority set to 80 by cy, 14:02')
    expect(describeAuditEntry({ time, user: 'ada', operation: 'submitJob', details: { name: 'shot' } }, today))
      .toBe('submitted by ada, 14:02')
  })
  it('dates entries of other days and reads unknown operations', () => {
    const time = new Date(2026, 10, 28, 9, 5).toISOString()
    expect(describeAuditEntry({ time, user: 'bob', operation: 'setWorkerTags' }, today)).toMatch(/^set worker tags by bob, .+ 09:05$/)
    expect(auditAction({ operation: 'setTaskStatus', details: { status: 'queued' } })).toBe('task requeued')
  })
})

describe('the API wrapper with a session', () => {
  it('sends the CSRF token on writes only', async () => {
    setCsrfToken('t0k')
    const calls = stubManager({ 'GET /jobs': [200, { jobs: [] }], 'POST /jobs/j1/setstatus': [204], 'DELETE /jobs/j1': [204] })
    await get('/jobs')
    await post('/jobs/j1/setstatus', { status: 'cancel-requested' })
    await del('/jobs/j1')
    expect(calls.map((c) => c.headers['X-CSRF-Token'])).toEqual([undefined, 't0k', 't0k'])
    expect(requestHeaders('GET', false)).toEqual({})
  })

  it('starts from /auth/me: auth off, a login needed, or an old Manager without it', async () => {
    stubManager({ 'GET /auth/me': [200, { auth_enabled: false, username: '', role: 'admin', csrf_token: '' }] })
    await checkSession()
    expect([session.state, session.authEnabled]).toEqual(['ready', false])

    stubManager({ 'GET /auth/me': [401, { code: 401, message: 'not logged in' }] })
    session.state = 'checking'
    await checkSession()
    expect([session.state, session.authEnabled]).toEqual(['login', true])

    stubManager({})
    session.state = 'checking'
    await checkSession()
    expect([session.state, session.authEnabled, currentUser().role]).toEqual(['ready', false, 'admin'])
  })

  it('logs in, sends the token, and returns to the login page on a 401 mid-session', async () => {
    const calls = stubManager({
      'POST /auth/login': [200, { username: 'ada', role: 'artist', csrf_token: 'c1' }],
      'POST /jobs/j1/setpriority': [204],
      'GET /jobs': [401, { code: 401, message: 'session expired' }],
    })
    const ended = vi.fn()
    const off = onSessionEnd(ended)
    await login('ada', 'secret')
    expect([session.state, session.username, session.role]).toEqual(['ready', 'ada', 'artist'])
    expect(calls[0].body).toEqual({ username: 'ada', password: 'secret' })
    await post('/jobs/j1/setpriority', { priority: 1 })
    expect(calls[1].headers['X-CSRF-Token']).toBe('c1')
    await expect(get('/jobs')).rejects.toThrow('session expired')
    expect([session.state, session.expired, session.username]).toEqual(['login', true, ''])
    expect(ended).toHaveBeenCalledTimes(1)
    off()
  })

  it('logs out with the token, and forgets it', async () => {
    await signIn({ auth_enabled: true, username: 'ada', role: 'artist', csrf_token: 'c2' })
    const calls = stubManager({ 'POST /auth/logout': [204] })
    await logout()
    expect(calls[0].headers['X-CSRF-Token']).toBe('c2')
    expect([session.state, session.expired]).toEqual(['login', false])
    expect(requestHeaders('POST', false)).toEqual({})
  })

  it('asks for a login again when the Manager no longer knows the session', async () => {
    await signIn({ auth_enabled: true, username: 'ada', role: 'artist', csrf_token: 'c4' })
    stubManager({ 'GET /auth/me': [200, { auth_enabled: true, username: 'ada', role: 'artist', csrf_token: 'c4' }] })
    await verifySession()
    expect(session.state).toBe('ready')
    stubManager({ 'GET /auth/me': [401, { code: 401, message: 'not logged in' }] })
    await verifySession()
    expect([session.state, session.expired]).toEqual(['login', true])
  })

  it('says why a login failed', () => {
    expect(loginErrorMessage(new ApiError(401, 'bad credentials'))).toBe('Wrong username or password.')
    expect(loginErrorMessage(new ApiError(429, 'retry in 30 s'))).toMatch(/^Too many failed logins.*retry in 30 s/)
  })
})

describe('components as a logged-in artist', () => {
  let app = null
  beforeEach(async () => {
    await signIn({ auth_enabled: true, username: 'ada', role: 'artist', csrf_token: 'c3' })
  })
  afterEach(() => {
    if (app) app.unmount()
    app = null
    document.body.innerHTML = ''
  })

  async function mount(component, props) {
    const el = document.createElement('div')
    document.body.appendChild(el)
    app = createApp(component, props)
    app.use(createPinia())
    app.mount(el)
    await nextTick()
    return el
  }
  const enabled = (el) => [...el.querySelectorAll('button[data-action]')].filter((b) => !b.disabled).map((b) => b.dataset.action)

  it('offers actions on its own job, and explains why not on another artist\'s', async () => {
    let el = await mount(JobActions, { jobs: [{ id: 'j1', name: 'mine', status: 'queued', submitted_by: 'ada' }] })
    expect(enabled(el)).toEqual(['job-pause', 'job-cancel', 'job-delete'])
    app.unmount()
    el = await mount(JobActions, { jobs: [{ id: 'j2', name: 'bobs', status: 'queued', submitted_by: 'bob' }] })
    expect(enabled(el)).toEqual([])
    expect(el.querySelector('[data-field="job-not-allowed"]').textContent).toContain('Submitted by bob')
  })

  it('shows the Manager\'s refusal as it says it', async () => {
    const calls = stubManager({
      'POST /jobs/j1/setstatus': [204],
      'POST /jobs/j2/setstatus': [403, { code: 403, message: 'job j2 belongs to bob' }],
    })
    const el = await mount(JobActions, { jobs: [
      { id: 'j1', name: 'mine', status: 'queued', submitted_by: 'ada' },
      { id: 'j2', name: 'theirs', status: 'queued' },
    ] })
    el.querySelector('button[data-action="job-cancel"]').click()
    await vi.waitFor(() => expect(el.querySelector('[data-field="job-refused"]')).not.toBeNull())
    expect(el.querySelector('[data-field="job-refused"]').textContent).toBe('Refused by the Manager: theirs: job j2 belongs to bob')
    expect(calls.map((c) => c.key)).toEqual(['POST /jobs/j1/setstatus', 'POST /jobs/j2/setstatus'])
    expect(calls.every((c) => c.headers['X-CSRF-Token'] === 'c3')).toBe(true)
  })

  it('offers task actions only on its own jobs', async () => {
    let el = await mount(TaskActions, { tasks: [{ id: 't1', name: 'f', status: 'queued' }], jobStatus: 'active', jobOwner: 'ada' })
    expect(enabled(el)).toEqual(['task-cancel'])
    app.unmount()
    el = await mount(TaskActions, { tasks: [{ id: 't1', name: 'f', status: 'queued' }], jobStatus: 'active', jobOwner: 'bob' })
    expect(enabled(el)).toEqual([])
  })
})

describe('the login page', () => {
  let app = null
  afterEach(() => {
    if (app) app.unmount()
    app = null
    document.body.innerHTML = ''
  })

  async function tryLogin(status, body) {
    stubManager({ 'POST /auth/login': [status, body] })
    session.state = 'login'
    const el = document.createElement('div')
    document.body.appendChild(el)
    app = createApp(LoginView)
    app.mount(el)
    const user = el.querySelector('input[name="username"]')
    const pass = el.querySelector('input[name="password"]')
    user.value = 'ada'
    user.dispatchEvent(new Event('input'))
    pass.value = 'wrong'
    pass.dispatchEvent(new Event('input'))
    await nextTick()
    el.querySelector('button[data-action="login"]').click()
    return el
  }

  it('says so on a wrong password', async () => {
    const el = await tryLogin(401, { code: 401, message: 'invalid username or password' })
    await vi.waitFor(() => expect(el.querySelector('[data-field="login-error"]')).not.toBeNull())
    expect(el.querySelector('[data-field="login-error"]').textContent).toBe('Wrong username or password.')
    expect(session.state).toBe('login')
  })

  it('says so when rate-limited', async () => {
    const el = await tryLogin(429, { code: 429, message: 'too many attempts' })
    await vi.waitFor(() => expect(el.querySelector('[data-field="login-error"]')).not.toBeNull())
    expect(el.querySelector('[data-field="login-error"]').textContent).toContain('Too many failed logins')
  })
})
