"""The protocol vectors, firmware end, on the MicroPython VM: each request, sent to a freshly
booted board through the firmware's real main loop, gets exactly the vector's response
(tests/hardware/upy/vector_tests.py, one pytest test per vector)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.hardware.firmware_harness import assert_upy_passed, load_vectors, upy_test_names

VECTORS = load_vectors()["vectors"]


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_firmware_answers_vector(vector: dict[str, Any],
                                 upy_results: dict[str, dict[str, Any]]) -> None:
    assert_upy_passed(upy_results, "vector: " + vector["name"])


@pytest.mark.parametrize("name", upy_test_names("vector_tests"))
def test_on_micropython(name: str, upy_results: dict[str, dict[str, Any]]) -> None:
    assert_upy_passed(upy_results, name)

