"""Technician commands for the reader-controller firmware: ``nongan firmware deploy|status``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from device_drivers.errors import DeviceError


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    firmware = subparsers.add_parser(
        "firmware", help="deploy or inspect the reader controller's firmware")
    def usage(args: argparse.Namespace) -> int:
        firmware.print_help()
        return 2

    firmware.set_defaults(func=usage)
    verbs = firmware.add_subparsers(dest="firmware_command", metavar="VERB")

    deploy = verbs.add_parser("deploy", help="copy the firmware to a board (mpremote), reset "
                                             "it and check the version it reports")
    deploy.add_argument("--port", required=True, help="the board's serial port, /dev/ttyACM0")
    deploy.add_argument("--board", default="rev_a", help="hardware revision (boards/*.py)")
    deploy.add_argument("--firmware-dir", type=Path, default=None,
                        help="the firmware to copy (default: hardware/firmware of this checkout)")
    deploy.set_defaults(func=_deploy)

    status = verbs.add_parser("status", help="show what firmware a board runs and its state")
    status.add_argument("--port", required=True, help="the board's serial port, /dev/ttyACM0")
    status.add_argument("--firmware-dir", type=Path, default=None)
    status.set_defaults(func=_status)


def _dir(args: argparse.Namespace) -> Path:
    from device_drivers.firmware_tools import DEFAULT_FIRMWARE_DIR

    return args.firmware_dir or DEFAULT_FIRMWARE_DIR


def _fail(exc: DeviceError) -> int:
    print(f"error: {exc.args[0]}", file=sys.stderr)
    if exc.fix:
        print(f"fix: {exc.fix}", file=sys.stderr)
    return 1


def _deploy(args: argparse.Namespace) -> int:
    from device_drivers.firmware_tools import deploy

    try:
        report = deploy(args.port, board=args.board, firmware_dir=_dir(args))
    except DeviceError as exc:
        return _fail(exc)
    print(f"ok: {args.port} runs firmware {report.info.fw} on {report.info.board}")
    return 0


def _status(args: argparse.Namespace) -> int:
    from device_drivers.firmware_tools import query_board, repository_version

    try:
        report = query_board(args.port, repository_version(_dir(args)))
    except DeviceError as exc:
        return _fail(exc)
    info, st = report.info, report.status
    print(f"port:      {args.port}")
    print(f"firmware:  {info.fw} (repository: {report.expected})")
    print(f"board:     {info.board}, protocol {info.proto}, boot {info.boot}")
    print(f"tray:      {st.tray}; cassette: {'yes' if st.cassette else 'no'}; "
          f"LED {st.led:.2f}")
    print(f"heater:    {st.temperature_c} °C, set-point {st.setpoint_c}, "
          f"{'heating' if st.heating else 'idle'}")
    print(f"faults:    {', '.join(st.faults) or 'none'}")
    if not report.up_to_date:
        print(f"warning: the board runs {info.fw}, not {report.expected}: run "
              f"nongan firmware deploy --port {args.port}", file=sys.stderr)
        return 1
    return 0
