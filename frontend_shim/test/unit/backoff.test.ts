import { describe, expect, it } from 'vitest'

import { Backoff } from '../../src/backoff'

describe('Backoff', () => {
  it('doubles from the initial delay up to the cap', () => {
    const b = new Backoff({
      initialDelay: 100,
      maxDelay: 1000,
      factor: 2,
      jitter: 0,
      random: () => 0.5,
    })
    expect([1, 2, 3, 4, 5, 6].map(() => b.next())).toEqual([100, 200, 400, 800, 1000, 1000])
    expect(b.attempts).toBe(6)
  })

  it('spreads each delay by ±jitter around the exponential value', () => {
    const low = new Backoff({ initialDelay: 1000, jitter: 0.5, random: () => 0 })
    const high = new Backoff({ initialDelay: 1000, jitter: 0.5, random: () => 1 })
    expect([low.next(), low.next(), low.next()]).toEqual([500, 1000, 2000])
    expect([high.next(), high.next(), high.next()]).toEqual([1500, 3000, 6000])
  })

  it('never exceeds maxDelay even with full jitter', () => {
    const b = new Backoff({ initialDelay: 1000, maxDelay: 5000, jitter: 1, random: () => 1 })
    for (let i = 0; i < 20; i++) expect(b.next()).toBeLessThanOrEqual(5000)
  })

  it('draws different delays for different random values (no lockstep)', () => {
    let r = 0
    const values = [0.1, 0.9]
    const a = new Backoff({ random: () => values[r++ % 2]! })
    expect(a.next()).not.toBe(a.next() / 2)
    const samples = new Set<number>()
    for (let i = 0; i < 50; i++) samples.add(new Backoff().next())
    expect(samples.size).toBeGreaterThan(10)
    for (const s of samples) {
      expect(s).toBeGreaterThanOrEqual(500)
      expect(s).toBeLessThanOrEqual(1500)
    }
  })

  it('starts over after reset', () => {
    const b = new Backoff({ initialDelay: 100, jitter: 0 })
    b.next()
    b.next()
    b.reset()
    expect(b.attempts).toBe(0)
    expect(b.next()).toBe(100)
  })

  it('rejects nonsense settings', () => {
    expect(() => new Backoff({ initialDelay: -1 })).toThrow(RangeError)
    expect(() => new Backoff({ initialDelay: 10, maxDelay: 5 })).toThrow(RangeError)
    expect(() => new Backoff({ factor: 0.5 })).toThrow(RangeError)
    expect(() => new Backoff({ jitter: 2 })).toThrow(RangeError)
  })
})
