"""Administrative verbs of ``nongan bridge``: API keys, retention pruning, broker files.

```
nongan bridge key add --name NAME --role operator|supervisor|market [--market NAME]
nongan bridge key list
nongan bridge key revoke --name NAME
nongan bridge prune [--dry-run] [--days N]
```

The key is printed once; only its hash is stored. The broker's files are
``cloud_bridge.cli_broker``'s.
"""

from __future__ import annotations

import argparse
from typing import Any

from cloud_bridge.cli_support import CommandError, actor, guarded, settings_from, store_session


def register(verbs: Any, common: argparse.ArgumentParser) -> None:
    key = verbs.add_parser("key", help="API keys for operators, supervisors and markets")
    key.set_defaults(func=lambda args: (key.print_help(), 2)[1])
    key_verbs = key.add_subparsers(dest="key_command", metavar="VERB")
    add = key_verbs.add_parser("add", parents=[common], help="make a key (printed once)")
    add.add_argument("--name", required=True, help="who holds it, e.g. zhang.wei or market-07")
    add.add_argument("--role", required=True, choices=["operator", "supervisor", "market"])
    add.add_argument("--market", default=None, help="market keys: the market's name")
    add.set_defaults(func=cmd_key_add)
    listing = key_verbs.add_parser("list", parents=[common], help="list keys (never the keys)")
    listing.set_defaults(func=cmd_key_list)
    revoke = key_verbs.add_parser("revoke", parents=[common], help="revoke a key by name")
    revoke.add_argument("--name", required=True)
    revoke.set_defaults(func=cmd_key_revoke)

    prune = verbs.add_parser("prune", parents=[common],
                             help="delete records past retention (default 2 years)")
    prune.add_argument("--days", type=int, default=None, help="overrides retention.days")
    prune.add_argument("--dry-run", action="store_true", help="count only, delete nothing")
    prune.set_defaults(func=cmd_prune)


@guarded
def cmd_key_add(args: argparse.Namespace) -> int:
    from cloud_bridge.domain.errors import RegistryError
    from cloud_bridge.domain.keys import create_key

    settings = settings_from(args)
    try:
        with store_session(settings) as session, session.begin():
            row, key = create_key(session, name=args.name, role=args.role, market=args.market,
                                  actor=actor())
    except RegistryError as exc:
        raise CommandError(exc.message) from None
    print(f"{row.role} key {row.name!r} (shown once, keep it safe):\n{key}")
    return 0


@guarded
def cmd_key_list(args: argparse.Namespace) -> int:
    from cloud_bridge.domain.keys import list_keys

    with store_session(settings_from(args)) as session:
        for row in list_keys(session):
            state = f"revoked {row.revoked_at:%Y-%m-%d}" if row.revoked_at else "active"
            print(f"{row.name:<24} {row.role:<10} {row.market or '':<16} {state}")
    return 0


@guarded
def cmd_key_revoke(args: argparse.Namespace) -> int:
    from cloud_bridge.domain.errors import RegistryError
    from cloud_bridge.domain.keys import revoke_key

    try:
        with store_session(settings_from(args)) as session, session.begin():
            revoke_key(session, args.name, actor=actor())
    except RegistryError as exc:
        raise CommandError(exc.message) from None
    print(f"revoked key {args.name!r}")
    return 0


@guarded
def cmd_prune(args: argparse.Namespace) -> int:
    from cloud_bridge.domain.prune import prune

    settings = settings_from(args)
    days = args.days if args.days is not None else settings.retention.days
    try:
        with store_session(settings) as session, session.begin():
            report = prune(session, retention_days=days, dry_run=args.dry_run, actor=actor())
    except ValueError as exc:
        raise CommandError(str(exc), status=2) from None
    verb = "would delete" if args.dry_run else "deleted"
    print(f"records received before {report.cutoff:%Y-%m-%d %H:%M} UTC: {verb} "
          + ", ".join(f"{n} {table}" for table, n in report.deleted.items() if n)
          if report.total else f"nothing received before {report.cutoff:%Y-%m-%d} to prune")
    return 0
