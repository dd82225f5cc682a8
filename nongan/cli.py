"""The ``nongan`` command: a thin dispatcher to each package's commands.

Each package that offers commands has a ``cli`` module with ``register(subparsers)``, which adds
its verbs and sets ``func`` on each parser to a callable taking the parsed arguments and
returning an exit status. Modules must not create settings, engines or clients at import time.

Registration is lazy: ``COMMANDS`` names each top-level command, the module that registers it
and its one-line help, so ``nongan --help`` lists every command without importing any of them
(numpy, OpenCV, SQLAlchemy and FastAPI stay unloaded), and ``nongan doctor ...`` imports only
``gateway.technician.cli``. A test checks that the table says what the modules register.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence
from typing import NamedTuple

from nongan import __version__


class Command(NamedTuple):
    module: str
    help: str


# Order is the order of --help. Keep each help text the one its module's register() gives
# (tests/test_cli_commands.py compares them).
COMMANDS: dict[str, Command] = {
    "demo": Command("nongan.demo.cli",
                    "run kiosk and cloud together on this machine (simulated hardware)"),
    "gateway": Command("gateway.cli", "set up, run or inspect a kiosk gateway"),
    "kiosk": Command("kiosk_ui.cli", "the kiosk's touch screen"),
    "doctor": Command("gateway.technician.cli", "check a kiosk: devices, software, "
                      "calibration, kits, outbox, broker, clock, disk"),
    "calibrate": Command("gateway.technician.cli", "calibrate the reader with the calibration "
                         "card (flat field, LED, focus, exposure)"),
    "kits": Command("gateway.technician.cli", "kit boxes: scan them into stock, list, retire"),
    "pins": Command("gateway.technician.cli", "names locked after wrong PINs: list, unlock"),
    "score": Command("gateway.scoring.cli", "read colloidal-gold strip images with a kit"),
    "simulate": Command("device_drivers.strip_sim.cli", "render simulated device output"),
    "bridge": Command("cloud_bridge.cli", "run the cloud bridge (ingest, API, devices)"),
    "pki": Command("cloud_bridge.pki_cli", "CA, broker and per-kiosk TLS certificates"),
    "firmware": Command("device_drivers.firmware_cli",
                        "deploy or inspect the reader controller's firmware"),
    "release": Command("gateway.update.release_cli",
                       "make and check signed release bundles (on the release machine)"),
    "update": Command("gateway.update.cli",
                      "this kiosk's releases: status, apply, roll back, flash the reader"),
    "places": Command("protocol.places.cli", "place names for division codes (产地)"),
}
COMMAND_MODULES = tuple(dict.fromkeys(c.module for c in COMMANDS.values()))
"""Every module that registers commands (in the order of --help)."""


def _top_parser() -> tuple[argparse.ArgumentParser,
                           argparse._SubParsersAction[argparse.ArgumentParser]]:
    parser = argparse.ArgumentParser(
        prog="nongan",
        description="Village rapid-testing kiosks and their cloud (农安).",
    )
    parser.add_argument("--version", action="version", version=f"nongan {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    return parser, subparsers


def build_parser() -> argparse.ArgumentParser:
    """The whole command line, every command module imported (documentation, tests)."""
    return parser_for(COMMANDS)


def parser_for(wanted: Sequence[str] | dict[str, Command]) -> argparse.ArgumentParser:
    """The command line with the commands ``wanted`` registered by their modules and every
    other command present by name and help only (enough for ``--help`` and for argparse to
    name the choices)."""
    parser, subparsers = _top_parser()
    modules = [COMMANDS[name].module for name in wanted if name in COMMANDS]
    for module in dict.fromkeys(modules):
        importlib.import_module(module).register(subparsers)
    registered = set(subparsers.choices)
    for name, command in COMMANDS.items():
        if name not in registered:
            subparsers.add_parser(name, help=command.help)
    return parser


def command_named(argv: Sequence[str]) -> str | None:
    """The command ``argv`` names: its first word that is not an option (the top-level
    options take no value)."""
    return next((arg for arg in argv if not arg.startswith("-")), None)


def configure_logging(verbosity: int) -> None:
    level = logging.WARNING if verbosity == 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = command_named(argv)
    parser = parser_for([command] if command is not None else [])
    args = parser.parse_args(argv)
    configure_logging(args.verbose)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
