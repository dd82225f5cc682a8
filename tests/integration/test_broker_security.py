"""The link's security with the deployment's own Mosquitto configuration (TLS, per-kiosk
credentials, the ACL): a kiosk cannot publish as another or read another's commands, acks or
roster; a message whose signature does not match its topic's device is dead-lettered; a
replay changes nothing; a retired kiosk loses its broker login.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from cloud_bridge.broker.dynsec import config_document, desired
from cloud_bridge.ingest import IngestWorker
from cloud_bridge.pki import init_ca, issue
from cloud_bridge.store import DeadLetter, LedgerRecord, make_engine, migrate, session_factory
from cloud_bridge.store.devices import enroll_device
from nongan.cli import main
from protocol import CertificateEvent, ack_topic, command_topic, roster_topic, seal
from tests.support import cloud_key
from tests.support.cloud import bridge_settings, count, rows, wait_until
from tests.support.kiosk_messages import FakeKiosk
from tests.support.secure_broker import (
    CLOUD_ACCOUNTS,
    SecureBroker,
    TlsClient,
    eventually,
    prepare_folder,
)

pytestmark = pytest.mark.mosquitto

DEPLOY = Path(__file__).resolve().parents[2] / "hardware/deploy/mosquitto"


@pytest.fixture
def world(tmp_path: Path, database_url: str) -> Iterator[dict]:
    """A PKI, two enrolled kiosks with certificates and passwords, the broker, a bridge."""
    pki = tmp_path / "pki"
    init_ca(pki, broker_hosts=["127.0.0.1", "localhost"])
    a, b = FakeKiosk(device_id="kiosk-a"), FakeKiosk(device_id="kiosk-b")
    migrate(database_url)
    engine = make_engine(database_url)
    passwords = {}
    with session_factory(engine).begin() as session:
        for k in (a, b):
            info = enroll_device(session, device_id=k.device_id, public_key=k.public_key,
                                 station_id="JL01", place_code="220122")
            passwords[k.device_id] = info.broker_password
            issue(pki, k.device_id)
    broker_dir = prepare_folder(tmp_path / "broker", pki, database_url)
    cloud_password = CLOUD_ACCOUNTS["nongan-bridge"]
    broker = SecureBroker(broker_dir).start()
    settings = bridge_settings(f"mqtts://127.0.0.1:{broker.cloud_port}", database_url,
                               broker={"username": "nongan-bridge", "password": cloud_password,
                                       "ca_file": str(pki / "ca.crt")})
    worker = IngestWorker(settings, engine).start()
    try:
        yield {"pki": pki, "broker": broker, "engine": engine, "a": a, "b": b,
               "passwords": passwords, "worker": worker, "dir": broker_dir,
               "database_url": database_url, "settings": settings}
    finally:
        worker.stop()
        broker.stop()
        engine.dispose()


def kiosk_client(world: dict, name: str) -> TlsClient:
    pki = world["pki"]
    return TlsClient(world["broker"].cert_port, pki / "ca.crt",
                     cert=pki / "clients" / f"{name}.crt", key=pki / "clients" / f"{name}.key")


def cloud_client(world: dict) -> TlsClient:
    return TlsClient(world["broker"].cloud_port, world["pki"] / "ca.crt",
                     username="nongan-bridge", password=CLOUD_ACCOUNTS["nongan-bridge"])


def test_the_written_broker_configuration_is_the_documented_one(world: dict) -> None:
    """broker-files writes the dynamic security roles hardware/deploy documents (one role
    per kiosk, the cloud's and the provisioning account's), and the password file."""
    example = json.loads((DEPLOY / "dynamic-security.example.json").read_text())
    assert config_document(desired(["kiosk-0042"], cloud_users=["nongan-bridge"],
                                   admin_users=["nongan-admin"], group="nongan-bridge")) == example
    written = json.loads((world["dir"] / "dynamic-security.json").read_text())
    example_text = json.dumps(example).replace("kiosk-0042", "kiosk-a")
    roles = {r["rolename"]: r for r in written["roles"]}
    assert roles["nongan-kiosk/kiosk-a"] == next(
        r for r in json.loads(example_text)["roles"] if r["rolename"] == "nongan-kiosk/kiosk-a")
    assert set(roles) == {"nongan-kiosk/kiosk-a", "nongan-kiosk/kiosk-b", "nongan-cloud",
                          "nongan-admin"}
    assert written["defaultACLAccess"] == example["defaultACLAccess"]
    passwd = (world["dir"] / "passwd").read_text()
    assert passwd.startswith("kiosk-a:$7$101$") and "kiosk-b:$7$" in passwd
    assert world["passwords"]["kiosk-a"] not in passwd
    assert "nongan-bridge:$7$" in passwd and "nongan-admin:$7$" in passwd


def test_a_kiosk_cannot_publish_as_another(world: dict) -> None:
    a, b, engine = world["a"], world["b"], world["engine"]
    with kiosk_client(world, "kiosk-a") as ka, cloud_client(world) as cloud:
        assert ka.accepted
        # what kiosks publish (the cloud's own retained key sets are on nongan/v1/+/keys)
        cloud.subscribe("nongan/v1/+/event/+", "nongan/v1/+/status")
        # A's own record is recorded; one made and signed by B but sent by A on B's topic, and
        # one A made on B's topic, never reach the cloud.
        topic, payload = a.certificate()
        ka.publish(topic, payload)
        b_topic, b_payload = b.certificate()
        ka.publish(b_topic, b_payload)
        ka.publish(b_topic, b.reading()[1])
        ka.publish(b.status()[0], b.status("offline")[1], retain=True)
        wait_until(lambda: count(engine, LedgerRecord) == 1)
        time.sleep(0.5)
    assert rows(engine, "SELECT device_id FROM ledger") == [("kiosk-a",)]
    assert not any(t.startswith("nongan/v1/kiosk-b/") for t, _ in cloud.received)
    assert rows(engine, "SELECT count(*) FROM device_status") == [(0,)]


def test_a_kiosk_reads_only_its_own_commands_acks_and_roster(world: dict) -> None:
    command = json.dumps({"v": 1, "kind": "command", "cmd_id": "c" * 32, "name": "diagnostics",
                          "args": {}, "time": "2026-11-24T08:00:00Z"}).encode()
    with kiosk_client(world, "kiosk-a") as ka, kiosk_client(world, "kiosk-b") as kb, \
            cloud_client(world) as cloud:
        granted = ka.subscribe("nongan/v1/kiosk-a/cmd/+", "nongan/v1/kiosk-b/cmd/+",
                               "nongan/v1/kiosk-b/ack", "nongan/v1/#",
                               "nongan/v1/kiosk-b/roster/+")
        # its own commands; every other subscription refused at SUBACK
        assert [r.is_failure for r in granted] == [False, True, True, True, True]
        kb.subscribe("nongan/v1/kiosk-b/cmd/+", "nongan/v1/kiosk-b/ack")
        cloud.publish(command_topic("kiosk-b", "diagnostics"), command)
        cloud.publish(ack_topic("kiosk-b"), b'{"secret": "for b"}', retain=True)
        cloud.publish(roster_topic("kiosk-b", 0), b'{"roster": "for b"}', retain=True)
        cloud.publish(command_topic("kiosk-a", "diagnostics"), command)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and len(kb.received) < 2:
            time.sleep(0.05)
        time.sleep(0.5)
    assert {t for t, _ in kb.received} == {"nongan/v1/kiosk-b/cmd/diagnostics",
                                           "nongan/v1/kiosk-b/ack"}
    assert [t for t, _ in ka.received] == ["nongan/v1/kiosk-a/cmd/diagnostics"]


def test_a_signature_that_does_not_match_the_topics_device_is_dead_lettered(
    world: dict
) -> None:
    a, b, engine = world["a"], world["b"], world["engine"]
    topic, payload = a.certificate()
    obj = json.loads(payload)
    obj.pop("sig")
    _, signed_by_b = seal(CertificateEvent, obj, b.key)  # A's message, B's key
    b_obj = json.loads(b.certificate()[1])
    b_obj.pop("sig")
    _, b_inside = seal(CertificateEvent, b_obj, b.key)     # B's message on A's topic
    with kiosk_client(world, "kiosk-a") as ka:
        ka.publish(topic, signed_by_b)
        ka.publish(topic, b_inside)
        wait_until(lambda: count(engine, DeadLetter) == 2)
    codes = dict(rows(engine, "SELECT code, device_id FROM dead_letters"))
    assert codes == {"bad_signature": "kiosk-a", "device_mismatch": "kiosk-a"}
    assert count(engine, LedgerRecord) == 0


def test_a_replayed_message_changes_nothing(world: dict) -> None:
    a, engine, worker = world["a"], world["engine"], world["worker"]
    message = a.certificate()
    with kiosk_client(world, "kiosk-a") as ka:
        ka.publish(*message)
        wait_until(lambda: count(engine, LedgerRecord) == 1)
        before = rows(engine, "SELECT token, status, recorded_at FROM certificates")
        for _ in range(3):
            ka.publish(*message)
        wait_until(lambda: worker.stats.duplicates == 3)
    assert rows(engine, "SELECT token, status, recorded_at FROM certificates") == before
    assert count(engine, LedgerRecord) == 1


def test_passwords_work_and_retiring_a_kiosk_takes_its_login_away(world: dict) -> None:
    broker, ca = world["broker"], world["pki"] / "ca.crt"
    password = world["passwords"]["kiosk-b"]
    with TlsClient(broker.password_port, ca, username="kiosk-b", password=password) as ok:
        assert ok.accepted
    with TlsClient(broker.password_port, ca, username="kiosk-b", password="guess") as bad:
        assert not bad.accepted
    # the certificate listener wants a certificate: the handshake itself fails
    with TlsClient(broker.cert_port, ca, connect_timeout=2) as no_cert:
        assert not no_cert.accepted
    assert main(["bridge", "device", "retire", "--id", "kiosk-b", "--confirm", "kiosk-b",
                 "--reason", "stolen", "--database-url", world["database_url"]]) == 0
    assert main(["bridge", "broker-files", "--out", str(world["dir"]), "--pki",
                 str(world["pki"]), "--database-url", world["database_url"]]) == 0
    broker.reload()

    def refused() -> bool:
        with TlsClient(broker.password_port, ca, username="kiosk-b", password=password) as gone:
            return not gone.accepted

    assert eventually(refused)


# ------------------------------------------------------------- refused at SUBSCRIBE time

def test_a_kiosk_in_the_shared_group_loses_no_other_kiosks_certificates(world: dict) -> None:
    """Issue 11, finding 5: a kiosk joining the workers' shared subscription used to get its
    round-robin share of every kiosk's events, dropped at delivery (5 of 10 lost)."""
    b, engine = world["b"], world["engine"]
    with kiosk_client(world, "kiosk-a") as attacker, kiosk_client(world, "kiosk-b") as kb:
        assert attacker.accepted and kb.accepted
        refused = attacker.subscribe("$share/nongan-bridge/nongan/v1/+/event/+",
                                     "$share/nongan-bridge/nongan/v1/+/status", "#",
                                     "$SYS/#", "nongan/v1/+/event/+", "$share/x/#")
        assert [r.is_failure for r in refused] == [True] * 6, refused
        for _ in range(20):
            kb.publish(*b.certificate())
        wait_until(lambda: count(engine, LedgerRecord) == 20, timeout=30)
        assert attacker.received == []
    assert rows(engine, "SELECT count(*) FROM certificates WHERE device_id = 'kiosk-b'") == [
        (20,)]


def test_a_kiosk_publishes_only_on_its_exact_topic_names(world: dict) -> None:
    """No ``+`` in a kiosk's publish rights: an 8,000-character event name, an unknown command
    result or an extra level never reaches the cloud (issue 11, finding 1's topic)."""
    a, engine = world["a"], world["engine"]
    junk = ["nongan/v1/kiosk-a/event/" + "x" * 8000, "nongan/v1/kiosk-a/event/test/extra",
            "nongan/v1/kiosk-a/cmd-result/reboot", "nongan/v1/kiosk-a/ack",
            "nongan/v1/kiosk-a/keys", "nongan/v1/kiosk-a/roster/0"]
    with kiosk_client(world, "kiosk-a") as ka, cloud_client(world) as cloud:
        cloud.subscribe("nongan/v1/#")
        for topic in junk:
            ka.publish(topic, b"{}")
        ka.publish(*a.certificate())
        wait_until(lambda: count(engine, LedgerRecord) == 1)
        time.sleep(0.3)  # the junk went first: anything let through would be in by now
    assert count(engine, DeadLetter) == 0
    # (the cloud's own retained key set on .../keys is not the kiosk's "{}")
    assert not [t for t, payload in cloud.received if payload == b"{}"]


# ------------------------------------------------- provisioning a running broker, retiring

def bridge_config(world: dict, path: Path) -> Path:
    """The bridge's settings with a [broker_admin] section: the cloud on the broker's host."""
    broker, pki = world["broker"], world["pki"]
    pid_file = path.parent / "mosquitto.pid"
    pid_file.write_text(f"{broker.pid}\n")
    path.write_text(f"""
[database]
url = "{world['database_url']}"

[signing]
key_file = "{cloud_key.key_file()}"

[broker_admin]
url = "mqtts://127.0.0.1:{broker.cloud_port}"
username = "nongan-admin"
password = "{CLOUD_ACCOUNTS['nongan-admin']}"
ca_file = "{pki / 'ca.crt'}"
files_dir = "{world['dir']}"
pki_dir = "{pki}"
pid_file = "{pid_file}"
""", encoding="utf-8")
    return path


def test_kiosks_are_added_and_retired_on_a_running_broker_certificates_too(
    world: dict, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Enrolment and retirement reach the running broker with no file edited by hand: the
    dynamic security roles through the plugin's control API at once, the password file and
    the CRL rewritten and reloaded. A retired kiosk is disconnected, may then subscribe to
    nothing, and its client certificate is refused (issue 11, finding 6)."""
    broker, pki, ca = world["broker"], world["pki"], world["pki"] / "ca.crt"
    config = bridge_config(world, tmp_path / "bridge.toml")
    c = FakeKiosk(device_id="kiosk-c")
    capsys.readouterr()
    assert main(["bridge", "device", "add", "--id", "kiosk-c", f"--public-key={c.public_key}",
                 "--station", "JL01", "--place", "220122", "--config", str(config)]) == 0
    out, err = capsys.readouterr()
    assert "broker updated" in err and "1 added" in err, err
    password = next(line.split(": ", 1)[1] for line in out.splitlines()
                    if line.startswith("broker password: "))
    issue(pki, "kiosk-c")
    certified = {"cert": pki / "clients" / "kiosk-c.crt", "key": pki / "clients" / "kiosk-c.key"}

    def by_password() -> TlsClient:
        return TlsClient(broker.password_port, ca, username="kiosk-c", password=password)

    assert eventually(lambda: _accepted(by_password()))
    with TlsClient(broker.cert_port, ca, **certified) as kc:
        assert kc.accepted
        assert [r.is_failure for r in kc.subscribe("nongan/v1/kiosk-c/ack")] == [False]
        assert main(["bridge", "device", "retire", "--id", "kiosk-c", "--confirm", "kiosk-c",
                     "--reason", "stolen from the station", "--config", str(config)]) == 0
        # the plugin disconnects it the moment its account is deleted
        assert eventually(lambda: not kc.client.is_connected())
    assert "1 removed" in capsys.readouterr().err
    assert eventually(lambda: not _accepted(by_password()))
    assert eventually(lambda: not _accepted(TlsClient(broker.cert_port, ca, connect_timeout=2,
                                                       **certified)))
    with world["engine"].connect() as conn:
        history = conn.execute(text("SELECT action, reason FROM history WHERE entity = 'device' "
                                    "AND entity_id = 'kiosk-c' ORDER BY id")).all()
    assert [tuple(h) for h in history] == [("enrolled", None),
                                           ("retired", "stolen from the station")]


def _accepted(client: TlsClient) -> bool:
    with client as connected:
        return connected.accepted


def test_a_kiosk_cannot_take_over_another_kiosks_session(world: dict) -> None:
    """Client ids are forced to the username on the kiosks' listeners: a kiosk asking for
    another's client id gets its own, and the other stays connected."""
    broker, ca = world["broker"], world["pki"] / "ca.crt"
    with kiosk_client(world, "kiosk-b") as kb, \
            TlsClient(broker.password_port, ca, username="kiosk-a",
                      password=world["passwords"]["kiosk-a"], client_id="kiosk-b") as ka:
        assert ka.accepted
        time.sleep(0.5)  # a takeover would have disconnected kiosk-b by now
        assert kb.client.is_connected()


def test_the_bridge_account_cannot_speak_as_a_kiosk(world: dict) -> None:
    """The workers' login reads kiosks' topics and publishes only what the cloud sends
    kiosks; a kiosk's record published with it is dropped by the broker."""
    a, engine = world["a"], world["engine"]
    with cloud_client(world) as cloud:
        cloud.publish(*a.certificate())
        cloud.publish(*a.status("offline"))
    with kiosk_client(world, "kiosk-a") as ka:
        ka.publish(*a.certificate())
        wait_until(lambda: count(engine, LedgerRecord) == 1)
    assert rows(engine, "SELECT seq FROM ledger") == [(2,)]
    assert rows(engine, "SELECT count(*) FROM device_status") == [(0,)]
