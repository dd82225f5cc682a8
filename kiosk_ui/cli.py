"""Kiosk screen commands: ``nongan kiosk serve | build-assets``."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from gateway.cancellation import cancel_and_wait
from gateway.cli import add_config_arg, load_or_report


def cmd_build_assets(args: argparse.Namespace) -> int:
    from .assets import GENERATED, build_assets

    report = build_assets(args.out or GENERATED, force=args.force)
    if report.up_to_date:
        print("kiosk assets are up to date")
    else:
        print(f"wrote {len(report.fonts)} font file(s) and {len(report.prompts)} prompt(s)")
    for line in report.skipped:
        print(f"skipped {line}", file=sys.stderr)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from gateway.app import Gateway

    from .app import create_app
    from .server import ScreenServer

    settings = load_or_report(args)
    if settings is None:
        return 1
    gateway = Gateway.open(settings)
    simulated = settings.devices is not None and settings.devices.camera.backend == "simulated"
    app = create_app(gateway.session, station_name=settings.device.station_name,
                     simulated=simulated)
    server = ScreenServer(app, host=settings.ui.host, port=settings.ui.port,
                          log_level="warning")

    async def main() -> None:
        kiosk = asyncio.create_task(gateway.run(), name="nongan-kiosk-gateway")
        try:
            await server.serve()
        finally:
            await cancel_and_wait(kiosk)

    try:
        asyncio.run(main())
    finally:
        gateway.close()
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    kiosk = subparsers.add_parser("kiosk", help="the kiosk's touch screen")
    verbs = kiosk.add_subparsers(dest="kiosk_command", metavar="VERB", required=True)
    serve = verbs.add_parser("serve", help="run the gateway with its touch screen (ui.host:port)")
    add_config_arg(serve)
    serve.set_defaults(func=cmd_serve)
    build = verbs.add_parser("build-assets",
                             help="cut the CJK font subset and speak the prompts (espeak-ng)")
    build.add_argument("--out", type=Path, help="output folder (default: the package's)")
    build.add_argument("--force", action="store_true", help="rebuild even if up to date")
    build.set_defaults(func=cmd_build_assets)
