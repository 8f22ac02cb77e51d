import { describe, expect, it } from 'vitest'

import { RealtimeClient } from '../../src/client'
import {
  LEGACY_RENAMES,
  PipelineExecutionWebSocket,
  WebSocketService,
  wsService,
} from '../../src/legacy/websocket'
import { FakeGateway, envelope, flush } from './fake-socket'

function setup(lingerMs = 0) {
  const gw = new FakeGateway()
  const client = new RealtimeClient({
    url: 'http://gateway.test',
    socketFactory: gw.factory,
    reconnectOnOnline: false,
    lingerMs,
    logger: { debug: () => {}, warn: () => {} },
  })
  return { gw, client }
}

describe('legacy WebSocketService', () => {
  it('keeps the old renames', () => {
    expect(LEGACY_RENAMES).toEqual({
      execution_status: 'execution_update',
      step_progress: 'step_update',
      log_entry: 'log_update',
    })
  })

  it('opens nothing on import', () => {
    expect(wsService.getConnectionState()).toBe('disconnected')
  })

  it('dispatches by (renamed) type and hands handlers data', () => {
    const { gw, client } = setup()
    const svc = new WebSocketService(client)
    const seen: [string, unknown][] = []
    svc.onExecutionUpdate((d) => seen.push(['exec', d]))
    svc.onStepUpdate((d) => seen.push(['step', d]))
    svc.onLogUpdate((d) => seen.push(['log', d]))
    const offNotice = svc.onSystemNotification((d) => seen.push(['notice', d]))
    svc.connect()
    svc.subscribeExecution(42)
    gw.socket('monitor').accept()
    gw.socket('system').accept()
    const ex = gw.socket('execution')
    ex.accept()
    expect(ex.sent('subscribe')[0]!.args[0]).toEqual({ id: '42' })
    ex.deliver(
      'execution_status',
      envelope('execution_status', 'execution:42', 1, { status: 'running' }),
    )
    ex.deliver('step_progress', envelope('step_progress', 'execution:42', 2, { step_name: 'a' }))
    ex.deliver('log_entry', envelope('log_entry', 'execution:42', 3, { message: 'x' }))
    gw.socket('system').deliver(
      'system_notification',
      envelope('system_notification', 'system', 1, { title: 'hi' }),
    )
    offNotice()
    gw.socket('system').deliver(
      'system_notification',
      envelope('system_notification', 'system', 2, { title: 'gone' }),
    )
    expect(seen).toEqual([
      ['exec', { status: 'running' }],
      ['step', { step_name: 'a' }],
      ['log', { message: 'x' }],
      ['notice', { title: 'hi' }],
    ])
    svc.unsubscribeFromExecution(42)
    expect(ex.sent('unsubscribe')[0]!.args[0]).toEqual({ id: '42' })
    svc.disconnect()
    expect(client.state).toBe('disconnected')
  })

  it('sends control commands and reports the backend answer or the refusal', async () => {
    // The default linger keeps /execution open between the two one-off requests.
    const { gw, client } = setup(1000)
    const svc = new WebSocketService(client)
    const first = svc.stopExecution(42)
    const ex = gw.socket('execution')
    ex.accept()
    await flush()
    expect(ex.sent('control_command')[0]!.args[0]).toEqual({ command: 'stop', execution_id: '42' })
    ex.answer(
      'control_command',
      envelope('control_result', 'execution:42', null, {
        ok: true,
        status: 202,
        detail: { queued: true },
      }),
    )
    await expect(first).resolves.toEqual({ ok: true, status: 202, detail: { queued: true } })
    const second = svc.sendControlCommand('restart', '42')
    await flush()
    ex.answer('control_command', envelope('error', null, null, { code: 'not_supported' }))
    await expect(second).resolves.toMatchObject({ ok: false, error: 'not_supported' })
    expect(ex.connectCalls).toBe(1)
    client.close()
  })
})

describe('legacy PipelineExecutionWebSocket', () => {
  it('asks for the status on every (re)subscribe and renames what it delivers', async () => {
    const { gw, client } = setup()
    const ws = new PipelineExecutionWebSocket(42, { client, maxLogLines: 2 })
    const updates: unknown[] = []
    const logs: unknown[] = []
    ws.onExecutionUpdate((d) => updates.push(d))
    ws.onLogUpdate((d) => logs.push(d))
    const connected = ws.connect()
    const sock = gw.socket('execution')
    sock.accept()
    sock.answer('subscribe', {
      ok: true,
      channel: 'execution:42',
      offset: 0,
      epoch: 'e1',
      recovered: null,
    })
    await connected
    await flush()
    expect(sock.sent('get_status')[0]!.args[0]).toEqual({ id: '42' })
    sock.answer(
      'get_status',
      envelope('execution_status', 'execution:42', 1, { status: 'running' }),
    )
    await flush()
    for (const i of [2, 3, 4])
      sock.deliver('log_entry', envelope('log_entry', 'execution:42', i, { message: `m${i}` }))
    expect(updates).toEqual([{ status: 'running' }])
    expect(logs).toHaveLength(3)
    expect(ws.getLogs()).toEqual([{ message: 'm3' }, { message: 'm4' }])
    expect(ws.isConnected()).toBe(true)
    ws.disconnect()
    expect(sock.sent('unsubscribe')).toHaveLength(1)
  })

  it('rejects connect when the gateway refuses the subscription', async () => {
    const { gw, client } = setup()
    const ws = new PipelineExecutionWebSocket('42', { client })
    const connected = ws.connect()
    gw.socket('execution').accept()
    gw.socket('execution').answer('subscribe', { ok: false, error: 'forbidden' })
    await expect(connected).rejects.toThrow(/forbidden/)
  })
})

describe('legacy PipelineExecutionWebSocket timeouts', () => {
  it('rejects connect after connectTimeout but keeps the subscription', async () => {
    const { gw, client } = setup()
    const ws = new PipelineExecutionWebSocket('42', { client, connectTimeout: 20 })
    await expect(ws.connect()).rejects.toThrow(/not subscribed after 20 ms/)
    const sock = gw.socket('execution')
    sock.accept()
    expect(sock.sent('subscribe')[0]!.args[0]).toEqual({ id: '42' })
    ws.disconnect()
  })
})
