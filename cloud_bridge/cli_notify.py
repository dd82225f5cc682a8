"""``nongan bridge notify``: the notify worker, contacts, routes and a test message.

```
nongan bridge notify run                                  # the worker (nongan-notify.service)
nongan bridge notify contact set --name zhang.wei [--display-name 张伟] [--lang zh-CN|en]
                                 [--email ...] [--webhook-url ...] [--phone ...] [--wecom-user ...]
nongan bridge notify contact list
nongan bridge notify contact disable --name zhang.wei
nongan bridge notify route add --place 220122 --level 0 --to zhang.wei [--kind positive]
nongan bridge notify route list
nongan bridge notify route remove --id 3
nongan bridge notify test --to zhang.wei                  # queue a test message
```
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import Any

from cloud_bridge.cli_support import (
    CommandError,
    actor,
    guarded,
    settings_from,
    store_session,
    writer_engine,
)


def register(verbs: Any, common: argparse.ArgumentParser) -> None:
    notify = verbs.add_parser("notify", help="notifications: the worker, contacts, routes")
    notify.set_defaults(func=lambda args: (notify.print_help(), 2)[1])
    sub = notify.add_subparsers(dest="notify_command", metavar="VERB")

    run = sub.add_parser("run", parents=[common],
                         help="send notifications and escalations until stopped")
    run.set_defaults(func=cmd_run)

    contact = sub.add_parser("contact", help="how to reach people")
    contact.set_defaults(func=lambda args: (contact.print_help(), 2)[1])
    contact_verbs = contact.add_subparsers(dest="contact_command", metavar="VERB")
    put = contact_verbs.add_parser("set", parents=[common],
                                   help="add or change a contact ('' clears a field)")
    put.add_argument("--name", required=True, help="their API key's name, or a desk's name")
    put.add_argument("--display-name", default=None)
    put.add_argument("--lang", default=None, choices=["zh-CN", "en"])
    put.add_argument("--email", default=None)
    put.add_argument("--webhook-url", default=None)
    put.add_argument("--phone", default=None, help="for SMS (log only: no provider)")
    put.add_argument("--wecom-user", default=None, help="WeChat Work user id (log only)")
    put.set_defaults(func=cmd_contact_set)
    listing = contact_verbs.add_parser("list", parents=[common], help="list contacts")
    listing.set_defaults(func=cmd_contact_list)
    disable = contact_verbs.add_parser("disable", parents=[common], help="stop notifying one")
    disable.add_argument("--name", required=True)
    disable.set_defaults(func=cmd_contact_disable)

    route = sub.add_parser("route", help="who hears about alerts in which place")
    route.set_defaults(func=lambda args: (route.print_help(), 2)[1])
    route_verbs = route.add_subparsers(dest="route_command", metavar="VERB")
    add = route_verbs.add_parser("add", parents=[common], help="route a place's alerts")
    add.add_argument("--place", required=True,
                     help="GB/T 2260 code prefix, e.g. 220122 (a county); '' for everywhere")
    add.add_argument("--level", type=int, default=0,
                     help="0: told at once; n: told after notify.escalation's n-th delay")
    add.add_argument("--to", required=True, help="the contact's name")
    add.add_argument("--kind", default="*", help="alert kind (positive), default any")
    add.set_defaults(func=cmd_route_add)
    listing = route_verbs.add_parser("list", parents=[common], help="list routes")
    listing.set_defaults(func=cmd_route_list)
    remove = route_verbs.add_parser("remove", parents=[common], help="remove a route by id")
    remove.add_argument("--id", type=int, required=True)
    remove.set_defaults(func=cmd_route_remove)

    test = sub.add_parser("test", parents=[common],
                          help="queue a test notification (the worker sends it)")
    test.add_argument("--to", required=True, help="the contact's name")
    test.set_defaults(func=cmd_test)


def _registry(call: Any) -> Any:
    from cloud_bridge.domain.errors import RegistryError

    try:
        return call()
    except RegistryError as exc:
        raise CommandError(exc.message) from None


@guarded
def cmd_run(args: argparse.Namespace) -> int:
    from cloud_bridge.notify import NotifyWorker
    from cloud_bridge.store import SchemaError, require_current_schema

    settings = settings_from(args)
    stop = threading.Event()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
    engine = writer_engine(settings)
    try:
        try:
            require_current_schema(engine)
        except SchemaError as exc:
            raise CommandError(str(exc)) from None
        worker = NotifyWorker(settings, engine)
        off = [c for c in settings.notify.channels if c not in worker.notifiers]
        print(f"notify: channels {', '.join(sorted(worker.notifiers)) or 'none'}"
              + (f" (not configured: {', '.join(off)})" if off else ""), file=sys.stderr)
        try:
            worker.run(stop)
        except KeyboardInterrupt:
            pass
        finally:
            worker.close()
    finally:
        engine.dispose()
    return 0


@guarded
def cmd_contact_set(args: argparse.Namespace) -> int:
    from cloud_bridge.notify import set_contact
    from cloud_bridge.store.types import utcnow

    with store_session(settings_from(args)) as session, session.begin():
        contact = _registry(lambda: set_contact(
            session, args.name, actor=actor(), now=utcnow(), display_name=args.display_name,
            language=args.lang, email=args.email, webhook_url=args.webhook_url,
            phone=args.phone, wecom_user=args.wecom_user))
        print(f"contact {contact.name!r}: {_reach(contact)}")
    return 0


def _reach(contact: Any) -> str:
    parts = [f"{label} {value}" for label, value in (
        ("email", contact.email), ("webhook", contact.webhook_url), ("phone", contact.phone),
        ("wecom", contact.wecom_user)) if value]
    return f"{contact.language}; " + (", ".join(parts) or "no address")


@guarded
def cmd_contact_list(args: argparse.Namespace) -> int:
    from cloud_bridge.notify import list_contacts

    with store_session(settings_from(args)) as session:
        for c in list_contacts(session):
            state = "" if c.active else " (disabled)"
            print(f"{c.name:<24} {c.display_name:<12} {_reach(c)}{state}")
    return 0


@guarded
def cmd_contact_disable(args: argparse.Namespace) -> int:
    from cloud_bridge.notify import disable_contact
    from cloud_bridge.store.types import utcnow

    with store_session(settings_from(args)) as session, session.begin():
        _registry(lambda: disable_contact(session, args.name, actor=actor(), now=utcnow()))
    print(f"contact {args.name!r} disabled")
    return 0


@guarded
def cmd_route_add(args: argparse.Namespace) -> int:
    from cloud_bridge.notify import add_route
    from cloud_bridge.store.types import utcnow

    with store_session(settings_from(args)) as session, session.begin():
        route = _registry(lambda: add_route(
            session, place_prefix=args.place, level=args.level, recipient=args.to,
            kind=args.kind, actor=actor(), now=utcnow()))
        print(f"route {route.id}: {route.kind} alerts in {route.place_prefix or '(everywhere)'} "
              f"-> {route.recipient} at level {route.level}")
    return 0


@guarded
def cmd_route_list(args: argparse.Namespace) -> int:
    from cloud_bridge.notify import list_routes

    with store_session(settings_from(args)) as session:
        for r in list_routes(session):
            print(f"{r.id:>4} {r.place_prefix or '(everywhere)':<14} {r.kind:<10} "
                  f"level {r.level}  {r.recipient}")
    return 0


@guarded
def cmd_route_remove(args: argparse.Namespace) -> int:
    from cloud_bridge.notify.contacts import remove_route
    from cloud_bridge.store.types import utcnow

    with store_session(settings_from(args)) as session, session.begin():
        _registry(lambda: remove_route(session, args.id, actor=actor(), now=utcnow()))
    print(f"route {args.id} removed")
    return 0


@guarded
def cmd_test(args: argparse.Namespace) -> int:
    import secrets

    from cloud_bridge.notify import enqueue
    from cloud_bridge.store.types import utcnow

    settings = settings_from(args)
    with store_session(settings) as session, session.begin():
        rows = enqueue(session, message_key=f"test:{secrets.token_hex(6)}", recipient=args.to,
                       template_key="test", params={"actor": actor()},
                       now=utcnow(), channels=settings.notify.channels,
                       link=f"{settings.api.public_base_url.rstrip('/')}/dashboard/notifications")
        for row in rows:
            print(f"notification {row.id}: {row.channel} {row.address or ''} {row.status}"
                  + (f" ({row.last_error})" if row.last_error else ""))
    print("the worker (nongan bridge notify run) sends it; see /dashboard/notifications",
          file=sys.stderr)
    return 0
