"""Staff accounts: created from the command line, checked at sign-in, locked after repeated failures; and the
server side of their sign-in sessions.

Passwords are kept as werkzeug's scrypt hashes. Usernames are unique without regard to case, and sign-in
answers the same way, at the same cost, whether or not the name is an account: every attempt, for a real
account or not, takes one reservation from the same Redis counter (keyed by a hash of the lower-cased name)
and costs exactly one scrypt check (against a dummy hash when the name is unknown or locked). The reservation
is atomic (one Lua script), so parallel attempts never get more than `MAX_FAILURES` password checks in a
lock-out window.

Sessions are rows (`StaffSession`): the browser's cookie holds a random token, the store its SHA-256 and the
account's random uid. A session ends when it is deleted (sign-out, the account removed, its password
changed), `session_hours` after sign-in, or `idle_minutes` after its last request.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Any

import redis as redis_lib
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from receptionist.clock import utc
from receptionist.store import StaffSession, StaffUser, Store, keys
from receptionist.store.staff import FRONT_DESK, MANAGER, ROLES

MAX_FAILURES = 5
LOCK_MINUTES = 15
MIN_PASSWORD = 10
USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
# checked against when the username is unknown or locked, so every answer costs one scrypt
_DUMMY_HASH = generate_password_hash("not a password of anyone")
# a session's last request is written at most this often (a page load is not a write each time)
TOUCH_EVERY = dt.timedelta(seconds=30)

# KEYS[1]: the name's counter (a hash: n = attempts in this window, until = locked until, epoch seconds).
# ARGV: now, max failures, lock seconds. Returns the attempt's number in the window, or -1 when locked.
_RESERVE = """
local now = tonumber(ARGV[1])
local locked = tonumber(redis.call('HGET', KEYS[1], 'until') or '0')
if locked > now then return -1 end
if locked > 0 then redis.call('DEL', KEYS[1]) end
local n = redis.call('HINCRBY', KEYS[1], 'n', 1)
if n > tonumber(ARGV[2]) then
  redis.call('HSET', KEYS[1], 'until', now + tonumber(ARGV[3]))
  redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]) + 60)
  return -1
end
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]) + 60)
return n
"""


class AccountError(ValueError):
    """A user error: a bad name or password, a name taken, no such user."""


@dataclass(frozen=True)
class SignIn:
    user_id: int | None  # None: refused
    message: str = ""
    uid: str = ""
    role: str = ""


@dataclass(frozen=True)
class StaffIdentity:
    """Who a live session belongs to."""

    uid: str
    username: str
    role: str

    @property
    def is_manager(self) -> bool:
        return self.role == MANAGER


LOCKED_MESSAGE = (
    f"Too many failed sign-ins: this account is locked for {LOCK_MINUTES} minutes. "
    "Try again later, or ask whoever manages the dashboard."
)
REFUSED_MESSAGE = "Wrong username or password."
UNAVAILABLE_MESSAGE = "Sign-in is unavailable for a moment (the cache cannot be reached). Try again shortly."


def check_username(name: str) -> str:
    name = (name or "").strip()
    if not USERNAME.fullmatch(name):
        raise AccountError(
            "a username is 1 to 64 letters, digits or . _ @ - (starting with a letter or digit)"
        )
    return name


def check_password(password: str) -> str:
    if len(password or "") < MIN_PASSWORD:
        raise AccountError(f"the password must be at least {MIN_PASSWORD} characters")
    return password


def check_role(role: str) -> str:
    role = (role or "").strip().lower().replace("-", "_")
    if role not in ROLES:
        raise AccountError(f"a role is one of: {', '.join(ROLES)}")
    return role


def _by_name(name: str) -> Any:
    return select(StaffUser).where(func.lower(StaffUser.username) == name.strip().lower())


def _existing(s: Any, username: str) -> StaffUser:
    user: StaffUser | None = s.scalar(_by_name(username or ""))
    if user is None:
        raise AccountError(f"no user {username!r} (see `receptionist users list`)")
    return user


def add_user(store: Store, username: str, password: str, role: str = FRONT_DESK) -> StaffUser:
    name = check_username(username)
    user = StaffUser(
        username=name,
        password_hash=generate_password_hash(check_password(password)),
        failed_count=0,
        uid=secrets.token_hex(16),
        role=check_role(role),
    )  # created_at: the store's clock
    try:
        with store.session() as s:
            if s.scalar(_by_name(name)) is not None:
                raise AccountError(f"there is already a user {name!r}")
            s.add(user)
    except IntegrityError:
        raise AccountError(f"there is already a user {name!r}") from None
    return user


def list_users(store: Store) -> list[StaffUser]:
    with store.sessions() as s:
        return list(s.scalars(select(StaffUser).order_by(StaffUser.username)))


def remove_user(store: Store, username: str) -> None:
    """Delete the account and end every session it has, at once."""
    with store.session() as s:
        user = _existing(s, username)
        s.execute(delete(StaffSession).where(StaffSession.user_uid == user.uid))
        s.delete(user)


def set_password(store: Store, username: str, password: str, now: dt.datetime) -> int:
    """A new password; every session of the account ends. Returns how many sessions ended."""
    hashed = generate_password_hash(check_password(password))
    with store.session() as s:
        user = _existing(s, username)
        user.password_hash, user.password_changed_at = hashed, now
        ended = s.execute(delete(StaffSession).where(StaffSession.user_uid == user.uid))
        return int(getattr(ended, "rowcount", 0) or 0)


def set_role(store: Store, username: str, role: str) -> None:
    role = check_role(role)
    with store.session() as s:
        user = _existing(s, username)
        user.role = role


def _counter(name: str) -> str:
    return keys.signin_failures(hashlib.sha256(name.strip().lower().encode()).hexdigest()[:32])


def unlock(store: Store, redis: Any, username: str) -> None:
    """Clear the account's failed sign-ins (a locked account can sign in again at once)."""
    with store.session() as s:
        user = _existing(s, username)
        user.failed_count, user.locked_until = 0, None
    redis.delete(_counter(username))


def locked_until(redis: Any, username: str, now: dt.datetime) -> dt.datetime | None:
    """When the name's lock-out ends, or None when it is not locked."""
    raw = redis.hget(_counter(username), "until")
    if raw is None:
        return None
    until = dt.datetime.fromtimestamp(float(raw), dt.UTC)
    return until if until > now else None


def authenticate(store: Store, redis: Any, username: str, password: str, now: dt.datetime) -> SignIn:
    """Check a sign-in. Each attempt reserves one of `MAX_FAILURES` tries of the name's window first; the
    reservation past the last locks the name for `LOCK_MINUTES`; a success clears the count."""
    name = (username or "").strip()
    with store.sessions() as s:
        user = s.scalar(_by_name(name)) if name else None
    try:
        attempt = int(
            redis.eval(_RESERVE, 1, _counter(name), int(now.timestamp()), MAX_FAILURES, LOCK_MINUTES * 60)
        )
    except (redis_lib.RedisError, OSError):
        check_password_hash(_DUMMY_HASH, password or "")
        return SignIn(None, UNAVAILABLE_MESSAGE)
    if attempt < 0:
        check_password_hash(_DUMMY_HASH, password or "")  # a locked name costs what any attempt costs
        return SignIn(None, LOCKED_MESSAGE)
    good = check_password_hash(user.password_hash if user else _DUMMY_HASH, password or "")
    if user is not None and good:
        try:
            redis.delete(_counter(name))
        except (redis_lib.RedisError, OSError):
            pass  # the count expires by itself
        with store.session() as s:
            row = s.get(StaffUser, user.id)
            if row is not None:
                row.last_sign_in_at = now
        return SignIn(user.id, uid=user.uid, role=user.role)
    if attempt < MAX_FAILURES:
        return SignIn(None, REFUSED_MESSAGE)
    try:  # the last try of the window failed: locked from now
        redis.hset(_counter(name), "until", int(now.timestamp()) + LOCK_MINUTES * 60)
    except (redis_lib.RedisError, OSError):
        pass  # the next attempt finds the window used up and locks it then
    return SignIn(None, LOCKED_MESSAGE)


# -- sessions -------------------------------------------------------------------------------------------------
def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(store: Store, uid: str, now: dt.datetime) -> str:
    """A new session for the account; returns the token the cookie carries (the store keeps its hash)."""
    token = secrets.token_urlsafe(32)
    with store.session() as s:
        s.add(StaffSession(token_hash=_token_hash(token), user_uid=uid, created_at=now, last_seen_at=now))
    return token


def end_session(store: Store, token: str) -> None:
    with store.session() as s:
        s.execute(delete(StaffSession).where(StaffSession.token_hash == _token_hash(token)))


def session_user(
    store: Store, token: str, now: dt.datetime, *, idle: dt.timedelta, lifetime: dt.timedelta
) -> StaffIdentity | None:
    """Who this session token signs in, or None: no such session, its account gone, past its lifetime or idle
    for too long (then the row is deleted). A live session's last request is recorded."""
    if not token:
        return None
    digest = _token_hash(token)
    with store.session() as s:
        row = s.get(StaffSession, digest)
        if row is None:
            return None
        user = s.scalar(select(StaffUser).where(StaffUser.uid == row.user_uid))
        created, seen = utc(row.created_at), utc(row.last_seen_at)
        if user is None or created is None or seen is None or now - created > lifetime or now - seen > idle:
            s.delete(row)
            return None
        if now - seen >= TOUCH_EVERY:
            row.last_seen_at = now
        return StaffIdentity(user.uid, user.username, user.role)
