export { Backoff, DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js'
export {
  RealtimeClient,
  createSocketFactory,
  type AuthCallback,
  type ClientError,
  type ClientStats,
  type RealtimeClientOptions,
  type SocketFactory,
  type SocketFactoryOptions,
  type SocketLike,
  type SubscribeOptions,
  type SubscriptionHandle,
} from './client.js'
export {
  ID_PATTERN,
  NAMESPACES,
  channelOf,
  isEnvelope,
  isValidId,
  matchesEvents,
  unionEvents,
} from './envelope.js'
export {
  DEFAULT_MAX_LOG_LINES,
  ExecutionModel,
  type ExecutionSnapshot,
  type LogLine,
  type StepView,
} from './execution.js'
export { flattenNumeric, formatMetric, type NumericField } from './metrics.js'
export {
  ChannelTracker,
  type AcceptReason,
  type AcceptVerdict,
  type ChannelPosition,
} from './tracker.js'
export * from './types.js'
export { realtimeProxy, type RealtimeProxyEntry } from './vite.js'
