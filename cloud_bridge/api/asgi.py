"""An app factory for uvicorn with several worker processes (``nongan bridge serve --workers``):
``uvicorn --factory cloud_bridge.api.asgi:from_environment``.

Called in each worker at startup (not at import): the settings come from
``$NONGAN_BRIDGE_CONFIG`` and ``NONGAN_BRIDGE_*`` variables, as for every other verb.
"""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import FastAPI

from cloud_bridge.settings import load_settings

from .app import create_app


def from_environment() -> FastAPI:
    config = os.environ.get("NONGAN_BRIDGE_CONFIG")
    return create_app(load_settings(Path(config) if config else None))
