import type { Envelope, NamespaceName, SubscribeResult, SubscribableNamespace } from './types.js'

/** An id is 1 to 64 characters of `A-Z a-z 0-9 _ -` (contract: Channels). */
export const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/

export const NAMESPACES: readonly NamespaceName[] = [
  'monitor',
  'system',
  'pipeline',
  'execution',
  'project',
]

export const SUBSCRIBABLE: readonly SubscribableNamespace[] = ['pipeline', 'execution', 'project']

export function isSubscribable(ns: NamespaceName): ns is SubscribableNamespace {
  return (SUBSCRIBABLE as readonly string[]).includes(ns)
}

export function isValidId(id: unknown): id is string {
  return typeof id === 'string' && ID_PATTERN.test(id)
}

export function channelOf(ns: SubscribableNamespace, id: string): string {
  return `${ns}:${id}`
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * Accepts what the gateway sends and rejects anything else, so one malformed frame
 * from a misbehaving server cannot throw inside a UI handler.
 */
export function isEnvelope(value: unknown): value is Envelope {
  if (!isObject(value)) return false
  if (typeof value.type !== 'string') return false
  if (!isObject(value.data)) return false
  if (value.offset !== null && value.offset !== undefined && typeof value.offset !== 'number') {
    return false
  }
  return true
}

/** Fills optional fields so handlers can rely on the envelope's full shape. */
export function normalizeEnvelope(value: Envelope, fallbackType?: string): Envelope {
  return {
    ...value,
    type: value.type || fallbackType || 'unknown',
    channel: typeof value.channel === 'string' ? value.channel : null,
    offset: typeof value.offset === 'number' ? value.offset : null,
    epoch: typeof value.epoch === 'string' ? value.epoch : null,
    timestamp: typeof value.timestamp === 'string' ? value.timestamp : '',
    service: typeof value.service === 'string' ? value.service : '',
  }
}

export function isSubscribeResult(value: unknown): value is SubscribeResult {
  return isObject(value) && typeof value.ok === 'boolean'
}

/**
 * Whether a message of `type` passes an `events` filter, with the gateway's aliases:
 * `status_update` stands for every type containing status, update or progress, and
 * `log_update` for every type containing log. No filter (or an empty one) passes all.
 */
export function matchesEvents(type: string, events: readonly string[] | null | undefined): boolean {
  if (!events || events.length === 0) return true
  for (const wanted of events) {
    if (wanted === type) return true
    if (
      wanted === 'status_update' &&
      (type.includes('status') || type.includes('update') || type.includes('progress'))
    ) {
      return true
    }
    if (wanted === 'log_update' && type.includes('log')) return true
  }
  return false
}

/**
 * Union of several subscribers' filters: null (everything) as soon as one of them wants
 * everything, so sharing one server subscription never hides a message from anyone.
 */
export function unionEvents(
  filters: readonly (readonly string[] | null | undefined)[],
): string[] | null {
  const out = new Set<string>()
  for (const f of filters) {
    if (!f || f.length === 0) return null
    for (const e of f) out.add(e)
  }
  return out.size === 0 ? null : [...out].sort()
}
