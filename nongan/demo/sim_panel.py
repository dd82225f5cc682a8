"""The demo's "simulated hardware" panel, beside the kiosk screen in a browser.

``/demo`` shows the kiosk screen (an iframe of ``/`` at 1024×600) and a clearly labelled
panel that plays the parts a person and the hardware would: put a cassette of clean, unclear
or contaminated produce in the tray (rendered by the strip simulator for the kit the screen
asks for; the real scorer reads it), scan a producer's card, run the printer out of paper or
off line and load it again, and see the last receipt printed. The certificate's QR on the
screen opens the cloud's public record.
"""

from __future__ import annotations

import asyncio
import io
import logging
import random
from pathlib import Path

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from gateway.session import WORKING, Step
from gateway.testing import SimulatedKiosk

from .farmers import CLEAN, CONTAMINATED, UNCLEAR, put_cassette

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))
TRUTHS = (CLEAN, UNCLEAR, CONTAMINATED)
GIVE_BACK_WITHIN_S = 600.0

log = logging.getLogger(__name__)


def sim_panel_router(kiosk: SimulatedKiosk, api_url: str) -> APIRouter:
    """The panel's routes for ``kiosk``; the certificate's record is read at ``api_url``."""
    router = APIRouter(prefix="/demo")
    rng = random.Random(7)
    cleanup: set[asyncio.Task[None]] = set()

    def back(message: str) -> RedirectResponse:
        return RedirectResponse(f"/demo/panel?said={message}", status_code=303)

    @router.get("", response_class=HTMLResponse)
    async def page(request: Request) -> Response:
        return TEMPLATES.TemplateResponse(request, "demo.html", {})

    @router.get("/panel", response_class=HTMLResponse)
    async def panel(request: Request, said: str = "") -> Response:
        view = kiosk.session.view
        cert = view.certificate
        producers = await asyncio.to_thread(kiosk.books.producers.recent, 8)
        printer = kiosk.printer
        return TEMPLATES.TemplateResponse(request, "panel.html", {
            "step": view.step.value,
            "kit": kiosk.catalogue.kit(view.test.kit_id).names.zh if view.test else None,
            "waiting_for_cassette": view.step is Step.INSERT,
            "cassette_in": kiosk.reader.cassette,
            "paper": printer.paper, "offline": printer.offline,
            "printed": len(printer.images),
            "producers": [(p.name, p.entry.card_code) for p in producers if p.entry.card_code],
            "certificate": cert,
            "api_url": f"{api_url}/api/v1/certificates/{cert.token}" if cert else None,
            "said": said,
        })

    @router.post("/cassette")
    async def cassette(truth: str = Form(...)) -> Response:
        session = kiosk.session
        test = session.view.test
        if truth not in TRUTHS or test is None or session.step not in (Step.PREPARE,
                                                                       Step.INSERT):
            return back("此刻不需要放检测卡 (no cassette is wanted now)")
        put_cassette(kiosk, test.kit_id, truth, rng)
        task = asyncio.create_task(_give_back_when_done(kiosk))
        cleanup.add(task)
        task.add_done_callback(cleanup.discard)
        return back(f"已放入检测卡: {truth}")

    @router.post("/scan")
    async def scan(code: str = Form(...)) -> Response:
        kiosk.scan(code.strip())
        return back("已扫码 (scanned)")

    @router.post("/printer/{action}")
    async def printer(action: str) -> Response:
        sim = kiosk.printer
        actions = {"out_of_paper": sim.run_out_of_paper, "load_paper": sim.load_paper,
                   "offline": sim.go_offline}
        if action not in actions:
            return back("?")
        actions[action]()
        return back(f"打印机: {action}")

    @router.get("/receipt.png")
    async def receipt() -> Response:
        images = kiosk.printer.images
        if not images:
            return Response(status_code=404)
        buffer = io.BytesIO()
        images[-1].convert("L").save(buffer, format="PNG")
        return Response(buffer.getvalue(), media_type="image/png",
                        headers={"Cache-Control": "no-store"})

    return router


async def _give_back_when_done(kiosk: SimulatedKiosk) -> None:
    """Take the cassette out of the simulated tray once the reader is done with it."""
    idle = tuple(step for step in Step if step not in WORKING)
    try:
        async with asyncio.timeout(GIVE_BACK_WITHIN_S):  # for both waits together
            await kiosk.wait_for(*WORKING, within_s=GIVE_BACK_WITHIN_S)
            await kiosk.wait_for(*idle, within_s=GIVE_BACK_WITHIN_S)
    except TimeoutError:
        log.warning("the simulated cassette was not given back: the session stayed on %s "
                    "for %.0f s", kiosk.session.step.value, GIVE_BACK_WITHIN_S)
        return
    kiosk.remove()
