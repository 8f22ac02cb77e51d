import { describe, expect, it } from 'vitest'

import { ExecutionModel } from '../../src/execution'
import { envelope } from './fake-socket'

const status = (data: Record<string, unknown>, offset = 1) =>
  envelope('execution_status', 'execution:42', offset, { execution_id: '42', ...data })

describe('ExecutionModel', () => {
  it('takes status, pipeline, counts and steps from a snapshot', () => {
    const m = new ExecutionModel('42')
    expect(
      m.apply(
        status({
          status: 'running',
          pipeline_name: 'build',
          steps: [
            { step_id: 's2', step_name: 'test', status: 'pending', order: 2 },
            { step_id: 's1', step_name: 'checkout', status: 'success', order: 1 },
          ],
          total_steps: 2,
          completed_steps: 1,
          current_step: 's2',
        }),
      ),
    ).toBe('snapshot')
    expect(m.snapshot).toMatchObject({
      status: 'running',
      pipeline_name: 'build',
      total_steps: 2,
      completed_steps: 1,
      current_step: 's2',
      last_type: 'execution_status',
    })
    expect(m.steps.map((s) => s.step_name)).toEqual(['checkout', 'test'])
  })

  it('accepts the old names and step ids given as `id`/`name` or numbers', () => {
    const m = new ExecutionModel('42')
    m.apply(
      envelope('execution_update', 'execution:42', 1, {
        status: 'running',
        steps: [{ id: 7, name: 'lint' }],
      }),
    )
    expect(m.steps[0]).toMatchObject({ step_id: '7', step_name: 'lint', status: 'pending' })
    m.apply(
      envelope('step_update', 'execution:42', 2, {
        step_id: 7,
        step_name: 'lint',
        status: 'running',
      }),
    )
    expect(m.steps[0]!.status).toBe('running')
    expect(m.snapshot.current_step).toBe('lint')
  })

  it('merges step progress into the step, keeping details across snapshots', () => {
    const m = new ExecutionModel('42')
    m.apply(
      status({ status: 'running', steps: [{ step_id: 'a', step_name: 'A', status: 'running' }] }),
    )
    m.apply(
      envelope('step_progress', 'execution:42', 2, {
        step_id: 'a',
        step_name: 'A',
        status: 'failed',
        execution_time: 1.5,
        output: 'out',
        error_message: 'exit 1',
      }),
    )
    expect(m.steps[0]).toMatchObject({
      status: 'failed',
      execution_time: 1.5,
      error_message: 'exit 1',
    })
    expect(m.snapshot.completed_steps).toBe(1)
    m.apply(
      status({ status: 'failed', steps: [{ step_id: 'a', step_name: 'A', status: 'failed' }] }, 3),
    )
    expect(m.steps[0]).toMatchObject({ output: 'out', error_message: 'exit 1' })
  })

  it('appends unknown steps from progress and counts them', () => {
    const m = new ExecutionModel('42')
    m.apply(
      envelope('step_progress', 'execution:42', 1, {
        step_id: 'x',
        step_name: 'X',
        status: 'success',
      }),
    )
    expect(m.steps).toHaveLength(1)
    expect(m.snapshot).toMatchObject({ total_steps: 1, completed_steps: 1 })
  })

  it('keeps the last N log lines with stable keys', () => {
    const m = new ExecutionModel('42', 3)
    for (let i = 1; i <= 5; i++) {
      m.apply(
        envelope('log_entry', 'execution:42', i, {
          level: 'info',
          message: `line ${i}`,
          step_name: 's',
        }),
      )
    }
    expect(m.logs.map((l) => l.message)).toEqual(['line 3', 'line 4', 'line 5'])
    expect(m.logs.map((l) => l.key)).toEqual(['e1:3', 'e1:4', 'e1:5'])
    expect(m.lastLogOffset('e1')).toBe(5)
    expect(m.lastLogOffset('other')).toBeNull()
  })

  it('defaults missing log fields and ignores unrelated types', () => {
    const m = new ExecutionModel('42')
    m.appendLog({ message: 'x' } as never)
    expect(m.logs[0]).toMatchObject({
      level: 'info',
      message: 'x',
      step_name: null,
      key: 'local:1',
    })
    expect(m.apply(envelope('pipeline_update', 'pipeline:1', 1))).toBeNull()
  })
})
