"""Shared set-up for dashboard tests: a staff account, a signed-in test client, the CSRF token of a page."""

from __future__ import annotations

import re

from receptionist.dashboard.accounts import add_user

PASSWORD = "correct horse battery staple"
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def token_of(html: str) -> str:
    found = _TOKEN.search(html)
    assert found, "the page has no CSRF token"
    return found.group(1)


def sign_in(
    client,
    store,
    username: str = "alice",
    password: str = PASSWORD,
    *,
    create: bool = True,
    role: str = "manager",
):
    """Make the account (a manager unless told otherwise; unless told not to make it) and sign the client in
    through the form, as a browser would."""
    if create:
        add_user(store, username, password, role=role)
    page = client.get("/login")
    response = client.post(
        "/login",
        data={
            "username": username,
            "password": password,
            "csrf_token": token_of(page.get_data(as_text=True)),
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def csrf(client, path: str = "/") -> str:
    """A fresh CSRF token from a signed-in page."""
    return token_of(client.get(path).get_data(as_text=True))
