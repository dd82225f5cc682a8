"""``nongan pki``: make the link's CA and broker certificate, issue kiosk certificates.

```
nongan pki init  --dir /etc/nongan/pki [--host broker.example.cn --host 10.0.0.5] [--days N]
nongan pki issue --dir /etc/nongan/pki --name kiosk-0042 [--days N]
```
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
