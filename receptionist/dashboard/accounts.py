"""Staff accounts: created from the command line, checked at sign-in, locked after repeated failures.

Passwords are kept as werkzeug's scrypt hashes. Sign-in answers the same way whether or not the username
exists: an unknown name costs the same hash check, and its failures are counted (in Redis, by a hash of the
name) and locked out like a real account's, so the answers never tell which names are accounts.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from receptionist.clock import utc
from receptionist.store import StaffUser, Store, keys

MAX_FAILURES = 5
LOCK_MINUTES = 15
MIN_PASSWORD = 10
USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
# checked against when the username is unknown, so both answers cost one scrypt
_DUMMY_HASH = generate_password_hash("not a password of anyone")


class AccountError(ValueError):
    """A user error: a bad name or password, a name taken, no such user."""


@dataclass(frozen=True)
class SignIn:
    user_id: int | None  # None: refused
    message: str = ""


LOCKED_MESSAGE = (
    f"Too many failed sign-ins: this account is locked for {LOCK_MINUTES} minutes. "
    "Try again later, or ask whoever manages the dashboard."
)
REFUSED_MESSAGE = "Wrong username or password."


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


def add_user(store: Store, username: str, password: str) -> StaffUser:
    name = check_username(username)
    user = StaffUser(
        username=name, password_hash=generate_password_hash(check_password(password)), failed_count=0
    )  # created_at: the store's clock
    try:
        with store.session() as s:
            if s.scalar(select(StaffUser.id).where(StaffUser.username == name)) is not None:
                raise AccountError(f"there is already a user {name!r}")
            s.add(user)
    except IntegrityError:
        raise AccountError(f"there is already a user {name!r}") from None
    return user


def list_users(store: Store) -> list[StaffUser]:
    with store.sessions() as s:
        return list(s.scalars(select(StaffUser).order_by(StaffUser.username)))


def remove_user(store: Store, username: str) -> None:
    with store.session() as s:
        user = s.scalar(select(StaffUser).where(StaffUser.username == (username or "").strip()))
        if user is None:
            raise AccountError(f"no user {username!r} (see `receptionist users list`)")
        s.delete(user)


def get_user(store: Store, user_id: int) -> StaffUser | None:
    with store.sessions() as s:
        return s.get(StaffUser, user_id)


def authenticate(store: Store, redis: Any, username: str, password: str, now: dt.datetime) -> SignIn:
    """Check a sign-in; count a failure, and lock after `MAX_FAILURES` in a row for `LOCK_MINUTES`."""
    name = (username or "").strip()
    with store.session() as s:
        user = s.scalar(select(StaffUser).where(StaffUser.username == name)) if name else None
        if user is None:
            check_password_hash(_DUMMY_HASH, password or "")
            return SignIn(None, _unknown_failure(redis, name))
        locked = utc(user.locked_until)
        if locked is not None and locked > now:
            return SignIn(None, LOCKED_MESSAGE)
        if check_password_hash(user.password_hash, password or ""):
            user.failed_count, user.locked_until, user.last_sign_in_at = 0, None, now
            return SignIn(user.id)
        user.failed_count = (0 if locked is not None else user.failed_count) + 1
        if user.failed_count >= MAX_FAILURES:
            user.failed_count, user.locked_until = 0, now + dt.timedelta(minutes=LOCK_MINUTES)
            return SignIn(None, LOCKED_MESSAGE)
        if locked is not None:
            user.locked_until = None
        return SignIn(None, REFUSED_MESSAGE)


def _unknown_failure(redis: Any, name: str) -> str:
    """Failures for a name that is no account, counted like an account's (so a lock-out says nothing)."""
    key = keys.signin_failures(hashlib.sha256(name.lower().encode()).hexdigest()[:32])
    try:
        pipe = redis.pipeline(transaction=True)
        pipe.incr(key)
        pipe.expire(key, LOCK_MINUTES * 60, nx=True)
        count = int(pipe.execute()[0])
    except Exception:  # noqa: BLE001 - without Redis the unknown name is simply refused
        return REFUSED_MESSAGE
    return LOCKED_MESSAGE if count >= MAX_FAILURES else REFUSED_MESSAGE
