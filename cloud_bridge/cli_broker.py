"""The cloud's trust verbs of ``nongan bridge``: its signing key and the broker's accounts.

```
nongan bridge signing-key new --out FILE        a new Ed25519 key (mode 0600), never replacing one
nongan bridge signing-key show                  the configured keys: what kiosks pin, rotation
nongan bridge signing-key status                which cloud keys each kiosk trusts (telemetry)
nongan bridge broker-files --out DIR [--pki DIR] [--cloud-user U] [--admin-user U]
                                                passwd, dynamic-security.json, crl.pem
nongan bridge broker-sync                       apply the database to a running broker
nongan bridge command --id kiosk-0042 [--name diagnostics] [--timeout S]
                                                a signed command; prints the kiosk's answer
```

``broker-files`` is for a broker that is not running yet (or after restoring one); a running
broker is brought in line by ``broker-sync`` (the dynamic security plugin's control API, and the
files when ``broker_admin.files_dir`` is set), which enrolment, retirement and re-enabling also
run when the settings have a ``[broker_admin]`` section.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from cloud_bridge.cli_support import CommandError, guarded, settings_from, store_session
from cloud_bridge.settings import BridgeSettings


def register(verbs: Any, common: argparse.ArgumentParser) -> None:
    key = verbs.add_parser("signing-key", help="the cloud's signing key (acks, rosters, commands)")
    key.set_defaults(func=lambda args: (key.print_help(), 2)[1])
    key_verbs = key.add_subparsers(dest="signing_key_command", metavar="VERB")
    new = key_verbs.add_parser("new", help="make a new signing key file (mode 0600)")
    new.add_argument("--out", type=Path, required=True, help="the key file to write")
    new.set_defaults(func=cmd_signing_key_new)
    show = key_verbs.add_parser("show", parents=[common],
                                help="the configured keys and what a kiosk pins")
    show.set_defaults(func=cmd_signing_key_show)
    status = key_verbs.add_parser("status", parents=[common],
                                  help="which cloud keys each kiosk trusts, from telemetry")
    status.set_defaults(func=cmd_signing_key_status)

    files = verbs.add_parser("broker-files", parents=[common],
                             help="write the broker's password file, dynamic security "
                             "configuration and CRL")
    files.add_argument("--out", type=Path, required=True,
                       help="folder for passwd, dynamic-security.json and crl.pem; its "
                       "cloud-passwd holds the cloud's own accounts")
    files.add_argument("--pki", type=Path, default=None,
                       help="the link's PKI folder (with ca.key): revoke retired kiosks' "
                       "certificates and write crl.pem")
    files.add_argument("--cloud-user", action="append", default=None,
                       help="the workers' broker accounts (default: from the settings, "
                       "nongan-bridge)")
    files.add_argument("--admin-user", action="append", default=None,
                       help="the provisioning account (default: nongan-admin)")
    files.set_defaults(func=cmd_broker_files)

    sync = verbs.add_parser("broker-sync", parents=[common],
                            help="bring a running broker in line with the database "
                            "([broker_admin] settings)")
    sync.set_defaults(func=cmd_broker_sync)

    from protocol import CommandName

    command = verbs.add_parser("command", parents=[common],
                               help="send a kiosk a signed command and print its answer")
    command.add_argument("--id", required=True, help="the kiosk's device id")
    command.add_argument("--name", default=CommandName.DIAGNOSTICS.value,
                         choices=[c.value for c in CommandName])
    command.add_argument("--timeout", type=float, default=30.0,
                         help="seconds to wait for the answer (default 30)")
    command.set_defaults(func=cmd_command)


# --------------------------------------------------------------------------------- helpers


def cloud_keys_to_pin(settings: BridgeSettings) -> list[str]:
    """The public keys a newly enrolled kiosk pins.

    Raises:
        CommandError: no usable signing key is configured (enrolling a kiosk that could then
            trust nothing would only make a technician come back).
    """
    from cloud_bridge.signing import CloudSigner, SigningKeyError

    try:
        return CloudSigner.from_settings(settings.signing).enrolment_keys()
    except SigningKeyError as exc:
        raise CommandError(str(exc), status=2) from None


def after_device_change(settings: BridgeSettings) -> None:
    """Update the broker after an enrolment, retirement or re-enabling, or say what to run."""
    from cloud_bridge.broker.control import ControlError
    from cloud_bridge.broker.files import BrokerFilesError
    from cloud_bridge.broker.provision import provision
    from cloud_bridge.pki import PkiError

    if settings.broker_admin is None:
        print("now run `nongan bridge broker-files` on the broker's host and restart the broker "
              "(or configure [broker_admin] so this happens by itself)", file=sys.stderr)
        return
    try:
        with store_session(settings) as session:
            report = provision(settings, session)
    except (ControlError, BrokerFilesError, PkiError, OSError) as exc:
        print(f"nongan bridge: the database is changed but the broker is not: {exc}; run "
              "`nongan bridge broker-sync` once it is fixed", file=sys.stderr)
        return
    print(f"broker updated: {report.summary()}", file=sys.stderr)


# -------------------------------------------------------------------------------- commands


@guarded
def cmd_signing_key_new(args: argparse.Namespace) -> int:
    from cloud_bridge.signing import SigningKeyError, describe, new_key_file

    try:
        key = new_key_file(args.out)
    except SigningKeyError as exc:
        raise CommandError(str(exc)) from None
    except OSError as exc:
        raise CommandError(f"cannot write {args.out}: {exc.strerror}") from None
    print(f"wrote {args.out} (keep it with the bridge's settings; back it up)")
    print(f"key id and public key: {describe(key)}")
    return 0


@guarded
def cmd_signing_key_show(args: argparse.Namespace) -> int:
    from protocol import key_id

    settings = settings_from(args)
    keys = cloud_keys_to_pin(settings)
    from cloud_bridge.signing import CloudSigner

    signer = CloudSigner.from_settings(settings.signing)
    print(f"signing with {signer.kid} ({settings.signing.key_file})")
    if signer.previous is not None:
        print(f"key sets signed with the previous key {key_id(signer.previous)}")
    for text in signer.next_keys:
        print(f"announced: {key_id(text)} {text}")
    for kid in signer.retired:
        print(f"retired: {kid}")
    print(f"a kiosk enrolled now pins: signing_keys = {keys}".replace("'", '"'))
    return 0


@guarded
def cmd_signing_key_status(args: argparse.Namespace) -> int:
    from collections import Counter

    from sqlalchemy import select

    from cloud_bridge.store.models import Device, DeviceStateValue, LatestTelemetry

    settings = settings_from(args)
    with store_session(settings) as session:
        rows = session.execute(
            select(Device.id, LatestTelemetry.data, LatestTelemetry.received_at)
            .outerjoin(LatestTelemetry, LatestTelemetry.device_id == Device.id)
            .where(Device.state == DeviceStateValue.ENROLLED).order_by(Device.id)).all()
    tally: Counter[str] = Counter()
    for device_id, data, received in rows:
        keys = (data or {}).get("cloud_keys")
        if keys is None:
            print(f"{device_id:<24} no telemetry with key ids yet")
            continue
        tally.update(keys)
        print(f"{device_id:<24} {' '.join(keys) or '(none)'}  as of {received:%Y-%m-%d %H:%M}")
    for kid, count in sorted(tally.items()):
        print(f"{kid}: trusted by {count} of {len(rows)} kiosk(s)", file=sys.stderr)
    return 0


@guarded
def cmd_broker_files(args: argparse.Namespace) -> int:
    from cloud_bridge.broker.files import BrokerFilesError, write
    from cloud_bridge.broker.provision import accounts
    from cloud_bridge.pki import PkiError

    settings = settings_from(args)
    who = accounts(settings, cloud_users=args.cloud_user, admin_users=args.admin_user)
    pki = args.pki or (settings.broker_admin.pki_dir if settings.broker_admin else None)
    try:
        with store_session(settings) as session:
            report = write(args.out, session, who, pki=pki)
    except (BrokerFilesError, PkiError) as exc:
        raise CommandError(str(exc)) from None
    for name, what in report.items():
        print(f"wrote {args.out / name} ({what})", file=sys.stderr)
    if pki is None:
        print("no --pki: crl.pem not written (retired kiosks' certificates still work)",
              file=sys.stderr)
    print("send mosquitto SIGHUP to read passwd and crl.pem again; dynamic-security.json is "
          "read at start only (on a running broker use `nongan bridge broker-sync`)",
          file=sys.stderr)
    return 0


@guarded
def cmd_broker_sync(args: argparse.Namespace) -> int:
    from cloud_bridge.broker.control import ControlError
    from cloud_bridge.broker.files import BrokerFilesError
    from cloud_bridge.broker.provision import NotConfigured, provision
    from cloud_bridge.pki import PkiError

    settings = settings_from(args)
    try:
        with store_session(settings) as session:
            report = provision(settings, session)
    except NotConfigured as exc:
        raise CommandError(str(exc), status=2) from None
    except (ControlError, BrokerFilesError, PkiError, OSError) as exc:
        raise CommandError(str(exc)) from None
    print(f"broker in line with the database: {report.summary()}")
    return 0


@guarded
def cmd_command(args: argparse.Namespace) -> int:
    import json

    from cloud_bridge.commands import CommandFailed, send_command
    from cloud_bridge.signing import SigningKeyError
    from cloud_bridge.store import list_devices

    settings = settings_from(args)
    with store_session(settings) as session:
        enrolled = {d.id for d in list_devices(session) if d.state == "enrolled"}
    if args.id not in enrolled:
        raise CommandError(f"no enrolled kiosk {args.id!r}")
    try:
        answer = send_command(settings, args.id, args.name, timeout=args.timeout)
    except (CommandFailed, SigningKeyError) as exc:
        raise CommandError(str(exc)) from None
    print(json.dumps(answer, indent=2, ensure_ascii=False))
    return 0 if answer.get("ok") else 1
