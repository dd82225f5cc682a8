"""Simulated farmers for the headless demo, going through the kiosk's session like a person.

A simulated farmer walks the same screens a person does, through the session API: registers
(name, phone, PIN), picks the product and quantity, accepts the panel, and for each cassette
the screen asks for, steps through the preparation, then "puts the cassette in": the simulated
camera is shown a rendered cassette of the kit the session chose, whose true line densities
match the farmer's produce (clean, contaminated), and the simulated reader feels it arrive.
The kiosk's real station, scorer, re-test rule, issuer and ledger do the rest.

The rendering truth is chosen here (``gateway.testing.scenes``, the tests' own); the *verdict*
is the kiosk's, so a demo run exercises the same code a kiosk runs, on simulated optics.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field

from gateway.session import WORKING, Step
from gateway.testing import KIOSK_CAMERA, SimulatedKiosk, Truth
from protocol import Certificate

FAMILY = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = ["建国", "秀英", "桂兰", "玉珍", "志强", "红梅", "德华", "春花", "国庆", "淑芬",
         "海燕", "长顺", "金凤", "永福", "丽华", "富贵"]
UNITS = {"eggs": "egg", "livestock": "head", "poultry": "bird"}
CLEAN, CONTAMINATED, UNCLEAR = Truth.CLEAN, Truth.CONTAMINATED, Truth.UNCLEAR
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


def put_cassette(kiosk: SimulatedKiosk, kit_id: str, truth: Truth | str,
                 rng: random.Random) -> None:
    """Show the kiosk's camera a cassette of ``kit_id`` and slide it into the tray."""
    kiosk.remove()  # the previous one, given back when its test ended
    kiosk.show_cassette(kit_id, truth, rng=rng, camera=KIOSK_CAMERA, lossless=True)
    kiosk.insert()


async def test_lot(kiosk: SimulatedKiosk, plan: FarmerPlan, rng: random.Random
                   ) -> FarmerOutcome:
    """The farmer's whole visit through the kiosk's session."""
    session = kiosk.session
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
            put_cassette(kiosk, test.kit_id, truth, rng)
            outcome.cassettes += 1
            await kiosk.wait_for(*(s for s in Step if s not in WORKING), within_s=STEP_WAIT_S)
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
    kiosk.remove()
    return outcome
