"""Who is signed in to the dashboard, as Flask-Login sees them; and the manager-only guard."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

import flask_login
from flask import abort
from flask_login import current_user

from receptionist.store.staff import MANAGER

F = TypeVar("F", bound=Callable[..., Any])


class StaffMember:
    """A live session's staff member: the account's random uid, username and role. Flask-Login's id for them is
    the session's own token, so every request finds the session row again (and a deleted row signs out)."""

    is_authenticated = True
    is_active = True
    is_anonymous = False

    def __init__(self, session_token: str, uid: str, username: str, role: str) -> None:
        self.session_token = session_token
        self.uid = uid
        self.username = username
        self.role = role

    @property
    def is_manager(self) -> bool:
        return self.role == MANAGER

    def get_id(self) -> str:
        return self.session_token


def login_required(view: F) -> F:
    """Flask-Login's guard (signed-in staff only), typed."""
    return cast(F, flask_login.login_required(view))


def manager_required(view: F) -> F:
    """Results, revenue, campaigns, users, keys and the audit log: managers only (403 for the front desk)."""

    @functools.wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if not getattr(current_user, "is_manager", False):
            abort(403)
        return view(*args, **kwargs)

    return cast(F, guarded)
