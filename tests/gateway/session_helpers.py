"""Driving a kiosk session the way a person and the simulated hardware would, for tests."""

from __future__ import annotations

import asyncio
import functools
from dataclasses import dataclass

from device_drivers.strip_sim import LineTruth, SceneSpec
from gateway.app import Gateway
from gateway.kits import Format, sim_geometry
from gateway.session import KioskSession, Step
from tests.gateway.station_helpers import calibrate, render, simulated_gateway, stock

CLEAN, DIRTY, SUSPECT = "clean", "dirty", "suspect"
WORKING = (Step.INSERT, Step.INCUBATING, Step.SCORING)


@dataclass
class FakeClock:
    """The session's monotonic clock, moved by the test."""

    t: float = 1000.0

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


def ready_gateway(data_dir, kits=("gold-procymidone-v1",), strips=20, **sections) -> Gateway:
    gw = simulated_gateway(data_dir, **sections)
    for kit_id in kits:
        stock(gw, kit_id, strips)
    calibrate(gw)
    return gw


def true_ratio(kit, window: int, truth: str) -> float:
    decision = kit.decision_for(window)
    if kit.format is Format.SANDWICH:
        return {CLEAN: 0.0, DIRTY: 0.9, SUSPECT: (decision.cutoff_low + decision.cutoff_high) / 2
                }[truth]
    return {CLEAN: max(kit.blank_t_c, decision.cutoff_high * 1.15), DIRTY: 0.2,
            SUSPECT: (decision.cutoff_low + decision.cutoff_high) / 2}[truth]


def show_cassette(gw: Gateway, kit_id: str, truth: str | dict[str, str], seed: int = 1) -> None:
    """Put the cassette the screen asks for in front of the simulated camera."""
    kit = gw.catalogue.kit(kit_id)
    truths = [truth.get(a, CLEAN) if isinstance(truth, dict) else truth for a in kit.analytes]
    spec = SceneSpec(seed=seed, cassette=sim_geometry(kit),
                     lines=tuple(LineTruth.from_ratio(0.6, true_ratio(kit, i, t))
                                 for i, t in enumerate(truths)))
    gw.devices.camera.show(functools.partial(render, spec))  # type: ignore[union-attr]


async def wait_step(session: KioskSession, *steps: Step, within_s: float = 30.0) -> Step:
    """Wait until the session is on one of ``steps``."""
    async with asyncio.timeout(within_s):
        while session.step not in steps:
            await session.wait_for_change(session.version, 1.0)
    return session.step


async def run_cassette(gw: Gateway, session: KioskSession, truth: str | dict[str, str],
                       seed: int = 1) -> Step:
    """From the preparation screen: step through it, put the cassette in, wait for the end."""
    assert session.step is Step.PREPARE, session.step
    while session.step is Step.PREPARE:
        await session.next_prep()
    assert session.view.test is not None
    show_cassette(gw, session.view.test.kit_id, truth, seed)
    await wait_step(session, Step.INSERT)
    gw.devices.reader.insert_cassette()  # type: ignore[union-attr]
    try:
        return await wait_step(session, *(s for s in Step if s not in WORKING))
    finally:
        gw.devices.reader.remove_cassette()  # type: ignore[union-attr]


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
