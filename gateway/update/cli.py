"""``nongan update`` (on a kiosk; ``release_cli`` has ``nongan release``).

``status`` (releases, trial, journal), ``apply`` (a bundle URL, by hand),
``selfcheck`` (run by the guard from the new release), ``guard`` (run by systemd),
``rollback`` and ``adopt`` (by hand), ``firmware`` (flash the reader from a bundle).
Exit codes: 0 done, 1 refused or failed (the reason printed), 2 bad settings or arguments.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from ..cli import add_config_arg, load_or_report


def _fail(reason: str) -> int:
    print(f"refused: {reason}", file=sys.stderr)
    return 1


# ---------------------------------------------------------------------- update


def _open(args: argparse.Namespace) -> tuple[Any, Any] | None:
    from ..storage import KioskDatabase

    settings = load_or_report(args)
    if settings is None:
        return None
    return settings, KioskDatabase.in_folder(settings.device.data_dir)


def cmd_status(args: argparse.Namespace) -> int:
    from .status import update_status

    opened = _open(args)
    if opened is None:
        return 2
    settings, db = opened
    try:
        status = update_status(settings, db)
    finally:
        db.close()
    if args.json:
        print(json.dumps(status, indent=2, ensure_ascii=False))
        return 0
    print(f"running:   nongan {status['running']} (from {status['root']})")
    print(f"current:   {status['current']}   previous: {status['previous']}")
    print(f"installed: {', '.join(status['installed']) or 'none (not an A/B installation)'}")
    if status["trial"]:
        t = status["trial"]
        print(f"on trial:  {t['version']} since {t['started_at']} (attempt {t['attempts']}); "
              "the guard keeps it or goes back")
    for kind in ("software", "firmware"):
        last = status["last"][kind]
        if last:
            print(f"last {kind} update: {last['state']} {last['version']} at {last['at']}: "
                  f"{last['reason']}")
    print("history (newest first):")
    for e in status["history"]:
        print(f"  {e['at'][:19]}  {e['kind']:8} {e['update_id']:22} {e['version']:10} "
              f"{e['state']:11} {e['reason']}")
    return 0


def cmd_apply(args: argparse.Namespace) -> int:
    from .kiosk import build_updater

    opened = _open(args)
    if opened is None:
        return 2
    settings, db = opened
    try:
        updater = build_updater(settings, db)
        outcome = asyncio.run(updater.apply(args.url, args.manifest_sha256,
                                            expected_version=args.version,
                                            expected_size=args.size))
    finally:
        db.close()
    print(f"{outcome.state.value}: {outcome.reason} (update {outcome.update_id})")
    return 0 if outcome.state.value == "switched" else 1


def cmd_selfcheck(args: argparse.Namespace) -> int:
    from ..technician.render import console, print_doctor
    from .selfcheck import run_selfcheck

    settings = load_or_report(args)
    if settings is None:
        return 2
    report = run_selfcheck(settings, expect_version=args.expect_version,
                           check_link=False if args.no_link else None)
    if args.json:
        print(json.dumps(report.as_dict(), indent=2, ensure_ascii=False))
    else:
        print_doctor(report, console())
    return report.exit_code


def cmd_guard(args: argparse.Namespace) -> int:
    from .kiosk import build_guard

    opened = _open(args)
    if opened is None:
        return 2
    settings, db = opened
    try:
        outcome = build_guard(settings, db, args.config.resolve()).run()
    finally:
        db.close()
    print(f"{outcome.state.value if outcome.state else 'nothing to do'}: {outcome.reason}")
    return 0 if outcome.state is None or outcome.state.value == "healthy" else 1


def cmd_rollback(args: argparse.Namespace) -> int:
    from .errors import UpdateError
    from .journal import UpdateJournal
    from .kiosk import layout_of
    from .manual import roll_back
    from .service import ServiceControl
    from .trial import trial_path

    opened = _open(args)
    if opened is None:
        return 2
    settings, db = opened
    up = settings.update
    try:
        result = roll_back(layout_of(settings), UpdateJournal(db),
                           trial_file=trial_path(settings.device.data_dir), reason=args.reason,
                           service=None if args.no_restart else ServiceControl(up.systemctl),
                           kiosk_unit=up.kiosk_unit)
    except UpdateError as exc:
        return _fail(exc.reason)
    finally:
        db.close()
    print(f"rolled back: current is {result.to_version} (previous: {result.from_version})"
          + ("; the kiosk service restarted" if result.restarted else
             "; restart the kiosk service to run it"))
    return 0


def cmd_adopt(args: argparse.Namespace) -> int:
    from .kiosk import layout_of
    from .layout import LayoutError
    from .version import software_version

    settings = load_or_report(args)
    if settings is None:
        return 2
    version = args.version or software_version()
    try:
        layout_of(settings).adopt(version, args.installation)
    except LayoutError as exc:
        return _fail(str(exc))
    print(f"adopted {args.installation} as release {version}: "
          f"{settings.update.root / 'current'} points at it; point the kiosk unit at "
          f"{settings.update.root / 'current/.venv/bin/nongan'}")
    return 0


def cmd_firmware(args: argparse.Namespace) -> int:
    from .errors import BundleRefused
    from .firmware import FirmwareUpdater
    from .journal import UpdateJournal
    from .kiosk import trust_of

    opened = _open(args)
    if opened is None:
        return 2
    settings, db = opened
    port = args.port or (settings.devices.reader.port if settings.devices else None)
    if not port:
        db.close()
        return _fail("no port: pass --port or configure devices.reader.port")
    try:
        outcome = FirmwareUpdater(UpdateJournal(db), trust_of(settings)).flash(
            args.bundle, port=port, board=args.board,
            expected_manifest_sha256=args.manifest_sha256, force=args.force)
    except BundleRefused as exc:
        return _fail(exc.reason)
    finally:
        db.close()
    print(f"{outcome.state}: {outcome.reason}")
    return 0 if outcome.ok else 1


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    update = subparsers.add_parser("update", help="this kiosk's releases: status, apply, "
                                                  "roll back, flash the reader")
    uverbs = update.add_subparsers(dest="update_command", metavar="VERB", required=True)
    status = uverbs.add_parser("status", help="releases, a release on trial, the journal")
    add_config_arg(status)
    status.add_argument("--json", action="store_true")
    status.set_defaults(func=cmd_status)

    apply = uverbs.add_parser("apply", help="download, check, install and switch to a bundle "
                                            "(run it when nobody uses the kiosk)")
    add_config_arg(apply)
    apply.add_argument("--url", required=True)
    apply.add_argument("--manifest-sha256", required=True)
    apply.add_argument("--version", help="the version the bundle must be")
    apply.add_argument("--size", type=int, help="the bundle's size in bytes")
    apply.set_defaults(func=cmd_apply)

    selfcheck = uverbs.add_parser("selfcheck", help="this release's health check (the guard "
                                                    "runs it; stop the kiosk service first)")
    add_config_arg(selfcheck)
    selfcheck.add_argument("--expect-version")
    selfcheck.add_argument("--no-link", action="store_true", help="skip the broker")
    selfcheck.add_argument("--json", action="store_true")
    selfcheck.set_defaults(func=cmd_selfcheck)

    guard = uverbs.add_parser("guard", help="check a release on trial: keep it or go back "
                                            "(run by nongan-update-guard.service)")
    add_config_arg(guard)
    guard.set_defaults(func=cmd_guard)

    rollback = uverbs.add_parser("rollback", help="go back to the previous release by hand")
    add_config_arg(rollback)
    rollback.add_argument("--reason", required=True, help="why, for the journal")
    rollback.add_argument("--no-restart", action="store_true")
    rollback.set_defaults(func=cmd_rollback)

    adopt = uverbs.add_parser("adopt", help="make this installation the first release")
    add_config_arg(adopt)
    adopt.add_argument("--installation", type=Path, default=Path("/opt/nongan"),
                       help="the folder holding the .venv to adopt")
    adopt.add_argument("--version", help="its version (default: the installed one)")
    adopt.set_defaults(func=cmd_adopt)

    firmware = uverbs.add_parser("firmware", help="flash the reader from a bundle's firmware, "
                                                  "going back if the board does not come back")
    add_config_arg(firmware)
    firmware.add_argument("--bundle", type=Path, required=True)
    firmware.add_argument("--port", help="default: devices.reader.port")
    firmware.add_argument("--board", default="rev_a")
    firmware.add_argument("--manifest-sha256")
    firmware.add_argument("--force", action="store_true",
                          help="flash even if the board runs that version")
    firmware.set_defaults(func=cmd_firmware)
