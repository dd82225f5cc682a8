"""Fixtures for the firmware tests: the firmware's logic under CPython with a stub machine."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.hardware.firmware_harness import ScriptedFirmware


@pytest.fixture
def firmware() -> Iterator[ScriptedFirmware]:
    """A freshly booted firmware (board rev_a) whose physical state the test sets."""
    fw = ScriptedFirmware()
    try:
        yield fw
    finally:
        fw.close()
