"""The kiosk's touch screen: server-rendered pages for the gateway's session (zh-CN first,
English one tap away), with every asset served from the kiosk itself.

``create_app(session)`` is the FastAPI app; ``kiosk_ui.assets`` builds the CJK font subset
and the spoken prompts at install time; ``kiosk_ui.cli`` adds ``nongan kiosk``.
"""

from .app import create_app
from .i18n import LANGUAGES, Translator, catalogue

__all__ = ["LANGUAGES", "Translator", "catalogue", "create_app"]
