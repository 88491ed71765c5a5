"""Limits shared by every worker, kept in Redis: one contact per patient at a time, sends per second per
channel, and concurrent outbound calls.

Each is one atomic Redis step (SET NX, or a Lua script timed by the Redis server's own clock), so any number of
workers on any number of machines see one limit. The durable outreach log in the store backs them up: a lost
Redis loses the pacing for a moment, never the record of who was contacted.
"""

from __future__ import annotations

import redis

from receptionist.store import keys

# Reserve the next send slot: t = max(server now, next); next = t + interval; returns t - now (seconds to wait).
_RESERVE = """
local now_s = redis.call('TIME')
local now = tonumber(now_s[1]) + tonumber(now_s[2]) / 1000000
local interval = tonumber(ARGV[1])
local nxt = tonumber(redis.call('GET', KEYS[1]) or '0')
local t = math.max(now, nxt)
if t - now > tonumber(ARGV[2]) then
  return tostring(-(t - now))
end
redis.call('SET', KEYS[1], tostring(t + interval), 'EX', math.ceil(t - now + interval) + 60)
return tostring(t - now)
"""

# Take a concurrent-call slot if fewer than ARGV[1] are held (expired holders are dropped first).
_TAKE_SLOT = """
local now_s = redis.call('TIME')
local now = tonumber(now_s[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZSCORE', KEYS[1], ARGV[2]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[2])
  return 1
end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then
  return 0
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[2])
return 1
"""

# Release a patient's lock only if this attempt holds it.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class Limits:
    def __init__(self, client: redis.Redis) -> None:
        self.client = client
        self._reserve = client.register_script(_RESERVE)
        self._take = client.register_script(_TAKE_SLOT)
        self._release = client.register_script(_RELEASE)

    # -- one contact per patient at a time ------------------------------------------------------------------
    def lock_patient(self, patient_id: str, attempt_id: str, seconds: int) -> bool:
        """True when this attempt now holds the patient (or already did); False when another attempt does."""
        key = keys.outreach_patient_lock(patient_id)
        if self.client.set(key, attempt_id, nx=True, ex=seconds):
            return True
        holder = self.client.get(key)
        if holder is not None and _text(holder) == attempt_id:
            self.client.expire(key, seconds)
            return True
        return False

    def unlock_patient(self, patient_id: str, attempt_id: str) -> None:
        self._release(keys=[keys.outreach_patient_lock(patient_id)], args=[attempt_id])

    def patient_holder(self, patient_id: str) -> str | None:
        raw = self.client.get(keys.outreach_patient_lock(patient_id))
        return None if raw is None else _text(raw)

    # -- sends per second ----------------------------------------------------------------------------------
    def reserve_send(self, channel: str, per_second: float, max_wait_s: float) -> float | None:
        """Reserve the channel's next send slot: seconds to wait before sending, or None when the next free
        slot is further away than `max_wait_s` (nothing reserved; try again later)."""
        interval = 1.0 / per_second if per_second > 0 else 0.0
        wait = float(self._reserve(keys=[keys.outreach_next_slot(channel)], args=[interval, max_wait_s]))
        return None if wait < 0 else wait

    # -- concurrent calls ----------------------------------------------------------------------------------
    def take_call_slot(self, attempt_id: str, limit: int, seconds: int) -> bool:
        return bool(self._take(keys=[keys.outreach_active_calls()], args=[limit, attempt_id, seconds]))

    def free_call_slot(self, attempt_id: str) -> None:
        self.client.zrem(keys.outreach_active_calls(), attempt_id)

    def active_calls(self) -> int:
        return int(self.client.zcard(keys.outreach_active_calls()))


def _text(raw: bytes | str) -> str:
    return raw.decode() if isinstance(raw, bytes) else raw
