"""The services a Flask app was built with (`create_app` binds them; every view reads them from here)."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from flask import Flask

if TYPE_CHECKING:
    from receptionist.runtime.services import Services

KEY = "receptionist"


def bind(app: Flask, services: Services) -> None:
    app.extensions[KEY] = services


def services_of(app: Flask) -> Services:
    return cast("Services", app.extensions[KEY])
