"""The files the broker reads, written from the database by ``nongan bridge broker-files``.

- ``passwd``: every enrolled kiosk's password hash (made at enrolment) and the cloud's own
  accounts, merged from ``cloud-passwd`` (kept by the operator with ``mosquitto_passwd``):
  one password file, since the dynamic security plugin serves every listener.
- ``dynamic-security.json``: the plugin's configuration for a broker that is not running yet
  (a running broker is changed through the control API: ``nongan bridge broker-sync``).
- ``crl.pem``: with a PKI folder, the revocation list of every retired kiosk's certificates.

Nothing is written if the database holds a kiosk whose id is a reserved name (one of the
cloud's accounts, ``nongan-*``, ``admin`` ...): such a row would give that login the cloud's
rights, so the command stops and names it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud_bridge.domain.broker_auth import password_file
from cloud_bridge.errors import BrokerError
from cloud_bridge.files import write_atomically
from cloud_bridge.patterns import reserved_reason
from cloud_bridge.store.models import Device, DeviceStateValue

from . import dynsec

PASSWD = "passwd"
CLOUD_PASSWD = "cloud-passwd"
DYNSEC = "dynamic-security.json"
CRL = "crl.pem"


class BrokerFilesError(BrokerError):
    """Files that must not be written as the database stands; the message says why."""

    code = "broker_files"


@dataclass(frozen=True)
class Accounts:
    """The cloud's own broker accounts: the workers' (cloud role) and the provisioner's."""

    cloud_users: tuple[str, ...]
    admin_users: tuple[str, ...]
    group: str

    @property
    def all(self) -> tuple[str, ...]:
        return (*self.cloud_users, *self.admin_users)


@dataclass(frozen=True)
class Kiosks:
    enrolled: list[tuple[str, str | None]]
    """(device id, password hash or None) of every enrolled kiosk."""
    retired: list[str]


def read_kiosks(session: Session, accounts: Accounts,
                extra_reserved: Iterable[str] = ()) -> Kiosks:
    """Every kiosk, refusing the lot if one has a name no kiosk may have.

    Raises:
        BrokerFilesError: a kiosk row whose id is reserved (named, with the fix).
    """
    rows = session.execute(select(Device.id, Device.state, Device.broker_password_hash)
                           .order_by(Device.id)).all()
    reserved = [*accounts.all, *extra_reserved]
    bad = [(d, why) for d, state, _ in rows
           if state == DeviceStateValue.ENROLLED and (why := reserved_reason(d, reserved))]
    if bad:
        listed = "; ".join(f"{d}: {why}" for d, why in bad)
        raise BrokerFilesError(
            f"refusing to write broker files: enrolled kiosk(s) with a reserved name would get "
            f"that account's login ({listed}). Retire them (`nongan bridge device retire`) and "
            "enrol the kiosks under proper ids.")
    enrolled = [(d, h) for d, state, h in rows if state == DeviceStateValue.ENROLLED]
    retired = [d for d, state, _ in rows if state == DeviceStateValue.RETIRED]
    return Kiosks(enrolled, retired)


def read_cloud_passwd(path: Path) -> list[tuple[str, str]]:
    """``(user, hash)`` pairs of the operator's ``cloud-passwd`` (missing: none)."""
    if not path.exists():
        return []
    pairs = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        user, sep, hashed = line.partition(":")
        if not sep or not user or not hashed:
            raise BrokerFilesError(f"{path}:{number}: not a 'user:hash' line")
        pairs.append((user, hashed))
    return pairs


def want(kiosks: Kiosks, accounts: Accounts) -> dynsec.Desired:
    return dynsec.desired([d for d, _ in kiosks.enrolled], cloud_users=accounts.cloud_users,
                          admin_users=accounts.admin_users, group=accounts.group)


def write(out: Path, session: Session, accounts: Accounts, *,
          pki: Path | None = None) -> dict[str, str]:
    """Write ``passwd``, ``dynamic-security.json`` and (with ``pki``) ``crl.pem`` to ``out``.

    Returns:
        file name -> a few words on what it holds (for the command's report).

    Raises:
        BrokerFilesError: a reserved kiosk id, a bad ``cloud-passwd``, or a kiosk that is also
            one of its users.
        cloud_bridge.pki.PkiError: the PKI folder cannot sign a CRL.
    """
    cloud = read_cloud_passwd(out / CLOUD_PASSWD)
    kiosks = read_kiosks(session, accounts, extra_reserved=[u for u, _ in cloud])
    hashes = [(d, h) for d, h in kiosks.enrolled if h is not None]
    report = {}
    text = password_file([*hashes, *cloud])
    out.mkdir(parents=True, exist_ok=True)
    if pki is not None:
        from cloud_bridge import pki as pki_module

        pki_module.revoke(pki, kiosks.retired)
        listed = pki_module.write_crl(pki, out / CRL)
        report[CRL] = f"{listed} revoked certificate(s)"
    write_atomically(out / PASSWD, text.encode("utf-8"), mode=0o600)
    report[PASSWD] = f"{len(hashes)} kiosk(s), {len(cloud)} cloud account(s)"
    document = dynsec.config_document(want(kiosks, accounts))
    write_atomically(out / DYNSEC, (json.dumps(document, indent=1) + "\n").encode("utf-8"),
                     mode=0o600)
    report[DYNSEC] = f"{len(kiosks.enrolled)} kiosk role(s)"
    return report
