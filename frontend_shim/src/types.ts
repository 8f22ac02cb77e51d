/**
 * Wire types of the realtime gateway (see the project's contract): the envelope every
 * message arrives in, the subscribe acknowledgement, and the payloads the platform's
 * execution, monitor and system channels carry.
 */

/** The Socket.IO namespaces the gateway serves, one per channel family. */
export type NamespaceName = 'monitor' | 'system' | 'pipeline' | 'execution' | 'project'

/** Namespaces whose channels carry an id and need an explicit `subscribe`. */
export type SubscribableNamespace = 'pipeline' | 'execution' | 'project'

export type ConnectionState = 'connecting' | 'connected' | 'disconnected' | 'reconnecting'

export type Data = Record<string, unknown>

/** Every message from the gateway, on both protocols. */
export interface Envelope<D extends object = Data> {
  type: string
  /** `execution:42`, `monitor`, `system`, `user:7`; null on some gateway-own replies. */
  channel: string | null
  /** Per-channel sequence number; null for what the gateway says on its own. */
  offset: number | null
  /** Generation of the channel's history; offsets restart when it changes. */
  epoch: string | null
  timestamp: string
  service: string
  data: D
  message?: string
}

export interface SubscribeAck {
  ok: true
  channel: string
  offset: number | null
  epoch: string | null
  /** null when no `since` was sent, false when history could not cover the gap. */
  recovered: boolean | null
}

export interface SubscribeNack {
  ok: false
  error: string
}

export type SubscribeResult = SubscribeAck | SubscribeNack

export interface SubscribeRequest {
  id: string
  since?: number
  epoch?: string
  events?: string[]
}

/* ----- payloads ------------------------------------------------------------------ */

export type StepStatus = 'pending' | 'running' | 'success' | 'failed' | 'skipped' | string

export interface ExecutionStepData {
  step_id?: string | number
  id?: string | number
  step_name?: string
  name?: string
  status?: StepStatus
  order?: number
  execution_time?: number | null
  output?: string | null
  error_message?: string | null
  [key: string]: unknown
}

/** `execution_status` (the channel's state) and `execution_update`. */
export interface ExecutionStatusData {
  execution_id: string
  status: string
  pipeline_name?: string
  steps?: ExecutionStepData[]
  total_steps?: number
  completed_steps?: number
  current_step?: string | number | null
  [key: string]: unknown
}

export interface StepProgressData {
  execution_id?: string
  step_id: string | number
  step_name: string
  status: StepStatus
  execution_time?: number | null
  output?: string | null
  error_message?: string | null
  [key: string]: unknown
}

export type LogLevel = 'info' | 'success' | 'warning' | 'error' | 'debug' | string

export interface LogEntryData {
  execution_id?: string
  level: LogLevel
  message: string
  step_name?: string | null
  source?: string | null
  [key: string]: unknown
}

export interface SystemNotificationData {
  level: 'info' | 'warning' | 'error' | 'success' | string
  title: string
  message: string
  [key: string]: unknown
}

export interface ConnectionCounts {
  socketio?: number
  websocket?: number
  total?: number
  [key: string]: unknown
}

export interface SystemStatusData {
  status: string
  active_connections?: number
  connections?: ConnectionCounts
  [key: string]: unknown
}

export interface SystemMetricsData {
  connections?: Record<string, unknown>
  messages_per_second?: number
  memory_rss_bytes?: number
  cpu_percent?: number
  [key: string]: unknown
}

export interface PipelineUpdateData {
  pipeline_id: string
  status: string
  progress?: number
  [key: string]: unknown
}

/** `data` of the `execution_logs` answer to `request_logs`. */
export interface ExecutionLogsData {
  execution_id?: string
  logs: LogEntryData[]
  offset: number | null
  /** True when more lines follow `offset` than `limit` allowed. */
  more?: boolean
  [key: string]: unknown
}

/** `data` of `control_result`: the backend's HTTP status and JSON answer. */
export interface ControlResultData {
  ok: boolean
  status: number | null
  detail: unknown
  [key: string]: unknown
}
