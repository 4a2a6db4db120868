// The action buttons as the browser shows them: mounted with real statuses,
// the enabled buttons must be exactly what the rules offer.
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createApp, nextTick } from 'vue'
import { createPinia } from 'pinia'
import JobActions from '../src/components/JobActions.vue'
import TaskActions from '../src/components/TaskActions.vue'

let app = null
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

function enabledActions(el) {
  return [...el.querySelectorAll('button[data-action]')].filter((b) => !b.disabled).map((b) => b.dataset.action)
}

const JOB_BUTTONS = {
  active: ['job-pause', 'job-cancel'],
  queued: ['job-pause', 'job-cancel', 'job-delete'],
  completed: ['job-requeue', 'job-delete'],
  failed: ['job-cancel', 'job-requeue', 'job-delete'],
  'cancel-requested': [],
}

describe('JobActions', () => {
  for (const [status, buttons] of Object.entries(JOB_BUTTONS)) {
    it(`enables ${buttons.join(', ') || 'no button'} for a ${status} job`, async () => {
      const el = await mount(JobActions, { jobs: [{ id: 'j1', name: 'shot', status }] })
      expect(el.querySelectorAll('button[data-action]').length).toBe(4)
      expect(enabledActions(el)).toEqual(buttons)
    })
  }

  it('disables every button without a selection', async () => {
    const el = await mount(JobActions, { jobs: [] })
    expect(enabledActions(el)).toEqual([])
  })

  it('asks before deleting, mentioning the Shaman checkout', async () => {
    const fetch = vi.fn(async () => new Response(JSON.stringify({ shaman_checkout: true }), {
      headers: { 'Content-Type': 'application/json' },
    }))
    vi.stubGlobal('fetch', fetch)
    try {
      const el = await mount(JobActions, { jobs: [{ id: 'j1', name: 'shot', status: 'completed' }] })
      el.querySelector('button[data-action="job-delete"]').click()
      await vi.waitFor(() => expect(el.querySelector('.confirm-ask .question').textContent).toContain('Shaman'))
      expect(fetch).toHaveBeenCalledWith('/api/v3/jobs/j1/what-would-delete-do', expect.anything())
      expect(el.querySelector('button[data-action="job-delete-confirm"]')).not.toBeNull()
    } finally {
      vi.unstubAllGlobals()
    }
  })
})

describe('TaskActions', () => {
  const cases = [
    ['queued', 'active', ['task-cancel']],
    ['failed', 'active', ['task-requeue']],
    ['paused', 'paused', []],
    ['active', 'pause-requested', []],
    ['completed', 'completed', ['task-requeue']],
  ]
  for (const [taskStatus, jobStatus, buttons] of cases) {
    it(`enables ${buttons.join(', ') || 'no button'} for a ${taskStatus} task of a ${jobStatus} job`, async () => {
      const el = await mount(TaskActions, { tasks: [{ id: 't1', name: 'frame', status: taskStatus }], jobStatus })
      expect(enabledActions(el)).toEqual(buttons)
    })
  }
})
