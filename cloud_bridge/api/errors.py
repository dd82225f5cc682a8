"""The API's error type: a status, a stable code and words; rendered as JSON or as a page."""

from __future__ import annotations


class ApiError(Exception):
    def __init__(self, status: int, error: str, detail: str,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status, self.error, self.detail = status, error, detail
        self.headers = headers or {}
