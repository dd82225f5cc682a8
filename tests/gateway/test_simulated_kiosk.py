"""The simulated kiosk shipped with the package (``gateway.testing``): typed devices, the verbs
of a person and the hardware, and the truth → T/C → scene helpers kept in one place."""

from __future__ import annotations

import ast
import asyncio
import contextlib
import random
from pathlib import Path

import pytest

from device_drivers import (
    DevicesConfig,
    SimulatedCamera,
    SimulatedPrinter,
    SimulatedReaderController,
    SimulatedScanner,
)
from device_drivers.strip_sim import LineTruth
from gateway.kits import load_catalogue
from gateway.session import Step
from gateway.testing import SimulatedKiosk, Truth, scene_for, true_ratio
from tests.gateway.conftest import kiosk_settings
from tests.gateway.session_helpers import identify_new_producer, ready_gateway, to_panel
from tests.support import aio

ROOT = Path(__file__).resolve().parents[2]
CARD = "card-beta-agonists-3in1-v1"


def test_a_real_device_is_never_simulated(tmp_path):
    devices = DevicesConfig.simulated().model_dump()
    devices["printer"] = {"backend": "file", "target": str(tmp_path / "printer.bin")}
    with pytest.raises(ValueError, match=r"\['printer'\] are not"):
        SimulatedKiosk.open(kiosk_settings(tmp_path / "k", devices=devices))
    with pytest.raises(ValueError, match=r"needs settings\.devices"):
        SimulatedKiosk.open(kiosk_settings(tmp_path / "k2"))


def test_the_devices_are_typed_and_are_the_gateways(tmp_path):
    kiosk = ready_gateway(tmp_path / "k", kits=())
    try:
        assert isinstance(kiosk.camera, SimulatedCamera)
        assert isinstance(kiosk.reader, SimulatedReaderController)
        assert isinstance(kiosk.printer, SimulatedPrinter)
        assert isinstance(kiosk.scanner, SimulatedScanner)
        gateway_devices = kiosk.gateway.devices
        assert gateway_devices is not None
        assert (gateway_devices.camera, gateway_devices.reader, gateway_devices.printer,
                gateway_devices.scanner) == (kiosk.camera, kiosk.reader, kiosk.printer,
                                             kiosk.scanner)
        assert kiosk.station.camera is kiosk.camera
    finally:
        kiosk.close()


def test_a_person_and_the_hardware_through_the_verbs(tmp_path):
    kiosk = ready_gateway(tmp_path / "k", kits=(CARD,))
    producer = kiosk.books.producers.register(name="张桂兰", phone="13700002222",
                                              origin_code="370902", pin="4321")

    async def scenario():
        await kiosk.session.scan(producer.entry.card_code)  # the session's own verb
        assert kiosk.session.step is Step.PRODUCT
        await to_panel(kiosk.session, "sheep", "2", "head")
        await kiosk.session.confirm_panel()
        end = await kiosk.run_cassette({"clenbuterol": Truth.CONTAMINATED})
        return end

    try:
        assert aio.run(scenario()) is Step.BLOCKED
        assert kiosk.reader.cassette is False  # given back after the test
    finally:
        kiosk.close()


def test_the_scanner_verb_feeds_the_session(tmp_path):
    kiosk = ready_gateway(tmp_path / "k", kits=())

    async def scenario():
        await identify_new_producer(kiosk.session)
        card = kiosk.session.person.identity.producer.entry.card_code
        await kiosk.session.cancel()
        task = asyncio.create_task(kiosk.run())  # its scanner feed reads the card
        try:
            kiosk.scan(card)
            return await kiosk.wait_for(Step.PRODUCT)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    try:
        assert aio.run(scenario(), timeout=60) is Step.PRODUCT
    finally:
        kiosk.close()


def test_fixed_scenes_without_a_generator_and_varied_ones_with_it():
    catalogue = load_catalogue(None)
    kit = catalogue.kit(CARD)
    fixed = scene_for(kit, Truth.CLEAN, seed=5)
    assert fixed.seed == 5
    assert fixed.lines == tuple(LineTruth.from_ratio(0.6, true_ratio(kit, w, Truth.CLEAN))
                                for w in range(len(kit.analytes)))
    assert scene_for(kit, Truth.CLEAN, seed=5) == fixed
    one, two = (scene_for(kit, Truth.CLEAN, rng=random.Random(3)) for _ in range(2))
    assert one == two != fixed
    decision = kit.decision_for(0)
    assert true_ratio(kit, 0, Truth.UNCLEAR) == (decision.cutoff_low + decision.cutoff_high) / 2
    assert true_ratio(kit, 0, Truth.CONTAMINATED) < decision.cutoff_low
    assert true_ratio(kit, 0, Truth.CLEAN) > decision.cutoff_high


def test_the_truth_helpers_exist_once():
    defined: dict[str, list[str]] = {}
    for path in sorted(ROOT.glob("**/*.py")):
        rel = path.relative_to(ROOT)
        if rel.parts[0] in {".venv", ".git"} or "node_modules" in rel.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef) and node.name in {"true_ratio", "scene_for"}:
                defined.setdefault(node.name, []).append(str(rel))
    assert defined == {"true_ratio": ["gateway/testing/scenes.py"],
                       "scene_for": ["gateway/testing/scenes.py"]}
