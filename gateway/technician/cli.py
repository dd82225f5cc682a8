"""Technician commands: ``nongan doctor``, ``nongan calibrate`` (and ``nongan kits``, in
``kits_cli``; ``nongan pins``, in ``pins_cli``). Registered in ``nongan.cli.COMMAND_MODULES``.

Exit codes: ``doctor`` 0 when no check found a fault (warnings allowed), 1 on a fault, 2 on a
bad settings file; ``calibrate`` 0 when the calibration passed, 1 when it failed (stored) or
could not run (nothing stored), 2 on a bad settings file.
"""

from __future__ import annotations

import argparse
import json
import sys

from ..cli import add_config_arg, load_or_report
from . import kits_cli, pins_cli


def cmd_doctor(args: argparse.Namespace) -> int:
    from .doctor import run_doctor
    from .render import console, print_doctor

    settings = load_or_report(args)
    if settings is None:
        return 2
    report = run_doctor(settings, check_broker=not args.no_broker)
    if args.json:
        print(json.dumps(report.as_dict(), indent=2, ensure_ascii=False))
    else:
        print_doctor(report, console())
    return report.exit_code


def cmd_calibrate(args: argparse.Namespace) -> int:
    from device_drivers import DeviceError

    from .calibrate_run import run_calibrate

    settings = load_or_report(args)
    if settings is None:
        return 2
    try:
        return run_calibrate(settings, assume_yes=args.yes, as_json=args.json)
    except DeviceError as exc:
        print(f"error: calibration did not run: {exc}", file=sys.stderr)
        if exc.fix:
            print(f"fix: {exc.fix}", file=sys.stderr)
        print("nothing was stored; the previous calibration stands", file=sys.stderr)
        return 1


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    doctor = subparsers.add_parser(
        "doctor", help="check a kiosk: devices, software, calibration, kits, outbox, broker, "
        "clock, disk",
        description="Check every part of a kiosk and print a table of ok / warning / fault "
        "with the fix in words. Exits 1 if any check found a fault.")
    add_config_arg(doctor)
    doctor.add_argument("--json", action="store_true", help="print the report as JSON")
    doctor.add_argument("--no-broker", action="store_true",
                        help="do not connect to the broker (offline check)")
    doctor.set_defaults(func=cmd_doctor)

    calibrate = subparsers.add_parser(
        "calibrate", help="calibrate the reader with the calibration card (flat field, LED, "
        "focus, exposure)",
        description="Photograph the calibration card's white side and focus target under the "
        "reader's LED, check exposure, LED response, uniformity, spots and focus, and store the "
        "result for this reader. Exits 0 if it passed, 1 if not.")
    add_config_arg(calibrate)
    calibrate.add_argument("--yes", action="store_true",
                           help="do not wait for Enter at each step (the card is placed by a "
                                "fixture, or the camera is simulated)")
    calibrate.add_argument("--json", action="store_true", help="print the result as JSON")
    calibrate.set_defaults(func=cmd_calibrate)

    kits_cli.register(subparsers)
    pins_cli.register(subparsers)

