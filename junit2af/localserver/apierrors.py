"""The one exception the handlers raise to answer ``{"message": ...}`` with a status."""

from __future__ import annotations


class ApiError(Exception):
    """An error answer: HTTP ``status``, the JSON ``message``, optional extra headers."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def bad_request(message: str) -> ApiError:
    return ApiError(400, message)


def not_found(what: str) -> ApiError:
    return ApiError(404, f"{what} not found")


def forbidden(message: str) -> ApiError:
    return ApiError(403, message)
