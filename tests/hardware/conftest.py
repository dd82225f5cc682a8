"""Fixtures for the firmware tests: the MicroPython-side test run (once per session) and the
firmware on ``micropython`` behind a pseudo-terminal."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.hardware.firmware_harness import MicroPythonBoard, run_upy_suite


@pytest.fixture(scope="session")
def upy_results() -> dict[str, dict[str, Any]]:
    """Every MicroPython-side test's result (tests/hardware/upy/), from one run of the VM."""
    return run_upy_suite()


@pytest.fixture
def board() -> Iterator[MicroPythonBoard]:
    """A freshly booted board (rev_a) running the firmware on the MicroPython VM."""
    with MicroPythonBoard() as fw:
        yield fw
