"""Errors the integration API answers with a 4xx and a JSON body `{"error": {"code", "message"}}`."""

from __future__ import annotations


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def invalid(field: str, why: str) -> ApiError:
    return ApiError(422, "invalid_field", f"{field}: {why}")
