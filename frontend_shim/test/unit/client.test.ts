import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'

import { RealtimeClient, type RealtimeClientOptions } from '../../src/client'
import type { ConnectionState, Envelope } from '../../src/types'
import { FakeGateway, envelope, flush } from './fake-socket'

const ack = (
  channel: string,
  offset: number | null,
  recovered: boolean | null = null,
  epoch = 'e1',
) => ({
  ok: true,
  channel,
  offset,
  epoch,
  recovered,
})

function setup(options: Partial<RealtimeClientOptions> = {}) {
  const gw = new FakeGateway()
  const client = new RealtimeClient({
    url: 'http://gateway.test',
    socketFactory: gw.factory,
    backoff: { initialDelay: 100, maxDelay: 1000, jitter: 0 },
    reconnectOnOnline: false,
    lingerMs: 0,
    logger: { debug: () => {}, warn: () => {} },
    ...options,
  })
  const states: ConnectionState[] = []
  client.onStateChange((s) => states.push(s))
  return { gw, client, states }
}

beforeEach(() => {
  vi.useFakeTimers()
})

afterEach(() => {
  vi.useRealTimers()
})

describe('RealtimeClient: subscribing', () => {
  it('subscribes once connected and resolves ready with the ack', async () => {
    const { gw, client, states } = setup()
    const handle = client.subscribe('execution', '42')
    const sock = gw.socket('execution')
    expect(sock.connectCalls).toBe(1)
    expect(client.state).toBe('connecting')
    await flush()
    expect(sock.auths).toEqual([{}])
    sock.accept()
    expect(client.state).toBe('connected')
    expect(sock.sent('subscribe')[0]!.args[0]).toEqual({ id: '42' })
    sock.answer('subscribe', ack('execution:42', 5))
    await expect(handle.ready).resolves.toEqual(ack('execution:42', 5))
    expect(client.position('execution:42')).toEqual({ epoch: 'e1', offset: 5 })
    expect(states).toEqual(['disconnected', 'connecting', 'connected'])
  })

  it('sends the token in the handshake auth', async () => {
    const { gw, client } = setup({ token: 'tok-1' })
    client.retain('monitor')
    await flush()
    expect(gw.socket('monitor').auths).toEqual([{ token: 'tok-1' }])
  })

  it('refuses invalid ids and namespaces without subscribe', () => {
    const { client } = setup()
    expect(() => client.subscribe('execution', 'no spaces')).toThrow(TypeError)
    expect(() => client.subscribe('monitor' as never, '1')).toThrow(TypeError)
  })

  it('resolves ready with the refusal instead of rejecting', async () => {
    const { gw, client } = setup()
    const errors: string[] = []
    client.onError((e) => errors.push(e.code))
    const handle = client.subscribe('project', 'p1')
    gw.socket('project').accept()
    gw.socket('project').answer('subscribe', { ok: false, error: 'forbidden' })
    await expect(handle.ready).resolves.toEqual({ ok: false, error: 'forbidden' })
    expect(errors).toEqual(['forbidden'])
  })

  it('gives a second subscriber of an id the state through get_status', async () => {
    const { gw, client } = setup()
    client.subscribe('execution', '42')
    const sock = gw.socket('execution')
    sock.accept()
    sock.deliver(
      'execution_status',
      envelope('execution_status', 'execution:42', 1, { status: 'running' }),
    )
    sock.answer('subscribe', ack('execution:42', 1))
    const second: unknown[] = []
    client.subscribe('execution', '42', { onMessage: (e) => second.push(e.data) })
    await flush()
    sock.answer(
      'get_status',
      envelope('execution_status', 'execution:42', 1, { status: 'running' }),
    )
    await flush()
    expect(second).toEqual([{ status: 'running' }])
  })

  it('keeps an unused namespace connected for lingerMs, then closes it', async () => {
    const { gw, client } = setup({ lingerMs: 500 })
    const release = client.retain('monitor')
    const sock = gw.socket('monitor')
    sock.accept()
    release()
    expect(client.state).toBe('disconnected')
    await vi.advanceTimersByTimeAsync(400)
    const again = client.retain('monitor')
    expect(client.state).toBe('connected')
    expect(sock.connectCalls).toBe(1)
    again()
    await vi.advanceTimersByTimeAsync(500)
    expect(sock.disconnectCalls).toBe(1)
  })

  it('shares one server subscription between subscribers of one id', async () => {
    const { gw, client } = setup()
    const a = client.subscribe('execution', '42')
    gw.socket('execution').accept()
    gw.socket('execution').answer('subscribe', ack('execution:42', 0))
    const b = client.subscribe('execution', '42')
    await expect(b.ready).resolves.toMatchObject({ ok: true })
    expect(gw.socket('execution').sent('subscribe')).toHaveLength(1)
    a.unsubscribe()
    expect(gw.socket('execution').sent('unsubscribe')).toHaveLength(0)
    b.unsubscribe()
    expect(gw.socket('execution').sent('unsubscribe')[0]!.args[0]).toEqual({ id: '42' })
  })

  it('widens the server filter when a subscriber wants more, and filters per subscriber', async () => {
    const { gw, client } = setup()
    const logsOnly: string[] = []
    const all: string[] = []
    client.subscribe('execution', '42', {
      events: ['log_update'],
      onMessage: (e) => logsOnly.push(e.type),
    })
    const sock = gw.socket('execution')
    sock.accept()
    expect(sock.sent('subscribe')[0]!.args[0]).toEqual({ id: '42', events: ['log_update'] })
    sock.answer('subscribe', ack('execution:42', 3))
    client.subscribe('execution', '42', { onMessage: (e) => all.push(e.type) })
    expect(sock.sent('subscribe')[1]!.args[0]).toEqual({ id: '42', since: 3, epoch: 'e1' })
    sock.deliver('log_entry', envelope('log_entry', 'execution:42', 4))
    sock.deliver('step_progress', envelope('step_progress', 'execution:42', 5))
    expect(logsOnly).toEqual(['log_entry'])
    expect(all).toEqual(['log_entry', 'step_progress'])
  })

  it('forgets the position on the last unsubscribe, so a new viewer starts fresh', async () => {
    const { gw, client } = setup()
    const h = client.subscribe('execution', '42')
    const sock = gw.socket('execution')
    sock.accept()
    sock.answer('subscribe', ack('execution:42', 9))
    h.unsubscribe()
    expect(client.position('execution:42')).toBeUndefined()
    client.subscribe('execution', '42')
    // The namespace was released and connects again for the new subscription.
    expect(sock.connectCalls).toBe(2)
    sock.accept()
    expect(sock.sent('subscribe').at(-1)!.args[0]).toEqual({ id: '42' })
  })

  it('retries a subscribe whose ack timed out while still connected', async () => {
    const { gw, client } = setup()
    const errors: string[] = []
    client.onError((e) => errors.push(e.code))
    const h = client.subscribe('execution', '42')
    const sock = gw.socket('execution')
    sock.accept()
    sock.timeoutAck('subscribe')
    expect(errors).toEqual(['subscribe_timeout'])
    await vi.advanceTimersByTimeAsync(1000)
    expect(sock.sent('subscribe')).toHaveLength(2)
    sock.answer('subscribe', ack('execution:42', 1))
    await expect(h.ready).resolves.toMatchObject({ ok: true })
  })
})

describe('RealtimeClient: delivery', () => {
  it('dispatches by type, channel and to catch-all listeners, dropping duplicates', async () => {
    const { gw, client } = setup()
    const onChannel: number[] = []
    const onType: number[] = []
    const onAny: string[] = []
    client.subscribe('execution', '42', { onMessage: (e) => onChannel.push(e.offset!) })
    client.on('log_entry', (e) => onType.push(e.offset!))
    client.onMessage((e) => onAny.push(`${e.type}@${e.offset}`))
    const sock = gw.socket('execution')
    sock.accept()
    sock.deliver(
      'execution_status',
      envelope('execution_status', 'execution:42', 3, { status: 'running' }),
    )
    sock.answer('subscribe', ack('execution:42', 3))
    for (const offset of [4, 5, 5, 4, 6]) {
      sock.deliver(
        'log_entry',
        envelope('log_entry', 'execution:42', offset, { message: `l${offset}` }),
      )
    }
    expect(onChannel).toEqual([3, 4, 5, 6])
    expect(onType).toEqual([4, 5, 6])
    expect(onAny).toEqual(['execution_status@3', 'log_entry@4', 'log_entry@5', 'log_entry@6'])
    expect(client.stats.duplicates).toBe(2)
    expect(client.stats.received).toBe(4)
  })

  it('delivers a system notice once although every namespace receives it', () => {
    const { gw, client } = setup()
    const got: unknown[] = []
    client.on('system_notification', (e) => got.push(e.data))
    client.retain('system')
    client.subscribe('execution', '42')
    gw.socket('system').accept()
    gw.socket('execution').accept()
    const notice = envelope('system_notification', 'system', 8, {
      level: 'info',
      title: 't',
      message: 'm',
    })
    gw.socket('execution').deliver('system_notification', notice)
    gw.socket('system').deliver('system_notification', notice)
    expect(got).toHaveLength(1)
  })

  it('always delivers the gateway-own messages (no offset)', () => {
    const { gw, client } = setup()
    const got: string[] = []
    client.onMessage((e) => got.push(e.type))
    client.retain('monitor')
    const sock = gw.socket('monitor')
    sock.accept()
    sock.deliver('system_metrics', envelope('system_metrics', 'monitor', null, { cpu_percent: 1 }))
    sock.deliver('system_metrics', envelope('system_metrics', 'monitor', null, { cpu_percent: 2 }))
    expect(got).toEqual(['system_metrics', 'system_metrics'])
  })

  it('drops frames that are not envelopes and messages of ids it does not follow', () => {
    const { gw, client } = setup()
    const got: string[] = []
    client.onMessage((e) => got.push(e.type))
    client.subscribe('execution', '42')
    const sock = gw.socket('execution')
    sock.accept()
    sock.deliver('weird', 'not an object')
    sock.deliver('weird', { type: 'x', data: 'nope' })
    sock.deliver('log_entry', envelope('log_entry', 'execution:7', 1))
    expect(got).toEqual([])
    expect(client.stats.invalid).toBe(2)
    expect(client.stats.stray).toBe(1)
  })

  it('isolates a throwing handler from the others', () => {
    const { gw, client } = setup()
    const got: number[] = []
    client.on('log_entry', () => {
      throw new Error('boom')
    })
    client.on('log_entry', (e) => got.push(e.offset!))
    client.subscribe('execution', '42')
    gw.socket('execution').accept()
    gw.socket('execution').deliver('log_entry', envelope('log_entry', 'execution:42', 1))
    expect(got).toEqual([1])
  })
})

describe('RealtimeClient: reconnect and recovery', () => {
  it('resubscribes with since/epoch after a drop and gets each missed message once, in order', async () => {
    const { gw, client, states } = setup()
    const got: number[] = []
    const acks: unknown[] = []
    client.subscribe('execution', '42', {
      onMessage: (e) => got.push(e.offset!),
      onAck: (a) => acks.push(a),
    })
    const sock = gw.socket('execution')
    sock.accept()
    sock.answer('subscribe', ack('execution:42', 0))
    for (const o of [1, 2, 3]) sock.deliver('log_entry', envelope('log_entry', 'execution:42', o))

    sock.drop()
    expect(client.state).toBe('reconnecting')
    await vi.advanceTimersByTimeAsync(99)
    expect(sock.connectCalls).toBe(1)
    await vi.advanceTimersByTimeAsync(1)
    expect(sock.connectCalls).toBe(2)
    sock.accept()
    expect(sock.sent('subscribe').at(-1)!.args[0]).toEqual({ id: '42', since: 3, epoch: 'e1' })
    // The server replays what was missed before the ack; a racing live copy of 4 and
    // a replay reaching back too far are both dropped.
    for (const o of [2, 3, 4, 4, 5, 6])
      sock.deliver('log_entry', envelope('log_entry', 'execution:42', o))
    sock.answer('subscribe', ack('execution:42', 6, true))
    sock.deliver('log_entry', envelope('log_entry', 'execution:42', 7))

    expect(got).toEqual([1, 2, 3, 4, 5, 6, 7])
    expect(acks).toEqual([ack('execution:42', 0), ack('execution:42', 6, true)])
    expect(states).toEqual(['disconnected', 'connecting', 'connected', 'reconnecting', 'connected'])
    expect(client.stats.reconnects).toBe(1)
  })

  it('takes the state of a new epoch when history was lost', () => {
    const { gw, client } = setup()
    const got: string[] = []
    client.subscribe('execution', '42', { onMessage: (e) => got.push(`${e.epoch}/${e.offset}`) })
    const sock = gw.socket('execution')
    sock.accept()
    sock.answer('subscribe', ack('execution:42', 0))
    sock.deliver('log_entry', envelope('log_entry', 'execution:42', 30))
    sock.drop()
    vi.advanceTimersByTime(100)
    sock.accept()
    sock.deliver('execution_status', envelope('execution_status', 'execution:42', 2, {}, 'e2'))
    sock.answer('subscribe', ack('execution:42', 2, false, 'e2'))
    sock.deliver('log_entry', envelope('log_entry', 'execution:42', 3, {}, 'e2'))
    expect(got).toEqual(['e1/30', 'e2/2', 'e2/3'])
    expect(client.position('execution:42')).toEqual({ epoch: 'e2', offset: 3 })
  })

  it('backs off exponentially while the gateway stays away, then resets', async () => {
    const { gw, client } = setup()
    client.retain('monitor')
    const sock = gw.socket('monitor')
    sock.accept()
    sock.drop()
    const waits: number[] = []
    for (let i = 0; i < 5; i++) {
      const before = sock.connectCalls
      let waited = 0
      while (sock.connectCalls === before) {
        await vi.advanceTimersByTimeAsync(10)
        waited += 10
      }
      waits.push(waited)
      sock.failTransport()
    }
    expect(waits).toEqual([100, 200, 400, 800, 1000])
    expect(client.state).toBe('reconnecting')
    await vi.advanceTimersByTimeAsync(1000)
    expect(sock.connectCalls).toBe(7)
    sock.accept()
    expect(client.state).toBe('connected')
    // A successful connect resets the backoff: the next drop waits the initial delay.
    sock.drop()
    await vi.advanceTimersByTimeAsync(99)
    expect(sock.connectCalls).toBe(7)
    await vi.advanceTimersByTimeAsync(1)
    expect(sock.connectCalls).toBe(8)
  })

  it('gives up after maxReconnectAttempts and reconnectNow starts over', async () => {
    const { gw, client } = setup({ maxReconnectAttempts: 2 })
    const errors: string[] = []
    client.onError((e) => errors.push(e.code))
    client.retain('monitor')
    const sock = gw.socket('monitor')
    sock.failTransport()
    await vi.advanceTimersByTimeAsync(100)
    sock.failTransport()
    await vi.advanceTimersByTimeAsync(200)
    sock.failTransport()
    expect(client.state).toBe('disconnected')
    expect(errors).toEqual(['gave_up'])
    await vi.advanceTimersByTimeAsync(10_000)
    expect(sock.connectCalls).toBe(3)
    client.reconnectNow()
    expect(sock.connectCalls).toBe(4)
    sock.accept()
    expect(client.state).toBe('connected')
  })

  it('does not send a second connect while one is in flight', () => {
    const { gw, client } = setup()
    client.retain('monitor')
    client.reconnectNow()
    client.reconnectNow()
    expect(gw.socket('monitor').connectCalls).toBe(1)
  })

  it('stops reconnecting once released or closed', async () => {
    const { gw, client } = setup()
    const release = client.retain('monitor')
    const sock = gw.socket('monitor')
    sock.accept()
    sock.drop()
    release()
    await vi.advanceTimersByTimeAsync(5000)
    expect(sock.connectCalls).toBe(1)
    expect(client.state).toBe('disconnected')
    client.retain('monitor')
    expect(sock.connectCalls).toBe(2)
    client.close()
    expect(client.state).toBe('disconnected')
    expect(() => client.retain('monitor')).toThrow(/closed/)
  })
})

describe('RealtimeClient: tokens', () => {
  it('refreshes the token before reconnecting after a drop, once for all namespaces', async () => {
    let n = 0
    const refreshToken = vi.fn(async () => `tok-${++n}`)
    const { gw, client } = setup({ token: 'tok-0', refreshToken })
    client.retain('monitor')
    client.retain('system')
    await flush()
    gw.socket('monitor').accept()
    gw.socket('system').accept()
    expect(refreshToken).not.toHaveBeenCalled()
    gw.socket('monitor').drop()
    gw.socket('system').drop()
    await vi.advanceTimersByTimeAsync(100)
    await flush()
    expect(refreshToken).toHaveBeenCalledTimes(1)
    expect(gw.socket('monitor').auths.at(-1)).toEqual({ token: 'tok-1' })
    expect(gw.socket('system').auths.at(-1)).toEqual({ token: 'tok-1' })
  })

  it('on an unauthorized refusal refreshes and retries', async () => {
    const refreshToken = vi.fn(async () => 'fresh')
    const { gw, client } = setup({ token: 'expired', refreshToken })
    const errors: string[] = []
    client.onError((e) => errors.push(e.code))
    client.retain('execution')
    const sock = gw.socket('execution')
    await flush()
    expect(sock.auths).toEqual([{ token: 'expired' }])
    sock.refuse('unauthorized')
    expect(client.state).toBe('connecting')
    await vi.advanceTimersByTimeAsync(100)
    await flush()
    expect(refreshToken).toHaveBeenCalledTimes(1)
    expect(sock.auths.at(-1)).toEqual({ token: 'fresh' })
    sock.accept()
    expect(client.state).toBe('connected')
    expect(client.getToken()).toBe('fresh')
    expect(errors).toEqual(['unauthorized'])
  })

  it('without a refresher an unauthorized refusal ends in disconnected', async () => {
    const { gw, client } = setup({ token: 'bad' })
    client.retain('monitor')
    gw.socket('monitor').refuse('Unauthorized')
    await vi.advanceTimersByTimeAsync(10_000)
    expect(gw.socket('monitor').connectCalls).toBe(1)
    expect(client.state).toBe('disconnected')
    client.setToken('good')
    client.reconnectNow()
    await flush()
    expect(gw.socket('monitor').auths.at(-1)).toEqual({ token: 'good' })
  })

  it('keeps the current token when the refresher fails or answers nothing', async () => {
    const { gw, client } = setup({
      token: 'keep',
      refreshToken: async () => {
        throw new Error('auth server down')
      },
    })
    const errors: string[] = []
    client.onError((e) => errors.push(e.code))
    client.retain('monitor')
    gw.socket('monitor').accept()
    gw.socket('monitor').drop()
    await vi.advanceTimersByTimeAsync(100)
    await flush()
    expect(gw.socket('monitor').auths.at(-1)).toEqual({ token: 'keep' })
    expect(errors).toContain('token_refresh_failed')
  })
})

describe('RealtimeClient: requests', () => {
  it('get_status answers through the ack', async () => {
    const { gw, client } = setup()
    client.retain('execution')
    const sock = gw.socket('execution')
    sock.accept()
    const pending = client.getStatus('execution', '42')
    await flush()
    expect(sock.sent('get_status')[0]!.args[0]).toEqual({ id: '42' })
    const state = envelope('execution_status', 'execution:42', 3, { status: 'running' })
    sock.answer('get_status', state)
    await expect(pending).resolves.toMatchObject({
      type: 'execution_status',
      data: { status: 'running' },
    })
  })

  it('waits for the namespace to connect before asking', async () => {
    const { gw, client } = setup()
    const pending = client.requestLogs('42', { since: 0, limit: 10 })
    const sock = gw.socket('execution')
    await flush()
    expect(sock.sent('request_logs')).toHaveLength(0)
    sock.accept()
    await flush()
    expect(sock.sent('request_logs')[0]!.args[0]).toEqual({
      execution_id: '42',
      since: 0,
      limit: 10,
    })
    sock.answer(
      'request_logs',
      envelope('execution_logs', 'execution:42', null, { logs: [], offset: 0 }),
    )
    const env: Envelope = await pending
    expect(env.type).toBe('execution_logs')
  })

  it('rejects when no ack arrives', async () => {
    const { gw, client } = setup()
    client.retain('execution')
    gw.socket('execution').accept()
    const pending = client.sendControlCommand('stop', '42')
    await flush()
    gw.socket('execution').timeoutAck('control_command')
    await expect(pending).rejects.toThrow()
  })
})
