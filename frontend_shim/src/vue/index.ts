import {
  computed,
  getCurrentScope,
  hasInjectionContext,
  inject,
  onScopeDispose,
  readonly,
  ref,
  shallowRef,
  toValue,
  triggerRef,
  watch,
  type App,
  type ComputedRef,
  type InjectionKey,
  type MaybeRefOrGetter,
  type Ref,
  type ShallowRef,
} from 'vue'

import { RealtimeClient, type RealtimeClientOptions, type SubscriptionHandle } from '../client.js'
import { isValidId } from '../envelope.js'
import {
  DEFAULT_MAX_LOG_LINES,
  ExecutionModel,
  LOG_TYPES,
  type ExecutionSnapshot,
  type LogLine,
  type StepView,
} from '../execution.js'
import { flattenNumeric, type NumericField } from '../metrics.js'
import type {
  ConnectionState,
  Envelope,
  LogEntryData,
  SubscribeResult,
  SystemMetricsData,
  SystemNotificationData,
  SystemStatusData,
} from '../types.js'

export type { ExecutionSnapshot, LogLine, StepView } from '../execution.js'
export type { NumericField } from '../metrics.js'

/* ----- providing the client ------------------------------------------------------- */

export const RealtimeClientKey: InjectionKey<RealtimeClient> = Symbol('realtime-client')

let defaultClient: RealtimeClient | null = null

/** The client composables use outside a component tree that provides one. */
export function setDefaultRealtimeClient(client: RealtimeClient | null): void {
  defaultClient = client
}

export interface RealtimePlugin {
  client: RealtimeClient
  install(app: App): void
}

/** `app.use(createRealtime({ token }))` provides one client to every component. */
export function createRealtime(
  clientOrOptions: RealtimeClient | RealtimeClientOptions = {},
): RealtimePlugin {
  const client =
    clientOrOptions instanceof RealtimeClient
      ? clientOrOptions
      : new RealtimeClient(clientOrOptions)
  return {
    client,
    install(app: App) {
      app.provide(RealtimeClientKey, client)
    },
  }
}

export function useRealtimeClient(): RealtimeClient {
  const provided = hasInjectionContext() ? inject(RealtimeClientKey, null) : null
  const client = provided ?? defaultClient
  if (!client) {
    throw new Error(
      'no realtime client: app.use(createRealtime(...)) or setDefaultRealtimeClient(client)',
    )
  }
  return client
}

/** Runs `fn` when the calling component unmounts (or its effect scope stops). */
function onCleanup(fn: () => void): void {
  if (getCurrentScope()) onScopeDispose(fn)
}

/* ----- connection state ----------------------------------------------------------- */

export function useConnectionState(
  client: RealtimeClient = useRealtimeClient(),
): Readonly<Ref<ConnectionState>> {
  const state = ref<ConnectionState>(client.state)
  const off = client.onStateChange((s) => {
    state.value = s
  })
  onCleanup(off)
  return readonly(state)
}

/** Calls `handler` for every delivered message of `type` until unmount. */
export function useRealtimeEvent<D extends object = Record<string, unknown>>(
  type: string,
  handler: (env: Envelope<D>) => void,
  client: RealtimeClient = useRealtimeClient(),
): () => void {
  const off = client.on(type, handler as (env: Envelope) => void)
  onCleanup(off)
  return off
}

/* ----- execution ------------------------------------------------------------------ */

export interface UseExecutionOptions {
  client?: RealtimeClient
  /** Log lines kept (oldest dropped first). Default 1000. */
  maxLogLines?: number
  /**
   * Fetch kept log lines (`request_logs`) when joining and after a reconnect that could
   * not recover, so a viewer arriving mid-run sees the run's log. Default true.
   */
  backfillLogs?: boolean
}

export interface UseExecutionResult {
  /** The id being followed (null while the given id is empty or invalid). */
  executionId: Readonly<Ref<string | null>>
  status: ComputedRef<string | null>
  snapshot: Readonly<ShallowRef<ExecutionSnapshot | null>>
  steps: Readonly<ShallowRef<readonly StepView[]>>
  logs: Readonly<ShallowRef<readonly LogLine[]>>
  /** True once the gateway acknowledged the subscription. */
  subscribed: Readonly<Ref<boolean>>
  /** The last acknowledgement's `recovered` (null for a fresh join). */
  recovered: Readonly<Ref<boolean | null>>
  error: Readonly<Ref<string | null>>
  /** Asks the gateway for the state again (`get_status`). */
  refresh(): Promise<void>
}

const MAX_BACKFILL_PAGES = 5

/**
 * Follows one execution: reactive status, steps and the last `maxLogLines` log lines.
 * `id` may be a ref or getter; changing it switches the subscription. Everything is
 * released when the calling component unmounts.
 */
export function useExecution(
  id: MaybeRefOrGetter<string | number | null | undefined>,
  options: UseExecutionOptions = {},
): UseExecutionResult {
  const client = options.client ?? useRealtimeClient()
  const maxLogLines = options.maxLogLines ?? DEFAULT_MAX_LOG_LINES
  const executionId = ref<string | null>(null)
  const snapshot = shallowRef<ExecutionSnapshot | null>(null)
  const steps = shallowRef<readonly StepView[]>([])
  const logs = shallowRef<LogLine[]>([])
  const subscribed = ref(false)
  const recovered = ref<boolean | null>(null)
  const error = ref<string | null>(null)

  let handle: SubscriptionHandle | null = null
  let model: ExecutionModel | null = null
  /** Live log lines held back while a backfill is in flight, to merge them in order. */
  let backfill: { pending: Envelope[] } | null = null

  function publishSnapshot(m: ExecutionModel): void {
    snapshot.value = { ...m.snapshot }
    steps.value = m.steps
  }

  function publishLogs(m: ExecutionModel): void {
    if (logs.value !== m.logs) logs.value = m.logs
    else triggerRef(logs)
  }

  function onMessage(m: ExecutionModel, env: Envelope): void {
    if (model !== m) return
    if (backfill && LOG_TYPES.has(env.type)) {
      backfill.pending.push(env)
      return
    }
    const changed = m.apply(env)
    if (changed === 'log') publishLogs(m)
    else if (changed) publishSnapshot(m)
  }

  async function runBackfill(
    m: ExecutionModel,
    ack: Extract<SubscribeResult, { ok: true }>,
  ): Promise<void> {
    if (backfill) return
    const token = { pending: [] as Envelope[] }
    backfill = token
    const epoch = ack.epoch ?? null
    const lines: LogEntryData[] = []
    let last: number | null = null
    try {
      let since = m.lastLogOffset(epoch) ?? 0
      for (let page = 0; page < MAX_BACKFILL_PAGES; page++) {
        const answer = await client.requestLogs(m.executionId, { since, limit: maxLogLines })
        if (answer.type === 'error' || !Array.isArray(answer.data.logs)) break
        const got = answer.data.logs.filter((l) => typeof l === 'object' && l !== null)
        lines.push(...got)
        const offset = typeof answer.data.offset === 'number' ? answer.data.offset : null
        if (offset !== null) last = offset
        // `more` (when the gateway says it) or a short page ends the walk.
        const more = answer.data.more
        if (more === false || offset === null || offset <= since) break
        if (more !== true && got.length < maxLogLines) break
        since = offset
      }
    } catch {
      // An old gateway without request_logs: live lines only.
    } finally {
      if (backfill === token && model === m) {
        backfill = null
        const keep = lines.slice(-maxLogLines)
        keep.forEach((data, i) => {
          // Only the last line's offset is known; it is what the next backfill asks since.
          const isLast = i === keep.length - 1
          m.appendLog(data, isLast && last !== null ? { offset: last, epoch } : {})
        })
        for (const env of token.pending) {
          const covered =
            last !== null && env.epoch === epoch && env.offset !== null && env.offset <= last
          if (!covered) m.apply(env)
        }
        publishLogs(m)
      }
    }
  }

  function onAck(m: ExecutionModel, result: SubscribeResult): void {
    if (model !== m) return
    if (!result.ok) {
      subscribed.value = false
      error.value = result.error
      return
    }
    error.value = null
    subscribed.value = true
    recovered.value = result.recovered
    if (options.backfillLogs !== false && result.recovered !== true) void runBackfill(m, result)
  }

  function stop(): void {
    handle?.unsubscribe()
    handle = null
    model = null
    backfill = null
    subscribed.value = false
    recovered.value = null
  }

  function start(nextId: string): void {
    const m = new ExecutionModel(nextId, maxLogLines)
    model = m
    backfill = null
    subscribed.value = false
    recovered.value = null
    executionId.value = nextId
    error.value = null
    snapshot.value = { ...m.snapshot }
    steps.value = m.steps
    logs.value = m.logs
    handle = client.subscribe('execution', nextId, {
      onMessage: (env) => onMessage(m, env),
      onAck: (res) => onAck(m, res),
    })
  }

  watch(
    () => toValue(id),
    (raw) => {
      const next = raw === null || raw === undefined ? '' : String(raw).trim()
      if (isValidId(next)) {
        // Join the new id before leaving the old one, so the namespace stays connected.
        const previous = handle
        handle = null
        start(next)
        previous?.unsubscribe()
        return
      }
      stop()
      if (!next) {
        executionId.value = null
        snapshot.value = null
        steps.value = []
        logs.value = []
        error.value = null
        return
      }
      executionId.value = null
      snapshot.value = null
      steps.value = []
      logs.value = []
      error.value = 'invalid_id'
    },
    { immediate: true },
  )
  onCleanup(stop)

  async function refresh(): Promise<void> {
    const m = model
    if (!m) return
    const env = await client.getStatus('execution', m.executionId)
    if (model !== m) return
    if (env.type === 'error') {
      const code = env.data.code
      if (code !== 'no_state') error.value = typeof code === 'string' ? code : 'error'
      return
    }
    if (m.apply(env)) publishSnapshot(m)
  }

  return {
    executionId: readonly(executionId),
    status: computed(() => snapshot.value?.status ?? null),
    snapshot,
    steps,
    logs,
    subscribed: readonly(subscribed),
    recovered: readonly(recovered),
    error: readonly(error),
    refresh,
  }
}

/* ----- monitor -------------------------------------------------------------------- */

export interface MetricsSample {
  timestamp: string
  values: Record<string, number>
}

export interface UseMonitorOptions {
  client?: RealtimeClient
  /** `system_metrics` samples kept for charts. Default 60. */
  historySize?: number
  /** Other messages published to `monitor` kept, newest first. Default 50. */
  maxEvents?: number
}

export interface UseMonitorResult {
  /** The `system_status` sent on connect. */
  status: Readonly<ShallowRef<SystemStatusData | null>>
  /** The latest `system_metrics`. */
  metrics: Readonly<ShallowRef<SystemMetricsData | null>>
  /** Every numeric field of the latest metrics, dotted keys. */
  numericMetrics: ComputedRef<NumericField[]>
  history: Readonly<ShallowRef<readonly MetricsSample[]>>
  /** Anything else published to the global feed, newest first. */
  events: Readonly<ShallowRef<readonly Envelope[]>>
  lastUpdate: Readonly<Ref<string | null>>
}

/** Follows `/monitor`: the gateway's status, its periodic metrics, and the global feed. */
export function useMonitor(options: UseMonitorOptions = {}): UseMonitorResult {
  const client = options.client ?? useRealtimeClient()
  const historySize = options.historySize ?? 60
  const maxEvents = options.maxEvents ?? 50
  const status = shallowRef<SystemStatusData | null>(null)
  const metrics = shallowRef<SystemMetricsData | null>(null)
  const history = shallowRef<readonly MetricsSample[]>([])
  const events = shallowRef<readonly Envelope[]>([])
  const lastUpdate = ref<string | null>(null)

  const release = client.retain('monitor')
  const off = client.onMessage((env) => {
    if (env.type === 'system_status') {
      status.value = env.data as SystemStatusData
      lastUpdate.value = env.timestamp
    } else if (env.type === 'system_metrics') {
      metrics.value = env.data as SystemMetricsData
      lastUpdate.value = env.timestamp
      const values: Record<string, number> = {}
      for (const f of flattenNumeric(env.data)) values[f.key] = f.value
      history.value = [...history.value, { timestamp: env.timestamp, values }].slice(-historySize)
    } else if (env.channel === 'monitor') {
      events.value = [env, ...events.value].slice(0, maxEvents)
    }
  })
  onCleanup(() => {
    off()
    release()
  })
  return {
    status,
    metrics,
    numericMetrics: computed(() => flattenNumeric(metrics.value ?? {})),
    history,
    events,
    lastUpdate: readonly(lastUpdate),
  }
}

/* ----- system notices ------------------------------------------------------------- */

export interface SystemNotice extends SystemNotificationData {
  key: string
  timestamp: string
  channel: string | null
}

export interface UseSystemNoticesOptions {
  client?: RealtimeClient
  /** Notices kept, newest first. Default 50. */
  max?: number
}

export interface UseSystemNoticesResult {
  notices: Readonly<ShallowRef<readonly SystemNotice[]>>
  dismiss(key: string): void
  clear(): void
}

/**
 * `system_notification`s, newest first: the `system` channel's, and a user's own
 * (`user:{id}`), from whichever namespace delivers them first.
 */
export function useSystemNotices(options: UseSystemNoticesOptions = {}): UseSystemNoticesResult {
  const client = options.client ?? useRealtimeClient()
  const max = options.max ?? 50
  const notices = shallowRef<readonly SystemNotice[]>([])
  let seq = 0
  const release = client.retain('system')
  const off = client.on('system_notification', (env) => {
    seq += 1
    const d = env.data as Partial<SystemNotificationData>
    const notice: SystemNotice = {
      ...d,
      key: env.offset !== null ? `${env.channel}:${env.epoch}:${env.offset}` : `local:${seq}`,
      level: typeof d.level === 'string' ? d.level : 'info',
      title: typeof d.title === 'string' ? d.title : '',
      message: typeof d.message === 'string' ? d.message : (env.message ?? ''),
      timestamp: env.timestamp,
      channel: env.channel,
    }
    notices.value = [notice, ...notices.value].slice(0, max)
  })
  onCleanup(() => {
    off()
    release()
  })
  return {
    notices,
    dismiss(key: string) {
      notices.value = notices.value.filter((n) => n.key !== key)
    },
    clear() {
      notices.value = []
    },
  }
}
