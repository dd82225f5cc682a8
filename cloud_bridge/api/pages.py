"""Server-rendered pages (Jinja2): one environment, the language picked per request.

Templates and the style sheet live beside this module (``templates/``, ``static/``), so pages
need nothing from a CDN: village markets are often offline-ish. Chinese renders through the
system's Noto CJK fonts (``<meta charset="utf-8">`` and a font stack in style.css).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from cloud_bridge.domain.times import CHINA

from .i18n import pick_language, translator

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"


def _local(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if value is None:
        return "—"
    return value.astimezone(CHINA).strftime(fmt)


def _ago(value: datetime | None) -> str:
    if value is None:
        return "—"
    seconds = (datetime.now(UTC) - value).total_seconds()
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.0f} d"


def _bytes(value: int | None) -> str:
    if value is None:
        return "—"
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1024:
            return f"{value:.0f} {unit}"
        value = value // 1024
    return f"{value} PB"


def make_templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(TEMPLATES))
    templates.env.filters["local"] = _local
    templates.env.filters["ago"] = _ago
    templates.env.filters["bytes"] = _bytes
    return templates


def render(request: Request, name: str, context: dict[str, Any], *, lang: str | None = None,
           status: int = 200, headers: dict[str, str] | None = None) -> HTMLResponse:
    """Render a template with ``t`` (translations), ``lang`` and ``other_lang`` set."""
    chosen = pick_language(lang or request.query_params.get("lang"),
                           request.headers.get("accept-language"))
    templates: Jinja2Templates = request.app.state.templates
    other = "en" if chosen == "zh-CN" else "zh-CN"
    response = templates.TemplateResponse(
        request, name,
        {"t": translator(chosen), "lang": chosen, "other_lang": other, **context},
        status_code=status, headers=headers,
    )
    response.headers["content-type"] = "text/html; charset=utf-8"
    return response
