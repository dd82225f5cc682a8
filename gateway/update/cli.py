"""``nongan release`` (on the release machine) and ``nongan update`` (on a kiosk).

Release: ``keygen`` makes a release signing key, ``build`` makes a signed bundle from the
checkout, ``verify`` checks one against public keys.

Update: ``status`` (releases, trial, journal), ``apply`` (a bundle URL, by hand),
``selfcheck`` (run by the guard from the new release), ``guard`` (run by systemd),
``rollback`` and ``adopt`` (by hand), ``firmware`` (flash the reader from a bundle).
Exit codes: 0 done, 1 refused or failed (the reason printed), 2 bad settings or arguments.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

from ..cli import add_config_arg, load_or_report


def _fail(reason: str, fix: str = "") -> int:
    print(f"refused: {reason}" if reason else "failed", file=sys.stderr)
    if fix:
        print(f"fix: {fix}", file=sys.stderr)
    return 1


# ---------------------------------------------------------------------- release


def cmd_keygen(args: argparse.Namespace) -> int:
    from cryptography.hazmat.primitives import serialization

    from protocol import generate_private_key, public_key_text

    from .manifest import key_id

    if args.out.exists():
        return _fail(f"{args.out} exists", "choose another file; never overwrite a release key")
    key = generate_private_key()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(args.out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    print(f"wrote {args.out} (keep it offline; it signs what every kiosk installs)")
    print(f"key id:     {key_id(key)}")
    print(f"public key: {public_key_text(key)}")
    print("add the public key to update.release_keys of every kiosk")
    return 0


def cmd_build(args: argparse.Namespace) -> int:
    import tempfile

    from .manifest import load_private_key
    from .release import ReleaseError, build_bundle, build_wheel

    try:
        key = load_private_key(args.key)
    except ValueError as exc:
        return _fail(str(exc))
    source = args.source.resolve()
    firmware_dir = None if args.no_firmware else (args.firmware_dir or
                                                  source / "hardware" / "firmware")
    kits_dir = None if args.no_kits else (args.kits_dir or
                                          source / "gateway" / "kits" / "data")
    try:
        with tempfile.TemporaryDirectory(prefix="nongan-release-") as tmp:
            wheel = args.wheel or build_wheel(source, Path(tmp), assets=not args.no_assets)
            built = build_bundle(wheel=wheel, key=key, out_dir=args.out, kits_dir=kits_dir,
                                 firmware_dir=firmware_dir, wheelhouse=args.wheelhouse,
                                 min_compatible=args.min_compatible,
                                 max_compatible=args.max_compatible)
    except (ReleaseError, ValueError) as exc:
        return _fail(str(exc))
    m = built.manifest
    info = {"bundle": built.path.name, "version": m.version, "size": built.size,
            "bundle_sha256": built.bundle_sha256, "manifest_sha256": built.manifest_sha256,
            "key_id": m.key_id, "dependencies": m.dependencies,
            "min_compatible": m.min_compatible, "max_compatible": m.max_compatible,
            "firmware": m.firmware.version if m.firmware else None,
            "kits": m.kits.catalogue_version if m.kits else None}
    built.path.with_name(built.path.name + ".json").write_text(
        json.dumps(info, indent=2) + "\n", encoding="utf-8")
    if args.json:
        print(json.dumps({"path": str(built.path), **info}, indent=2))
    else:
        print(f"wrote {built.path} ({built.size} bytes): nongan {m.version}, "
              f"{len(m.files)} files, dependencies {m.dependencies}")
        print(f"bundle sha256:   {built.bundle_sha256}")
        print(f"manifest sha256: {built.manifest_sha256}  (what a kiosk is told to install)")
        print(f"installs over {m.min_compatible} .. {m.max_compatible}; signed by {m.key_id}")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from .bundle import verify_bundle
    from .errors import BundleRefused
    from .manifest import ReleaseTrust

    try:
        trust = ReleaseTrust(args.pubkey)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        bundle = verify_bundle(args.bundle, trust,
                               expected_manifest_sha256=args.manifest_sha256)
    except BundleRefused as exc:
        return _fail(exc.reason)
    m = bundle.manifest
    if args.json:
        print(json.dumps({"manifest_sha256": bundle.manifest_sha256,
                          "manifest": m.model_dump(mode="json")}, indent=2))
    else:
        print(f"ok: nongan {m.version}, signed by {m.key_id}, {len(m.files)} files match")
        print(f"manifest sha256: {bundle.manifest_sha256}")
        print(f"created {m.created_at:%Y-%m-%d %H:%M} UTC; installs over {m.min_compatible} "
              f".. {m.max_compatible}; Python {m.requires_python}; dependencies "
              f"{m.dependencies}")
        if m.firmware:
            print(f"firmware {m.firmware.version} (protocol {m.firmware.protocol}, boards "
                  f"{', '.join(m.firmware.boards)})")
        if m.kits:
            print(f"kit catalogue {m.kits.catalogue_version}, cut-offs {m.kits.limits_version}")
    return 0


# ---------------------------------------------------------------------- update


def _open(args: argparse.Namespace) -> tuple[Any, Any] | None:
    from ..storage import KioskDatabase

    settings = load_or_report(args)
    if settings is None:
        return None
    return settings, KioskDatabase(settings.device.data_dir / "kiosk.db")


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
    release = subparsers.add_parser("release", help="make and check signed release bundles "
                                                    "(on the release machine)")
    rverbs = release.add_subparsers(dest="release_command", metavar="VERB", required=True)
    keygen = rverbs.add_parser("keygen", help="make a release signing key (Ed25519)")
    keygen.add_argument("--out", type=Path, required=True, help="the private key file to write")
    keygen.set_defaults(func=cmd_keygen)

    build = rverbs.add_parser("build", help="build nongan's wheel and a signed bundle")
    build.add_argument("--key", type=Path, required=True, help="the release signing key")
    build.add_argument("--out", type=Path, default=Path("dist"), help="where the bundle goes")
    build.add_argument("--source", type=Path, default=Path("."), help="the checkout")
    build.add_argument("--wheel", type=Path, help="an already built nongan wheel")
    build.add_argument("--wheelhouse", type=Path,
                       help="dependency wheels for the kiosk's platform (a 'bundled' bundle)")
    build.add_argument("--kits-dir", type=Path, help="the kit catalogue to ship")
    build.add_argument("--no-kits", action="store_true")
    build.add_argument("--firmware-dir", type=Path, help="the reader firmware to ship")
    build.add_argument("--no-firmware", action="store_true")
    build.add_argument("--no-assets", action="store_true",
                       help="leave out the screen's generated font subset and prompts")
    build.add_argument("--min-compatible", default="0",
                       help="the oldest installed version this release may replace")
    build.add_argument("--max-compatible", help="the newest (default: below this release)")
    build.add_argument("--json", action="store_true")
    build.set_defaults(func=cmd_build)

    verify = rverbs.add_parser("verify", help="check a bundle's signature and files")
    verify.add_argument("bundle", type=Path)
    verify.add_argument("--pubkey", action="append", required=True,
                        help="a trusted release public key (repeatable)")
    verify.add_argument("--manifest-sha256", help="the manifest the bundle must carry")
    verify.add_argument("--json", action="store_true")
    verify.set_defaults(func=cmd_verify)

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
