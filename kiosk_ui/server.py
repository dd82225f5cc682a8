"""Serving the kiosk screen with uvicorn, ending its long polls cleanly on shutdown.

The screen keeps one long poll open (``/poll``, up to 20 s). On Ctrl-C or SIGTERM uvicorn
would wait for it and then cancel it mid-request (an error in the log); this server first
tells the app to answer its polls at once, then stops.
"""

from __future__ import annotations

from types import FrameType

import uvicorn
from fastapi import FastAPI


class ScreenServer(uvicorn.Server):
    def __init__(self, app: FastAPI, **config: object) -> None:
        self._stop_polling = app.state.stop_polling
        super().__init__(uvicorn.Config(app, timeout_graceful_shutdown=2, **config))  # type: ignore[arg-type]

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self._stop_polling()
        super().handle_exit(sig, frame)

    def stop(self) -> None:
        """Stop from code (the demo's shutdown)."""
        self._stop_polling()
        self.should_exit = True
