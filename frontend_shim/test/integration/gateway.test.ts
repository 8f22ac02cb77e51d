import { io, type Socket } from 'socket.io-client'
import { afterEach, describe, expect, it } from 'vitest'

import { RealtimeClient, type RealtimeClientOptions } from '../../src/client'
import { PipelineExecutionWebSocket } from '../../src/legacy/websocket'
import type { Envelope, SubscribeResult } from '../../src/types'
import { baseUrl, logLine, publish, signJwt, uniqueId, waitFor } from '../support/gateway'

const base = baseUrl()
const clients: RealtimeClient[] = []
const raw: Socket[] = []

function client(options: Partial<RealtimeClientOptions> = {}): RealtimeClient {
  const c = new RealtimeClient({
    url: base,
    lingerMs: 0,
    // At least 600 ms down: time enough to publish while the client is away.
    backoff: { initialDelay: 800, maxDelay: 2000, jitter: 0.25 },
    logger: { debug: () => {}, warn: () => {} },
    ...options,
  })
  clients.push(c)
  return c
}

function rawSocket(ns: string, auth: Record<string, unknown> = {}): Socket {
  const s = io(`${base}/${ns}`, { transports: ['websocket'], reconnection: false, auth })
  raw.push(s)
  return s
}

/** Closes the client's WebSocket under it, as a network drop would. */
function dropTransport(
  c: RealtimeClient,
  ns: 'execution' | 'monitor' | 'system' = 'execution',
): void {
  const socket = c.socketOf(ns) as unknown as Socket | undefined
  if (!socket) throw new Error(`no /${ns} socket`)
  socket.io.engine.close()
}

afterEach(() => {
  for (const c of clients.splice(0)) c.close()
  for (const s of raw.splice(0)) s.close()
})

describe('recovery against a real gateway', () => {
  it('gets every message once and in order across a dropped connection', async () => {
    const id = uniqueId('recover')
    const c = client()
    const got: Envelope[] = []
    const acks: SubscribeResult[] = []
    let receivedAtAck = -1
    const states: string[] = []
    c.onStateChange((s) => states.push(s))
    const handle = c.subscribe('execution', id, {
      onMessage: (e) => got.push(e),
      onAck: (a) => {
        acks.push(a)
        receivedAtAck = got.length
      },
    })
    const first = await handle.ready
    expect(first).toMatchObject({ ok: true, channel: `execution:${id}`, recovered: null })
    expect(typeof (first as { epoch: unknown }).epoch).toBe('string')

    await publish(
      base,
      [1, 2, 3, 4, 5].map((n) => logLine(id, n)),
    )
    await waitFor(() => got.length === 5, 'the first five lines')

    dropTransport(c)
    await waitFor(() => c.state === 'reconnecting', 'the client to notice the drop')
    const whileDown = await publish(base, [
      ...[6, 7, 8, 9, 10].map((n) => logLine(id, n)),
      {
        channel: `execution:${id}`,
        type: 'execution_status',
        data: {
          execution_id: id,
          status: 'running',
          steps: [],
          total_steps: 0,
          completed_steps: 0,
        },
      },
    ])
    expect(whileDown.results.map((r) => r.offset)).toEqual([6, 7, 8, 9, 10, 11])
    expect(got).toHaveLength(5)

    await waitFor(() => acks.length === 2, 'the resubscribe acknowledgement')
    expect(acks[1]).toMatchObject({ ok: true, recovered: true, offset: 11 })
    // The gateway replays what was missed before it acknowledges.
    expect(receivedAtAck).toBe(11)

    await publish(base, logLine(id, 12))
    await waitFor(() => got.length === 12, 'the live line after recovery')
    await new Promise((r) => setTimeout(r, 200))

    expect(got.map((e) => e.offset)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12])
    expect(new Set(got.map((e) => e.epoch)).size).toBe(1)
    expect(got.filter((e) => e.type === 'log_entry').map((e) => e.data.message)).toEqual(
      [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12].map((n) => `line ${n}`),
    )
    expect(states).toContain('reconnecting')
    expect(c.state).toBe('connected')
    expect(c.stats.reconnects).toBe(1)
  })

  it('recovers several drops in a row without a duplicate or a gap', async () => {
    const id = uniqueId('drops')
    const c = client({ backoff: { initialDelay: 300, maxDelay: 600, jitter: 0.2 } })
    const got: number[] = []
    const acks: SubscribeResult[] = []
    const h = c.subscribe('execution', id, {
      onMessage: (e) => got.push(e.offset!),
      onAck: (a) => acks.push(a),
    })
    await h.ready
    let n = 0
    for (let round = 0; round < 3; round++) {
      await publish(base, [logLine(id, ++n), logLine(id, ++n)])
      dropTransport(c)
      await waitFor(() => c.state === 'reconnecting', 'the drop')
      await publish(base, [logLine(id, ++n), logLine(id, ++n), logLine(id, ++n)])
      await waitFor(() => acks.length === round + 2, `reconnect ${round + 1}`)
    }
    await waitFor(() => got.length === n, 'all lines')
    expect(got).toEqual(Array.from({ length: n }, (_, i) => i + 1))
    expect(acks.slice(1).every((a) => a.ok && a.recovered === true)).toBe(true)
  })

  it('reconnects every namespace when one reopens the shared transport first', async () => {
    // The transport reopened for /execution also carries /monitor's CONNECT;
    // a connect() for /monitor in that moment must not send a second one,
    // which the server refuses and which left /monitor deaf for good.
    const id = uniqueId('shared')
    const c = client()
    const got: number[] = []
    const monitor: Envelope[] = []
    c.on('pipeline_update', (e) => monitor.push(e))
    await c.subscribe('execution', id, { onMessage: (e) => got.push(e.offset!) }).ready
    c.retain('monitor')
    await c.whenConnected('monitor')
    const manager = (c.socketOf('execution') as unknown as Socket).io
    dropTransport(c)
    await waitFor(() => c.state === 'reconnecting', 'the drop')
    await new Promise<void>((resolve) => manager.once('open', () => resolve()))
    c.reconnectNow()
    await waitFor(() => c.state === 'connected', 'every namespace back', 10_000)
    const pipeline = uniqueId('p')
    await publish(base, [
      logLine(id, 1),
      { channel: 'monitor', type: 'pipeline_update', data: { pipeline_id: pipeline } },
    ])
    await waitFor(() => got.length === 1 && monitor.length === 1, 'both namespaces deliver')
    expect(monitor[0]!.data.pipeline_id).toBe(pipeline)
  })

  it('a new subscriber gets the state, then live messages, never older history', async () => {
    const id = uniqueId('fresh')
    await publish(base, [
      logLine(id, 1),
      {
        channel: `execution:${id}`,
        type: 'execution_status',
        data: { execution_id: id, status: 'running' },
      },
      logLine(id, 2),
    ])
    const c = client()
    const got: Envelope[] = []
    const h = c.subscribe('execution', id, { onMessage: (e) => got.push(e) })
    const ack = await h.ready
    expect(ack).toMatchObject({ ok: true, offset: 3, recovered: null })
    expect(got.map((e) => [e.type, e.offset])).toEqual([['execution_status', 2]])
    await publish(base, logLine(id, 3))
    await waitFor(() => got.length === 2, 'the live line')
    expect(got[1]).toMatchObject({ type: 'log_entry', offset: 4 })
  })

  it('with a lost history (other epoch) is told recovered: false and gets the state first', async () => {
    const id = uniqueId('epoch')
    await publish(base, [
      {
        channel: `execution:${id}`,
        type: 'execution_status',
        data: { execution_id: id, status: 'success' },
      },
      logLine(id, 1),
    ])
    const s = rawSocket('execution')
    const seen: string[] = []
    s.onAny((event: string) => seen.push(event))
    await new Promise<void>((resolve) => s.on('connect', () => resolve()))
    const ack = await s
      .timeout(5000)
      .emitWithAck('subscribe', { id, since: 1, epoch: 'not-the-epoch' })
    expect(ack).toMatchObject({ ok: true, channel: `execution:${id}`, recovered: false, offset: 2 })
    expect(seen).toEqual(['execution_status'])
  })
})

describe('envelopes, system notices and requests', () => {
  it('delivers envelopes as the contract says', async () => {
    const id = uniqueId('shape')
    const c = client()
    const got: Envelope[] = []
    await c.subscribe('execution', id, { onMessage: (e) => got.push(e) }).ready
    await publish(base, { ...logLine(id, 1), message: 'hello' })
    await waitFor(() => got.length === 1, 'the line')
    const env = got[0]!
    expect(Object.keys(env).sort()).toEqual(
      ['channel', 'data', 'epoch', 'message', 'offset', 'service', 'timestamp', 'type'].sort(),
    )
    expect(env).toMatchObject({
      type: 'log_entry',
      channel: `execution:${id}`,
      offset: 1,
      message: 'hello',
    })
    expect(env.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/)
    expect(typeof env.service).toBe('string')
    expect(env.data).toMatchObject({ level: 'info', message: 'line 1' })
  })

  it('hands a system notice to the app once although each namespace receives it', async () => {
    const c = client()
    const notices: Envelope[] = []
    c.on('system_notification', (e) => notices.push(e))
    c.retain('system')
    const id = uniqueId('notice')
    await c.subscribe('execution', id).ready
    await c.whenConnected('system')
    const title = `notice ${id}`
    await publish(base, {
      channel: 'system',
      type: 'system_notification',
      data: { level: 'info', title, message: 'm' },
    })
    await waitFor(
      () => c.stats.duplicates >= 1,
      'the second copy (the contract delivers system to every connection)',
    )
    expect(notices.filter((n) => n.data.title === title)).toHaveLength(1)
  })

  it('answers get_status, request_logs and control_command through acks', async () => {
    const id = uniqueId('requests')
    await publish(base, [
      {
        channel: `execution:${id}`,
        type: 'execution_status',
        data: { execution_id: id, status: 'running' },
      },
      logLine(id, 1),
      logLine(id, 2),
    ])
    const c = client()
    const status = await c.getStatus('execution', id)
    expect(status).toMatchObject({
      type: 'execution_status',
      channel: `execution:${id}`,
      offset: 1,
    })
    expect(status.data.status).toBe('running')
    const none = await c.getStatus('execution', uniqueId('none'))
    expect(none.type).toBe('error')
    expect(none.data.code).toBe('no_state')
    const logs = await c.requestLogs(id, { since: 0, limit: 10 })
    expect(logs.type).toBe('execution_logs')
    expect(logs.data.logs.map((l) => l.message)).toEqual(['line 1', 'line 2'])
    expect(logs.data.offset).toBe(3)
    const page = await c.requestLogs(id, { since: 2, limit: 10 })
    expect(page.data.logs.map((l) => l.message)).toEqual(['line 2'])
    const control = await c.sendControlCommand('stop', id)
    // No REALTIME_CONTROL_URL in the test gateway.
    expect(control.type).toBe('error')
    expect(control.data.code).toBe('not_supported')
  })

  it('refuses an invalid subscribe with ok: false', async () => {
    const s = rawSocket('execution')
    await new Promise<void>((resolve) => s.on('connect', () => resolve()))
    const ack = await s.timeout(5000).emitWithAck('subscribe', { id: 'not valid!' })
    expect(ack).toMatchObject({ ok: false })
    expect(typeof ack.error).toBe('string')
  })

  it('narrows delivery with an events filter', async () => {
    const id = uniqueId('filter')
    const c = client()
    const got: string[] = []
    await c.subscribe('execution', id, {
      events: ['log_update'],
      onMessage: (e) => got.push(e.type),
    }).ready
    await publish(base, [
      {
        channel: `execution:${id}`,
        type: 'step_progress',
        data: { step_id: '1', step_name: 'a', status: 'running' },
      },
      logLine(id, 1),
    ])
    await waitFor(() => got.length === 1, 'the log line')
    await new Promise((r) => setTimeout(r, 200))
    expect(got).toEqual(['log_entry'])
  })
})

describe('monitor', () => {
  it('sends system_status on connect and system_metrics periodically', async () => {
    const c = client()
    const got: Envelope[] = []
    c.onMessage((e) => got.push(e))
    c.retain('monitor')
    await waitFor(() => got.some((e) => e.type === 'system_status'), 'system_status')
    const status = got.find((e) => e.type === 'system_status')!
    expect(status.data).toMatchObject({ status: 'healthy' })
    expect(typeof status.data.active_connections).toBe('number')
    expect(status.data.connections).toMatchObject({
      socketio: expect.any(Number),
      total: expect.any(Number),
    })
    expect(status.offset).toBeNull()
    await waitFor(() => got.some((e) => e.type === 'system_metrics'), 'system_metrics', 15_000)
    const metrics = got.find((e) => e.type === 'system_metrics')!
    expect(metrics.offset).toBeNull()
    expect(typeof metrics.data.messages_per_second).toBe('number')
  })

  it('relays what is published to monitor', async () => {
    const c = client()
    const got: Envelope[] = []
    c.on('pipeline_update', (e) => got.push(e))
    c.retain('monitor')
    await c.whenConnected('monitor')
    const pipeline = uniqueId('p')
    await publish(base, {
      channels: [`pipeline:${pipeline}`, 'monitor'],
      type: 'pipeline_update',
      data: { pipeline_id: pipeline, status: 'running' },
    })
    await waitFor(() => got.some((e) => e.data.pipeline_id === pipeline), 'the pipeline update')
    expect(got.find((e) => e.data.pipeline_id === pipeline)!.channel).toBe('monitor')
  })
})

describe('legacy websocket.ts replacement', () => {
  it('asks for the status on connect and renames what it delivers', async () => {
    const id = uniqueId('legacy')
    await publish(base, {
      channel: `execution:${id}`,
      type: 'execution_status',
      data: { execution_id: id, status: 'running' },
    })
    const c = client()
    const ws = new PipelineExecutionWebSocket(id, { client: c })
    const updates: unknown[] = []
    const steps: unknown[] = []
    const logs: unknown[] = []
    ws.onExecutionUpdate((d) => updates.push(d))
    ws.onStepUpdate((d) => steps.push(d))
    ws.onLogUpdate((d) => logs.push(d))
    await ws.connect()
    // The subscription's state, then the get_status answer.
    await waitFor(() => updates.length >= 2, 'both status deliveries')
    await publish(base, [
      {
        channel: `execution:${id}`,
        type: 'step_progress',
        data: { step_id: '1', step_name: 'a', status: 'success' },
      },
      logLine(id, 1),
    ])
    await waitFor(() => logs.length === 1 && steps.length === 1, 'step and log')
    expect(updates[0]).toMatchObject({ execution_id: id, status: 'running' })
    expect(ws.getLogs()).toHaveLength(1)
    ws.disconnect()
  })
})

const secureBase = process.env.REALTIME_SECURE_BASE_URL
const secret = process.env.REALTIME_SECURE_JWT_SECRET

describe.skipIf(!secureBase || !secret)('tokens against a gateway with a JWT secret', () => {
  const now = () => Math.floor(Date.now() / 1000)

  it('refreshes an expired token after an unauthorized refusal and connects', async () => {
    const expired = await signJwt(secret!, {
      user_id: 7,
      token_type: 'access',
      exp: now() - 60,
      iat: now() - 3660,
    })
    const fresh = await signJwt(secret!, {
      user_id: 7,
      token_type: 'access',
      exp: now() + 3600,
      iat: now(),
    })
    let refreshes = 0
    const errors: string[] = []
    const c = client({
      url: secureBase,
      token: expired,
      refreshToken: async () => {
        refreshes += 1
        return fresh
      },
      backoff: { initialDelay: 100, maxDelay: 200, jitter: 0.1 },
    })
    c.onError((e) => errors.push(e.code))
    const id = uniqueId('auth')
    const ack = await c.subscribe('execution', id).ready
    expect(ack).toMatchObject({ ok: true })
    expect(errors).toContain('unauthorized')
    expect(refreshes).toBe(1)
    expect(c.getToken()).toBe(fresh)
  })

  it('stays disconnected on a refused token without a refresher', async () => {
    const c = client({ url: secureBase, token: 'not-a-jwt' })
    const errors: string[] = []
    c.onError((e) => errors.push(e.code))
    c.retain('monitor')
    await waitFor(() => errors.includes('unauthorized'), 'the refusal')
    expect(c.state).toBe('disconnected')
  })
})
