"""Simulated farmers for the headless demo, going through the kiosk's session like a person.

A simulated farmer walks the same screens a person does, through the session API: registers
(name, phone, PIN), picks the product and quantity, accepts the panel, and for each cassette
the screen asks for, steps through the preparation, then "puts the cassette in": the simulated
camera is shown a rendered cassette of the kit the session chose, whose true line densities
match the farmer's produce (clean, contaminated), and the simulated reader feels it arrive.
The kiosk's real station, scorer, re-test rule, issuer and ledger do the rest.

The rendering truth is chosen here; the *verdict* is the kiosk's, so a demo run exercises the
same code a kiosk runs, on simulated optics.
"""

from __future__ import annotations

import asyncio
import functools
import random
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np

from device_drivers import SimulatedCamera, SimulatedReaderController
from device_drivers.strip_sim import (
    Camera,
    Illumination,
    LineTruth,
    Placement,
    SceneSpec,
    render_scene,
)
from gateway.app import Gateway
from gateway.kits import Format, Kit, sim_geometry
from gateway.session import KioskSession, Step
from protocol import Certificate

FAMILY = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = ["建国", "秀英", "桂兰", "玉珍", "志强", "红梅", "德华", "春花", "国庆", "淑芬",
         "海燕", "长顺", "金凤", "永福", "丽华", "富贵"]
UNITS = {"eggs": "egg", "livestock": "head", "poultry": "bird"}
WORKING = (Step.INSERT, Step.INCUBATING, Step.SCORING)
CLEAN, CONTAMINATED, UNCLEAR = "clean", "contaminated", "unclear"
STEP_WAIT_S = 120.0


@dataclass
class FarmerPlan:
    number: int
    name: str
    phone: str
    product_code: str
    quantity: float
    unit: str
    contaminated: bool = False


@dataclass
class FarmerOutcome:
    plan: FarmerPlan
    readings: int = 0
    cassettes: int = 0
    certificate: Certificate | None = None
    final_step: Step | None = None
    refused: str | None = None
    session_id: str = ""
    steps_seen: list[str] = field(default_factory=list)

    @property
    def blocked(self) -> bool:
        return self.final_step in (Step.BLOCKED, Step.UNRESOLVED)


def plan_farmers(count: int, products: list[str], rng: random.Random,
                 categories: Mapping[str, str], *, contaminated: int = 0) -> list[FarmerPlan]:
    """``count`` farmers with clean produce, then ``contaminated`` whose produce is not."""
    plans = []
    for i in range(count + contaminated):
        product = products[i % len(products)]
        unit = UNITS.get(categories[product], "kg")
        quantity = float(rng.choice([20, 50, 80, 100, 150, 300] if unit == "kg"
                                    else [1, 2, 5, 10, 30, 300]))
        plans.append(FarmerPlan(
            number=i + 1,
            name=rng.choice(FAMILY) + rng.choice(GIVEN),
            phone=f"13{rng.randint(0, 9)}{rng.randint(0, 99999999):08d}",
            product_code=product, quantity=quantity, unit=unit,
            contaminated=i >= count,
        ))
    return plans


# The kiosk's own camera: lossless frames from a colour-filter-array sensor.
KIOSK_CAMERA = Camera(jpeg_quality=None, bayer=True)


def scene_for(kit: Kit, truth: str, rng: random.Random) -> SceneSpec:
    """A cassette of ``kit`` as a sample of that truth would develop it."""
    truths = []
    for window in range(len(kit.analytes)):
        decision = kit.decision_for(window)
        c_od = rng.uniform(0.45, 0.75)
        middle = (decision.cutoff_low + decision.cutoff_high) / 2
        if kit.format is Format.SANDWICH:
            t_c = {CONTAMINATED: rng.uniform(0.6, 1.0), UNCLEAR: middle}.get(truth, 0.0)
        else:
            # Competitive: a clean sample leaves the T line as strong as the blank's.
            clean = max(kit.blank_t_c, decision.cutoff_high * 1.15) * rng.uniform(0.97, 1.05)
            t_c = {CONTAMINATED: rng.uniform(0.1, decision.cutoff_low * 0.6),
                   UNCLEAR: middle}.get(truth, clean)
        truths.append(LineTruth.from_ratio(c_od, t_c))
    return SceneSpec(
        seed=rng.randrange(2**31),
        cassette=sim_geometry(kit),
        lines=tuple(truths),
        placement=Placement(offset_mm=(rng.uniform(-1.5, 1.5), rng.uniform(-1, 1)),
                            rotation_deg=rng.uniform(-1.5, 1.5)),
        light=replace(Illumination(), exposure=rng.uniform(0.92, 1.08)),
        camera=KIOSK_CAMERA,
    )


def _render(spec: SceneSpec, frame_index: int) -> np.ndarray:
    return render_scene(spec, frame_index=frame_index)


def put_cassette(gateway: Gateway, kit_id: str, truth: str, rng: random.Random) -> None:
    """Show the simulated camera a cassette of ``kit_id`` and slide it into the tray."""
    assert gateway.devices is not None
    camera, reader = gateway.devices.camera, gateway.devices.reader
    assert isinstance(camera, SimulatedCamera) and isinstance(reader, SimulatedReaderController)
    reader.remove_cassette()  # the previous one, given back when its test ended
    camera.show(functools.partial(_render, scene_for(gateway.catalogue.kit(kit_id), truth,
                                                     rng)), lossless=True)
    reader.insert_cassette()


async def wait_for(session: KioskSession, *steps: Step, within_s: float = STEP_WAIT_S) -> Step:
    """Wait, as a person watching the screen would, until one of ``steps`` shows."""
    async with asyncio.timeout(within_s):
        while session.step not in steps:
            await session.wait_for_change(session.version, 1.0)
    return session.step


async def test_lot(gateway: Gateway, plan: FarmerPlan, rng: random.Random) -> FarmerOutcome:
    """The farmer's whole visit through the kiosk's session."""
    session = gateway.session
    outcome = FarmerOutcome(plan)
    await session.start()
    if session.step is Step.REFUSED:
        outcome.refused = "; ".join(r.detail for r in session.view.refusals)
        outcome.final_step = session.step
        await session.finish()
        return outcome
    outcome.session_id = session.person.session_id
    await session.begin_registration()
    await session.register(name=plan.name, phone=plan.phone,
                           origin_code=session.view.origins[0][0], origin_detail="演示村",
                           pin=f"{rng.randint(0, 9999):04d}")
    await session.choose_product(plan.product_code)
    await session.set_quantity(plan.quantity, plan.unit)
    await session.confirm_panel()
    truth = CONTAMINATED if plan.contaminated else CLEAN
    while True:
        step = session.step
        outcome.steps_seen.append(step.value)
        if step is Step.PREPARE:
            while session.step is Step.PREPARE:
                await session.next_prep()
            test = session.view.test
            assert test is not None
            put_cassette(gateway, test.kit_id, truth, rng)
            outcome.cassettes += 1
            await wait_for(session, *(s for s in Step if s not in WORKING))
            outcome.readings = len(session.person.lot.readings.reading_ids)
        elif step is Step.RETEST:
            await session.retest()
        elif step is Step.RESULTS:
            await session.issue()
        elif step is Step.CERTIFICATE:
            issued = session.person.issued
            outcome.certificate = issued.certificate if issued is not None else None
            break
        else:  # blocked, unresolved, refused, error
            if step in (Step.REFUSED, Step.ERROR):
                outcome.refused = (session.view.error_code or "; ".join(
                    r.detail for r in session.view.refusals))
            break
    outcome.final_step = session.step
    await session.finish()
    assert gateway.devices is not None
    gateway.devices.reader.remove_cassette()  # type: ignore[attr-defined]
    return outcome
