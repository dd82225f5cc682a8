"""The session up to the test panel: identifying, registering, product, quantity, panel."""

from __future__ import annotations

import json

import pytest

from gateway.session import KioskSession, Step, WrongStep
from protocol import decode
from tests.gateway.session_helpers import identify_new_producer, ready_gateway, to_panel
from tests.support import aio


@pytest.fixture
def kiosk(tmp_path):
    gw = ready_gateway(tmp_path / "kiosk", kits=())
    yield gw
    gw.close()


def outbox_messages(gw, kind=None):
    found = [decode(r.topic, r.payload).message for r in gw.books.outbox.next_batch(200)]
    return [m for m in found if kind is None or m.kind == kind]


def test_registering_publishes_a_producer_with_a_hashed_pin_and_prints_a_card(kiosk):
    session = kiosk.session

    async def scenario():
        return await identify_new_producer(session, pin="2468")

    producer_id = aio.run(scenario())
    [event] = outbox_messages(kiosk, "producer")
    assert event.action == "registered"
    assert event.producer.producer_id == producer_id
    assert event.producer.pin_hash.startswith("scrypt$")
    assert "2468" not in kiosk.books.outbox.next_batch(10)[0].payload.decode()
    assert event.producer.origin_code == kiosk.settings.device.place_code
    assert session.view.producer.display_name == "王建国"
    assert session.view.notice.code == "notice.registered"
    assert len(kiosk.devices.printer.images) == 1  # the producer's card


def test_a_registration_with_a_bad_phone_says_which_field(kiosk):
    session = kiosk.session

    async def scenario():
        await session.start()
        await session.begin_registration()
        await session.register(name="李秀英", phone="12", origin_code="370902", pin="1357")

    aio.run(scenario())
    assert session.step is Step.REGISTER
    assert session.view.notice.code == "notice.register_invalid"
    assert session.view.notice.params == {"field": "phone"}
    assert outbox_messages(kiosk) == []


def test_a_registration_with_an_origin_not_offered_is_refused(kiosk):
    session = kiosk.session

    async def scenario():
        await session.start()
        await session.begin_registration()
        await session.register(name="李秀英", phone="13900001111", origin_code="110101",
                               pin="1357")

    aio.run(scenario())
    assert session.view.notice.params == {"field": "origin_code"}


def test_scanning_a_card_at_the_welcome_screen_goes_straight_to_the_products(kiosk):
    session = kiosk.session
    producer = kiosk.books.producers.register(name="张桂兰", phone="13700002222",
                                        origin_code="370902", pin="4321")

    async def scenario():
        await session.scan(producer.entry.card_code)

    aio.run(scenario())
    assert session.step is Step.PRODUCT
    assert session.view.producer.producer_id == producer.producer_id


def test_an_unknown_card_asks_to_register_or_pick(kiosk):
    session = kiosk.session

    async def scenario():
        await session.start()
        await session.scan("NGC-NOTACARD")

    aio.run(scenario())
    assert session.step is Step.IDENTIFY
    assert session.view.notice.code == "notice.card_unknown"


def test_picking_a_recent_producer_needs_the_right_pin(kiosk):
    session = kiosk.session
    producer = kiosk.books.producers.register(name="刘德华", phone="13600003333",
                                        origin_code="370902", pin="8642")

    async def scenario():
        await session.start()
        recent = session.view.recent
        assert [p.producer_id for p in recent] == [producer.producer_id]
        assert recent[0].display_name == "刘*华"  # masked in the public list
        assert recent[0].phone_tail.endswith("3333")
        await session.pick_producer(producer.producer_id)
        assert session.step is Step.PIN
        await session.enter_pin("12")
        assert session.view.notice.code == "notice.pin_format"
        await session.enter_pin("1111")
        assert session.view.notice.code == "notice.pin_wrong"
        assert session.view.notice.params == {"left": 2}
        await session.enter_pin("8642")

    aio.run(scenario())
    assert session.step is Step.PRODUCT
    assert session.view.producer.display_name == "刘德华"


def test_the_recent_list_is_read_off_the_event_loop(kiosk, monkeypatch):
    import threading

    session = kiosk.session
    kiosk.books.producers.register(name="刘德华", phone="13600003333", origin_code="370902",
                             pin="8642")
    registry = session.parts.producers
    read_on = []
    real_recent = registry.recent

    def recent(limit):
        read_on.append(threading.current_thread() is threading.main_thread())
        return real_recent(limit)

    monkeypatch.setattr(registry, "recent", recent)

    async def scenario():
        await session.start()
        assert len(session.view.recent) == 1
        await session.begin_registration()
        await session.back()
        return session.view.recent

    recent_after_back = aio.run(scenario())
    assert len(recent_after_back) == 1
    assert read_on == [False, False]  # once per entry into IDENTIFY, never on the loop


def test_three_wrong_pins_lock_the_name_for_a_while(kiosk):
    session = kiosk.session
    producer = kiosk.books.producers.register(name="陈国庆", phone="13500004444",
                                        origin_code="370902", pin="1234")

    async def scenario():
        await session.start()
        await session.pick_producer(producer.producer_id)
        for _ in range(3):
            await session.enter_pin("9999")
        assert session.step is Step.IDENTIFY
        assert session.view.notice.code == "notice.pin_locked"
        await session.pick_producer(producer.producer_id)
        await session.enter_pin("1234")  # even the right PIN, while locked

    aio.run(scenario())
    assert session.step is Step.IDENTIFY
    assert session.view.notice.code == "notice.pin_locked"


def test_a_producer_without_a_pin_must_use_the_card(kiosk):
    session = kiosk.session
    producer = kiosk.books.producers.register(name="杨春花", phone="13400005555",
                                        origin_code="370902", pin=None)

    async def scenario():
        await session.start()
        await session.pick_producer(producer.producer_id)

    aio.run(scenario())
    assert session.step is Step.IDENTIFY
    assert session.view.notice.code == "notice.no_pin_use_card"


def test_product_quantity_and_panel_with_declared_extras(kiosk):
    session = kiosk.session

    async def scenario():
        await identify_new_producer(session)
        await session.choose_product("no-such-product")
        assert session.view.notice.code == "notice.product_unknown"
        await session.choose_product("celery")
        assert session.step is Step.QUANTITY
        assert session.view.units == ("kg", "jin", "box")
        for bad, unit in (("0", "kg"), ("abc", "kg"), ("-3", "kg"), ("1e12", "kg"),
                          ("nan", "kg"), ("20", "head")):
            await session.set_quantity(bad, unit)
            assert session.step is Step.QUANTITY
            assert session.view.notice.level == "error"
        await session.set_quantity("80", "jin")
        assert session.step is Step.PANEL
        view = session.view
        assert view.panel_required == ("chlorpyrifos", "phorate", "carbofuran", "omethoate",
                                       "cyhalothrin")
        assert "procymidone" in view.extra_choices  # a crop pesticide of another product
        assert "clenbuterol" not in view.extra_choices  # an animal drug is not offered
        await session.toggle_extra("procymidone")
        await session.toggle_extra("clenbuterol")  # not offered: ignored
        assert session.view.panel_extras == ("procymidone",)
        await session.toggle_extra("procymidone")
        assert session.view.panel_extras == ()

    aio.run(scenario())


def test_back_goes_one_screen_back(kiosk):
    session = kiosk.session

    async def scenario():
        await session.start()
        await session.begin_registration()
        await session.back()
        assert session.step is Step.IDENTIFY
        origin = kiosk.settings.device.place_code
        await session.begin_registration()
        await session.register(name="周玉珍", phone="13300006666", origin_code=origin,
                               pin="5555")
        await to_panel(session)
        await session.back()
        assert session.step is Step.QUANTITY
        await session.back()
        assert session.step is Step.PRODUCT
        await session.back()
        assert session.step is Step.IDENTIFY
        assert session.view.producer is None

    aio.run(scenario())


def test_actions_on_the_wrong_step_are_refused(kiosk):
    session = kiosk.session

    async def scenario():
        with pytest.raises(WrongStep):
            await session.choose_product("chives")
        with pytest.raises(WrongStep):
            await session.act("issue")
        with pytest.raises(WrongStep):
            await session.act("no_such_action")
        with pytest.raises(WrongStep):
            await session.act("_end", why="x")  # private methods are not actions
        view = await session.act("start")
        assert view.step is Step.IDENTIFY

    aio.run(scenario())


def test_the_language_is_the_persons_and_resets_when_they_leave(kiosk):
    session = kiosk.session

    async def scenario():
        assert session.view.language == "zh-CN"
        await session.act("language", language="en")
        await session.start()
        assert session.view.language == "en"
        with pytest.raises(ValueError):
            await session.language("fr")
        await session.cancel()

    aio.run(scenario())
    assert session.step is Step.IDLE
    assert session.view.language == "zh-CN"


def test_the_view_is_a_snapshot_that_versions_every_change(kiosk):
    session = kiosk.session

    async def scenario():
        before = session.view
        await session.start()
        after = await session.wait_for_change(before.version, 1.0)
        assert after.version > before.version
        assert before.step is Step.IDLE and after.step is Step.IDENTIFY
        same = await session.wait_for_change(after.version, 0.05)  # nothing changed
        assert same.version == after.version

    aio.run(scenario())
    assert json.dumps(session.view.step)  # plain data the screen can use


def test_a_new_session_object_starts_idle(kiosk):
    fresh = KioskSession(kiosk.session.parts)
    assert fresh.step is Step.IDLE
    assert fresh.view.producer is None
