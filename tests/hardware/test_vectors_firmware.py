"""The protocol vectors, firmware end: each request, sent to a freshly booted board through
the firmware's real main loop, gets exactly the vector's response."""

from __future__ import annotations

from typing import Any

import pytest

from tests.hardware.firmware_harness import ScriptedFirmware, load_vectors
from tests.hardware.matching import matches

VECTORS = load_vectors()["vectors"]


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_firmware_answers_vector(vector: dict[str, Any]) -> None:
    fw = ScriptedFirmware(setup=vector.get("board", {}))
    try:
        for line in vector.get("before", []):
            fw.exchange(line.encode() + b"\n", polls=0)
        answer = fw.exchange(vector["request"].encode() + b"\n", polls=0)
        assert len(answer) == 1, answer
        assert matches(vector["response"], answer[0]), (vector["response"], answer[0])
        assert fw.reader.reset_requested is vector.get("resets", False)
    finally:
        fw.close()


def test_hello_reports_the_repository_version(firmware: ScriptedFirmware) -> None:
    from app.version import PROTOCOL, VERSION

    [answer] = firmware.exchange(b'{"id":1,"op":"hello"}\n', polls=0)
    assert answer["fw"] == VERSION
    assert answer["proto"] == PROTOCOL == load_vectors()["protocol"]


def test_every_op_has_a_vector() -> None:
    from app.controller import OPS

    covered = {v["request"].split('"op":"')[1].split('"')[0]
               for v in VECTORS if '"op":"' in v["request"]}
    assert set(OPS) <= covered
