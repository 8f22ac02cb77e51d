import { describe, expect, it } from 'vitest'

import {
  isEnvelope,
  isValidId,
  matchesEvents,
  normalizeEnvelope,
  unionEvents,
} from '../../src/envelope'
import { realtimeProxy } from '../../src/vite'

describe('matchesEvents', () => {
  it('passes everything without a filter', () => {
    expect(matchesEvents('log_entry', null)).toBe(true)
    expect(matchesEvents('log_entry', [])).toBe(true)
  })

  it('knows the status_update and log_update aliases', () => {
    for (const t of ['execution_status', 'execution_update', 'step_progress', 'pipeline_update']) {
      expect(matchesEvents(t, ['status_update'])).toBe(true)
    }
    expect(matchesEvents('log_entry', ['status_update'])).toBe(false)
    expect(matchesEvents('log_entry', ['log_update'])).toBe(true)
    expect(matchesEvents('execution_logs', ['log_update'])).toBe(true)
    expect(matchesEvents('system_notification', ['log_update'])).toBe(false)
    expect(matchesEvents('system_notification', ['system_notification'])).toBe(true)
  })
})

describe('unionEvents', () => {
  it('is everything as soon as one subscriber wants everything', () => {
    expect(unionEvents([['log_update'], null])).toBeNull()
    expect(unionEvents([['log_update'], []])).toBeNull()
    expect(unionEvents([])).toBeNull()
  })

  it('merges and sorts filters', () => {
    expect(unionEvents([['log_update'], ['status_update', 'log_update']])).toEqual([
      'log_update',
      'status_update',
    ])
  })
})

describe('envelopes and ids', () => {
  it('accepts envelopes and rejects other values', () => {
    expect(isEnvelope({ type: 'x', data: {}, offset: 1 })).toBe(true)
    expect(isEnvelope({ type: 'x', data: {}, offset: null })).toBe(true)
    expect(isEnvelope({ type: 'x', data: [] })).toBe(false)
    expect(isEnvelope({ type: 'x', data: {}, offset: '1' })).toBe(false)
    expect(isEnvelope({ data: {} })).toBe(false)
    expect(isEnvelope('x')).toBe(false)
    expect(isEnvelope(null)).toBe(false)
  })

  it('fills missing fields', () => {
    const env = normalizeEnvelope({ type: '', data: {} } as never, 'pong')
    expect(env).toMatchObject({
      type: 'pong',
      channel: null,
      offset: null,
      epoch: null,
      timestamp: '',
    })
  })

  it('validates ids as the gateway does', () => {
    expect(isValidId('42')).toBe(true)
    expect(isValidId('a-B_9')).toBe(true)
    expect(isValidId('x'.repeat(64))).toBe(true)
    expect(isValidId('x'.repeat(65))).toBe(false)
    expect(isValidId('')).toBe(false)
    expect(isValidId('4 2')).toBe(false)
    expect(isValidId('42/..')).toBe(false)
    expect(isValidId(42)).toBe(false)
  })
})

describe('realtimeProxy', () => {
  it('proxies both protocols with upgrades to port 8001 by default', () => {
    expect(realtimeProxy()).toEqual({
      '/socket.io': { target: 'http://localhost:8001', ws: true, changeOrigin: true },
      '/ws': { target: 'http://localhost:8001', ws: true, changeOrigin: true },
    })
    expect(realtimeProxy('http://127.0.0.1:9000')['/ws']!.target).toBe('http://127.0.0.1:9000')
  })
})
