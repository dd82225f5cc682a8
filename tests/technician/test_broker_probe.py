"""The doctor's broker check: a real MQTT CONNECT to a private Mosquitto, with and without
accepted credentials, and one to a port where nothing listens."""

from __future__ import annotations

import getpass
import subprocess
import time

import paho.mqtt.client as mqtt
import pytest

from gateway.settings import BrokerSection
from gateway.technician.check_link import probe_broker
from gateway.technician.report import Status
from tests.support.mosquitto import Mosquitto
from tests.support.net import free_port

pytestmark = pytest.mark.mosquitto


@pytest.mark.parametrize("protocol", ["5", "3.1.1"])
def test_a_reachable_broker_is_ok(mosquitto, protocol):
    check = probe_broker(BrokerSection(url=mosquitto.url, protocol=protocol), "kiosk-0001-doctor")
    assert check.status is Status.OK, check
    assert "connected (anonymous)" in check.detail and f"MQTT {protocol}" in check.detail


def test_nothing_listening_is_a_warning_with_what_to_check():
    check = probe_broker(BrokerSection(url=f"mqtt://127.0.0.1:{free_port()}"), "k-doctor",
                         timeout_s=2)
    assert check.status is Status.WARNING
    assert "connection refused" in check.detail and "broker.url" in check.fix


@pytest.fixture
def locked_broker(tmp_path):
    passwords = tmp_path / "passwd"
    subprocess.run(["mosquitto_passwd", "-b", "-c", str(passwords), "kiosk-0001", "s3cret"],
                   check=True, capture_output=True)
    broker = Mosquitto(workdir=tmp_path / "mq", extra_config=(
        # Run as the invoking user: dropping to "mosquitto" could not read the test folder.
        f"allow_anonymous false\npassword_file {passwords}\nuser {getpass.getuser()}")).start()
    try:
        yield broker
    finally:
        broker.stop()


@pytest.mark.parametrize("protocol", ["5", "3.1.1"])
def test_credentials_are_checked(locked_broker, protocol):
    def probe(username, password):
        return probe_broker(BrokerSection(url=locked_broker.url, protocol=protocol,
                                          username=username, password=password), "k-doctor")

    good = probe("kiosk-0001", "s3cret")
    assert good.status is Status.OK and "as kiosk-0001" in good.detail
    bad = probe("kiosk-0001", "wrong")
    assert bad.status is Status.FAULT, bad
    assert "refused" in bad.detail and "broker.password" in bad.fix
    anonymous = probe(None, None)
    assert anonymous.status is Status.FAULT


def test_the_probe_does_not_take_over_the_kiosks_session(mosquitto):
    dropped: list[object] = []
    kiosk = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="kiosk-0001")
    kiosk.on_disconnect = lambda *args: dropped.append(args)
    kiosk.connect("127.0.0.1", mosquitto.port)
    kiosk.loop_start()
    try:
        check = probe_broker(BrokerSection(url=mosquitto.url), "kiosk-0001-doctor")
        time.sleep(0.3)
        assert check.status is Status.OK
        assert dropped == [] and kiosk.is_connected()
    finally:
        kiosk.loop_stop()
        kiosk.disconnect()
