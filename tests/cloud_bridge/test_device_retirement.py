"""Retiring a kiosk is deliberate and audited, and a mistake can be undone; names that are
the cloud's own can never be a kiosk's (issue 11: "any operator key can retire a kiosk
irreversibly"; finding 4's ``nongan-bridge`` kiosk).

Only a supervisor key retires or re-enables, typing the device id again and saying why; the
history keeps who and why. Re-enabling gives a new broker password, and the kiosk's records,
kept unacknowledged while it was retired, are accepted again.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from cloud_bridge.ingest import BatchWriter, Inbound
from cloud_bridge.pki import PkiError, init_ca, issue
from cloud_bridge.settings import load_settings
from cloud_bridge.store import (
    Device,
    DeviceStateValue,
    EnrolmentError,
    enroll_device,
    session_factory,
)
from cloud_bridge.store.devices import ConfirmationMismatch, retire_device
from nongan.cli import main
from tests.support import cloud_key
from tests.support.kiosk_messages import FakeKiosk

from .api_support import Keys
from .test_dashboard import csrf_token_for, login


def body(device_id: str, reason: str = "stolen from the station") -> dict[str, str]:
    return {"confirm": device_id, "reason": reason}


def test_only_a_supervisor_retires_a_kiosk_with_its_id_typed_again_and_a_reason(
    client: TestClient, keys: Keys, kiosk: FakeKiosk
) -> None:
    url = f"/api/v1/devices/{kiosk.device_id}/retire"
    operator, supervisor = keys.auth("operator"), keys.auth("supervisor")
    assert client.post(url, headers=operator, json=body(kiosk.device_id)).status_code == 403
    assert client.post(url, headers=supervisor).status_code == 422  # no confirmation at all
    typo = client.post(url, headers=supervisor, json=body("kiosk-0043"))
    assert typo.status_code == 422 and typo.json()["error"] == "confirmation_mismatch"
    assert client.post(url, headers=supervisor, json=body(kiosk.device_id, "  ")
                       ).status_code == 422
    assert client.get("/api/v1/devices", headers=operator).json()[0]["state"] == "enrolled"
    done = client.post(url, headers=supervisor, json=body(kiosk.device_id))
    assert done.status_code == 200 and done.json()["state"] == "retired"
    assert done.json()["broker"].startswith("not configured")


def test_a_retirement_made_by_mistake_is_undone_and_the_kiosks_records_flow_again(
    client: TestClient, keys: Keys, kiosk: FakeKiosk, writer: BatchWriter, store: Engine
) -> None:
    supervisor = keys.auth("supervisor")
    pending = kiosk.certificate()  # made by the kiosk, still unacknowledged there
    client.post(f"/api/v1/devices/{kiosk.device_id}/retire", headers=supervisor,
                json=body(kiosk.device_id, "retired the wrong kiosk"))
    now = datetime.now(UTC)
    refused = writer.write([Inbound(*pending, 1, 1, now)])
    assert refused.verdicts[0].rejection.code == "retired_device"
    again = client.post(f"/api/v1/devices/{kiosk.device_id}/reenable", headers=supervisor,
                        json=body(kiosk.device_id, "it was the wrong kiosk"))
    assert again.status_code == 200, again.text
    answer = again.json()
    assert answer["state"] == "enrolled" and len(answer["broker_password"]) >= 32
    assert answer["cloud_signing_keys"] == [cloud_key.public_key()]
    resent = writer.write([Inbound(*pending, 2, 1, now)])  # the kiosk re-sends it
    assert resent.verdicts[0].rejection is None
    with store.connect() as conn:
        history = conn.execute(text(
            "SELECT action, actor, reason FROM history WHERE entity = 'device' "
            "AND entity_id = :d ORDER BY id"), {"d": kiosk.device_id}).all()
    assert [tuple(h) for h in history][1:] == [
        ("retired", "sup-1", "retired the wrong kiosk"),
        ("re-enabled", "sup-1", "it was the wrong kiosk")]


def test_the_dashboard_retires_with_a_supervisor_key_and_the_id_typed_again(
    client: TestClient, keys: Keys, kiosk: FakeKiosk
) -> None:
    page = f"/dashboard/devices/{kiosk.device_id}"
    login(client, keys.operator)
    assert "needs a supervisor key" in client.get(page + "?lang=en").text
    form = {"confirm": kiosk.device_id, "reason": "stolen", "csrf": csrf_token_for(client)}
    assert client.post(page + "/retire", data=form).status_code == 403
    login(client, keys.supervisor)
    shown = client.get(page + "?lang=en").text
    assert "Type the device id again to confirm" in shown and "/retire" in shown
    csrf = csrf_token_for(client)
    typo = client.post(page + "/retire", data={**form, "confirm": "kiosk-x", "csrf": csrf})
    assert typo.status_code == 422
    retired = client.post(page + "/retire", data={**form, "csrf": csrf})
    assert retired.status_code == 200 and 'data-state="retired"' in retired.text
    assert 'data-action="retired"' in retired.text
    back = client.post(page + "/reenable", data={**form, "reason": "found it", "csrf": csrf})
    assert back.status_code == 200 and "data-new-password" in back.text
    assert 'data-state="enrolled"' in back.text
    assert kiosk.device_id in client.get("/dashboard/devices").text


@pytest.mark.parametrize(("device_id", "why"), [
    ("nongan-bridge", "cloud's own"), ("nongan-bridge-2", "cloud's own"),
    ("nongan-anything", "reserved"), ("admin", "reserved"), ("mosquitto", "reserved"),
    ("bridge-acct", "cloud's own"), ("worker-7", "cloud's own"), ("worker-7-2", "cloud's own"),
])
def test_names_that_are_the_clouds_can_never_be_enrolled(store: Engine, device_id: str,
                                                         why: str) -> None:
    settings = load_settings(None, broker={"username": "bridge-acct"},
                             ingest={"client_id": "worker-7"})
    kiosk = FakeKiosk()
    with session_factory(store)() as session, pytest.raises(EnrolmentError, match=why):
        enroll_device(session, device_id=device_id, public_key=kiosk.public_key,
                      station_id="JL01", place_code="220122",
                      reserved=settings.cloud_accounts())


def test_the_api_refuses_to_enrol_the_bridge_account(client: TestClient, keys: Keys) -> None:
    answer = client.post("/api/v1/devices", headers=keys.auth("operator"), json={
        "device_id": "nongan-bridge", "public_key": FakeKiosk().public_key,
        "station_id": "JL01", "place_code": "220122"})
    assert answer.status_code == 409 and "broker login" in answer.json()["detail"]


def test_broker_files_refuse_a_reserved_kiosk_already_in_the_database(
    store: Engine, database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with session_factory(store).begin() as session:  # enrolled before names were checked
        session.add(Device(id="nongan-bridge", public_key=FakeKiosk().public_key,
                           station_id="JL01", place_code="220122",
                           state=DeviceStateValue.ENROLLED, broker_password_hash="$7$x"))
    out = tmp_path / "broker"
    status = main(["bridge", "broker-files", "--out", str(out), "--database-url", database_url])
    assert status == 1
    assert "nongan-bridge" in capsys.readouterr().err
    assert not (out / "passwd").exists() and not (out / "dynamic-security.json").exists()


def test_no_client_certificate_for_a_reserved_name(tmp_path: Path) -> None:
    init_ca(tmp_path, broker_hosts=["127.0.0.1"])
    with pytest.raises(PkiError, match="reserved"):
        issue(tmp_path, "nongan-bridge")
    assert not (tmp_path / "clients" / "nongan-bridge.crt").exists()


def test_retiring_from_the_command_line_needs_the_id_typed_again(
    store: Engine, database_url: str, kiosk: FakeKiosk, capsys: pytest.CaptureFixture[str]
) -> None:
    db = ("--database-url", database_url)
    assert main(["bridge", "device", "retire", "--id", kiosk.device_id, *db]) == 1
    assert "type its id again" in capsys.readouterr().err
    with session_factory(store)() as session, pytest.raises(ConfirmationMismatch):
        retire_device(session, kiosk.device_id, confirm="kiosk-other", reason="typo")
    assert main(["bridge", "device", "retire", "--id", kiosk.device_id, "--confirm",
                 kiosk.device_id, "--reason", "decommissioned", *db]) == 0
