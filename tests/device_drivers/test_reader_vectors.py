"""The protocol vectors, host end: each host call writes exactly the vector's request line and
turns its response into the vector's result; every response, event and noise line of the
vectors is classified as PROTOCOL.md says."""

from __future__ import annotations

import json
from typing import Any

import pytest

from device_drivers.config import ReaderConfig
from device_drivers.errors import ReaderError
from device_drivers.reader import SerialReaderController
from device_drivers.reader.protocol import Event, Reply, classify
from tests.device_drivers.fake_serial import FakeSerial
from tests.hardware.firmware_harness import load_vectors
from tests.hardware.matching import matches

DOC = load_vectors()
HOST_VECTORS = [v for v in DOC["vectors"] if "host" in v]


def _controller(respond: Any) -> tuple[SerialReaderController, list[FakeSerial]]:
    ports: list[FakeSerial] = []

    def factory(*args: Any, **kwargs: Any) -> FakeSerial:
        ports.append(FakeSerial(respond))
        return ports[-1]

    config = ReaderConfig(backend="serial", port="fake://reader", retries=0, timeout_s=0.2)
    ctl = SerialReaderController(config, serial_factory=factory)
    ctl._open()  # the backend seam only: no handshake, the vector is the whole exchange
    return ctl, ports


def _plain(value: Any) -> Any:
    return value.as_dict() if hasattr(value, "as_dict") else value


@pytest.mark.parametrize("vector", HOST_VECTORS, ids=[v["name"] for v in HOST_VECTORS])
def test_host_call_matches_vector(vector: dict[str, Any]) -> None:
    response = (json.dumps(vector["response"]) + "\n").encode()
    ctl, ports = _controller(lambda line: response)
    ctl._next_id = json.loads(vector["request"])["id"]
    host = vector["host"]
    call = getattr(ctl, host["call"])
    if "raises" in host:
        with pytest.raises(ReaderError) as caught:
            call(**host["args"])
        assert caught.value.code == host["raises"]
        assert caught.value.fix, "every board error carries a fix in words"
    else:
        result = _plain(call(**host["args"]))
        assert matches(host["returns"], result), (host["returns"], result)
    assert ports[0].written == [vector["request"].encode() + b"\n"]


@pytest.mark.parametrize("vector", DOC["vectors"], ids=[v["name"] for v in DOC["vectors"]])
def test_host_classifies_every_vector_response(vector: dict[str, Any]) -> None:
    msg = classify(json.dumps(vector["response"]).encode())
    if "id" in vector["response"]:
        assert isinstance(msg, Reply)
        assert msg.id == json.loads(vector["request"])["id"]
        assert msg.ok is vector["response"]["ok"]
    else:
        assert isinstance(msg, Event)
        assert msg.name == vector["response"]["event"]


@pytest.mark.parametrize("event", DOC["events"], ids=[e["name"] for e in DOC["events"]])
def test_host_understands_every_event(event: dict[str, str]) -> None:
    msg = classify(event["line"].encode())
    assert isinstance(msg, Event)
    assert msg.name == json.loads(event["line"])["event"]


@pytest.mark.parametrize("line", DOC["noise"])
def test_host_ignores_every_noise_line(line: str) -> None:
    assert classify(line.encode()) is None


def test_host_never_sends_ctrl_c() -> None:
    from device_drivers.reader.protocol import encode_request

    assert b"\x03" not in encode_request(1, "led\x03", level="\x03")
