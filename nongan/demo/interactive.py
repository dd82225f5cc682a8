"""The interactive demo: the kiosk screen and its simulated-hardware panel in a browser.

The kiosk is stocked and calibrated as a technician would (``setup.prepare``), then the
screen is served; a person walks the whole flow at ``/demo`` and the certificate's QR opens
the cloud's record. Runs until Ctrl-C.
"""

from __future__ import annotations

import asyncio
import contextlib

from rich.console import Console

from .setup import prepare
from .stack import DemoStack


async def run_interactive(stack: DemoStack, console: Console) -> int:
    assert stack.kiosk is not None
    await prepare(stack.kiosk)
    console.print("[bold]nongan demo[/bold] is running (Ctrl-C to stop)")
    if stack.kiosk_url:
        console.print(f"  kiosk screen + simulated hardware  [bold]{stack.kiosk_url}/demo[/bold]")
        console.print(f"  kiosk screen alone                 {stack.kiosk_url}/")
    console.print(f"  MQTT broker   {stack.broker_url}")
    console.print(f"  cloud API     {stack.api_url}/healthz")
    console.print(f"  data          {stack.options.data_dir.resolve()}")
    console.print(f"  technician    nongan doctor --config {stack.kiosk_config_path}")
    # Ctrl-C cancels this task; DemoStack then stops everything in order.
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.Event().wait()
    return 0
