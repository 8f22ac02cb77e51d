import type { AuthCallback, SocketFactory, SocketLike } from '../../src/client'
import type { NamespaceName } from '../../src/types'

type Listener = (...args: any[]) => void

export interface Emitted {
  event: string
  args: unknown[]
  ack?: (...args: unknown[]) => void
}

/**
 * Stands in for a socket.io-client Socket. The test plays the server: it accepts or
 * refuses connects, drops the transport, delivers events and answers acks.
 */
export class FakeSocket implements SocketLike {
  connected = false
  connectCalls = 0
  disconnectCalls = 0
  /** What the client's auth callback produced, per connect. */
  auths: Record<string, unknown>[] = []
  emitted: Emitted[] = []
  private readonly listeners = new Map<string, Set<Listener>>()
  private readonly anyListeners = new Set<(event: string, ...args: unknown[]) => void>()

  constructor(
    readonly namespace: NamespaceName,
    private readonly auth: AuthCallback,
  ) {}

  connect(): this {
    this.connectCalls += 1
    this.auth((data) => {
      this.auths.push(data)
    })
    return this
  }

  disconnect(): this {
    this.disconnectCalls += 1
    if (this.connected) {
      this.connected = false
      this.fire('disconnect', 'io client disconnect')
    }
    this.failAcks()
    return this
  }

  on(event: string, listener: Listener): this {
    let set = this.listeners.get(event)
    if (!set) {
      set = new Set()
      this.listeners.set(event, set)
    }
    set.add(listener)
    return this
  }

  onAny(listener: (event: string, ...args: unknown[]) => void): this {
    this.anyListeners.add(listener)
    return this
  }

  emit(event: string, ...args: unknown[]): this {
    const last = args[args.length - 1]
    const ack = typeof last === 'function' ? (args.pop() as Emitted['ack']) : undefined
    this.emitted.push({ event, args, ack })
    return this
  }

  timeout(_ms: number): { emit(event: string, ...args: unknown[]): unknown } {
    return {
      emit: (event: string, ...args: unknown[]) => {
        const ack = args.pop() as (err: unknown, ...res: unknown[]) => void
        this.emitted.push({ event, args, ack })
        return this
      },
    }
  }

  /* ----- the test as server ----- */

  accept(): void {
    this.connected = true
    this.fire('connect')
  }

  refuse(message = 'unauthorized'): void {
    this.fire('connect_error', Object.assign(new Error(message), { data: undefined }))
  }

  failTransport(): void {
    this.fire('connect_error', new Error('websocket error'))
  }

  drop(reason = 'transport close'): void {
    this.connected = false
    this.fire('disconnect', reason)
    this.failAcks()
  }

  deliver(event: string, payload: unknown): void {
    for (const l of [...this.anyListeners]) l(event, payload)
  }

  /** Emits of `event` not yet answered. */
  pending(event: string): Emitted[] {
    return this.emitted.filter((e) => e.event === event && e.ack)
  }

  sent(event: string): Emitted[] {
    return this.emitted.filter((e) => e.event === event)
  }

  /** Answers the oldest unanswered emit of `event` (timeout-style ack: err first). */
  answer(event: string, response: unknown): Emitted {
    const e = this.pending(event)[0]
    if (!e?.ack) throw new Error(`no pending ${event}`)
    const ack = e.ack
    e.ack = undefined
    ack(null, response)
    return e
  }

  timeoutAck(event: string): void {
    const e = this.pending(event)[0]
    if (!e?.ack) throw new Error(`no pending ${event}`)
    const ack = e.ack
    e.ack = undefined
    ack(new Error('operation has timed out'))
  }

  private failAcks(): void {
    for (const e of this.emitted) {
      if (e.ack) {
        const ack = e.ack
        e.ack = undefined
        ack(new Error('socket has been disconnected'))
      }
    }
  }

  private fire(event: string, ...args: unknown[]): void {
    for (const l of [...(this.listeners.get(event) ?? [])]) l(...args)
  }
}

export class FakeGateway {
  readonly sockets = new Map<NamespaceName, FakeSocket>()

  readonly factory: SocketFactory = ({ namespace, auth }) => {
    const socket = new FakeSocket(namespace, auth)
    this.sockets.set(namespace, socket)
    return socket
  }

  socket(ns: NamespaceName): FakeSocket {
    const s = this.sockets.get(ns)
    if (!s) throw new Error(`no socket for /${ns}`)
    return s
  }
}

let clock = Date.parse('2026-12-03T10:00:00.000Z')

export function envelope(
  type: string,
  channel: string | null,
  offset: number | null,
  data: Record<string, unknown> = {},
  epoch: string | null = offset === null ? null : 'e1',
): {
  type: string
  channel: string | null
  offset: number | null
  epoch: string | null
  timestamp: string
  service: string
  data: Record<string, unknown>
} {
  clock += 1
  return {
    type,
    channel,
    offset,
    epoch,
    timestamp: new Date(clock).toISOString(),
    service: 'realtime',
    data,
  }
}

/** Lets promise callbacks (the async auth callback, acks) run. */
export async function flush(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve()
}
