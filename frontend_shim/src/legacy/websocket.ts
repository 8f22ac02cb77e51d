/**
 * Drop-in replacement for the platform's old `services/websocket.ts`, with the same
 * shape (a global `wsService` dispatching on `type` and handing handlers `data`, and a
 * per-execution `PipelineExecutionWebSocket`), built on the Socket.IO client so it
 * gains recovery, de-duplication and token refresh. Swap the import; the call sites stay.
 */
import { RealtimeClient, type RealtimeClientOptions, type SubscriptionHandle } from '../client.js'
import { DEFAULT_MAX_LOG_LINES } from '../execution.js'
import type {
  ConnectionState,
  ControlResultData,
  Envelope,
  LogEntryData,
  StepProgressData,
  SystemNotificationData,
} from '../types.js'

/** The old frontend's names for the new gateway's types. */
export const LEGACY_RENAMES: Readonly<Record<string, string>> = {
  execution_status: 'execution_update',
  step_progress: 'step_update',
  log_entry: 'log_update',
}

export function legacyType(type: string): string {
  return LEGACY_RENAMES[type] ?? type
}

export type WebSocketMessageType =
  | 'execution_update'
  | 'step_update'
  | 'log_update'
  | 'error_update'
  | 'tool_status'
  | 'jenkins_event'
  | 'system_notification'
  | (string & {})

/** What handlers registered with `subscribe`-style methods of the old service saw. */
export interface WebSocketMessage {
  type: WebSocketMessageType
  data: any
  /** The new envelope it came from (channel, offset, epoch, timestamp). */
  envelope?: Envelope
}

export interface ExecutionUpdateMessage {
  execution_id: string | number
  status: string
  pipeline_name?: string
  steps?: unknown[]
  total_steps?: number
  completed_steps?: number
  current_step?: string | number | null
  [key: string]: unknown
}

export type StepUpdateMessage = StepProgressData
export type LogUpdateMessage = LogEntryData
export type SystemNotificationMessage = SystemNotificationData

type DataHandler<T> = (data: T) => void
type MessageHandler = (message: WebSocketMessage) => void

/** The token the old frontend kept in localStorage, read afresh on every (re)connect. */
function storedToken(): string | null {
  try {
    const storage = (globalThis as { localStorage?: Storage }).localStorage
    return storage?.getItem('authToken') ?? null
  } catch {
    return null
  }
}

let sharedClient: RealtimeClient | null = null

/**
 * The client both legacy classes use unless handed one: one WebSocket for the global
 * service and every execution view, with the old `authToken` from localStorage.
 */
export function getSharedClient(options: RealtimeClientOptions = {}): RealtimeClient {
  if (!sharedClient || sharedClient.isClosed) {
    sharedClient = new RealtimeClient({
      token: storedToken(),
      refreshToken: async () => storedToken(),
      ...options,
    })
  }
  return sharedClient
}

/** Installs the client the legacy classes share (e.g. one configured with a url). */
export function setSharedClient(client: RealtimeClient | null): void {
  sharedClient = client
}

class HandlerRegistry {
  private readonly handlers = new Map<string, MessageHandler[]>()

  add(type: string, handler: MessageHandler): () => void {
    const list = this.handlers.get(type) ?? []
    list.push(handler)
    this.handlers.set(type, list)
    return () => {
      const current = this.handlers.get(type)
      if (!current) return
      const i = current.indexOf(handler)
      if (i > -1) current.splice(i, 1)
    }
  }

  dispatch(message: WebSocketMessage): void {
    for (const handler of [...(this.handlers.get(message.type) ?? [])]) {
      try {
        handler(message)
      } catch (error) {
        console.error(`Error in WebSocket message handler for type ${message.type}:`, error)
      }
    }
  }

  clear(): void {
    this.handlers.clear()
  }
}

function toLegacy(env: Envelope): WebSocketMessage {
  return { type: legacyType(env.type), data: env.data, envelope: env }
}

export interface ControlCommandResult {
  ok: boolean
  status: number | null
  detail: unknown
  /** Set when the gateway refused (e.g. `not_supported`) or did not answer. */
  error?: string
}

async function control(
  client: RealtimeClient,
  command: string,
  executionId: string | number,
): Promise<ControlCommandResult> {
  try {
    const env = await client.sendControlCommand(command, String(executionId))
    if (env.type === 'control_result') {
      const d = env.data as ControlResultData
      return { ok: Boolean(d.ok), status: d.status ?? null, detail: d.detail ?? null }
    }
    const code = (env.data as { code?: unknown }).code
    return {
      ok: false,
      status: null,
      detail: env.data,
      error: typeof code === 'string' ? code : env.type,
    }
  } catch (err) {
    return { ok: false, status: null, detail: String(err), error: 'no_answer' }
  }
}

/* ----- the global service --------------------------------------------------------- */

export class WebSocketService {
  private readonly handlers = new HandlerRegistry()
  private readonly executions = new Map<string, SubscriptionHandle>()
  private releases: (() => void)[] = []
  private client: RealtimeClient | null

  constructor(client?: RealtimeClient) {
    this.client = client ?? null
  }

  private get rt(): RealtimeClient {
    this.client ??= getSharedClient()
    return this.client
  }

  /** Joins `/monitor` and `/system` (the old global socket's feed). Idempotent. */
  connect(): void {
    if (this.releases.length > 0) return
    const rt = this.rt
    this.releases = [
      rt.retain('monitor'),
      rt.retain('system'),
      rt.onMessage((env) => {
        // Execution messages reach the global handlers only for subscribed ids, as
        // the old subscribe_execution did.
        if (env.channel?.startsWith('execution:') && !this.executions.has(env.channel.slice(10))) {
          return
        }
        this.handlers.dispatch(toLegacy(env))
      }),
    ]
  }

  /** Leaves everything and forgets all handlers, like the old `disconnect`. */
  disconnect(): void {
    for (const handle of this.executions.values()) handle.unsubscribe()
    this.executions.clear()
    for (const release of this.releases) release()
    this.releases = []
    this.handlers.clear()
  }

  isConnected(): boolean {
    return this.releases.length > 0 && this.rt.state === 'connected'
  }

  getConnectionState(): ConnectionState {
    return this.client?.state ?? 'disconnected'
  }

  onConnectionChange(handler: (state: ConnectionState) => void): () => void {
    return this.rt.onStateChange(handler)
  }

  /** Any message type, after the old renames; the handler gets `data`. */
  on<T = any>(type: string, handler: DataHandler<T>): () => void {
    return this.handlers.add(type, (m) => handler(m.data as T))
  }

  onExecutionUpdate(handler: DataHandler<ExecutionUpdateMessage>): () => void {
    return this.on('execution_update', handler)
  }

  onStepUpdate(handler: DataHandler<StepUpdateMessage>): () => void {
    return this.on('step_update', handler)
  }

  onLogUpdate(handler: DataHandler<LogUpdateMessage>): () => void {
    return this.on('log_update', handler)
  }

  onErrorUpdate(
    handler: DataHandler<{ execution_id: string | number; error_message: string }>,
  ): () => void {
    return this.on('error_update', handler)
  }

  onToolStatus(
    handler: DataHandler<{ toolId: number; isOnline: boolean; message?: string }>,
  ): () => void {
    return this.on('tool_status', handler)
  }

  onJenkinsEvent(handler: DataHandler<Record<string, unknown>>): () => void {
    return this.on('jenkins_event', handler)
  }

  onSystemNotification(handler: DataHandler<SystemNotificationMessage>): () => void {
    return this.on('system_notification', handler)
  }

  subscribeExecution(executionId: string | number): void {
    const id = String(executionId)
    if (this.executions.has(id)) return
    this.connect()
    this.executions.set(id, this.rt.subscribe('execution', id))
  }

  unsubscribeExecution(executionId: string | number): void {
    const id = String(executionId)
    this.executions.get(id)?.unsubscribe()
    this.executions.delete(id)
  }

  /** The old method names. */
  subscribeToExecution(executionId: string | number): void {
    this.subscribeExecution(executionId)
  }

  unsubscribeFromExecution(executionId: string | number): void {
    this.unsubscribeExecution(executionId)
  }

  sendControlCommand(command: string, executionId: string | number): Promise<ControlCommandResult> {
    return control(this.rt, command, executionId)
  }

  stopExecution(executionId: string | number): Promise<ControlCommandResult> {
    return this.sendControlCommand('stop', executionId)
  }

  restartExecution(executionId: string | number): Promise<ControlCommandResult> {
    return this.sendControlCommand('restart', executionId)
  }
}

/* ----- one execution -------------------------------------------------------------- */

export interface PipelineExecutionWebSocketOptions {
  client?: RealtimeClient
  /** Log lines kept for `getLogs()`. Default 1000. */
  maxLogLines?: number
  /**
   * How long `connect()` waits before it rejects, in ms (default 10 000). The
   * subscription stays: it joins, and delivers, once the gateway is reachable.
   */
  connectTimeout?: number
}

/**
 * Follows one execution. On every (re)connect it asks for the status (`get_status`)
 * and hands it to the `execution_update` handlers, as the old socket did on open.
 */
export class PipelineExecutionWebSocket {
  readonly executionId: string
  private readonly handlers = new HandlerRegistry()
  private readonly maxLogLines: number
  private readonly connectTimeout: number
  private readonly logLines: LogUpdateMessage[] = []
  private handle: SubscriptionHandle | null = null
  private client: RealtimeClient | null

  constructor(executionId: string | number, options: PipelineExecutionWebSocketOptions = {}) {
    this.executionId = String(executionId)
    this.client = options.client ?? null
    this.maxLogLines = options.maxLogLines ?? DEFAULT_MAX_LOG_LINES
    this.connectTimeout = options.connectTimeout ?? 10_000
  }

  private get rt(): RealtimeClient {
    this.client ??= getSharedClient()
    return this.client
  }

  /** Resolves on the first acknowledged subscription; rejects if the gateway refuses. */
  async connect(): Promise<void> {
    if (!this.handle) {
      this.handle = this.rt.subscribe('execution', this.executionId, {
        onMessage: (env) => this.deliver(env),
        onAck: (result) => {
          if (result.ok) void this.requestStatus()
        },
      })
    }
    let timer: ReturnType<typeof setTimeout> | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new Error(
              `execution ${this.executionId}: not subscribed after ${this.connectTimeout} ms`,
            ),
          ),
        this.connectTimeout,
      )
    })
    try {
      const first = await Promise.race([this.handle.ready, timeout])
      if (!first.ok)
        throw new Error(`subscribe to execution ${this.executionId} refused: ${first.error}`)
    } finally {
      clearTimeout(timer)
    }
  }

  disconnect(): void {
    this.handle?.unsubscribe()
    this.handle = null
    this.handlers.clear()
  }

  isConnected(): boolean {
    return this.handle !== null && this.rt.namespaceState('execution') === 'connected'
  }

  private deliver(env: Envelope): void {
    const message = toLegacy(env)
    if (message.type === 'log_update') {
      this.logLines.push(env.data as LogUpdateMessage)
      if (this.logLines.length > this.maxLogLines) {
        this.logLines.splice(0, this.logLines.length - this.maxLogLines)
      }
    }
    this.handlers.dispatch(message)
  }

  private async requestStatus(): Promise<void> {
    try {
      const env = await this.rt.getStatus('execution', this.executionId)
      // `no_state`: nothing published for this execution yet; nothing to show.
      if (env.type !== 'error') this.handlers.dispatch(toLegacy(env))
    } catch {
      // No answer: the subscription's own state message already covers it.
    }
  }

  /** The last `maxLogLines` log lines received. */
  getLogs(): readonly LogUpdateMessage[] {
    return this.logLines
  }

  on<T = any>(type: string, handler: DataHandler<T>): () => void {
    return this.handlers.add(type, (m) => handler(m.data as T))
  }

  onExecutionUpdate(handler: DataHandler<ExecutionUpdateMessage>): () => void {
    return this.on('execution_update', handler)
  }

  onStepUpdate(handler: DataHandler<StepUpdateMessage>): () => void {
    return this.on('step_update', handler)
  }

  onLogUpdate(handler: DataHandler<LogUpdateMessage>): () => void {
    return this.on('log_update', handler)
  }

  sendControlCommand(command: string): Promise<ControlCommandResult> {
    return control(this.rt, command, this.executionId)
  }

  stopExecution(): Promise<ControlCommandResult> {
    return this.sendControlCommand('stop')
  }

  restartExecution(): Promise<ControlCommandResult> {
    return this.sendControlCommand('restart')
  }
}

/** Created lazily: importing this module opens nothing. */
export const wsService = new WebSocketService()
export default wsService
