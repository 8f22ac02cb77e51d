"""What the Redis backend and the Redis publisher share: keys, scripts, arguments.

A channel's keys share the hash tag ``{channel}`` so that one script touches
one cluster slot:

- ``P:{C}:meta``   hash: ``epoch``, ``offset``, ``state`` (a message's JSON) and
  ``version`` (the state's version)
- ``P:{C}:history`` stream of the kept messages; entry id ``0-OFFSET``, fields
  ``m`` (the message's JSON) and ``t`` (when it was stored, in ms)
- ``P:{C}:idem:K`` the first answer to idempotency key K

Every stored message is also PUBLISHed to ``P:messages`` as ``C`` NUL JSON, so a
process can route it by channel name before decoding it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from realtime import SERVICE_NAME
from realtime.bus.backend import PublishResult, new_epoch
from realtime.protocol.envelope import dumps, utc_timestamp
from realtime.protocol.publication import PublishItem

# The offset and epoch are only known inside the script, so the message's
# JSON arrives in two halves that the script joins around them. The halves
# keep the envelope's field order: type, channel, offset, epoch, timestamp...
PUBLISH = """
local meta, history = KEYS[1], KEYS[2]
local idem = KEYS[3]
local head, tail, is_state, version = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local size, ttl, idem_ttl = ARGV[5], tonumber(ARGV[6]), tonumber(ARGV[7])
local fresh_epoch, now_ms, topic, channel = ARGV[8], ARGV[9], ARGV[10], ARGV[11]

if idem then
  local seen = redis.call('GET', idem)
  if seen then return {'seen', seen} end
end

local epoch = redis.call('HGET', meta, 'epoch')
if not epoch then
  -- A new generation: whatever history is left belongs to the old one.
  epoch = fresh_epoch
  redis.call('DEL', history)
  redis.call('HSET', meta, 'epoch', epoch, 'offset', 0)
end

if is_state == '1' and version ~= '' then
  local current = redis.call('HGET', meta, 'version')
  if current and tonumber(version) < tonumber(current) then
    if idem then redis.call('SET', idem, 'stale', 'EX', idem_ttl) end
    return {'stale'}
  end
end

local offset = redis.call('HINCRBY', meta, 'offset', 1)
local json = head .. offset .. ',"epoch":"' .. epoch .. '"' .. tail
redis.call('XADD', history, 'MAXLEN', size, '0-' .. offset, 'm', json, 't', now_ms)
if is_state == '1' then
  redis.call('HSET', meta, 'state', json)
  if version ~= '' then redis.call('HSET', meta, 'version', version) end
end
redis.call('EXPIRE', meta, ttl)
redis.call('EXPIRE', history, ttl)
if idem then redis.call('SET', idem, offset, 'EX', idem_ttl) end
redis.call('PUBLISH', topic, channel .. '\\0' .. json)
return {'ok', offset}
"""

READ = """
local meta, history = KEYS[1], KEYS[2]
local fresh_epoch, ttl, since = ARGV[1], tonumber(ARGV[2]), ARGV[3]

local epoch = redis.call('HGET', meta, 'epoch')
if not epoch then
  -- Fix the epoch now, so a subscriber that comes before the first
  -- publication recovers from it afterwards.
  epoch = fresh_epoch
  redis.call('DEL', history)
  redis.call('HSET', meta, 'epoch', epoch, 'offset', 0)
  redis.call('EXPIRE', meta, ttl)
end
local offset = redis.call('HGET', meta, 'offset')
local state = redis.call('HGET', meta, 'state') or ''
local entries = {}
if since ~= '' then
  entries = redis.call('XRANGE', history, '(0-' .. since, '+')
end
return {epoch, offset, state, entries}
"""


@dataclass(frozen=True, slots=True)
class Keys:
    prefix: str

    @property
    def topic(self) -> str:
        return f"{self.prefix}:messages"

    def meta(self, channel: str) -> str:
        return f"{self.prefix}:{{{channel}}}:meta"

    def history(self, channel: str) -> str:
        return f"{self.prefix}:{{{channel}}}:history"

    def idempotency(self, channel: str, key: str) -> str:
        return f"{self.prefix}:{{{channel}}}:idem:{key}"


@dataclass(frozen=True, slots=True)
class Limits:
    history_size: int
    history_ttl: int
    idempotency_ttl: int


def publish_call(
    keys: Keys, limits: Limits, item: PublishItem
) -> tuple[list[str], list[str | int]]:
    """KEYS and ARGV of :data:`PUBLISH` for one item."""
    channel = item.channel.name
    head = dumps({"type": item.type, "channel": channel})[:-1] + ',"offset":'
    rest: dict[str, object] = {
        "timestamp": utc_timestamp(),
        "service": SERVICE_NAME,
        "data": item.data,
    }
    if item.message is not None:
        rest["message"] = item.message
    tail = "," + dumps(rest)[1:]
    script_keys = [keys.meta(channel), keys.history(channel)]
    if item.idempotency_key is not None:
        script_keys.append(keys.idempotency(channel, item.idempotency_key))
    args: list[str | int] = [
        head,
        tail,
        "1" if item.state else "0",
        "" if item.version is None else str(item.version),
        limits.history_size,
        limits.history_ttl,
        limits.idempotency_ttl,
        new_epoch(),
        int(time.time() * 1000),
        keys.topic,
        channel,
    ]
    return script_keys, args


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def publish_result(channel: str, reply: list[object]) -> PublishResult:
    """Turn :data:`PUBLISH`'s reply into a result."""
    status = _text(reply[0])
    if status == "ok":
        return PublishResult(channel, int(_text(reply[1])))
    if status == "stale":
        return PublishResult(channel, None, stale=True)
    first = _text(reply[1])  # an earlier answer to the same idempotency key
    if first == "stale":
        return PublishResult(channel, None, stale=True)
    return PublishResult(channel, int(first))
