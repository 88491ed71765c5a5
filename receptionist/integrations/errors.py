"""Errors the integration API answers with a 4xx and a JSON body `{"error": {"code", "message"}}`."""

from __future__ import annotations

import re

_BAD = re.compile("[\x00\ud800-\udfff]")


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def invalid(field: str, why: str) -> ApiError:
    return ApiError(422, "invalid_field", f"{field}: {why}")


def has_nul(data: object, depth: int = 0) -> bool:
    """Whether any text in parsed JSON holds a NUL character (PostgreSQL cannot store one) or a lone surrogate
    (JSON's \\ud800 escapes parse to one; no database can store it as UTF-8)."""
    if isinstance(data, str):
        return _BAD.search(data) is not None
    if depth > 64:
        return False
    if isinstance(data, dict):
        return any(has_nul(k, depth + 1) or has_nul(v, depth + 1) for k, v in data.items())
    if isinstance(data, list):
        return any(has_nul(v, depth + 1) for v in data)
    return False
