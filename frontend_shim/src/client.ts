import { Manager } from 'socket.io-client'

import { Backoff, type BackoffOptions } from './backoff.js'
import {
  channelOf,
  isEnvelope,
  isSubscribable,
  isSubscribeResult,
  isValidId,
  matchesEvents,
  normalizeEnvelope,
  unionEvents,
} from './envelope.js'
import { ChannelTracker } from './tracker.js'
import type {
  ConnectionState,
  ControlResultData,
  Envelope,
  ExecutionLogsData,
  NamespaceName,
  SubscribableNamespace,
  SubscribeRequest,
  SubscribeResult,
} from './types.js'

/* ----- the socket seam ------------------------------------------------------------- */

type AnyListener = (...args: any[]) => void

/**
 * The part of socket.io-client's `Socket` the client uses. Unit tests hand in a fake
 * through `socketFactory`, so the reconnect and recovery logic runs without a network.
 */
export interface SocketLike {
  readonly connected: boolean
  /** socket.io-client: the socket follows its Manager, which connects it on every open. */
  readonly active?: boolean
  /** socket.io-client: the Manager the namespaces share. */
  readonly io?: { readonly _readyState?: string }
  connect(): unknown
  disconnect(): unknown
  on(event: string, listener: AnyListener): unknown
  onAny(listener: (event: string, ...args: unknown[]) => void): unknown
  emit(event: string, ...args: unknown[]): unknown
  timeout(ms: number): { emit(event: string, ...args: unknown[]): unknown }
}

export type AuthCallback = (cb: (data: Record<string, unknown>) => void) => void

export interface SocketFactoryOptions {
  url: string
  path: string
  namespace: NamespaceName
  /** Called by the socket for every (re)connect, so a refreshed token is sent. */
  auth: AuthCallback
}

export type SocketFactory = (options: SocketFactoryOptions) => SocketLike

/**
 * One socket.io `Manager` per gateway, so all namespaces share one WebSocket. Its own
 * reconnection is off: the client schedules reconnects itself, which lets it refresh
 * the token first and retry after a namespace refused the handshake (socket.io never
 * retries those on its own).
 */
export function createSocketFactory(): SocketFactory {
  const managers = new Map<string, Manager>()
  return ({ url, path, namespace, auth }) => {
    const key = `${url}\n${path}`
    let manager = managers.get(key)
    if (!manager) {
      manager = new Manager(url, {
        path,
        transports: ['websocket'],
        reconnection: false,
        autoConnect: false,
      })
      managers.set(key, manager)
    }
    return manager.socket(`/${namespace}`, { auth }) as unknown as SocketLike
  }
}

/* ----- public types ---------------------------------------------------------------- */

export interface RealtimeClientOptions {
  /** Origin of the gateway. Default: the page's origin, else http://localhost:8001. */
  url?: string
  /** Socket.IO path. Default `/socket.io/`. */
  path?: string
  /** Sent as Socket.IO `auth: {token}`. */
  token?: string | null
  /**
   * Returns a fresh token. Called before the first reconnect after a drop and after
   * every `unauthorized` refusal; a null/empty answer keeps the current token.
   */
  refreshToken?: () => Promise<string | null | undefined>
  /** Reconnect delays. Default 1 s doubling to 30 s, ±50 % jitter. */
  backoff?: Partial<BackoffOptions>
  /** Give up (state `disconnected`) after this many failed attempts in a row. */
  maxReconnectAttempts?: number
  /** How long to wait for an acknowledgement, in ms. Default 10 000. */
  ackTimeout?: number
  /** How long a token refresh may take before the current token is used, in ms. */
  refreshTimeout?: number
  /**
   * How long a namespace nobody uses stays connected, in ms. Default 1000: switching
   * the execution a view follows, or a one-off `get_status`, then reuses the connection.
   */
  lingerMs?: number
  /** Reconnect at once when the browser says it is back online. Default true. */
  reconnectOnOnline?: boolean
  socketFactory?: SocketFactory
  logger?: Pick<Console, 'debug' | 'warn'>
}

export interface SubscribeOptions {
  /** Narrow what the server sends (`status_update`, `log_update` or exact types). */
  events?: string[]
  /** Messages of this channel that pass `events`, after de-duplication. */
  onMessage?: (env: Envelope) => void
  /** Every acknowledgement: the first one and each one after a reconnect. */
  onAck?: (result: SubscribeResult) => void
}

export interface SubscriptionHandle {
  readonly namespace: SubscribableNamespace
  readonly id: string
  readonly channel: string
  /** The first acknowledgement (never rejects: a refusal resolves with `ok: false`). */
  readonly ready: Promise<SubscribeResult>
  /** The latest acknowledgement, if any. */
  readonly lastAck: SubscribeResult | null
  unsubscribe(): void
}

export interface ClientError {
  namespace: NamespaceName | null
  code: string
  detail?: string
  channel?: string
}

export interface ClientStats {
  /** Messages delivered to handlers. */
  received: number
  /** Messages dropped because their offset was already seen. */
  duplicates: number
  /** Deliveries whose offset skipped ahead (filtered types, or a server-side gap). */
  gaps: number
  /** Messages for an id this client no longer follows. */
  stray: number
  /** Frames that were not envelopes. */
  invalid: number
  /** Successful connects after the first, summed over namespaces. */
  reconnects: number
}

type Unsubscribe = () => void

interface NamespaceConnection {
  name: NamespaceName
  socket: SocketLike
  state: ConnectionState
  refs: number
  everConnected: boolean
  /** A `connect()` is in flight: calling it again would send a second CONNECT packet. */
  opening: boolean
  timer: ReturnType<typeof setTimeout> | null
  lingerTimer: ReturnType<typeof setTimeout> | null
  backoff: Backoff
  lastError: string | null
}

interface SubscriberRecord {
  events: string[] | null
  onMessage?: (env: Envelope) => void
  onAck?: (result: SubscribeResult) => void
  resolveReady?: (result: SubscribeResult) => void
  needsState: boolean
}

interface ChannelSubscription {
  ns: SubscribableNamespace
  id: string
  channel: string
  subscribers: Set<SubscriberRecord>
  /** Bumped per `subscribe` emitted, so an ack of a superseded one is ignored. */
  seq: number
  sentEvents: string[] | null | undefined
  ack: SubscribeResult | null
  retryTimer: ReturnType<typeof setTimeout> | null
}

const SUBSCRIBABLE_CHANNEL = /^(pipeline|execution|project):/

function sameEvents(a: string[] | null | undefined, b: string[] | null): boolean {
  if (a === undefined) return false
  if (a === null || b === null) return a === b
  return a.length === b.length && a.every((e, i) => e === b[i])
}

function isUnauthorized(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false
  const e = err as { message?: unknown; data?: unknown }
  const texts: unknown[] = [e.message]
  if (e.data && typeof e.data === 'object') {
    const d = e.data as Record<string, unknown>
    texts.push(d.code, d.error, d.message)
  } else {
    texts.push(e.data)
  }
  return texts.some((t) => typeof t === 'string' && /unauthori[sz]ed/i.test(t))
}

function defaultUrl(): string {
  const loc = (globalThis as { location?: { protocol?: string; origin?: string } }).location
  if (loc?.origin && loc.protocol?.startsWith('http')) return loc.origin
  return 'http://localhost:8001'
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms)
    promise.then(
      (v) => {
        clearTimeout(timer)
        resolve(v)
      },
      (e: unknown) => {
        clearTimeout(timer)
        reject(e instanceof Error ? e : new Error(String(e)))
      },
    )
  })
}

/* ----- the client ------------------------------------------------------------------ */

/**
 * A Socket.IO client for the gateway: one connection per namespace in use (all over
 * one WebSocket), subscriptions that survive reconnects, and exactly-once delivery
 * through per-channel offsets.
 */
export class RealtimeClient {
  readonly url: string
  readonly path: string
  readonly stats: ClientStats = {
    received: 0,
    duplicates: 0,
    gaps: 0,
    stray: 0,
    invalid: 0,
    reconnects: 0,
  }

  private token: string | null
  private readonly refreshToken?: () => Promise<string | null | undefined>
  private readonly backoffOptions: Partial<BackoffOptions>
  private readonly maxReconnectAttempts: number
  private readonly ackTimeout: number
  private readonly refreshTimeout: number
  private readonly lingerMs: number
  private readonly socketFactory: SocketFactory
  private readonly logger: Pick<Console, 'debug' | 'warn'>
  private readonly tracker = new ChannelTracker()
  private readonly conns = new Map<NamespaceName, NamespaceConnection>()
  private readonly subs = new Map<string, ChannelSubscription>()
  private readonly typeListeners = new Map<string, Set<(env: Envelope) => void>>()
  private readonly anyListeners = new Set<(env: Envelope) => void>()
  private readonly stateListeners = new Set<(state: ConnectionState) => void>()
  private readonly errorListeners = new Set<(error: ClientError) => void>()
  private readonly namespaceListeners = new Set<
    (ns: NamespaceName, state: ConnectionState) => void
  >()
  private aggregate: ConnectionState = 'disconnected'
  private closed = false
  /** Bumped on every drop or refusal; a reconnect refreshes the token when behind. */
  private refreshWanted = 0
  private refreshDone = 0
  private refreshing: Promise<void> | null = null
  private readonly onlineHandler: (() => void) | null = null

  constructor(options: RealtimeClientOptions = {}) {
    this.url = options.url ?? defaultUrl()
    this.path = options.path ?? '/socket.io/'
    this.token = options.token ?? null
    this.refreshToken = options.refreshToken
    this.backoffOptions = options.backoff ?? {}
    // Validate the backoff settings up front rather than on the first drop.
    new Backoff(this.backoffOptions)
    this.maxReconnectAttempts = options.maxReconnectAttempts ?? Number.POSITIVE_INFINITY
    this.ackTimeout = options.ackTimeout ?? 10_000
    this.refreshTimeout = options.refreshTimeout ?? 10_000
    this.lingerMs = options.lingerMs ?? 1000
    this.socketFactory = options.socketFactory ?? createSocketFactory()
    this.logger = options.logger ?? { debug: () => {}, warn: (...a) => console.warn(...a) }
    const target = globalThis as { addEventListener?: (t: string, l: () => void) => void }
    if ((options.reconnectOnOnline ?? true) && typeof target.addEventListener === 'function') {
      this.onlineHandler = () => this.reconnectNow()
      target.addEventListener('online', this.onlineHandler)
    }
  }

  /* --- state --- */

  /** Overall state of the namespaces in use: the worst of them. */
  get state(): ConnectionState {
    return this.aggregate
  }

  namespaceState(ns: NamespaceName): ConnectionState {
    return this.conns.get(ns)?.state ?? 'disconnected'
  }

  /** Calls `listener` now and on every change of the overall state. */
  onStateChange(listener: (state: ConnectionState) => void, immediate = true): Unsubscribe {
    this.stateListeners.add(listener)
    if (immediate) listener(this.aggregate)
    return () => this.stateListeners.delete(listener)
  }

  /** Every change of one namespace's state. */
  onNamespaceStateChange(
    listener: (ns: NamespaceName, state: ConnectionState) => void,
  ): Unsubscribe {
    this.namespaceListeners.add(listener)
    return () => this.namespaceListeners.delete(listener)
  }

  onError(listener: (error: ClientError) => void): Unsubscribe {
    this.errorListeners.add(listener)
    return () => this.errorListeners.delete(listener)
  }

  /** The last offset and epoch seen on a channel (what a resubscribe asks `since`). */
  position(channel: string): { epoch: string | null; offset: number } | undefined {
    return this.tracker.get(channel)
  }

  getToken(): string | null {
    return this.token
  }

  /** Used from the next (re)connect on; an open connection keeps its identity. */
  setToken(token: string | null): void {
    this.token = token
  }

  /* --- messages --- */

  /** Every delivered message of `type`, from any namespace. */
  on(type: string, listener: (env: Envelope) => void): Unsubscribe {
    let set = this.typeListeners.get(type)
    if (!set) {
      set = new Set()
      this.typeListeners.set(type, set)
    }
    set.add(listener)
    return () => {
      set.delete(listener)
      if (set.size === 0) this.typeListeners.delete(type)
    }
  }

  /** Every delivered message. */
  onMessage(listener: (env: Envelope) => void): Unsubscribe {
    this.anyListeners.add(listener)
    return () => this.anyListeners.delete(listener)
  }

  /* --- namespaces --- */

  /**
   * Keeps a namespace connected until the returned function is called. `/monitor` and
   * `/system` need nothing more: the server joins their channel on connect.
   */
  retain(ns: NamespaceName): Unsubscribe {
    if (this.closed) throw new Error('RealtimeClient is closed')
    const conn = this.connection(ns)
    conn.refs += 1
    if (conn.lingerTimer) {
      clearTimeout(conn.lingerTimer)
      conn.lingerTimer = null
    }
    if (conn.refs === 1 && !conn.socket.connected && !conn.opening && !conn.timer) this.open(conn)
    else this.updateAggregate()
    let released = false
    return () => {
      if (released) return
      released = true
      conn.refs -= 1
      if (conn.refs > 0 || this.closed) return
      this.updateAggregate()
      if (this.lingerMs <= 0) {
        this.shut(conn)
        return
      }
      conn.lingerTimer = setTimeout(() => {
        conn.lingerTimer = null
        if (conn.refs === 0) this.shut(conn)
      }, this.lingerMs)
    }
  }

  /** Reconnects every dropped namespace now, skipping the backoff delay. */
  reconnectNow(): void {
    for (const conn of this.conns.values()) {
      if (conn.refs === 0 || conn.socket.connected) continue
      if (conn.timer) clearTimeout(conn.timer)
      conn.timer = null
      conn.backoff.reset()
      if (!conn.opening) this.setState(conn, conn.everConnected ? 'reconnecting' : 'connecting')
      this.openSocket(conn)
    }
  }

  /**
   * The underlying socket of a namespace, for diagnostics and tests (e.g. dropping the
   * transport with `socket.io.engine.close()`).
   */
  socketOf(ns: NamespaceName): SocketLike | undefined {
    return this.conns.get(ns)?.socket
  }

  /* --- subscriptions --- */

  subscribe(
    ns: SubscribableNamespace,
    id: string,
    options: SubscribeOptions = {},
  ): SubscriptionHandle {
    if (this.closed) throw new Error('RealtimeClient is closed')
    if (!isSubscribable(ns)) throw new TypeError(`namespace /${String(ns)} takes no subscribe`)
    if (!isValidId(id)) throw new TypeError(`invalid ${ns} id: ${JSON.stringify(id)}`)
    const channel = channelOf(ns, id)
    let sub = this.subs.get(channel)
    const joining = sub !== undefined
    if (!sub) {
      sub = {
        ns,
        id,
        channel,
        subscribers: new Set(),
        seq: 0,
        sentEvents: undefined,
        ack: null,
        retryTimer: null,
      }
      this.subs.set(channel, sub)
    }
    const record: SubscriberRecord = {
      events: options.events && options.events.length > 0 ? [...options.events] : null,
      onMessage: options.onMessage,
      onAck: options.onAck,
      // The server sends the state once per connection: a second subscriber of the
      // same id fetches its own copy after joining.
      needsState: joining,
    }
    const ready = new Promise<SubscribeResult>((resolve) => {
      record.resolveReady = resolve
    })
    sub.subscribers.add(record)
    const release = this.retain(ns)
    const conn = this.connection(ns)
    if (sub.ack?.ok && sameEvents(sub.sentEvents, this.eventsOf(sub))) {
      // Already joined with a filter that covers this subscriber: nothing to send.
      this.settle(sub, record, sub.ack)
    } else if (conn.socket.connected && !sub.retryTimer) {
      this.sendSubscribe(sub)
    }
    // Not connected: the connect handler subscribes everything of the namespace.

    let done = false
    const client = this
    const theSub = sub
    return {
      namespace: ns,
      id,
      channel,
      ready,
      get lastAck() {
        return theSub.ack
      },
      unsubscribe() {
        if (done) return
        done = true
        record.resolveReady?.({ ok: false, error: 'unsubscribed' })
        record.resolveReady = undefined
        theSub.subscribers.delete(record)
        if (theSub.subscribers.size === 0) client.dropSubscription(theSub)
        release()
      },
    }
  }

  /** The channel's state message (`get_status`), or the gateway's `error` envelope. */
  getStatus(ns: SubscribableNamespace, id: string): Promise<Envelope> {
    if (!isValidId(id)) return Promise.reject(new TypeError(`invalid ${ns} id`))
    return this.request(ns, 'get_status', { id }).then((res) => this.asEnvelope(res))
  }

  /** Kept log lines of an execution (`request_logs`), oldest first. */
  requestLogs(
    executionId: string,
    options: { since?: number; limit?: number } = {},
  ): Promise<Envelope<ExecutionLogsData>> {
    if (!isValidId(executionId)) return Promise.reject(new TypeError('invalid execution id'))
    const payload: Record<string, unknown> = { execution_id: executionId }
    if (options.since !== undefined) payload.since = options.since
    if (options.limit !== undefined) payload.limit = options.limit
    return this.request('execution', 'request_logs', payload).then(
      (res) => this.asEnvelope(res) as Envelope<ExecutionLogsData>,
    )
  }

  /**
   * Asks the platform to stop/restart an execution (`control_command` on /execution);
   * answered by `control_result` or an `error` envelope such as `not_supported`.
   */
  sendControlCommand(
    command: string,
    executionId: string,
    extra: Record<string, unknown> = {},
  ): Promise<Envelope<ControlResultData> | Envelope> {
    return this.request('execution', 'control_command', {
      ...extra,
      command,
      execution_id: executionId,
    }).then((res) => this.asEnvelope(res))
  }

  /** Resolves once the namespace is connected (retaining it meanwhile). */
  async whenConnected(ns: NamespaceName, timeoutMs = this.ackTimeout): Promise<void> {
    const release = this.retain(ns)
    try {
      await this.waitConnected(this.connection(ns), timeoutMs)
    } finally {
      release()
    }
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    for (const sub of this.subs.values()) {
      if (sub.retryTimer) clearTimeout(sub.retryTimer)
      for (const rec of sub.subscribers) rec.resolveReady?.({ ok: false, error: 'closed' })
    }
    this.subs.clear()
    for (const conn of this.conns.values()) {
      conn.refs = 0
      this.shut(conn)
    }
    if (this.onlineHandler) {
      const target = globalThis as { removeEventListener?: (t: string, l: () => void) => void }
      target.removeEventListener?.('online', this.onlineHandler)
    }
    this.updateAggregate()
  }

  get isClosed(): boolean {
    return this.closed
  }

  /* ----- internals ----------------------------------------------------------------- */

  private eventsOf(sub: ChannelSubscription): string[] | null {
    return unionEvents([...sub.subscribers].map((s) => s.events))
  }

  private connection(ns: NamespaceName): NamespaceConnection {
    let conn = this.conns.get(ns)
    if (conn) return conn
    const socket = this.socketFactory({
      url: this.url,
      path: this.path,
      namespace: ns,
      auth: (cb) => {
        void this.authPayload().then(cb)
      },
    })
    conn = {
      name: ns,
      socket,
      state: 'disconnected',
      refs: 0,
      everConnected: false,
      opening: false,
      timer: null,
      lingerTimer: null,
      backoff: new Backoff(this.backoffOptions),
      lastError: null,
    }
    const c = conn
    socket.on('connect', () => this.handleConnect(c))
    socket.on('disconnect', (reason: unknown) => this.handleDisconnect(c, String(reason)))
    socket.on('connect_error', (err: unknown) => this.handleConnectError(c, err))
    socket.onAny((event: string, ...args: unknown[]) => this.handleIncoming(c, event, args[0]))
    this.conns.set(ns, conn)
    return conn
  }

  private async authPayload(): Promise<Record<string, unknown>> {
    if (this.refreshToken && this.refreshDone < this.refreshWanted) {
      await this.refreshOnce()
    }
    return this.token ? { token: this.token } : {}
  }

  /** One refresh at a time, shared by all namespaces reconnecting after one drop. */
  private refreshOnce(): Promise<void> {
    if (!this.refreshing && this.refreshToken) {
      const generation = this.refreshWanted
      this.refreshing = withTimeout(this.refreshToken(), this.refreshTimeout)
        .then((token) => {
          if (typeof token === 'string' && token) this.token = token
        })
        .catch((err: unknown) => {
          this.emitError({ namespace: null, code: 'token_refresh_failed', detail: String(err) })
        })
        .finally(() => {
          this.refreshDone = Math.max(this.refreshDone, generation)
          this.refreshing = null
        })
    }
    return this.refreshing ?? Promise.resolve()
  }

  private open(conn: NamespaceConnection): void {
    conn.backoff.reset()
    this.setState(conn, conn.everConnected ? 'reconnecting' : 'connecting')
    this.openSocket(conn)
  }

  private openSocket(conn: NamespaceConnection): void {
    if (this.closed || conn.refs === 0 || conn.socket.connected || conn.opening) return
    conn.opening = true
    // Another namespace's reconnect already reopened the shared transport, and
    // socket.io sent this namespace's CONNECT when it opened. A second CONNECT
    // would be refused by the server and leave the socket deaf.
    if (conn.socket.active && conn.socket.io?._readyState === 'open') return
    conn.socket.connect()
  }

  private shut(conn: NamespaceConnection): void {
    if (conn.timer) clearTimeout(conn.timer)
    if (conn.lingerTimer) clearTimeout(conn.lingerTimer)
    conn.timer = null
    conn.lingerTimer = null
    conn.opening = false
    conn.socket.disconnect()
    this.setState(conn, 'disconnected')
  }

  private scheduleReconnect(conn: NamespaceConnection): void {
    if (this.closed || conn.refs === 0 || conn.timer) return
    if (conn.backoff.attempts >= this.maxReconnectAttempts) {
      conn.lastError = 'gave_up'
      this.setState(conn, 'disconnected')
      this.emitError({ namespace: conn.name, code: 'gave_up' })
      return
    }
    const delay = conn.backoff.next()
    this.logger.debug(`realtime: /${conn.name} reconnect in ${delay} ms`)
    conn.timer = setTimeout(() => {
      conn.timer = null
      this.openSocket(conn)
    }, delay)
  }

  private handleConnect(conn: NamespaceConnection): void {
    conn.opening = false
    if (conn.refs === 0 || this.closed) {
      conn.socket.disconnect()
      return
    }
    if (conn.everConnected) this.stats.reconnects += 1
    conn.everConnected = true
    conn.lastError = null
    conn.backoff.reset()
    this.setState(conn, 'connected')
    for (const sub of this.subs.values()) {
      if (sub.ns !== conn.name) continue
      if (sub.retryTimer) clearTimeout(sub.retryTimer)
      sub.retryTimer = null
      this.sendSubscribe(sub)
    }
  }

  private handleDisconnect(conn: NamespaceConnection, reason: string): void {
    conn.opening = false
    if (this.closed || conn.refs === 0 || reason === 'io client disconnect') {
      this.setState(conn, 'disconnected')
      return
    }
    this.refreshWanted += 1
    this.setState(conn, 'reconnecting')
    this.scheduleReconnect(conn)
  }

  private handleConnectError(conn: NamespaceConnection, err: unknown): void {
    conn.opening = false
    if (this.closed || conn.refs === 0) return
    if (isUnauthorized(err)) {
      conn.lastError = 'unauthorized'
      this.emitError({ namespace: conn.name, code: 'unauthorized' })
      if (!this.refreshToken) {
        // Retrying the same token cannot succeed; the app must setToken + reconnectNow.
        this.setState(conn, 'disconnected')
        return
      }
      this.refreshWanted += 1
    } else {
      conn.lastError = err instanceof Error ? err.message : String(err)
    }
    this.setState(conn, conn.everConnected ? 'reconnecting' : 'connecting')
    this.scheduleReconnect(conn)
  }

  private sendSubscribe(sub: ChannelSubscription): void {
    const conn = this.conns.get(sub.ns)
    if (!conn?.socket.connected || this.subs.get(sub.channel) !== sub) return
    sub.seq += 1
    const seq = sub.seq
    const request: SubscribeRequest = { id: sub.id }
    const position = this.tracker.get(sub.channel)
    if (position) {
      request.since = position.offset
      if (position.epoch !== null) request.epoch = position.epoch
    }
    const events = this.eventsOf(sub)
    if (events) request.events = events
    sub.sentEvents = events
    conn.socket
      .timeout(this.ackTimeout)
      .emit('subscribe', request, (err: unknown, res: unknown) => {
        if (seq !== sub.seq || this.subs.get(sub.channel) !== sub) return
        if (err) {
          // A lost ack while still connected is retried; after a drop the connect
          // handler resubscribes anyway.
          if (conn.socket.connected && !sub.retryTimer) {
            this.emitError({ namespace: sub.ns, code: 'subscribe_timeout', channel: sub.channel })
            sub.retryTimer = setTimeout(() => {
              sub.retryTimer = null
              this.sendSubscribe(sub)
            }, 1000)
          }
          return
        }
        const result: SubscribeResult = isSubscribeResult(res)
          ? res
          : { ok: false, error: 'invalid_ack' }
        if (result.ok) {
          this.tracker.noteAck(sub.channel, result.epoch ?? null, result.offset ?? null)
        } else {
          this.emitError({ namespace: sub.ns, code: result.error, channel: sub.channel })
        }
        sub.ack = result
        for (const rec of [...sub.subscribers]) this.settle(sub, rec, result)
      })
  }

  private settle(sub: ChannelSubscription, rec: SubscriberRecord, result: SubscribeResult): void {
    rec.resolveReady?.(result)
    rec.resolveReady = undefined
    this.safely(() => rec.onAck?.(result))
    if (result.ok && rec.needsState) {
      rec.needsState = false
      void this.replayState(sub, rec)
    }
  }

  private async replayState(sub: ChannelSubscription, rec: SubscriberRecord): Promise<void> {
    const onMessage = rec.onMessage
    if (!onMessage) return
    try {
      const env = await this.getStatus(sub.ns, sub.id)
      if (env.type === 'error' || !sub.subscribers.has(rec)) return
      if (matchesEvents(env.type, rec.events)) this.safely(() => onMessage(env))
    } catch {
      // No state to show yet, or no answer: live messages will fill the view.
    }
  }

  private dropSubscription(sub: ChannelSubscription): void {
    if (sub.retryTimer) clearTimeout(sub.retryTimer)
    sub.retryTimer = null
    sub.seq += 1
    this.subs.delete(sub.channel)
    // A later subscribe to this id is a new viewer: state and live, not old history.
    this.tracker.forget(sub.channel)
    const conn = this.conns.get(sub.ns)
    if (conn?.socket.connected) conn.socket.emit('unsubscribe', { id: sub.id })
  }

  private handleIncoming(conn: NamespaceConnection, event: string, payload: unknown): void {
    if (!isEnvelope(payload)) {
      this.stats.invalid += 1
      this.logger.debug(`realtime: /${conn.name} sent a non-envelope ${event}`)
      return
    }
    const env = normalizeEnvelope(payload, event)
    if (env.channel && SUBSCRIBABLE_CHANNEL.test(env.channel) && !this.subs.has(env.channel)) {
      this.stats.stray += 1
      return
    }
    const verdict = this.tracker.accept(env)
    if (!verdict.deliver) {
      this.stats.duplicates += 1
      return
    }
    if (verdict.reason === 'gap') this.stats.gaps += 1
    this.stats.received += 1
    const sub = env.channel ? this.subs.get(env.channel) : undefined
    if (sub) {
      for (const rec of [...sub.subscribers]) {
        if (rec.onMessage && matchesEvents(env.type, rec.events)) {
          const handler = rec.onMessage
          this.safely(() => handler(env))
        }
      }
    }
    const typed = this.typeListeners.get(env.type)
    if (typed) for (const l of [...typed]) this.safely(() => l(env))
    for (const l of [...this.anyListeners]) this.safely(() => l(env))
  }

  private safely(fn: () => void): void {
    try {
      fn()
    } catch (err) {
      this.logger.warn('realtime: a message handler threw', err)
    }
  }

  private async request(ns: NamespaceName, event: string, payload: unknown): Promise<unknown> {
    const release = this.retain(ns)
    try {
      const conn = this.connection(ns)
      await this.waitConnected(conn, this.ackTimeout)
      return await new Promise<unknown>((resolve, reject) => {
        conn.socket.timeout(this.ackTimeout).emit(event, payload, (err: unknown, res: unknown) => {
          if (err) reject(err instanceof Error ? err : new Error(`${event}: no acknowledgement`))
          else resolve(res)
        })
      })
    } finally {
      release()
    }
  }

  private asEnvelope(res: unknown): Envelope {
    if (!isEnvelope(res))
      throw new Error('the gateway answered with something other than an envelope')
    return normalizeEnvelope(res)
  }

  private waitConnected(conn: NamespaceConnection, timeoutMs: number): Promise<void> {
    if (conn.socket.connected) return Promise.resolve()
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        off()
        reject(new Error(`/${conn.name} not connected after ${timeoutMs} ms`))
      }, timeoutMs)
      const off = this.onNamespaceStateChange((ns) => {
        if (ns === conn.name && conn.socket.connected) {
          clearTimeout(timer)
          off()
          resolve()
        }
      })
    })
  }

  private setState(conn: NamespaceConnection, state: ConnectionState): void {
    const changed = conn.state !== state
    conn.state = state
    if (changed) {
      for (const l of [...this.namespaceListeners]) this.safely(() => l(conn.name, state))
    }
    this.updateAggregate()
  }

  private updateAggregate(): void {
    const states = [...this.conns.values()].filter((c) => c.refs > 0).map((c) => c.state)
    let next: ConnectionState
    if (this.closed || states.length === 0) next = 'disconnected'
    else if (states.includes('reconnecting')) next = 'reconnecting'
    else if (states.includes('connecting')) next = 'connecting'
    else if (states.every((s) => s === 'connected')) next = 'connected'
    else next = 'disconnected'
    if (next === this.aggregate) return
    this.aggregate = next
    for (const l of [...this.stateListeners]) this.safely(() => l(next))
  }

  private emitError(error: ClientError): void {
    this.logger.debug(`realtime: ${error.code}`, error)
    for (const l of [...this.errorListeners]) this.safely(() => l(error))
  }
}
