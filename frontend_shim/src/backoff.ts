export interface BackoffOptions {
  /** Delay before the first retry, in ms. */
  initialDelay: number
  /** Upper bound of any delay, in ms. */
  maxDelay: number
  /** Growth per attempt. */
  factor: number
  /**
   * Spread around the exponential delay, 0..1: 0.5 gives [0.5 d, 1.5 d]. Jitter keeps
   * thousands of browsers that lost the same gateway from reconnecting in lockstep.
   */
  jitter: number
  /** Injected for deterministic tests. */
  random: () => number
}

export const DEFAULT_BACKOFF: BackoffOptions = {
  initialDelay: 1000,
  maxDelay: 30_000,
  factor: 2,
  jitter: 0.5,
  random: Math.random,
}

/** Exponential backoff with jitter; `reset()` after a successful connection. */
export class Backoff {
  readonly options: BackoffOptions
  private attempt = 0

  constructor(options: Partial<BackoffOptions> = {}) {
    this.options = { ...DEFAULT_BACKOFF, ...options }
    const { initialDelay, maxDelay, factor, jitter } = this.options
    if (!(initialDelay >= 0) || !(maxDelay >= initialDelay) || !(factor >= 1)) {
      throw new RangeError('backoff needs 0 <= initialDelay <= maxDelay and factor >= 1')
    }
    if (!(jitter >= 0 && jitter <= 1)) throw new RangeError('backoff jitter must be within 0..1')
  }

  /** How many delays were handed out since the last reset. */
  get attempts(): number {
    return this.attempt
  }

  /** The un-jittered delay of attempt `n` (0-based). */
  baseDelay(n: number): number {
    const { initialDelay, maxDelay, factor } = this.options
    return Math.min(maxDelay, initialDelay * Math.pow(factor, n))
  }

  next(): number {
    const base = this.baseDelay(this.attempt)
    this.attempt += 1
    const { jitter, random, maxDelay } = this.options
    const r = Math.min(Math.max(random(), 0), 1)
    const delay = base * (1 - jitter + 2 * jitter * r)
    return Math.round(Math.min(maxDelay, Math.max(0, delay)))
  }

  reset(): void {
    this.attempt = 0
  }
}
