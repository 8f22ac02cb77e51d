import type { Envelope } from './types.js'

export interface ChannelPosition {
  epoch: string | null
  offset: number
}

export type AcceptReason =
  /** The gateway's own message (offset null): never tracked, always delivered. */
  | 'untracked'
  /** First message seen on this channel. */
  | 'first'
  /** Exactly the next offset. */
  | 'next'
  /** Later than the next offset: an `events` filter, or messages lost to the server. */
  | 'gap'
  /** The channel's history was lost and restarted under a new epoch. */
  | 'epoch'
  /** At or below the last offset seen in this epoch: already delivered. */
  | 'duplicate'

export interface AcceptVerdict {
  deliver: boolean
  reason: AcceptReason
}

/**
 * Remembers, per channel, the last offset and epoch delivered. It is what makes
 * recovery exactly-once on the client: a resubscribe asks `since` the remembered
 * offset, and anything replayed twice (a system notice reaching several namespaces,
 * a live message racing the replay) is dropped here.
 */
export class ChannelTracker {
  private readonly positions = new Map<string, ChannelPosition>()

  get(channel: string): ChannelPosition | undefined {
    const p = this.positions.get(channel)
    return p ? { ...p } : undefined
  }

  accept(env: Pick<Envelope, 'channel' | 'offset' | 'epoch'>): AcceptVerdict {
    if (env.offset === null || env.offset === undefined || !env.channel) {
      return { deliver: true, reason: 'untracked' }
    }
    const epoch = env.epoch ?? null
    const known = this.positions.get(env.channel)
    if (!known) {
      this.positions.set(env.channel, { epoch, offset: env.offset })
      return { deliver: true, reason: 'first' }
    }
    if (known.epoch !== epoch) {
      this.positions.set(env.channel, { epoch, offset: env.offset })
      return { deliver: true, reason: 'epoch' }
    }
    if (env.offset <= known.offset) return { deliver: false, reason: 'duplicate' }
    const reason: AcceptReason = env.offset === known.offset + 1 ? 'next' : 'gap'
    known.offset = env.offset
    return { deliver: true, reason }
  }

  /**
   * Records a subscribe acknowledgement. Its offset is the channel's offset when the
   * server joined us, so everything up to it was either sent before the ack or is
   * filtered out for us; remembering it keeps the next `since` from replaying those.
   */
  noteAck(channel: string, epoch: string | null, offset: number | null): void {
    if (offset === null || offset === undefined) return
    const known = this.positions.get(channel)
    if (!known || known.epoch !== epoch) {
      this.positions.set(channel, { epoch, offset })
      return
    }
    known.offset = Math.max(known.offset, offset)
  }

  forget(channel: string): void {
    this.positions.delete(channel)
  }

  clear(): void {
    this.positions.clear()
  }

  channels(): string[] {
    return [...this.positions.keys()]
  }
}
