"""Kiosk commands: ``nongan gateway init | run | status``."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from pathlib import Path

from .settings import DEFAULT_CONFIG_PATH, ConfigError, GatewaySettings, load_settings

log = logging.getLogger(__name__)

CONFIG_TEMPLATE = """\
# nongan kiosk gateway settings. Every value can be overridden by an environment variable:
# NONGAN_<SECTION>__<FIELD>, e.g. NONGAN_BROKER__URL=mqtts://broker.example:8883
[device]
id = "{device_id}"
station_id = "{station_id}"
station_name = ""
place_code = "{place_code}"      # GB/T 2260 administrative division code
data_dir = "{data_dir}"

[broker]
url = "{broker_url}"
protocol = "5"
# username = "{device_id}"
# password = "..."
# ca_file = "/etc/nongan/ca.crt"
# cert_file = "/etc/nongan/{device_id}.crt"
# key_file = "/etc/nongan/{device_id}.key"

[link]
inflight_window = 20
telemetry_interval_s = 60

[cloud]
public_base_url = "{public_base_url}"
# The cloud's signing key(s), as `nongan bridge device add` prints them: the kiosk acts on no
# ack, roster or command they did not sign.
signing_keys = [{signing_keys}]
"""


def add_config_arg(parser: argparse.ArgumentParser) -> None:
    """The ``--config`` option every kiosk command takes."""
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG_PATH,
                        help=f"the kiosk's settings file (default {DEFAULT_CONFIG_PATH})")


def load_or_report(args: argparse.Namespace) -> GatewaySettings | None:
    """The settings named by ``--config``, or None after printing why they are invalid."""
    try:
        return load_settings(args.config)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None


def cmd_init(args: argparse.Namespace) -> int:
    from .identity import DeviceIdentity

    if args.config.exists() and not args.force:
        print(f"error: {args.config} exists; use --force to overwrite", file=sys.stderr)
        return 1
    args.config.parent.mkdir(parents=True, exist_ok=True)
    args.config.write_text(
        CONFIG_TEMPLATE.format(
            device_id=args.device_id, station_id=args.station, place_code=args.place,
            data_dir=args.data_dir, broker_url=args.broker, public_base_url=args.public_url,
            signing_keys=", ".join(f'"{key}"' for key in args.cloud_key or []),
        ),
        encoding="utf-8",
    )
    settings = load_or_report(args)
    if settings is None:
        return 1
    identity = DeviceIdentity.load_or_create(settings.device.data_dir, settings.device.id)
    print(f"wrote {args.config}")
    if not settings.cloud.signing_keys:
        print("cloud.signing_keys is empty: paste the cloud signing key that enrolment prints "
              "into it (or run init again with --cloud-key)")
    print("enrol this kiosk in the cloud with:")
    # "=" because a base64url key may start with "-", which argparse would take for an option.
    print(f"  nongan bridge device add --id {identity.device_id} --public-key="
          f"{identity.public_key} --station {settings.device.station_id} "
          f"--place {settings.device.place_code}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from .app import Gateway

    settings = load_or_report(args)
    if settings is None:
        return 1
    gateway = Gateway.open(settings)
    try:
        asyncio.run(gateway.run())
    finally:
        gateway.close()
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from .identity import DeviceIdentity
    from .outbox import read_stats
    from .storage import KioskDatabase, database_path

    settings = load_or_report(args)
    if settings is None:
        return 1
    # Only inspect: a wrong --config must not create a new key or an empty database.
    data_dir = settings.device.data_dir
    for path, what in ((database_path(data_dir), "kiosk database"),
                       (DeviceIdentity.key_path(data_dir), "kiosk identity key")):
        if not path.exists():
            print(f"error: no {what} at {path}: check --config ({args.config}) and its "
                  "device.data_dir, or start the kiosk once (nongan gateway run)",
                  file=sys.stderr)
            return 1
    identity = DeviceIdentity.load_or_create(data_dir, settings.device.id)
    db = KioskDatabase.in_folder(data_dir)
    try:
        stats = read_stats(db)
    finally:
        db.close()
    report = {
        "device_id": identity.device_id,
        "public_key": identity.public_key,
        "broker": settings.broker.url,
        "outbox": {
            "unacked": stats.unacked,
            "pending": stats.pending,
            "sent_unacked": stats.sent,
            "unacked_bytes": stats.unacked_bytes,
            "oldest_unacked": stats.oldest_unacked_created_at.isoformat()
            if stats.oldest_unacked_created_at else None,
            "last_seq": stats.last_seq,
            "acked_seq": stats.acked_seq,
        },
    }
    print(json.dumps(report, indent=2, ensure_ascii=False))
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    gateway = subparsers.add_parser("gateway", help="set up, run or inspect a kiosk gateway")
    verbs = gateway.add_subparsers(dest="gateway_command", metavar="VERB", required=True)

    init = verbs.add_parser("init", help="write a settings file and create the kiosk's key")
    add_config_arg(init)
    init.add_argument("--device-id", required=True)
    init.add_argument("--station", required=True, help="station code, e.g. ST0001")
    init.add_argument("--place", required=True, help="GB/T 2260 code, e.g. 370902")
    init.add_argument("--data-dir", default="/var/lib/nongan")
    init.add_argument("--broker", default="mqtt://127.0.0.1:1883")
    init.add_argument("--public-url", default="http://127.0.0.1:8080")
    init.add_argument("--cloud-key", action="append", default=None, metavar="KEY",
                      help="the cloud's public signing key (43 characters, as enrolment prints "
                      "it; repeat for several); pinned by the kiosk")
    init.add_argument("--force", action="store_true")
    init.set_defaults(func=cmd_init)

    run = verbs.add_parser("run", help="run the kiosk gateway (under systemd on the Pi)")
    add_config_arg(run)
    run.set_defaults(func=cmd_run)

    status = verbs.add_parser("status", help="print identity and outbox state as JSON")
    add_config_arg(status)
    status.set_defaults(func=cmd_status)
