"""The kiosk's touch screen: FastAPI serving server-rendered pages (Jinja2) for one session.

``create_app(session, ...)`` builds the app. Routes:

- ``GET /`` — the whole page for the current step (works with JavaScript off);
- ``POST /act/{action}`` — the person's choice, form-encoded; redirects to ``/``, or answers
  JSON with the new screen when the page's script asks (``X-Kiosk: 1``);
- ``GET /poll?since=N`` — long polling: the new screen once the session changed (timeouts,
  the reader's progress, a scanned card), else the same one after ``POLL_S``;
- ``GET /qr/certificate.svg`` — the current certificate's QR, drawn here (no network);
- ``/static`` — CSS, the little script, pictures, and the generated font and spoken prompts.

Nothing is loaded from outside the kiosk: villages are offline.
"""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import qrcode
import qrcode.image.svg
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from gateway.cancellation import cancel_and_wait
from gateway.session import ACTION_FIELDS, KioskSession, WrongStep

from .screens import context, prompt_files

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
STATIC = HERE / "static"
TEMPLATES = HERE / "templates"
POLL_S = 20.0


def create_app(session: KioskSession, *, station_name: str = "", simulated: bool = False,
               extra_routers: Sequence[APIRouter] = (), static_dir: Path = STATIC,
               poll_s: float = POLL_S) -> FastAPI:
    """The kiosk screen for ``session``.

    Args:
        session: the gateway's session (the only part of the gateway the screen touches).
        station_name: shown in the header.
        simulated: the devices are simulated; the header says so.
        extra_routers: more routes on the same server (the demo's simulated-hardware panel).
        static_dir: where CSS, script, pictures and generated assets are.
        poll_s: how long a long poll waits for a change before answering anyway.
    """
    app = FastAPI(title="nongan kiosk", docs_url=None, redoc_url=None, openapi_url=None)
    closing = asyncio.Event()
    # The server's owner calls this before stopping it, so long polls answer at once
    # instead of being cancelled mid-request.
    app.state.stop_polling = closing.set
    templates = Jinja2Templates(directory=str(TEMPLATES))
    app.mount("/static", StaticFiles(directory=str(static_dir)), name="static")
    for router in extra_routers:
        app.include_router(router)

    prompts = prompt_files(static_dir)

    def page_context(request: Request) -> dict[str, Any]:
        ctx = context(session.view, session.catalogue, prompts=prompts,
                      station_name=station_name, simulated=simulated)
        ctx["request"] = request
        return ctx

    def screen_json(request: Request, status: int = 200) -> JSONResponse:
        ctx = page_context(request)
        html = templates.get_template("screen.html").render(ctx)
        view = ctx["view"]
        return JSONResponse({"version": view.version, "step": view.step.value, "html": html,
                             "audio": ctx["audio"], "lang": view.language,
                             "seconds_left": view.seconds_left, "warning": view.warning},
                            status_code=status)

    @app.get("/", response_class=HTMLResponse)
    async def page(request: Request) -> Response:
        return templates.TemplateResponse(request, "page.html", page_context(request),
                                          headers={"Cache-Control": "no-store"})

    @app.get("/poll")
    async def poll(request: Request, since: int = -1) -> JSONResponse:
        if not closing.is_set():
            change = asyncio.ensure_future(session.wait_for_change(since, poll_s))
            stop = asyncio.ensure_future(closing.wait())
            _, pending = await asyncio.wait({change, stop},
                                            return_when=asyncio.FIRST_COMPLETED)
            for task in pending:
                await cancel_and_wait(task)
        return screen_json(request)

    @app.post("/act/{action}")
    async def act(action: str, request: Request) -> Response:
        form = await request.form()
        # The fields the session declares for the action (any other field is ignored).
        params = {name: str(form.get(name, "")) for name in ACTION_FIELDS.get(action, ())}
        status = 200
        try:
            await session.act(action, **params)
        except WrongStep as exc:
            # A stale screen (the session moved on, e.g. after a timeout): show the current one.
            log.info("stale action: %s", exc)
            status = 409
        except ValueError as exc:
            log.warning("bad %s request: %s", action, exc)
            status = 400
        if request.headers.get("x-kiosk") == "1":
            return screen_json(request, status)
        return RedirectResponse("/", status_code=303)

    @app.get("/qr/certificate.svg")
    async def certificate_qr() -> Response:
        cert = session.view.certificate
        if cert is None:
            return Response(status_code=404)
        image = qrcode.make(cert.verify_url, image_factory=qrcode.image.svg.SvgPathImage,
                            box_size=10, border=2)
        buffer = io.BytesIO()
        image.save(buffer)
        return Response(buffer.getvalue(), media_type="image/svg+xml",
                        headers={"Cache-Control": "no-store"})

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "step": session.step.value}

    return app
