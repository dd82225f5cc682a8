"""``SimulatedKiosk``: a whole kiosk gateway on simulated devices, driven like the real one.

It owns the four simulated devices, typed as what they are (so their drivable side —
``show``, ``insert_cassette``, ``run_out_of_paper``, ``scan`` — needs no ``isinstance``
recovery), builds the gateway on them, and offers the verbs a person and the hardware use:

    kiosk = SimulatedKiosk.open(settings)        # settings.devices all "simulated"
    await kiosk.session.start()                  # the screen's own API
    kiosk.show_cassette(kit_id, Truth.CLEAN)     # the camera sees such a strip
    kiosk.insert()                               # ... and it slides into the tray
    await kiosk.wait_for(Step.RESULTS)
    kiosk.scan(card_code)                        # a card at the scanner

The demo (``nongan demo``) and the tests use the same class.
"""

from __future__ import annotations

import asyncio
import random
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from device_drivers import (
    DevicesConfig,
    SimulatedCamera,
    SimulatedPrinter,
    SimulatedReaderController,
    SimulatedScanner,
)
from device_drivers.strip_sim import Camera

from ..app import Gateway
from ..books import KioskBooks
from ..devices import KioskDevices
from ..health_watch import DiskGuard
from ..identity import DeviceIdentity
from ..kits import Catalogue
from ..link import CommandHandler, MqttLink
from ..session import WORKING, KioskSession, Step
from ..settings import GatewaySettings
from ..station import StripStation
from ..telemetry import TelemetryCollector
from .scenes import Truths, renderer, scene_for

STEP_WAIT_S = 30.0


@dataclass(frozen=True)
class SimulatedDevices:
    """The kiosk's four devices, every one simulated, typed as such."""

    config: DevicesConfig
    camera: SimulatedCamera
    reader: SimulatedReaderController
    printer: SimulatedPrinter
    scanner: SimulatedScanner

    @classmethod
    def from_config(cls, config: DevicesConfig | None) -> SimulatedDevices:
        """The simulated devices ``config`` names.

        Raises:
            ValueError: no devices configured, or one configured with a real backend (a
                simulated kiosk never drives real hardware, and real hardware is never
                replaced by a simulator behind the settings' back).
        """
        if config is None:
            raise ValueError("a simulated kiosk needs settings.devices (all simulated)")
        real = [name for name in ("camera", "reader", "printer", "scanner")
                if getattr(config, name).backend != "simulated"]
        if real:
            raise ValueError(f"a simulated kiosk needs every device simulated; {real} are not")
        return cls(config, SimulatedCamera(config.camera), SimulatedReaderController(
            config.reader), SimulatedPrinter(config.printer), SimulatedScanner(config.scanner))

    def kiosk_devices(self) -> KioskDevices:
        """The same objects as the gateway sees them (no lock file: nothing real to guard)."""
        return KioskDevices(config=self.config, camera=self.camera, reader=self.reader,
                            printer=self.printer, scanner=self.scanner)


class SimulatedKiosk:
    """A kiosk on simulated devices (see the module docstring)."""

    def __init__(self, gateway: Gateway, devices: SimulatedDevices) -> None:
        self.gateway = gateway
        self.simulated = devices
        self.camera = devices.camera
        self.reader = devices.reader
        self.printer = devices.printer
        self.scanner = devices.scanner

    @classmethod
    def open(cls, settings: GatewaySettings, *,
             commands: Mapping[str, CommandHandler] | None = None) -> SimulatedKiosk:
        """Build the gateway on simulated devices (``Gateway.open`` with them).

        Raises:
            ValueError: ``settings.devices`` is missing or names a real backend.
        """
        devices = SimulatedDevices.from_config(settings.devices)
        gateway = Gateway.open(settings, devices=devices.kiosk_devices(), commands=commands)
        return cls(gateway, devices)

    # ------------------------------------------------------------------ the kiosk's parts

    @property
    def settings(self) -> GatewaySettings:
        return self.gateway.settings

    @property
    def session(self) -> KioskSession:
        return self.gateway.session

    @property
    def books(self) -> KioskBooks:
        return self.gateway.books

    @property
    def catalogue(self) -> Catalogue:
        return self.gateway.catalogue

    @property
    def devices(self) -> KioskDevices:
        """The devices as the gateway holds them (health, the scanner's lock)."""
        devices = self.gateway.devices
        assert devices is not None  # built from self.simulated
        return devices

    @property
    def link(self) -> MqttLink:
        return self.gateway.link

    @property
    def identity(self) -> DeviceIdentity:
        return self.gateway.identity

    @property
    def telemetry(self) -> TelemetryCollector:
        return self.gateway.telemetry

    @property
    def disk(self) -> DiskGuard:
        return self.gateway.disk

    @property
    def station(self) -> StripStation:
        station = self.gateway.station
        assert station is not None  # a simulated kiosk always has its devices
        return station

    @property
    def scanner_lock(self) -> threading.Lock:
        """Held by whoever reads the scanner in this process (``KioskDevices.scanner_lock``)."""
        return self.devices.scanner_lock

    @property
    def data_dir(self) -> Path:
        return self.settings.device.data_dir

    async def run(self) -> None:
        await self.gateway.run()

    def close(self) -> None:
        self.gateway.close()

    # ------------------------------------------------------------------ the hardware's verbs

    def show_cassette(self, kit_id: str, truth: Truths, *, seed: int = 1,
                      rng: random.Random | None = None, camera: Camera | None = None,
                      lossless: bool = False) -> None:
        """Put a cassette of ``kit_id`` whose samples are ``truth`` in front of the camera
        (see ``gateway.testing.scenes.scene_for`` for ``seed``, ``rng`` and ``camera``)."""
        spec = scene_for(self.catalogue.kit(kit_id), truth, seed=seed, rng=rng, camera=camera)
        self.camera.show(renderer(spec), lossless=lossless)

    def insert(self) -> None:
        """Slide the cassette into the tray (the reader feels it arrive)."""
        self.reader.insert_cassette()

    def remove(self) -> None:
        """Take the cassette out of the tray (after its test gave it back)."""
        self.reader.remove_cassette()

    def scan(self, code: str) -> None:
        """Present a code to the scanner (the session's card feed reads it when running)."""
        self.scanner.scan(code)

    # ------------------------------------------------------------------ a person's verbs

    async def wait_for(self, *steps: Step, within_s: float = STEP_WAIT_S) -> Step:
        """Wait, as a person watching the screen would, until one of ``steps`` shows."""
        session = self.session
        async with asyncio.timeout(within_s):
            while session.step not in steps:
                await session.wait_for_change(session.version, 1.0)
        return session.step

    async def run_cassette(self, truth: Truths, *, seed: int = 1,
                           rng: random.Random | None = None, camera: Camera | None = None,
                           lossless: bool = False, within_s: float = STEP_WAIT_S) -> Step:
        """From the preparation screen: step through it, put the cassette the screen asks for
        in, wait for the test's end and take the cassette out; returns the step reached."""
        session = self.session
        if session.step is not Step.PREPARE:
            raise RuntimeError(f"run_cassette starts on the prepare step, not {session.step}")
        while session.step is Step.PREPARE:
            await session.next_prep()
        test = session.view.test
        assert test is not None
        self.show_cassette(test.kit_id, truth, seed=seed, rng=rng, camera=camera,
                           lossless=lossless)
        await self.wait_for(Step.INSERT, within_s=within_s)
        self.insert()
        try:
            return await self.wait_for(*(s for s in Step if s not in WORKING),
                                       within_s=within_s)
        finally:
            self.remove()
