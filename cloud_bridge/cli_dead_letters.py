"""``nongan bridge dead-letters``: see and resolve the messages the cloud refused.

```
nongan bridge dead-letters list [--state open|recorded|replayed|discarded|all] [--device ID]
                                [--code CODE] [--limit N] [--json]
nongan bridge dead-letters show ID [--payload]
nongan bridge dead-letters replay ID --reason WHY
nongan bridge dead-letters discard ID --reason WHY [--yes]
```

``replay`` runs the kept bytes through ingest again once the cause is fixed (a kiosk enrolled,
a key corrected); ``discard`` settles one that will never be stored, skipping its seq so its
kiosk's watermark can pass. Both are written to the history with the operator's login name and
the reason (``cloud_bridge.ingest.resolution``). ``discard`` asks for confirmation on a
terminal unless ``--yes``.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from typing import Any

from cloud_bridge.cli_support import (
    CommandError,
    guarded,
    settings_from,
    store_session,
    writer_engine,
)

STATES = ("open", "recorded", "replayed", "discarded", "all")
PAYLOAD_PREVIEW = 2000


def register(verbs: Any, common: argparse.ArgumentParser) -> None:
    letters = verbs.add_parser("dead-letters", help="list, show, replay or discard the "
                               "messages the cloud refused")
    letters.set_defaults(func=lambda args: (letters.print_help(), 2)[1])
    sub = letters.add_subparsers(dest="dead_letter_command", metavar="VERB")
    listing = sub.add_parser("list", parents=[common], help="dead letters, newest first")
    listing.add_argument("--state", choices=STATES, default="open",
                         help="which ones (default: open, i.e. waiting for a person)")
    listing.add_argument("--device", default=None, help="only this kiosk's")
    listing.add_argument("--code", default=None, help="only this refusal code")
    listing.add_argument("--limit", type=int, default=100)
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    listing.set_defaults(func=cmd_list)
    show = sub.add_parser("show", parents=[common], help="one dead letter in full")
    show.add_argument("id", type=int)
    show.add_argument("--payload", action="store_true", help="print the whole payload")
    show.set_defaults(func=cmd_show)
    replay = sub.add_parser("replay", parents=[common],
                            help="store it again, after fixing its cause")
    replay.add_argument("id", type=int)
    replay.add_argument("--reason", required=True, help="what was fixed (kept in the history)")
    replay.set_defaults(func=cmd_replay)
    discard = sub.add_parser("discard", parents=[common],
                             help="settle it for good, with a reason (its seq is skipped)")
    discard.add_argument("id", type=int)
    discard.add_argument("--reason", required=True, help="why it will never be stored")
    discard.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    discard.set_defaults(func=cmd_discard)


def actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


@guarded
def cmd_list(args: argparse.Namespace) -> int:
    from cloud_bridge.ingest.resolution import Filter, list_letters

    which = Filter(state=None if args.state == "all" else args.state, device_id=args.device,
                   code=args.code, limit=args.limit)
    with store_session(settings_from(args)) as session:
        found = list_letters(session, which)
    for d in found:
        if args.json:
            print(json.dumps({"id": d.id, "state": d.state, "code": d.code,
                              "device_id": d.device_id, "seq": d.seq, "count": d.count,
                              "first_seen": d.first_seen.isoformat(),
                              "last_seen": d.last_seen.isoformat(), "topic": d.topic[:200],
                              "reason": d.reason}, ensure_ascii=False))
        else:
            seq = f"seq {d.seq}" if d.seq is not None else ""
            print(f"#{d.id:<6} {d.state:<9} {d.last_seen:%Y-%m-%d %H:%M} "
                  f"{(d.device_id or '-'):<20} {seq:<10} {d.code:<16} x{d.count}  "
                  f"{d.reason[:100]}")
    if not found and not args.json:
        print(f"no {'' if args.state == 'all' else args.state + ' '}dead letters",
              file=sys.stderr)
    return 0


@guarded
def cmd_show(args: argparse.Namespace) -> int:
    from cloud_bridge.domain.errors import RegistryError
    from cloud_bridge.ingest.resolution import details

    with store_session(settings_from(args)) as session:
        try:
            found = details(session, args.id)
        except RegistryError as exc:
            raise CommandError(exc.message) from None
        for line in describe(found, full_payload=args.payload):
            print(line)
    return 0


def describe(found: Any, *, full_payload: bool = False) -> list[str]:
    """The lines ``show`` prints for a ``resolution.Details``."""
    d = found.letter
    lines = [
        f"dead letter #{d.id}: {d.state}",
        f"  topic       {d.topic[:300]}{'…' if len(d.topic) > 300 else ''}",
        f"  device      {d.device_id or '-'}" + (f"  seq {d.seq}" if d.seq is not None else "")
        + (f"  msg_id {d.msg_id}" if d.msg_id else ""),
        f"  refused     {d.code}: {d.reason}",
        f"  seen        {d.count} time(s), first {d.first_seen:%Y-%m-%d %H:%M:%S} UTC, "
        f"last {d.last_seen:%Y-%m-%d %H:%M:%S} UTC",
        f"  payload     {d.payload_size} bytes, SHA-256 {d.payload_sha256}"
        + (f" (only {len(d.payload)} kept)" if d.payload_truncated else ""),
    ]
    if found.watermark is not None:
        state = ("holds its kiosk's watermark back" if found.blocks_watermark else
                 "stored" if found.stored else "skipped" if found.skipped else "")
        lines.append(f"  watermark   {d.device_id} acknowledged up to seq {found.watermark}"
                     + (f"; this record {state}" if state else ""))
    if d.state != "open":
        lines.append(f"  resolved    {d.resolved_at:%Y-%m-%d %H:%M:%S} UTC by {d.resolved_by}: "
                     f"{d.resolution}")
    elif found.replayable is not None:
        lines.append(f"  replay      not possible: {found.replayable}")
    for h in found.history:
        lines.append(f"  history     {h.at:%Y-%m-%d %H:%M:%S} UTC {h.action} by {h.actor}: "
                     f"{h.reason or ''}")
    payload = bytes(d.payload)
    try:
        shown = payload.decode("utf-8")
    except UnicodeDecodeError:
        shown = payload[:512].hex(" ")
    if not full_payload and len(shown) > PAYLOAD_PREVIEW:
        shown = shown[:PAYLOAD_PREVIEW] + f"… (--payload for all {len(payload)} bytes)"
    lines += ["  payload:", shown]
    return lines


@guarded
def cmd_replay(args: argparse.Namespace) -> int:
    from cloud_bridge.domain.errors import RegistryError
    from cloud_bridge.ingest.resolution import replay

    settings = settings_from(args)
    with store_session(settings):  # checks the schema first
        pass
    engine = writer_engine(settings)
    try:
        outcome = replay(engine, args.id, actor=actor(), reason=args.reason,
                         payload_cap=settings.ingest.dead_letter_payload_cap)
    except RegistryError as exc:
        raise CommandError(exc.message) from None
    finally:
        engine.dispose()
    if not outcome.stored:
        raise CommandError(f"dead letter #{args.id} is still refused: {outcome.reason} "
                           "(it stays open)")
    where = f"; watermark now {outcome.watermark}" if outcome.watermark is not None else ""
    print(f"replayed dead letter #{args.id}: {outcome.outcome}{where}")
    return 0


@guarded
def cmd_discard(args: argparse.Namespace) -> int:
    from cloud_bridge.domain.errors import RegistryError
    from cloud_bridge.ingest.resolution import details, discard

    settings = settings_from(args)
    with store_session(settings) as session:
        try:
            found = details(session, args.id)
        except RegistryError as exc:
            raise CommandError(exc.message) from None
    if not args.yes:
        if not sys.stdin.isatty():
            raise CommandError("discarding cannot be undone: confirm with --yes", status=2)
        letter = found.letter
        what = (f"seq {letter.seq} of {letter.device_id} will be skipped: the kiosk forgets "
                "this record once acknowledged" if found.blocks_watermark else
                "nothing else changes")
        answer = input(f"discard dead letter #{args.id} ({letter.code}); {what}. "
                       "Type the id to confirm: ")
        if answer.strip() != str(args.id):
            raise CommandError("not confirmed; nothing changed")
    engine = writer_engine(settings)
    try:
        outcome = discard(engine, args.id, actor=actor(), reason=args.reason)
    except RegistryError as exc:
        raise CommandError(exc.message) from None
    finally:
        engine.dispose()
    skipped = (f"; seq {outcome.skipped_seq} skipped, watermark now {outcome.watermark}"
               if outcome.skipped_seq is not None else "")
    print(f"discarded dead letter #{args.id}{skipped}")
    return 0
