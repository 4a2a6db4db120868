import { describe, expect, it } from 'vitest'
import { framesOf, hasFrames, resubmission, taskFrames, unfinished } from '../src/resubmit.js'

const render = (frames) => ({ commands: [{ name: 'blender-render', parameters: { args: ['--scene', 'S', '--render-frame', frames] } }] })

describe('resubmitting a job', () => {
  it('reads the frames a render task renders', () => {
    expect(taskFrames(render('1..3'))).toBe('1-3')
    expect(taskFrames(render('7'))).toBe('7')
    expect(taskFrames(render('4,5'))).toBe('4,5')
    expect(taskFrames({ commands: [{ name: 'frames-to-video', parameters: { args: ['-y'] } }] })).toBe(null)
    expect(framesOf([render('2'), render('3..4'), { commands: [] }])).toBe('2,3-4')
  })

  it('counts every task that did not complete as not rendered', () => {
    const tasks = [{ status: 'completed' }, { status: 'failed' }, { status: 'canceled' }, { status: 'soft-failed' }]
    expect(unfinished(tasks).map((t) => t.status)).toEqual(['failed', 'canceled', 'soft-failed'])
  })

  it('builds a new job with the same type and settings, or only some frames', () => {
    const job = {
      id: 'j1', name: 'sh010', type: 'simple-blender-render', priority: 70, worker_tag: 'tag1',
      settings: { frames: '1-10', chunk_size: 2, render_output_path: '{render}/out/######' },
      metadata: { project: 'p' }, storage: { shaman_checkout_id: 'x' },
    }
    expect(hasFrames(job)).toBe(true)
    const again = resubmission(job)
    expect(again).toEqual({
      name: 'sh010 (again)', type: 'simple-blender-render', priority: 70, submitter_platform: 'manager',
      settings: job.settings, metadata: { project: 'p', resubmitted_from: 'j1' }, worker_tag: 'tag1',
    })
    const some = resubmission(job, '2,5-6')
    expect(some.name).toBe('sh010 (frames 2,5-6)')
    expect(some.settings).toEqual({ ...job.settings, frames: '2,5-6' })
    expect(job.settings.frames).toBe('1-10') // the original is left alone
    expect(hasFrames({ settings: { message: 'hi' } })).toBe(false)
  })
})
