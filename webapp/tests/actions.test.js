// The status-to-action rules, spelled out per status so a change to the
// rules data has to be a deliberate change here too.
import { describe, expect, it } from 'vitest'
import {
  jobActionAllowed, jobActionStatus, offeredJobActions, offeredTaskActions, taskActionAllowed, taskActionStatus,
} from '../src/rules/actions.js'

const JOB_OFFERS = {
  active: ['pause', 'cancel'],
  queued: ['pause', 'cancel', 'delete'],
  paused: ['cancel', 'requeue', 'delete'],
  'pause-requested': ['cancel'],
  completed: ['requeue', 'delete'],
  failed: ['cancel', 'requeue', 'delete'],
  canceled: ['pause', 'requeue', 'delete'],
  'cancel-requested': [],
  requeueing: [],
  'under-construction': [],
}

const TASK_OFFERS = {
  active: ['cancel'],
  queued: ['cancel'],
  'soft-failed': ['cancel'],
  paused: [],
  completed: ['requeue'],
  failed: ['requeue'],
  canceled: ['requeue'],
}

describe('job actions', () => {
  for (const [status, offers] of Object.entries(JOB_OFFERS)) {
    it(`a ${status} job offers ${offers.join(', ') || 'nothing'}`, () => {
      expect(offeredJobActions([status])).toEqual(offers)
    })
  }

  it('a selection offers what any of its jobs allows', () => {
    expect(offeredJobActions(['active', 'completed'])).toEqual(['pause', 'cancel', 'requeue', 'delete'])
    expect(offeredJobActions([])).toEqual([])
  })

  it('sends the statuses upstream uses', () => {
    expect(jobActionStatus('cancel')).toBe('cancel-requested')
    expect(jobActionStatus('pause')).toBe('pause-requested')
    expect(jobActionStatus('requeue')).toBe('requeueing')
    expect(jobActionStatus('delete')).toBeNull()
  })

  it('refuses unknown actions loudly', () => {
    expect(() => jobActionAllowed('explode', 'active')).toThrow()
  })
})

describe('task actions', () => {
  for (const [status, offers] of Object.entries(TASK_OFFERS)) {
    it(`a ${status} task of an active job offers ${offers.join(', ') || 'nothing'}`, () => {
      expect(offeredTaskActions([status], 'active')).toEqual(offers)
    })
  }

  it('no task is cancelled while its job is pausing', () => {
    for (const status of ['active', 'queued', 'soft-failed']) {
      expect(taskActionAllowed('cancel', status, 'pause-requested')).toBe(false)
    }
    expect(taskActionAllowed('requeue', 'failed', 'pause-requested')).toBe(true)
  })

  it('sends canceled and queued', () => {
    expect(taskActionStatus('cancel')).toBe('canceled')
    expect(taskActionStatus('requeue')).toBe('queued')
  })
})
