import type {
  Envelope,
  ExecutionStatusData,
  ExecutionStepData,
  LogEntryData,
  StepProgressData,
} from './types.js'

/** One step as the execution view shows it. */
export interface StepView {
  step_id: string
  step_name: string
  status: string
  order: number
  execution_time: number | null
  output: string | null
  error_message: string | null
}

/** One log line, keyed by its channel position so lists can render it stably. */
export interface LogLine {
  key: string
  offset: number | null
  epoch: string | null
  timestamp: string
  level: string
  message: string
  step_name: string | null
  source: string | null
}

export interface ExecutionSnapshot {
  execution_id: string
  status: string | null
  pipeline_name: string | null
  total_steps: number | null
  completed_steps: number | null
  current_step: string | null
  /** Type and time of the last message applied. */
  last_type: string | null
  last_timestamp: string | null
}

export const DEFAULT_MAX_LOG_LINES = 1000

/** Types whose `data` is a whole-execution snapshot (old and new names). */
export const EXECUTION_SNAPSHOT_TYPES = new Set(['execution_status', 'execution_update'])
export const STEP_TYPES = new Set(['step_progress', 'step_update'])
export const LOG_TYPES = new Set(['log_entry', 'log_update', 'log_message'])

function str(value: unknown): string | null {
  if (value === null || value === undefined) return null
  return typeof value === 'string' ? value : String(value)
}

function num(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null
}

function stepIdOf(step: ExecutionStepData | StepProgressData, index: number): string {
  return (
    str(step.step_id) ?? str((step as ExecutionStepData).id) ?? str(step.step_name) ?? `#${index}`
  )
}

function toStepView(
  step: ExecutionStepData | StepProgressData,
  index: number,
  previous?: StepView,
): StepView {
  const s = step as ExecutionStepData
  return {
    step_id: stepIdOf(step, index),
    step_name: str(s.step_name) ?? str(s.name) ?? previous?.step_name ?? stepIdOf(step, index),
    status: str(s.status) ?? previous?.status ?? 'pending',
    order: num(s.order) ?? previous?.order ?? index,
    execution_time:
      'execution_time' in s ? num(s.execution_time) : (previous?.execution_time ?? null),
    output: 'output' in s ? str(s.output) : (previous?.output ?? null),
    error_message: 'error_message' in s ? str(s.error_message) : (previous?.error_message ?? null),
  }
}

/**
 * Folds an execution channel's messages into what a view shows. Plain data and no
 * framework, so the Vue composable, the legacy service and tests share it.
 */
export class ExecutionModel {
  snapshot: ExecutionSnapshot
  steps: StepView[] = []
  logs: LogLine[] = []
  private logSeq = 0

  constructor(
    readonly executionId: string,
    readonly maxLogLines: number = DEFAULT_MAX_LOG_LINES,
  ) {
    this.snapshot = ExecutionModel.emptySnapshot(executionId)
  }

  static emptySnapshot(executionId: string): ExecutionSnapshot {
    return {
      execution_id: executionId,
      status: null,
      pipeline_name: null,
      total_steps: null,
      completed_steps: null,
      current_step: null,
      last_type: null,
      last_timestamp: null,
    }
  }

  /** Applies one message; returns which part changed. */
  apply(env: Envelope): 'snapshot' | 'step' | 'log' | null {
    if (EXECUTION_SNAPSHOT_TYPES.has(env.type)) {
      this.applySnapshot(env.data as ExecutionStatusData, env)
      return 'snapshot'
    }
    if (STEP_TYPES.has(env.type)) {
      this.applyStep(env.data as StepProgressData, env)
      return 'step'
    }
    if (LOG_TYPES.has(env.type)) {
      this.appendLog(env.data as LogEntryData, env)
      return 'log'
    }
    return null
  }

  applySnapshot(data: ExecutionStatusData, env?: Pick<Envelope, 'type' | 'timestamp'>): void {
    const s = this.snapshot
    s.status = str(data.status) ?? s.status
    s.pipeline_name = str(data.pipeline_name) ?? s.pipeline_name
    if (Array.isArray(data.steps)) {
      const byId = new Map(this.steps.map((st) => [st.step_id, st]))
      this.steps = data.steps
        .filter((st): st is ExecutionStepData => typeof st === 'object' && st !== null)
        .map((st, i) => toStepView(st, i, byId.get(stepIdOf(st, i))))
        .sort((a, b) => a.order - b.order)
    }
    s.total_steps = num(data.total_steps) ?? (this.steps.length || s.total_steps)
    s.completed_steps = num(data.completed_steps) ?? this.countCompleted() ?? s.completed_steps
    if ('current_step' in data) s.current_step = str(data.current_step)
    this.touch(env)
  }

  applyStep(data: StepProgressData, env?: Pick<Envelope, 'type' | 'timestamp'>): void {
    const id = stepIdOf(data, this.steps.length)
    const index = this.steps.findIndex((st) => st.step_id === id)
    if (index >= 0) {
      const next = [...this.steps]
      next[index] = toStepView(data, index, this.steps[index])
      this.steps = next
    } else {
      this.steps = [...this.steps, toStepView(data, this.steps.length)]
    }
    if (this.snapshot.total_steps === null || this.snapshot.total_steps < this.steps.length) {
      this.snapshot.total_steps = this.steps.length
    }
    this.snapshot.completed_steps = this.countCompleted()
    if (str(data.status) === 'running') this.snapshot.current_step = str(data.step_name) ?? id
    this.touch(env)
  }

  appendLog(
    data: LogEntryData,
    env?: Partial<Pick<Envelope, 'offset' | 'epoch' | 'timestamp'>>,
  ): LogLine {
    this.logSeq += 1
    const offset = env?.offset ?? null
    const epoch = env?.epoch ?? null
    const line: LogLine = {
      key: offset !== null ? `${epoch ?? ''}:${offset}` : `local:${this.logSeq}`,
      offset,
      epoch,
      timestamp: env?.timestamp ?? str(data.timestamp) ?? '',
      level: str(data.level) ?? 'info',
      message: str(data.message) ?? '',
      step_name: str(data.step_name),
      source: str(data.source),
    }
    this.logs.push(line)
    if (this.logs.length > this.maxLogLines)
      this.logs.splice(0, this.logs.length - this.maxLogLines)
    return line
  }

  /** Highest log offset shown in `epoch`, the point a log backfill asks `since`. */
  lastLogOffset(epoch: string | null): number | null {
    for (let i = this.logs.length - 1; i >= 0; i--) {
      const line = this.logs[i]!
      if (line.offset !== null && line.epoch === epoch) return line.offset
    }
    return null
  }

  reset(): void {
    this.snapshot = ExecutionModel.emptySnapshot(this.executionId)
    this.steps = []
    this.logs = []
  }

  private countCompleted(): number | null {
    if (this.steps.length === 0) return null
    return this.steps.filter((st) => ['success', 'failed', 'skipped'].includes(st.status)).length
  }

  private touch(env?: Pick<Envelope, 'type' | 'timestamp'>): void {
    if (!env) return
    this.snapshot.last_type = env.type
    this.snapshot.last_timestamp = env.timestamp
  }
}
