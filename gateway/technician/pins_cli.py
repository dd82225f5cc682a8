"""``nongan pins list | unlock``: names locked after wrong PINs, for station staff.

A name locks after too many wrong PINs in a row (``gateway.pin_lockout``); after
``session.pin_max_failures`` only staff can unlock it, once they have checked who is asking
(the farmer's ID card or producer card). ``list`` shows every name with wrong PINs counted;
``unlock`` forgets them for one producer. Exit codes: 0 done, 1 nothing to unlock, 2 a bad
settings file.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime

from ..pin_lockout import PinLockout
from ..settings import GatewaySettings
from ..storage import KioskDatabase


def _settings(args: argparse.Namespace) -> GatewaySettings | None:
    from ..cli import load_or_report

    return load_or_report(args)


def _lockout(settings: GatewaySettings) -> tuple[KioskDatabase, PinLockout]:
    db = KioskDatabase.in_folder(settings.device.data_dir)
    return db, PinLockout(db, attempts=settings.session.pin_attempts,
                          max_failures=settings.session.pin_max_failures)


def cmd_list(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if settings is None:
        return 2
    db, pins = _lockout(settings)
    try:
        counted = pins.counted()
    finally:
        db.close()
    now = datetime.now(UTC)
    rows = [{"producer_id": pid, "wrong_pins": failures,
             "locked": "staff" if lock and lock.needs_staff else
                       ("until " + lock.until.isoformat() if lock and lock.until else "no"),
             "minutes_left": lock.minutes_left(now) if lock else 0}
            for pid, failures, lock in counted]
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
    elif not rows:
        print("no wrong PINs counted")
    else:
        for row in rows:
            print(f"{row['producer_id']}: {row['wrong_pins']} wrong PIN(s), locked: "
                  f"{row['locked']}")
    return 0


def cmd_unlock(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if settings is None:
        return 2
    db, pins = _lockout(settings)
    try:
        done = pins.unlock(args.producer_id)
    finally:
        db.close()
    if not done:
        print(f"{args.producer_id}: no wrong PINs counted, nothing to unlock")
        return 1
    print(f"unlocked: {args.producer_id} may type their PIN again")
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from ..cli import add_config_arg

    pins = subparsers.add_parser("pins", help="names locked after wrong PINs: list, unlock")

    def usage(args: argparse.Namespace) -> int:
        pins.print_help()
        return 2

    pins.set_defaults(func=usage)
    verbs = pins.add_subparsers(dest="pins_command", metavar="VERB")
    listing = verbs.add_parser("list", help="every name with wrong PINs counted, and its lock")
    add_config_arg(listing)
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=cmd_list)
    unlock = verbs.add_parser(
        "unlock", help="unlock a name (check who is asking first: ID or producer card)")
    add_config_arg(unlock)
    unlock.add_argument("producer_id", help="the producer id, as pins list shows it")
    unlock.set_defaults(func=cmd_unlock)


__all__ = ["register"]
