"""``nongan pki``: make the link's CA and broker certificate, issue kiosk certificates.

```
nongan pki init   --dir /etc/nongan/pki [--host broker.example.cn --host 10.0.0.5] [--days N]
nongan pki issue  --dir /etc/nongan/pki --name kiosk-0042 [--days N]
nongan pki revoke --dir /etc/nongan/pki --name kiosk-0042 [--out /etc/mosquitto/nongan/crl.pem]
nongan pki crl    --dir /etc/nongan/pki --out /etc/mosquitto/nongan/crl.pem
```

``revoke`` revokes every certificate issued to a name so far (a lost or stolen kiosk, a leaked
key); ``nongan bridge broker-files --pki`` does the same for every retired kiosk. Both write
the CRL the broker's certificate listener loads; send the broker SIGHUP to read it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    pki = subparsers.add_parser("pki", help="CA, broker and per-kiosk TLS certificates")
    pki.set_defaults(func=lambda args: (pki.print_help(), 2)[1])
    verbs = pki.add_subparsers(dest="pki_command", metavar="VERB")
    init = verbs.add_parser("init", help="make the CA and the broker's server certificate")
    init.add_argument("--dir", type=Path, required=True)
    init.add_argument("--host", action="append", default=None,
                      help="a DNS name or IP the broker is reached at (repeat)")
    init.add_argument("--days", type=int, default=3650)
    init.add_argument("--force", action="store_true", help="replace an existing CA")
    init.set_defaults(func=cmd_init)
    issue = verbs.add_parser("issue", help="issue a kiosk's client certificate")
    issue.add_argument("--dir", type=Path, required=True)
    issue.add_argument("--name", required=True, help="the kiosk's device id (the cert's CN)")
    issue.add_argument("--days", type=int, default=825)
    issue.set_defaults(func=cmd_issue)
    revoke = verbs.add_parser("revoke", help="revoke every certificate issued to a kiosk")
    revoke.add_argument("--dir", type=Path, required=True)
    revoke.add_argument("--name", required=True, action="append", help="device id (repeat)")
    revoke.add_argument("--reason", default="revoked")
    revoke.add_argument("--out", type=Path, default=None, help="also write the CRL here")
    revoke.set_defaults(func=cmd_revoke)
    crl = verbs.add_parser("crl", help="write the certificate revocation list")
    crl.add_argument("--dir", type=Path, required=True)
    crl.add_argument("--out", type=Path, required=True, help="e.g. /etc/mosquitto/nongan/crl.pem")
    crl.set_defaults(func=cmd_crl)


def cmd_init(args: argparse.Namespace) -> int:
    from cloud_bridge.pki import PkiError, init_ca

    try:
        init_ca(args.dir, days=args.days, broker_hosts=args.host, overwrite=args.force)
    except PkiError as exc:
        print(f"nongan pki: {exc}", file=sys.stderr)
        return 1
    print(f"CA and broker certificate in {args.dir} (keep ca.key offline once kiosks are "
          "issued)")
    return 0


def cmd_issue(args: argparse.Namespace) -> int:
    from cloud_bridge.pki import PkiError, issue

    try:
        issued = issue(args.dir, args.name, days=args.days)
    except PkiError as exc:
        print(f"nongan pki: {exc}", file=sys.stderr)
        return 1
    print(f"{issued.cert_path}\n{issued.key_path}\n(copy both and ca.crt to the kiosk)")
    return 0


def cmd_revoke(args: argparse.Namespace) -> int:
    from cloud_bridge.pki import PkiError, revoke, write_crl

    try:
        newly = revoke(args.dir, args.name, reason=args.reason)
        listed = write_crl(args.dir, args.out) if args.out is not None else None
    except PkiError as exc:
        print(f"nongan pki: {exc}", file=sys.stderr)
        return 1
    missing = sorted(set(args.name) - set(newly))
    if newly:
        print(f"revoked the certificates of {', '.join(newly)}")
    if missing:
        print(f"nothing (more) to revoke for {', '.join(missing)}", file=sys.stderr)
    if listed is not None:
        print(f"{args.out}: {listed} revoked certificate(s); send the broker SIGHUP")
    return 0


def cmd_crl(args: argparse.Namespace) -> int:
    from cloud_bridge.pki import PkiError, write_crl

    try:
        listed = write_crl(args.dir, args.out)
    except PkiError as exc:
        print(f"nongan pki: {exc}", file=sys.stderr)
        return 1
    print(f"{args.out}: {listed} revoked certificate(s); send the broker SIGHUP")
    return 0
