"""The kiosk's touch screen: server-rendered pages for the gateway's session (zh-CN first,
English one tap away), with every asset served from the kiosk itself.

``create_app(session)`` is the FastAPI app; ``kiosk_ui.assets`` builds the CJK font subset
and the spoken prompts at install time; ``kiosk_ui.cli`` adds ``nongan kiosk``.

The names below are imported on first use, so that importing the package (every ``nongan``
command does, for ``kiosk_ui.cli``) loads neither FastAPI nor the kiosk's session.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app import create_app
    from .i18n import LANGUAGES, Translator, catalogue

__all__ = ["LANGUAGES", "Translator", "catalogue", "create_app"]

_LAZY = {"create_app": ".app", "LANGUAGES": ".i18n", "Translator": ".i18n",
         "catalogue": ".i18n"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module, __name__), name)
