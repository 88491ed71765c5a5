"""Who is signed in to the dashboard, as Flask-Login sees them."""

from __future__ import annotations


class StaffMember:
    """Who is signed in, as Flask-Login sees them (ids and the username only)."""

    is_authenticated = True
    is_active = True
    is_anonymous = False

    def __init__(self, user_id: int, username: str) -> None:
        self.id = user_id
        self.username = username

    def get_id(self) -> str:
        return str(self.id)
