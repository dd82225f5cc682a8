"""The dashboard's dead-letter pages and the operator API's actions: staff see them, only an
operator replays or discards, a discard asks for confirmation first, every action is audited."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from cloud_bridge.ingest import BatchWriter, Inbound
from tests.support.cloud import enroll, rows, scalar
from tests.support.kiosk_messages import FakeKiosk

from .api_support import Keys
from .test_dashboard import csrf_token_for, login


def refused(store: Engine, *messages: tuple[str, bytes]) -> list[int]:
    BatchWriter(store).write([Inbound(t, p, i, 1, datetime.now(UTC))
                              for i, (t, p) in enumerate(messages)])
    return [i for (i,) in rows(store, "SELECT id FROM dead_letters ORDER BY seq")]


def test_staff_see_dead_letters_and_an_operator_replays_one_after_the_fix(
    client: TestClient, keys: Keys, store: Engine
) -> None:
    late = FakeKiosk()
    [letter] = refused(store, late.certificate())
    login(client, keys.supervisor)
    page = client.get("/dashboard/dead-letters").text
    assert f'data-letter="{letter}"' in page and "unknown_device" in page
    detail = client.get(f"/dashboard/dead-letters/{letter}").text
    assert late.device_id in detail and 'data-form="replay"' not in detail  # not an operator
    denied = client.post(f"/dashboard/dead-letters/{letter}/replay",
                         data={"reason": "x", "csrf": csrf_token_for(client)})
    assert denied.status_code == 403

    login(client, keys.operator)
    detail = client.get(f"/dashboard/dead-letters/{letter}").text
    assert 'data-form="replay"' in detail and 'data-form="discard"' in detail
    stale = client.post(f"/dashboard/dead-letters/{letter}/replay",
                        data={"reason": "x", "csrf": "0" * 32})
    assert stale.status_code == 403
    enroll(store, late)
    done = client.post(f"/dashboard/dead-letters/{letter}/replay",
                       data={"reason": "enrolled today", "csrf": csrf_token_for(client)},
                       follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"].endswith("done=replayed")
    detail = client.get(done.headers["location"]).text
    assert 'data-state="replayed"' in detail and "enrolled today" in detail
    assert rows(store, "SELECT action, actor, reason FROM history WHERE entity = 'dead_letter'"
                ) == [("replayed", "op-1", "enrolled today")]
    assert scalar(store, "SELECT count(*) FROM ledger") == 1
    # Only open ones by default; "all" shows the replayed one.
    assert f'data-letter="{letter}"' not in client.get("/dashboard/dead-letters").text
    assert f'data-letter="{letter}"' in client.get("/dashboard/dead-letters?state=all").text


def test_a_discard_from_the_dashboard_asks_first_then_skips_the_seq(
    client: TestClient, keys: Keys, store: Engine, kiosk: FakeKiosk
) -> None:
    forged = FakeKiosk(device_id=kiosk.device_id, next_seq=2)
    kiosk.next_seq = 3
    [letter] = refused(store, kiosk.certificate(seq=1), forged.certificate(), kiosk.certificate())
    login(client, keys.operator)
    assert "data-blocks" in client.get(f"/dashboard/dead-letters/{letter}").text
    csrf = csrf_token_for(client)
    ask = client.post(f"/dashboard/dead-letters/{letter}/discard",
                      data={"reason": "forged record", "csrf": csrf})
    assert ask.status_code == 200 and 'data-form="confirm"' in ask.text
    assert 'data-skip="2"' in ask.text
    # Asking changed nothing.
    assert rows(store, "SELECT state FROM dead_letters") == [("open",)]
    assert scalar(store, "SELECT acked_seq FROM ack_watermarks") == 1
    done = client.post(f"/dashboard/dead-letters/{letter}/discard",
                       data={"reason": "forged record", "csrf": csrf, "confirmed": "yes"},
                       follow_redirects=False)
    assert done.status_code == 303
    assert rows(store, "SELECT state, resolved_by, resolution FROM dead_letters") == [
        ("discarded", "op-1", "forged record")]
    assert scalar(store, "SELECT acked_seq FROM ack_watermarks") == 3
    again = client.post(f"/dashboard/dead-letters/{letter}/discard",
                        data={"reason": "again", "csrf": csrf})
    assert again.status_code == 409


def test_the_operator_api_replays_and_discards_with_a_reason(
    client: TestClient, keys: Keys, store: Engine, kiosk: FakeKiosk
) -> None:
    late, other = FakeKiosk(), FakeKiosk()
    refused(store, late.certificate(), other.certificate())
    ids = dict(rows(store, "SELECT device_id, id FROM dead_letters"))
    first, second = ids[late.device_id], ids[other.device_id]
    auth = keys.auth("operator")
    no_reason = client.post(f"/api/v1/dead-letters/{first}/replay", json={"reason": ""},
                            headers=auth)
    assert no_reason.status_code == 422
    assert client.post(f"/api/v1/dead-letters/{first}/replay", json={"reason": "x"},
                       headers=keys.auth("supervisor")).status_code == 403
    still = client.post(f"/api/v1/dead-letters/{first}/replay", json={"reason": "try"},
                        headers=auth).json()
    assert still["stored"] is False and "not enrolled" in still["reason"]
    enroll(store, late)
    replayed = client.post(f"/api/v1/dead-letters/{first}/replay",
                           json={"reason": "enrolled"}, headers=auth).json()
    assert replayed == {"stored": True, "outcome": "recorded", "reason": None, "watermark": 1}
    discarded = client.post(f"/api/v1/dead-letters/{second}/discard",
                            json={"reason": "a kiosk we never had"}, headers=auth)
    assert discarded.status_code == 200
    assert discarded.json() == {"skipped_seq": None, "watermark": None}
    assert client.post("/api/v1/dead-letters/424242/discard", json={"reason": "x"},
                       headers=auth).status_code == 404
    listed = client.get("/api/v1/dead-letters", headers=auth).json()
    assert {d["id"]: d["state"] for d in listed} == {first: "replayed", second: "discarded"}
