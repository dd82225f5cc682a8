"""Device checks: each configured device's health, and the reader's firmware version.

Actively, as ``nongan doctor`` does on site: every device is asked (a frame captured, a status
read). Passively, as the cloud's ``diagnostics`` command does while the kiosk may be serving
someone: only the reader (whose commands are serialised) is asked; the camera, printer and
scanner report whether they opened, because capturing or querying them then could spoil a
test or a receipt.
"""

from __future__ import annotations

from device_drivers import DeviceError, Health, HealthState, SimulatedReaderController

from ..devices import KioskDevices
from .report import Check, Status

SIMULATED_FIX = "fine for the demo; a kiosk testing real produce needs a real devices.{name}"
DEPLOY_FIX = ("stop the kiosk service (sudo systemctl stop nongan-gateway), run nongan "
              "firmware deploy --port {port}, start the service again")


def device_checks(devices: KioskDevices | None, *, firmware_expected: str | None,
                  active: bool = True) -> list[Check]:
    """One check per device, plus the reader's firmware version.

    Args:
        devices: the kiosk's devices, opened (``open_all``), or None when none are configured.
        firmware_expected: the firmware version of this software's repository, or None when
            it cannot be known (an installed package without ``hardware/``).
        active: ask every device (on site) or only the reader (while the kiosk serves).
    """
    if devices is None:
        return [Check("devices", "devices", Status.WARNING,
                      "no devices configured: this gateway cannot test strips",
                      "add the [devices.camera], [devices.reader], [devices.printer] and "
                      "[devices.scanner] sections to the settings file")]
    checks: list[Check] = []
    health = {h.device: h for h in devices.health()} if active else _passive(devices)
    for name, report in health.items():
        checks.append(_from_health(name, report))
    checks.append(_firmware(devices, firmware_expected))
    return checks


def _passive(devices: KioskDevices) -> dict[str, Health]:
    out: dict[str, Health] = {}
    for name, device in devices.all.items():
        backend = getattr(devices.config, name).backend
        if name == "reader":
            try:
                out[name] = device.health()
            except DeviceError as exc:
                out[name] = Health.from_error(name, backend, exc)
        elif name in devices.open_errors:
            out[name] = Health(name, backend, HealthState.FAULT, devices.open_errors[name])
        else:
            out[name] = Health.usable(name, backend,
                                      "opened at start (not exercised while the kiosk may be "
                                      "in use: run nongan doctor on site for a full check)")
    return out


def _from_health(name: str, health: Health) -> Check:
    label = f"{name} ({health.backend})"
    if health.ok and "paper low" in health.detail:
        # A printer low on paper still prints: say so, but as a warning.
        simulated = "SIMULATED: " if health.state is HealthState.SIMULATED else ""
        return Check("devices", label, Status.WARNING, simulated + health.detail,
                     "change the paper roll soon")
    if health.state is HealthState.SIMULATED:
        return Check("devices", label, Status.WARNING,
                     f"SIMULATED: {health.detail}", SIMULATED_FIX.format(name=name))
    if health.state is HealthState.OK:
        return Check("devices", label, Status.OK, health.detail)
    fix = health.fix or "check the device's cable and power, then run nongan doctor again"
    what = "not found" if health.state is HealthState.ABSENT else "fault"
    return Check("devices", label, Status.FAULT, f"{what}: {health.detail}", fix)


def _firmware(devices: KioskDevices, expected: str | None) -> Check:
    reader = devices.reader
    if "reader" in devices.open_errors or not reader.is_open:
        return Check("devices", "reader firmware", Status.FAULT,
                     "unknown: the reader board did not answer",
                     "see the reader line above")
    try:
        running = reader.info.fw
    except DeviceError as exc:
        return Check("devices", "reader firmware", Status.FAULT, f"unknown: {exc}", exc.fix)
    if isinstance(reader, SimulatedReaderController):
        return Check("devices", "reader firmware", Status.WARNING,
                     f"SIMULATED board reports {running}",
                     SIMULATED_FIX.format(name="reader"))
    if expected is None:
        return Check("devices", "reader firmware", Status.WARNING,
                     f"board runs {running}; the repository's version is not known here "
                     "(no hardware/firmware beside this installation)",
                     "compare with hardware/firmware/app/version.py of the release")
    if running != expected:
        port = devices.config.reader.port or "PORT"
        return Check("devices", "reader firmware", Status.WARNING,
                     f"board runs {running}, this software ships {expected}",
                     DEPLOY_FIX.format(port=port))
    return Check("devices", "reader firmware", Status.OK, f"{running} (as shipped)")
