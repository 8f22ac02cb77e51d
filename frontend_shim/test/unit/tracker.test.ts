import { describe, expect, it } from 'vitest'

import { ChannelTracker } from '../../src/tracker'

const at = (channel: string, offset: number | null, epoch: string | null = 'e1') => ({
  channel,
  offset,
  epoch,
})

describe('ChannelTracker', () => {
  it('delivers increasing offsets and drops repeats', () => {
    const t = new ChannelTracker()
    expect(t.accept(at('execution:1', 1))).toEqual({ deliver: true, reason: 'first' })
    expect(t.accept(at('execution:1', 2))).toEqual({ deliver: true, reason: 'next' })
    expect(t.accept(at('execution:1', 2))).toEqual({ deliver: false, reason: 'duplicate' })
    expect(t.accept(at('execution:1', 1))).toEqual({ deliver: false, reason: 'duplicate' })
    expect(t.accept(at('execution:1', 5))).toEqual({ deliver: true, reason: 'gap' })
    expect(t.get('execution:1')).toEqual({ epoch: 'e1', offset: 5 })
  })

  it('keeps channels apart', () => {
    const t = new ChannelTracker()
    t.accept(at('execution:1', 7))
    expect(t.accept(at('execution:2', 1)).deliver).toBe(true)
    expect(t.accept(at('system', 1)).deliver).toBe(true)
    expect(t.accept(at('system', 1)).deliver).toBe(false)
  })

  it('starts over when the epoch changes', () => {
    const t = new ChannelTracker()
    t.accept(at('execution:1', 40))
    expect(t.accept(at('execution:1', 1, 'e2'))).toEqual({ deliver: true, reason: 'epoch' })
    expect(t.accept(at('execution:1', 2, 'e2')).deliver).toBe(true)
    expect(t.get('execution:1')).toEqual({ epoch: 'e2', offset: 2 })
  })

  it('never tracks the gateway-own messages', () => {
    const t = new ChannelTracker()
    expect(t.accept(at('monitor', null, null))).toEqual({ deliver: true, reason: 'untracked' })
    expect(t.accept(at('monitor', null, null)).deliver).toBe(true)
    expect(t.accept({ channel: null, offset: 3, epoch: 'e1' }).reason).toBe('untracked')
    expect(t.get('monitor')).toBeUndefined()
  })

  it('moves forward on an ack, never back', () => {
    const t = new ChannelTracker()
    t.noteAck('execution:1', 'e1', 10)
    expect(t.get('execution:1')).toEqual({ epoch: 'e1', offset: 10 })
    t.accept(at('execution:1', 12))
    t.noteAck('execution:1', 'e1', 11)
    expect(t.get('execution:1')).toEqual({ epoch: 'e1', offset: 12 })
    t.noteAck('execution:1', 'e9', 3)
    expect(t.get('execution:1')).toEqual({ epoch: 'e9', offset: 3 })
    t.noteAck('execution:1', 'e9', null)
    expect(t.get('execution:1')).toEqual({ epoch: 'e9', offset: 3 })
  })

  it('forgets a channel', () => {
    const t = new ChannelTracker()
    t.accept(at('execution:1', 3))
    t.forget('execution:1')
    expect(t.get('execution:1')).toBeUndefined()
    expect(t.accept(at('execution:1', 1)).deliver).toBe(true)
  })
})
