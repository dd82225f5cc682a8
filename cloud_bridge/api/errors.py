"""The API's error type: a status, a stable code and words; rendered as JSON or as a page."""

from __future__ import annotations

from cloud_bridge.errors import BridgeError


class ApiError(BridgeError):
    translation_key = "error.api"

    def __init__(self, status: int, error: str, detail: str,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status, self.error, self.detail = status, error, detail
        self.code = error
        self.headers = headers or {}
