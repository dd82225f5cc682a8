"""The protocol vectors, firmware end, on the MicroPython VM: each request, sent to a freshly
booted board through the firmware's real main loop, gets exactly the vector's response, both
inside ``micropython`` (tests/hardware/upy/vector_tests.py, one pytest test per vector) and over
the serial line to the firmware process (its real main.py and USB port code)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.hardware.firmware_harness import (
    MicroPythonBoard,
    assert_upy_passed,
    load_vectors,
    upy_test_names,
)
from tests.hardware.matching import matches

VECTORS = load_vectors()["vectors"]


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_firmware_answers_vector(vector: dict[str, Any],
                                 upy_results: dict[str, dict[str, Any]]) -> None:
    assert_upy_passed(upy_results, "vector: " + vector["name"])


@pytest.mark.parametrize("name", upy_test_names("vector_tests"))
def test_on_micropython(name: str, upy_results: dict[str, dict[str, Any]]) -> None:
    assert_upy_passed(upy_results, name)



@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_firmware_process_answers_vector_on_the_line(vector: dict[str, Any]) -> None:
    with MicroPythonBoard(setup=vector.get("board", {})) as board:
        for line in vector.get("before", []):
            board.send(line.encode() + b"\n")
            board.receive()
        board.send(vector["request"].encode() + b"\n")
        answer = board.receive()
        assert matches(vector["response"], answer), (vector["response"], answer)
        if vector.get("resets", False):  # the board boots again after answering
            board.wait_for_state(lambda state: state["boots"] == 2)
        assert board.state()["boots"] == (2 if vector.get("resets", False) else 1)
