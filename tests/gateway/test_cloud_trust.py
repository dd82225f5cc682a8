"""The kiosk trusts the cloud keys it pinned, and the keys they endorse: key rotation, the
alarm a refused message raises, replayed commands, and rosters put back together from pages.
(The link's handling of forged messages over a real broker: tests/integration/
test_cloud_trust_link.py.)"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from gateway.app import Gateway
from gateway.cloud_trust import ALARM_CODE
from gateway.roster_pages import RosterAssembler
from gateway.settings import ConfigError, load_settings
from protocol import (
    CloudKeys,
    Command,
    Roster,
    decode,
    generate_private_key,
    key_id,
    public_key_text,
)
from tests.gateway.conftest import kiosk_settings
from tests.support import cloud_key


def key_set(keys, retired=(), *, signer=None, device="kiosk-0001") -> CloudKeys:
    body = {"v": 1, "kind": "keys", "device_id": device,
            "keys": [{"kid": key_id(k), "public_key": public_key_text(k)} for k in keys],
            "retired": [key_id(k) for k in retired], "time": datetime.now(UTC).isoformat()}
    return CloudKeys.model_validate(cloud_key.signed(body, signer))


def test_the_pinned_key_is_trusted_and_a_rotation_adds_then_retires(gateway: Gateway) -> None:
    trust = gateway.link.trust
    old, new = cloud_key.private_key(), generate_private_key()
    assert trust.trusted_ids() == [key_id(old)]
    # step 1: the old key announces the new one
    trust.apply_keys(key_set([old, new], signer=old))
    assert set(trust.trusted_ids()) == {key_id(old), key_id(new)}
    # step 2: the new key signs; the key set retires the old one
    change = trust.apply_keys(key_set([new], retired=[old], signer=old))
    assert change.retired == [key_id(old)] and trust.trusted_ids() == [key_id(new)]
    # a replay of step 1 brings nothing back: a retired key stays retired
    trust.apply_keys(key_set([old, new], signer=old))
    assert trust.trusted_ids() == [key_id(new)]


def test_the_last_trusted_key_is_never_retired(gateway: Gateway) -> None:
    trust = gateway.link.trust
    only = cloud_key.private_key()
    trust.apply_keys(key_set([only], retired=[only]))
    assert trust.trusted_ids() == [key_id(only)]


def test_rotation_survives_a_restart(tmp_path) -> None:
    settings = kiosk_settings(tmp_path / "kiosk")
    new = generate_private_key()
    gw = Gateway.open(settings)
    try:
        gw.link.trust.apply_keys(key_set([new], retired=[cloud_key.private_key()]))
    finally:
        gw.close()
    again = Gateway.open(settings)  # the settings still pin the old key
    try:
        assert again.link.trust.trusted_ids() == [key_id(new)]
    finally:
        again.close()


def test_a_key_listed_under_another_keys_id_is_not_added(gateway: Gateway) -> None:
    trust = gateway.link.trust
    new, impostor = generate_private_key(), generate_private_key()
    body = {"v": 1, "kind": "keys", "device_id": "kiosk-0001",
            "keys": [{"kid": key_id(new), "public_key": public_key_text(impostor)}],
            "retired": [], "time": datetime.now(UTC).isoformat()}
    trust.apply_keys(CloudKeys.model_validate(cloud_key.signed(body)))
    assert trust.trusted_ids() == [key_id(cloud_key.private_key())]


def test_a_refusal_raises_one_alarm_and_counts(gateway: Gateway) -> None:
    trust = gateway.link.trust
    trust.refuse("nongan/v1/kiosk-0001/ack", "message is not signed")
    trust.refuse("nongan/v1/kiosk-0001/ack", "message is not signed")
    assert [a.code for a in gateway.books.alarms.active()] == [ALARM_CODE]
    assert trust.telemetry()["cloud_messages_refused"] == 2
    with gateway.books.db.read() as conn:
        alarms = conn.execute("SELECT count(*) FROM outbox WHERE kind = 'alarm'").fetchone()[0]
    assert alarms == 1  # reported once, as a ledger record


def test_a_command_runs_once_and_an_old_one_not_at_all(gateway: Gateway) -> None:
    trust = gateway.link.trust

    def command(cmd_id: str, made: datetime) -> Command:
        payload = cloud_key.command_payload("kiosk-0001", "diagnostics", cmd_id,
                                            time=made.isoformat())
        message = decode("nongan/v1/kiosk-0001/cmd/diagnostics", payload).message
        assert isinstance(message, Command)
        return message

    now = datetime.now(UTC)
    assert trust.command_is_new(command("a" * 32, now)) is None
    assert "run already" in (trust.command_is_new(command("a" * 32, now)) or "")
    assert "was made" in (trust.command_is_new(command("b" * 32, now - timedelta(days=8)))
                          or "")
    # an unsynchronised clock cannot judge age; the id still catches a replay
    assert trust.command_is_new(command("c" * 32, now - timedelta(days=8)),
                                clock_synced=False) is None


def test_the_settings_refuse_a_pinned_key_that_is_not_one(tmp_path) -> None:
    # the key id pasted instead of the key
    with pytest.raises(ConfigError, match="signing_keys"):
        load_settings(None, device={"id": "kiosk-0001", "station_id": "ST01",
                                    "place_code": "370902", "data_dir": str(tmp_path)},
                      cloud={"signing_keys": [key_id(cloud_key.private_key())]})


def page(version: int, number: int, pages: int, *producers: str) -> Roster:
    [(_, payload)] = [p for p in cloud_key.roster_pages(
        "kiosk-0001", version, [{"producer_id": pid, "name": "孙富贵", "phone": "13912345678",
                                 "origin_code": "370902"} for pid in producers])]
    body = json.loads(payload)
    body.pop("sig"), body.pop("kid")
    body.update(page=number, pages=pages)
    return Roster.model_validate(cloud_key.signed(body))


def test_a_roster_is_whole_only_when_every_page_of_one_version_is_in() -> None:
    pages = RosterAssembler()
    assert pages.add(page(2, 1, 3, "p-2")) is None
    assert pages.add(page(1, 0, 1, "old")) is None  # an older version still retained
    assert pages.add(page(2, 0, 3, "p-1")) is None
    whole = pages.add(page(2, 2, 3, "p-3"))
    assert whole is not None and whole.version == 2
    assert [e.producer_id for e in whole.producers] == ["p-1", "p-2", "p-3"]
    pages.held = 2
    assert pages.is_stale(page(1, 0, 1, "old")) and not pages.is_stale(page(2, 0, 1))


def test_pages_of_one_version_that_disagree_start_it_over() -> None:
    pages = RosterAssembler()
    pages.add(page(4, 0, 2, "p-1"))
    with pytest.raises(ValueError, match="as 2 and as 3 pages"):
        pages.add(page(4, 1, 3, "p-2"))
    assert pages.add(page(4, 1, 2, "p-2")) is None  # page 0 has to come again


def test_doctor_faults_a_kiosk_that_pins_no_cloud_key(tmp_path) -> None:
    from gateway.technician.check_host import settings_checks
    from gateway.technician.report import Status

    deaf = kiosk_settings(tmp_path, cloud={"signing_keys": []})
    [check] = settings_checks(deaf)
    assert (check.name, check.status) == ("cloud signing key", Status.FAULT)
    assert settings_checks(kiosk_settings(tmp_path)) == []


def test_gateway_init_pins_the_key_enrolment_printed(tmp_path, capsys) -> None:
    from nongan.cli import main

    config = tmp_path / "gateway.toml"
    base = ["gateway", "init", "--config", str(config), "--device-id", "kiosk-0042",
            "--station", "JL01", "--place", "220122", "--data-dir", str(tmp_path / "data")]
    assert main([*base, f"--cloud-key={cloud_key.public_key()}"]) == 0
    assert load_settings(config).cloud.signing_keys == [cloud_key.public_key()]
    assert main([*base, "--force"]) == 0
    assert load_settings(config).cloud.signing_keys == []
    assert "signing_keys is empty" in capsys.readouterr().out
