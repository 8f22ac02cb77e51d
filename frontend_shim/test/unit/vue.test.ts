import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { effectScope, nextTick, ref } from 'vue'

import { RealtimeClient } from '../../src/client'
import {
  setDefaultRealtimeClient,
  useConnectionState,
  useExecution,
  useMonitor,
  useSystemNotices,
} from '../../src/vue'
import { FakeGateway, envelope, flush } from './fake-socket'

function setup() {
  const gw = new FakeGateway()
  const client = new RealtimeClient({
    url: 'http://gateway.test',
    socketFactory: gw.factory,
    backoff: { initialDelay: 100, jitter: 0 },
    reconnectOnOnline: false,
    lingerMs: 0,
    logger: { debug: () => {}, warn: () => {} },
  })
  return { gw, client }
}

const ack = (offset: number, recovered: boolean | null = null, epoch = 'e1') => ({
  ok: true,
  channel: 'execution:42',
  offset,
  epoch,
  recovered,
})

const log = (offset: number, message: string, epoch = 'e1') =>
  envelope(
    'log_entry',
    'execution:42',
    offset,
    { level: 'info', message, step_name: 'build', source: 'runner' },
    epoch,
  )

describe('useExecution', () => {
  beforeEach(() => vi.useFakeTimers())
  afterEach(() => vi.useRealTimers())

  it('follows status, steps and logs, and unsubscribes when its scope ends', async () => {
    const { gw, client } = setup()
    const scope = effectScope()
    const ex = scope.run(() => useExecution('42', { client, backfillLogs: false }))!
    const sock = gw.socket('execution')
    sock.accept()
    expect(ex.executionId.value).toBe('42')
    sock.deliver(
      'execution_status',
      envelope('execution_status', 'execution:42', 3, {
        execution_id: '42',
        status: 'running',
        pipeline_name: 'demo',
        steps: [{ step_id: '1', step_name: 'build', status: 'running' }],
        total_steps: 1,
        completed_steps: 0,
      }),
    )
    sock.answer('subscribe', ack(3))
    sock.deliver('log_entry', log(4, 'compiling'))
    sock.deliver(
      'step_progress',
      envelope('step_progress', 'execution:42', 5, {
        step_id: '1',
        step_name: 'build',
        status: 'success',
      }),
    )
    expect(ex.subscribed.value).toBe(true)
    expect(ex.status.value).toBe('running')
    expect(ex.steps.value.map((s) => s.status)).toEqual(['success'])
    expect(ex.logs.value.map((l) => l.message)).toEqual(['compiling'])
    expect(ex.snapshot.value?.completed_steps).toBe(1)

    scope.stop()
    expect(sock.sent('unsubscribe')[0]!.args[0]).toEqual({ id: '42' })
    expect(client.state).toBe('disconnected')
  })

  it('switches subscription when the id changes and rejects invalid ids', async () => {
    const { gw, client } = setup()
    const id = ref<string | null>('42')
    const scope = effectScope()
    const ex = scope.run(() => useExecution(id, { client, backfillLogs: false }))!
    const sock = gw.socket('execution')
    sock.accept()
    sock.answer('subscribe', ack(0))
    id.value = '43'
    await nextTick()
    expect(sock.sent('unsubscribe')[0]!.args[0]).toEqual({ id: '42' })
    expect(sock.sent('subscribe').at(-1)!.args[0]).toEqual({ id: '43' })
    expect(ex.executionId.value).toBe('43')
    id.value = 'bad id!'
    await nextTick()
    expect(ex.executionId.value).toBeNull()
    expect(ex.error.value).toBe('invalid_id')
    id.value = ''
    await nextTick()
    expect(ex.error.value).toBeNull()
    scope.stop()
  })

  it('backfills kept log lines on join and merges live lines without duplicates', async () => {
    const { gw, client } = setup()
    const scope = effectScope()
    const ex = scope.run(() => useExecution('42', { client }))!
    const sock = gw.socket('execution')
    sock.accept()
    sock.answer('subscribe', ack(10))
    await flush()
    const req = sock.sent('request_logs')[0]!
    expect(req.args[0]).toEqual({ execution_id: '42', since: 0, limit: 1000 })
    // Live lines arrive while the backfill is in flight: 11 is also in the answer.
    sock.deliver('log_entry', log(11, 'l11'))
    sock.deliver('log_entry', log(12, 'l12'))
    sock.answer(
      'request_logs',
      envelope('execution_logs', 'execution:42', null, {
        logs: [
          { level: 'info', message: 'l2' },
          { level: 'info', message: 'l5' },
          { level: 'info', message: 'l11' },
        ],
        offset: 11,
      }),
    )
    await flush()
    expect(ex.logs.value.map((l) => l.message)).toEqual(['l2', 'l5', 'l11', 'l12'])
    scope.stop()
  })

  it('backfills only from its last line after a reconnect that could not recover', async () => {
    const { gw, client } = setup()
    const scope = effectScope()
    const ex = scope.run(() => useExecution('42', { client }))!
    const sock = gw.socket('execution')
    sock.accept()
    sock.answer('subscribe', ack(0))
    await flush()
    sock.answer(
      'request_logs',
      envelope('execution_logs', 'execution:42', null, { logs: [], offset: 0 }),
    )
    await flush()
    sock.deliver('log_entry', log(1, 'one'))
    sock.drop()
    await vi.advanceTimersByTimeAsync(100)
    sock.accept()
    sock.answer('subscribe', ack(1500, false))
    await flush()
    expect(ex.recovered.value).toBe(false)
    expect(sock.sent('request_logs').at(-1)!.args[0]).toEqual({
      execution_id: '42',
      since: 1,
      limit: 1000,
    })
    sock.answer(
      'request_logs',
      envelope('execution_logs', 'execution:42', null, {
        logs: [{ level: 'error', message: 'late' }],
        offset: 1500,
      }),
    )
    await flush()
    expect(ex.logs.value.map((l) => l.message)).toEqual(['one', 'late'])
    // A recovered reconnect needs no backfill.
    sock.drop()
    await vi.advanceTimersByTimeAsync(100)
    sock.accept()
    sock.answer('subscribe', ack(1500, true))
    await flush()
    expect(sock.sent('request_logs')).toHaveLength(2)
    scope.stop()
  })

  it('shows live lines when the gateway has no request_logs', async () => {
    const { gw, client } = setup()
    const scope = effectScope()
    const ex = scope.run(() => useExecution('42', { client }))!
    const sock = gw.socket('execution')
    sock.accept()
    sock.answer('subscribe', ack(0))
    await flush()
    sock.deliver('log_entry', log(1, 'held'))
    sock.answer('request_logs', envelope('error', null, null, { code: 'unknown_type' }))
    await flush()
    expect(ex.logs.value.map((l) => l.message)).toEqual(['held'])
    scope.stop()
  })

  it('refresh() applies the get_status answer and ignores no_state', async () => {
    const { gw, client } = setup()
    const scope = effectScope()
    const ex = scope.run(() => useExecution('42', { client, backfillLogs: false }))!
    const sock = gw.socket('execution')
    sock.accept()
    const first = ex.refresh()
    await flush()
    sock.answer('get_status', envelope('error', 'execution:42', null, { code: 'no_state' }))
    await first
    expect(ex.error.value).toBeNull()
    const second = ex.refresh()
    await flush()
    sock.answer(
      'get_status',
      envelope('execution_status', 'execution:42', 4, { status: 'success' }),
    )
    await second
    expect(ex.status.value).toBe('success')
    scope.stop()
  })
})

describe('useMonitor, useSystemNotices, useConnectionState', () => {
  it('collects status, metrics (any numeric field) and the global feed', () => {
    const { gw, client } = setup()
    const scope = effectScope()
    const mon = scope.run(() => useMonitor({ client, historySize: 2 }))!
    const sock = gw.socket('monitor')
    sock.accept()
    sock.deliver(
      'system_status',
      envelope('system_status', 'monitor', null, {
        status: 'healthy',
        active_connections: 3,
        connections: { socketio: 2, websocket: 1, total: 3 },
      }),
    )
    for (const mps of [1.5, 2.5, 3.5]) {
      sock.deliver(
        'system_metrics',
        envelope('system_metrics', 'monitor', null, {
          connections: { '/monitor': 1, websocket: 0 },
          messages_per_second: mps,
          memory_rss_bytes: 1024,
          note: 'strings are skipped',
          nested: { deep: { value: 7 } },
        }),
      )
    }
    sock.deliver(
      'pipeline_update',
      envelope('pipeline_update', 'monitor', 1, { pipeline_id: '7', status: 'running' }),
    )
    expect(mon.status.value?.active_connections).toBe(3)
    expect(mon.numericMetrics.value).toEqual([
      { key: 'connections./monitor', value: 1 },
      { key: 'connections.websocket', value: 0 },
      { key: 'messages_per_second', value: 3.5 },
      { key: 'memory_rss_bytes', value: 1024 },
      { key: 'nested.deep.value', value: 7 },
    ])
    expect(mon.history.value.map((h) => h.values.messages_per_second)).toEqual([2.5, 3.5])
    expect(mon.events.value.map((e) => e.type)).toEqual(['pipeline_update'])
    scope.stop()
    expect(gw.socket('monitor').disconnectCalls).toBe(1)
  })

  it('lists system notices newest first, once each, and can dismiss them', () => {
    const { gw, client } = setup()
    const scope = effectScope()
    const n = scope.run(() => useSystemNotices({ client, max: 2 }))!
    const sock = gw.socket('system')
    sock.accept()
    for (const i of [1, 2, 2, 3]) {
      sock.deliver(
        'system_notification',
        envelope('system_notification', 'system', i, {
          level: 'warning',
          title: `t${i}`,
          message: `m${i}`,
        }),
      )
    }
    expect(n.notices.value.map((x) => x.title)).toEqual(['t3', 't2'])
    n.dismiss(n.notices.value[0]!.key)
    expect(n.notices.value.map((x) => x.title)).toEqual(['t2'])
    n.clear()
    expect(n.notices.value).toEqual([])
    scope.stop()
  })

  it('mirrors the connection state and stops listening with its scope', () => {
    const { gw, client } = setup()
    const scope = effectScope()
    const state = scope.run(() => useConnectionState(client))!
    expect(state.value).toBe('disconnected')
    const release = client.retain('monitor')
    expect(state.value).toBe('connecting')
    gw.socket('monitor').accept()
    expect(state.value).toBe('connected')
    scope.stop()
    gw.socket('monitor').drop()
    expect(state.value).toBe('connected')
    release()
  })

  it('uses the default client when none is provided', () => {
    const { client } = setup()
    setDefaultRealtimeClient(client)
    const scope = effectScope()
    const state = scope.run(() => useConnectionState())!
    expect(state.value).toBe('disconnected')
    scope.stop()
    setDefaultRealtimeClient(null)
    expect(() => effectScope().run(() => useConnectionState())).toThrow(/no realtime client/)
  })
})
