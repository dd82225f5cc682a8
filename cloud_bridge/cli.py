"""Cloud commands: ``nongan bridge migrate | run | serve | device add | device list | device
retire | device reenable`` (and ``key``, ``prune`` from ``cloud_bridge.cli_admin``;
``signing-key``, ``broker-files``, ``broker-sync`` from ``cloud_bridge.cli_broker``;
``dead-letters`` from ``cloud_bridge.cli_dead_letters``; ``notify``
from ``cloud_bridge.cli_notify``).

Each verb loads the settings once (``--config FILE`` or ``$NONGAN_BRIDGE_CONFIG``, then
``NONGAN_BRIDGE_*`` variables; ``--database-url`` beats both), and reports a problem a person
can fix as one line on stderr with a non-zero status: 2 for bad settings, 1 for the rest.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
from pathlib import Path

from cloud_bridge.cli_support import (
    CommandError,
    actor,
    guarded,
    settings_from,
    store_session,
    writer_engine,
)
from cloud_bridge.settings import BridgeSettings

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    bridge = subparsers.add_parser("bridge", help="run the cloud bridge (ingest, API, devices)")
    bridge.set_defaults(func=lambda args: _help(bridge))
    verbs = bridge.add_subparsers(dest="bridge_command", metavar="VERB")

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", type=Path, default=None,
                        help="settings file (TOML); default $NONGAN_BRIDGE_CONFIG, else none")
    common.add_argument("--database-url", default=None, help="overrides database.url")

    migrate = verbs.add_parser("migrate", parents=[common],
                               help="create or upgrade the database schema")
    migrate.set_defaults(func=cmd_migrate)

    run = verbs.add_parser("run", parents=[common], help="run ingest workers until stopped")
    run.add_argument("--workers", type=int, default=1,
                     help="workers in this process, client ids {client_id}-1..N (default 1)")
    run.add_argument("--client-id", default=None, help="overrides ingest.client_id")
    run.set_defaults(func=cmd_run)

    serve = verbs.add_parser("serve", parents=[common], help="serve the HTTP API (uvicorn)")
    serve.add_argument("--host", default=None, help="overrides api.host")
    serve.add_argument("--port", type=int, default=None, help="overrides api.port")
    serve.add_argument("--workers", type=int, default=1,
                       help="uvicorn worker processes (default 1)")
    serve.set_defaults(func=cmd_serve)

    device = verbs.add_parser("device", help="enrol, list and retire kiosks")
    device.set_defaults(func=lambda args: _help(device))
    device_verbs = device.add_subparsers(dest="device_command", metavar="VERB")
    add = device_verbs.add_parser("add", parents=[common], help="enrol a kiosk")
    add.add_argument("--id", required=True, help="the kiosk's device id")
    add.add_argument("--public-key", required=True,
                     help="its Ed25519 public key, base64url (43 characters)")
    add.add_argument("--station", required=True, help="service station code, e.g. JL01")
    add.add_argument("--place", required=True, help="GB/T 2260 place code, e.g. 220122")
    add.set_defaults(func=cmd_device_add)
    listing = device_verbs.add_parser("list", parents=[common], help="list enrolled kiosks")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    listing.set_defaults(func=cmd_device_list)
    retire = device_verbs.add_parser(
        "retire", parents=[common],
        help="retire a kiosk: its messages are refused and it loses its broker login")
    retire.add_argument("--id", required=True, help="the kiosk's device id")
    retire.add_argument("--confirm", default=None, metavar="ID",
                        help="the device id again, to confirm (asked for if not given)")
    retire.add_argument("--reason", default=None, help="why (kept in the history)")
    retire.set_defaults(func=cmd_device_retire)
    reenable = device_verbs.add_parser(
        "reenable", parents=[common],
        help="undo a retirement: the kiosk gets a new broker password (and needs a new "
        "certificate)")
    reenable.add_argument("--id", required=True, help="the kiosk's device id")
    reenable.add_argument("--confirm", default=None, metavar="ID",
                          help="the device id again, to confirm (asked for if not given)")
    reenable.add_argument("--reason", default=None, help="why (kept in the history)")
    reenable.set_defaults(func=cmd_device_reenable)

    from cloud_bridge import cli_admin, cli_broker, cli_dead_letters

    cli_admin.register(verbs, common)
    cli_broker.register(verbs, common)
    cli_dead_letters.register(verbs, common)

    from cloud_bridge import cli_notify

    cli_notify.register(verbs, common)


# --------------------------------------------------------------------------------- helpers


def _help(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


# -------------------------------------------------------------------------------- commands


@guarded
def cmd_migrate(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from cloud_bridge.store import migrate
    from cloud_bridge.store.errors import first_line

    settings = settings_from(args)
    engine = writer_engine(settings)
    try:
        revision = migrate(engine)
    except SQLAlchemyError as exc:
        raise CommandError(f"cannot migrate {_safe_url(settings)}: {first_line(exc)}") from None
    finally:
        engine.dispose()
    print(f"database {_safe_url(settings)} is at revision {revision}")
    return 0


@guarded
def cmd_run(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    if args.client_id:
        settings = settings.model_copy(update={
            "ingest": settings.ingest.model_copy(update={"client_id": args.client_id})})
    if args.workers < 1:
        raise CommandError("--workers must be at least 1", status=2)
    stop = threading.Event()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        return run_workers(settings, args.workers, stop)
    except KeyboardInterrupt:
        return 0


def run_workers(settings: BridgeSettings, count: int, stop: threading.Event) -> int:
    """Run ``count`` ingest workers until ``stop`` is set or one crashes.

    Returns:
        0 after a requested stop, 1 if a worker crashed (the others are stopped too, so a
        supervisor such as systemd restarts the whole process).
    """
    from cloud_bridge.ingest import IngestWorker
    from cloud_bridge.store import SchemaError, require_current_schema

    engine = writer_engine(settings)
    try:
        try:
            require_current_schema(engine)
        except SchemaError as exc:
            raise CommandError(str(exc)) from None
        base = settings.ingest.client_id
        ids = [base] if count == 1 else [f"{base}-{i}" for i in range(1, count + 1)]
        workers = [IngestWorker(settings, engine, client_id=cid) for cid in ids]
        started = []
        try:
            for worker in workers:
                started.append(worker.start(ready_timeout=None))
            print(f"ingest: {count} worker(s) on {settings.broker.url} -> {_safe_url(settings)}",
                  file=sys.stderr)
            while not stop.wait(0.5):
                if any(w.crashed for w in started):
                    break
        finally:
            for worker in started:
                worker.stop()
        crashed = [w for w in started if w.crashed]
        for worker in crashed:
            try:
                worker.check()
            except Exception as exc:
                print(f"nongan bridge: {exc}", file=sys.stderr)
        return 1 if crashed else 0
    finally:
        engine.dispose()


@guarded
def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from cloud_bridge.api import create_app

    settings = settings_from(args)
    host = args.host or settings.api.host
    port = args.port or settings.api.port
    if args.workers > 1:
        # Each worker builds its own app from the environment: pass the resolved settings on.
        if args.config:
            os.environ["NONGAN_BRIDGE_CONFIG"] = str(args.config)
        os.environ["NONGAN_BRIDGE_DATABASE__URL"] = settings.database.url
        uvicorn.run("cloud_bridge.api.asgi:from_environment", factory=True, host=host,
                    port=port, workers=args.workers, log_level="warning", access_log=False)
        return 0
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info")
    return 0


@guarded
def cmd_device_add(args: argparse.Namespace) -> int:
    from cloud_bridge.cli_broker import after_device_change, cloud_keys_to_pin
    from cloud_bridge.store import EnrolmentError, enroll_device

    settings = settings_from(args)
    try:
        with store_session(settings) as session, session.begin():
            info = enroll_device(session, device_id=args.id, public_key=args.public_key,
                                 station_id=args.station, place_code=args.place,
                                 actor=actor(), reserved=settings.cloud_accounts())
            # Before the commit: a kiosk enrolled with no key to pin could trust nothing.
            keys = cloud_keys_to_pin(settings)
    except EnrolmentError as exc:
        raise CommandError(str(exc)) from None
    print(f"enrolled {info.id} (station {info.station_id}, place {info.place_code})")
    print(f"broker username: {info.id}\nbroker password: {info.broker_password}\n"
          "(shown once: put it in the kiosk's gateway.toml)")
    print("the kiosk pins the cloud's signing key; in its gateway.toml:\n"
          f"[cloud]\nsigning_keys = {json.dumps(keys)}")
    after_device_change(settings)
    return 0


@guarded
def cmd_device_list(args: argparse.Namespace) -> int:
    from cloud_bridge.store import list_devices

    settings = settings_from(args)
    with store_session(settings) as session:
        devices = list_devices(session)
    for d in devices:
        if args.json:
            print(json.dumps({"id": d.id, "state": d.state, "station_id": d.station_id,
                              "place_code": d.place_code, "public_key": d.public_key,
                              "acked_seq": d.acked_seq,
                              "enrolled_at": d.enrolled_at.isoformat(),
                              "retired_at": d.retired_at.isoformat() if d.retired_at else None},
                             ensure_ascii=False))
        else:
            print(f"{d.id:<24} {d.state:<9} {d.station_id:<8} {d.place_code:<12} "
                  f"acked {d.acked_seq}")
    if not devices and not args.json:
        print("no devices enrolled", file=sys.stderr)
    return 0


def _confirmation(args: argparse.Namespace, what: str) -> tuple[str | None, str | None]:
    """The typed device id and the reason: from the options, else asked for on a terminal."""
    confirm, reason = args.confirm, args.reason
    if sys.stdin.isatty():
        if confirm is None:
            confirm = input(f"To {what} {args.id}, type its device id again: ").strip()
        if reason is None:
            reason = input("Why (kept in the history): ").strip()
    return confirm, reason


@guarded
def cmd_device_retire(args: argparse.Namespace) -> int:
    from cloud_bridge.cli_broker import after_device_change
    from cloud_bridge.store import EnrolmentError, retire_device

    settings = settings_from(args)
    confirm, reason = _confirmation(args, "retire")
    try:
        with store_session(settings) as session, session.begin():
            info = retire_device(session, args.id, confirm=confirm, reason=reason,
                                 actor=actor())
    except EnrolmentError as exc:
        raise CommandError(str(exc)) from None
    print(f"retired {info.id}; its messages are refused from now on")
    after_device_change(settings)
    return 0


@guarded
def cmd_device_reenable(args: argparse.Namespace) -> int:
    from cloud_bridge.cli_broker import after_device_change
    from cloud_bridge.store import EnrolmentError, reenable_device

    settings = settings_from(args)
    confirm, reason = _confirmation(args, "re-enable")
    try:
        with store_session(settings) as session, session.begin():
            info = reenable_device(session, args.id, confirm=confirm, reason=reason,
                                   actor=actor())
    except EnrolmentError as exc:
        raise CommandError(str(exc)) from None
    print(f"re-enabled {info.id}; its messages are accepted again")
    print(f"new broker password: {info.broker_password}\n(shown once: put it in the kiosk's "
          "gateway.toml; its old certificates stay revoked: `nongan pki issue` a new one)")
    after_device_change(settings)
    return 0


def _safe_url(settings: BridgeSettings) -> str:
    from sqlalchemy.engine import make_url

    return make_url(settings.database.url).render_as_string(hide_password=True)
