"""Driving a kiosk session the way a person and the simulated hardware would, for tests: thin
names over ``gateway.testing.SimulatedKiosk`` (the demo drives the same harness)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from gateway.session import KioskSession, Step
from gateway.testing import SimulatedKiosk, Truth
from tests.gateway.station_helpers import calibrate, simulated_gateway, stock

CLEAN, DIRTY, SUSPECT = Truth.CLEAN, Truth.CONTAMINATED, Truth.UNCLEAR


@dataclass
class FakeClock:
    """The session's monotonic clock, moved by the test."""

    t: float = 1000.0

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


def ready_gateway(data_dir, kits=("gold-procymidone-v1",), strips=20, **sections
                  ) -> SimulatedKiosk:
    gw = simulated_gateway(data_dir, **sections)
    for kit_id in kits:
        stock(gw, kit_id, strips)
    calibrate(gw)
    return gw


def show_cassette(gw: SimulatedKiosk, kit_id: str, truth: str | dict[str, str],
                  seed: int = 1) -> None:
    """Put the cassette the screen asks for in front of the simulated camera."""
    gw.show_cassette(kit_id, truth, seed=seed)


async def wait_step(session: KioskSession, *steps: Step, within_s: float = 30.0) -> Step:
    """Wait until the session is on one of ``steps``."""
    async with asyncio.timeout(within_s):
        while session.step not in steps:
            await session.wait_for_change(session.version, 1.0)
    return session.step


async def run_cassette(gw: SimulatedKiosk, session: KioskSession, truth: str | dict[str, str],
                       seed: int = 1) -> Step:
    """From the preparation screen: step through it, put the cassette in, wait for the end."""
    assert session is gw.session and session.step is Step.PREPARE, session.step
    return await gw.run_cassette(truth, seed=seed)


async def identify_new_producer(session: KioskSession, *, name: str = "王建国",
                                phone: str = "13800001234", pin: str = "2468") -> str:
    await session.start()
    await session.begin_registration()
    origin = session.view.origins[0][0]
    await session.register(name=name, phone=phone, origin_code=origin, pin=pin,
                           origin_detail="一组")
    assert session.step is Step.PRODUCT, session.view.notice
    assert session.person.identity.producer is not None
    return session.person.identity.producer.producer_id


async def to_panel(session: KioskSession, product: str = "chives", quantity: str = "50",
                   unit: str = "kg") -> None:
    await session.choose_product(product)
    await session.set_quantity(quantity, unit)
    assert session.step is Step.PANEL, session.view.notice
