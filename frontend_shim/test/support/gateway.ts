/** Helpers for tests against a real gateway (integration and browser). */

export function baseUrl(name = 'REALTIME_BASE_URL'): string {
  const url = process.env[name]
  if (!url) {
    throw new Error(
      `${name} is not set: these tests need a running gateway ` +
        '(uv run pytest tests/frontend starts one and sets it)',
    )
  }
  return url.replace(/\/+$/, '')
}

export interface Publication {
  channel?: string
  channels?: string[]
  type: string
  data: Record<string, unknown>
  message?: string
  state?: boolean
}

export interface PublishResult {
  results: { channel: string; offset: number | null; stale?: boolean }[]
}

export async function publish(
  base: string,
  body: Publication | Publication[],
): Promise<PublishResult> {
  const res = await fetch(`${base}/api/publish`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  const text = await res.text()
  if (res.status !== 200) throw new Error(`POST /api/publish answered ${res.status}: ${text}`)
  return JSON.parse(text) as PublishResult
}

let counter = 0

/** A channel id of this test run alone: the gateway is shared by every test. */
export function uniqueId(prefix: string): string {
  counter += 1
  return `${prefix}-${Date.now().toString(36)}-${process.pid}-${counter}`
}

export async function waitFor(
  predicate: () => boolean,
  what: string,
  timeoutMs = 10_000,
  intervalMs = 10,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!predicate()) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, intervalMs))
  }
}

export function logLine(
  executionId: string,
  n: number,
  extra: Record<string, unknown> = {},
): Publication {
  return {
    channel: `execution:${executionId}`,
    type: 'log_entry',
    data: {
      execution_id: executionId,
      level: 'info',
      message: `line ${n}`,
      step_name: 'build',
      source: 'test',
      ...extra,
    },
  }
}

/** HS256 JWT signed with node:crypto (what Django SimpleJWT issues). */
export async function signJwt(secret: string, claims: Record<string, unknown>): Promise<string> {
  const { createHmac } = await import('node:crypto')
  const b64 = (v: object | Buffer) =>
    (Buffer.isBuffer(v) ? v : Buffer.from(JSON.stringify(v))).toString('base64url')
  const head = b64({ alg: 'HS256', typ: 'JWT' })
  const body = b64(claims)
  const sig = createHmac('sha256', secret).update(`${head}.${body}`).digest()
  return `${head}.${body}.${b64(sig)}`
}
