"""``nongan release`` (on the release machine): ``keygen`` makes a release signing key,
``build`` makes a signed bundle from the checkout, ``verify`` checks one against public keys.
Exit codes: 0 done, 1 refused or failed (the reason printed), 2 bad arguments.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path


def _fail(reason: str) -> int:
    print(f"refused: {reason}", file=sys.stderr)
    return 1


def cmd_keygen(args: argparse.Namespace) -> int:
    from cryptography.hazmat.primitives import serialization

    from protocol import generate_private_key, public_key_text

    from .manifest import key_id

    if args.out.exists():
        return _fail(f"{args.out} exists: choose another file; never overwrite a release key")
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

