export interface NumericField {
  /** Dotted path, e.g. `connections.socketio`. */
  key: string
  value: number
}

/**
 * Every finite number in a (nested) object, with dotted keys. The gateway's metrics
 * payload may grow fields; a view built on this shows new ones without a release.
 */
export function flattenNumeric(
  value: unknown,
  prefix = '',
  depth = 0,
  out: NumericField[] = [],
): NumericField[] {
  if (depth > 4 || typeof value !== 'object' || value === null || Array.isArray(value)) return out
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    const key = prefix ? `${prefix}.${k}` : k
    if (typeof v === 'number' && Number.isFinite(v)) out.push({ key, value: v })
    else if (typeof v === 'object' && v !== null && !Array.isArray(v))
      flattenNumeric(v, key, depth + 1, out)
  }
  return out
}

/** Human-readable number for a metric, by its name's hint (bytes, percent, rate). */
export function formatMetric(key: string, value: number): string {
  if (/bytes$/.test(key)) {
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
    let v = value
    let i = 0
    while (Math.abs(v) >= 1024 && i < units.length - 1) {
      v /= 1024
      i += 1
    }
    return `${v.toFixed(i === 0 ? 0 : 1)} ${units[i]}`
  }
  if (/percent$/.test(key)) return `${value.toFixed(1)} %`
  if (Number.isInteger(value)) return value.toLocaleString('en-US')
  return value.toFixed(2)
}
