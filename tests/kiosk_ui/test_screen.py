"""The kiosk screen over HTTP without a browser: plain forms work without JavaScript, stale
screens are handled, every asset is local, every picture exists."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from gateway.session import STEPS_BY_CATEGORY, Step, picture_for
from kiosk_ui import create_app
from kiosk_ui.app import STATIC
from tests.gateway.session_helpers import ready_gateway
from tests.support import aio

ROOT = Path(__file__).resolve().parents[2]
UI = ROOT / "kiosk_ui"


@pytest.fixture
def kiosk(tmp_path):
    gw = ready_gateway(tmp_path / "kiosk", kits=("card-beta-agonists-3in1-v1",))
    yield gw
    gw.close()


def client(app):
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://kiosk")


def test_plain_forms_walk_to_the_panel_without_javascript(kiosk):
    app = create_app(kiosk.session, station_name="测试站")

    async def scenario():
        async with client(app) as c:
            page = await c.get("/")
            assert page.status_code == 200
            assert "text/html; charset=utf-8" in page.headers["content-type"]
            assert "农产品自助检测" in page.text and "测试站" in page.text
            steps = [("start", {}), ("begin_registration", {}),
                     ("register", {"name": "张桂兰", "phone": "13700002222",
                                   "origin_code": "370902", "pin": "4321", "ignored": "x"}),
                     ("choose_product", {"product_code": "beef_cattle"}),
                     ("set_quantity", {"quantity": "3", "unit": "head"})]
            for action, form in steps:
                response = await c.post(f"/act/{action}", data=form)
                assert response.status_code == 303 and response.headers["location"] == "/"
            page = await c.get("/")
            return page.text

    text = aio.run(scenario())
    assert kiosk.session.step is Step.PANEL
    assert "克伦特罗" in text and "开始检测（共 3 项）" in text


def test_the_script_gets_json_and_a_stale_screen_gets_the_current_one(kiosk):
    app = create_app(kiosk.session, poll_s=0.3)

    async def scenario():
        async with client(app) as c:
            ok = await c.post("/act/start", headers={"X-Kiosk": "1"})
            stale = await c.post("/act/issue", headers={"X-Kiosk": "1"})
            bad = await c.post("/act/language", data={"language": "fr"},
                               headers={"X-Kiosk": "1"})
            unknown = await c.post("/act/_end", headers={"X-Kiosk": "1"})
            polled = await c.get(f"/poll?since={ok.json()['version']}")
            return ok, stale, bad, unknown, polled

    ok, stale, bad, unknown, polled = aio.run(scenario())
    assert ok.status_code == 200 and ok.json()["step"] == "identify"
    assert "frame step-identify" in ok.json()["html"]
    assert stale.status_code == 409 and stale.json()["step"] == "identify"
    assert bad.status_code == 400
    assert unknown.status_code == 409
    assert polled.json()["version"] == ok.json()["version"]  # nothing changed: same screen


def test_english_is_one_tap_away(kiosk):
    app = create_app(kiosk.session)

    async def scenario():
        async with client(app) as c:
            await c.post("/act/language", data={"language": "en"})
            return (await c.get("/")).text

    text = aio.run(scenario())
    assert '<html lang="en">' in text and "Test your produce yourself" in text


def test_the_qr_is_drawn_here_only_for_the_current_certificate(kiosk):
    app = create_app(kiosk.session)

    async def scenario():
        async with client(app) as c:
            return await c.get("/qr/certificate.svg")

    assert aio.run(scenario()).status_code == 404


def test_no_audio_means_no_listen_button(kiosk, tmp_path):
    bare = tmp_path / "static"
    bare.mkdir()
    app = create_app(kiosk.session, static_dir=bare)

    async def scenario():
        async with client(app) as c:
            return (await c.get("/")).text

    text = aio.run(scenario())
    assert 'id="speak"' not in text and "开始检测" in text


def test_every_asset_is_local():
    external = re.compile(r"""(?:src|href|url)\s*[=(]\s*["']?(?:https?:)?//""", re.I)
    offenders = [str(p.relative_to(ROOT)) for p in
                 [*UI.rglob("*.html"), *UI.rglob("*.css"), *UI.rglob("*.js"),
                  *(ROOT / "nongan" / "demo" / "templates").rglob("*.html")]
                 if "generated" not in p.parts and external.search(p.read_text())]
    assert not offenders


def test_every_product_and_preparation_step_has_a_picture(kiosk):
    for product in kiosk.catalogue.products.values():
        assert (STATIC / "pictures" / "products" / product.picture).is_file(), product.code
    for steps in STEPS_BY_CATEGORY.values():
        for step in steps:
            assert (STATIC / "pictures" / "prep" / f"{picture_for(step)}.svg").is_file(), step


def test_a_refusal_names_its_kit_from_the_session_not_from_its_detail(kiosk):
    from dataclasses import replace

    from gateway.session import RefusalView
    from kiosk_ui.i18n import Translator
    from kiosk_ui.screens import Names, refusal_texts

    kit_id = "card-beta-agonists-3in1-v1"
    kit = kiosk.catalogue.kits[kit_id]
    names = Names(kiosk.catalogue, english=False)
    view = replace(kiosk.session.view,
                   refusals=(RefusalView("no_stock", "nothing about it here", kit_id),
                             RefusalView("disk_full", f"not {kit_id}'s business")))
    texts = refusal_texts(view, Translator("zh-CN"), names)
    assert kit.names.zh in texts[0]
    assert kit.names.zh not in texts[1]
