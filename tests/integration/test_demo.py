"""The demo's path: embedded broker (or a real Mosquitto), cloud on SQLite, simulated kiosk,
real scoring; every certificate must come back verified through the HTTP API."""

from __future__ import annotations

import io
import re
import threading

import pytest
from rich.console import Console

from nongan.cli import main as nongan_main
from nongan.demo.headless import run_headless
from nongan.demo.stack import DemoOptions, DemoStack
from tests.support import aio


def run_demo(tmp_path, farmers, broker_url=None, contaminated=0):
    out = io.StringIO()
    console = Console(file=out, width=120)

    async def scenario():
        async with DemoStack(DemoOptions(tmp_path / "demo", broker_url=broker_url)) as stack:
            return await run_headless(stack, farmers, console, seed=3,
                                      contaminated=contaminated)

    status = aio.run(scenario(), timeout=240)
    return status, out.getvalue()


def test_headless_demo_on_the_embedded_broker(tmp_path):
    status, output = run_demo(tmp_path, farmers=2, contaminated=1)
    assert status == 0, output
    assert "all certificates recorded and verified" in output
    assert re.search(r"verified through the API\s*│\s*2\s*│", output), output
    # The contaminated farmer's lot is blocked at the kiosk and reaches the cloud as such.
    assert re.search(r"certificates issued\s*│\s*2\s*│", output), output
    assert re.search(r"blocked lots \(positive\)\s*│\s*1\s*│", output), output
    assert re.search(r"positive events in the cloud\s*│\s*1\s*│", output), output
    assert not [t for t in threading.enumerate() if t.name.startswith("paho")]


@pytest.mark.mosquitto
def test_headless_demo_on_mosquitto_with_shared_subscription(tmp_path, mosquitto):
    status, output = run_demo(tmp_path, farmers=1, broker_url=mosquitto.url)
    assert status == 0, output


def test_the_command_line_runs_the_demo(tmp_path, capsys):
    status = nongan_main(["demo", "--headless", "--farmers", "1",
                          "--data-dir", str(tmp_path / "d")])
    assert status == 0, capsys.readouterr().out
