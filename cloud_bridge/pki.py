"""A small PKI for the broker link: one CA, the broker's server certificate, and one client
certificate per kiosk whose common name is its device id.

Mosquitto's kiosk listener requires a client certificate signed by this CA and takes its
common name as the username (``use_identity_as_username``), so the ACL's ``%u`` patterns bind
each kiosk to its own topics. Keys are ECDSA P-256 (small and fast on a Raspberry Pi), written
owner-readable only. This is the cryptography package's X.509 builder, not home-made crypto.

A retired kiosk loses its certificate login too: ``revoke`` records the serial numbers of
every certificate issued to a name, and ``write_crl`` signs the certificate revocation list the
broker's certificate listener loads (``crlfile``; Mosquitto reads it again on SIGHUP).
``nongan bridge broker-files --pki`` revokes every retired kiosk's certificates and writes the
list; the CA key must be at hand for that (docs/operations.md).

Layout of a PKI folder::

    ca.key  ca.crt                 the CA
    broker.key  broker.crt         Mosquitto's server certificate
    clients/{name}.key  .crt       one per kiosk (or cloud service)
    issued.json                    every client certificate issued: name, serial, expiry
    revoked.json                   revoked serial numbers: name, serial, when, why
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from cloud_bridge.errors import BridgeError
from cloud_bridge.files import write_atomically
from cloud_bridge.patterns import reserved_reason
from protocol import ProtocolError, check_device_id


class PkiError(BridgeError):
    """A PKI folder that is missing, incomplete, or a request that cannot be met."""

    code = "pki"
    translation_key = "error.pki"


@dataclass(frozen=True, slots=True)
class Issued:
    key_path: Path
    cert_path: Path


def _write(path: Path, data: bytes, *, private: bool) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, data, mode=0o600 if private else 0o644)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _now() -> dt.datetime:
    # Back-date a little: a kiosk whose clock is a few minutes behind must accept the cert.
    return dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)


def init_ca(folder: Path, *, name: str = "nongan link CA", days: int = 3650,
            broker_hosts: list[str] | None = None, overwrite: bool = False) -> Issued:
    """Make the CA and the broker's certificate in ``folder``.

    Args:
        broker_hosts: DNS names and IP addresses the broker is reached at (SANs).
        overwrite: replace an existing CA (every issued certificate stops working).

    Raises:
        PkiError: a CA exists already and ``overwrite`` is False.
    """
    if (folder / "ca.key").exists() and not overwrite:
        raise PkiError(f"{folder / 'ca.key'} exists; refusing to replace the CA")
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name),
                         x509.NameAttribute(NameOID.ORGANIZATION_NAME, "nongan")])
    cert = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(_now()).not_valid_after(_now() + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                       critical=False)
        .sign(key, hashes.SHA256())
    )
    _write(folder / "ca.key", _key_pem(key), private=True)
    _write(folder / "ca.crt", cert.public_bytes(serialization.Encoding.PEM), private=False)
    issue(folder, "broker", server_hosts=broker_hosts or ["localhost", "127.0.0.1"],
          days=min(days, 825), subfolder=None)
    return Issued(folder / "ca.key", folder / "ca.crt")


def _load_ca(folder: Path) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    try:
        key = serialization.load_pem_private_key((folder / "ca.key").read_bytes(), None)
        cert = x509.load_pem_x509_certificate((folder / "ca.crt").read_bytes())
    except FileNotFoundError as exc:
        raise PkiError(f"no CA in {folder}: run `nongan pki init --dir {folder}` first") from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise PkiError(f"{folder / 'ca.key'} is not an EC key")
    return key, cert


def issue(folder: Path, name: str, *, server_hosts: list[str] | None = None, days: int = 825,
          subfolder: str | None = "clients") -> Issued:
    """Issue a certificate signed by the CA in ``folder``.

    Args:
        name: the common name: a kiosk's device id (client certificates), or ``broker``.
        server_hosts: make a server certificate with these DNS/IP SANs instead of a client one.
        subfolder: where the key and certificate go (``clients/`` by default).

    Raises:
        PkiError: no CA, or a client name that is not a valid device id.
    """
    if server_hosts is None:
        try:
            check_device_id(name)
        except ProtocolError as exc:
            raise PkiError(f"client certificate name: {exc.reason}") from None
        # The certificate's name is its broker username: never one of the cloud's accounts.
        reserved = reserved_reason(name)
        if reserved is not None:
            raise PkiError(f"client certificate name: {reserved}")
    ca_key, ca_cert = _load_ca(folder)
    key = ec.generate_private_key(ec.SECP256R1())
    usage = ExtendedKeyUsageOID.SERVER_AUTH if server_hosts else ExtendedKeyUsageOID.CLIENT_AUTH
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca_cert.subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now()).not_valid_after(_now() + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                       critical=False)
    )
    if server_hosts:
        names: list[x509.GeneralName] = []
        for host in server_hosts:
            try:
                names.append(x509.IPAddress(ipaddress.ip_address(host)))
            except ValueError:
                names.append(x509.DNSName(host))
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    cert = builder.sign(ca_key, hashes.SHA256())
    base = folder / subfolder if subfolder else folder
    issued = Issued(base / f"{name}.key", base / f"{name}.crt")
    _write(issued.key_path, _key_pem(key), private=True)
    _write(issued.cert_path, cert.public_bytes(serialization.Encoding.PEM), private=False)
    if server_hosts is None:
        index = _read_json(folder / ISSUED, [])
        index.append({"name": name, "serial": str(cert.serial_number),
                      "not_after": cert.not_valid_after_utc.isoformat()})
        _write_json(folder / ISSUED, index)
    return issued


ISSUED = "issued.json"
REVOKED = "revoked.json"
CRL_DAYS = 3650
"""A CRL's next-update date. OpenSSL refuses every client once the list it holds is past that
date, so it lies far ahead; the list is re-signed whenever a kiosk is revoked."""


def _read_json(path: Path, default: list[dict[str, str]]) -> list[dict[str, str]]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return default
    except ValueError as exc:
        raise PkiError(f"{path} is not valid JSON: {exc}") from None
    if not isinstance(value, list):
        raise PkiError(f"{path} should hold a list")
    return value


def _write_json(path: Path, value: list[dict[str, str]]) -> None:
    _write(path, (json.dumps(value, indent=1, ensure_ascii=False) + "\n").encode(),
           private=False)


def serials_of(folder: Path, name: str) -> set[int]:
    """Serial numbers of every client certificate issued to ``name``: from the index, and from
    the certificate in ``clients/`` (one issued before the index existed)."""
    serials = {int(e["serial"]) for e in _read_json(folder / ISSUED, []) if e["name"] == name}
    current = folder / "clients" / f"{name}.crt"
    if current.exists():
        serials.add(x509.load_pem_x509_certificate(current.read_bytes()).serial_number)
    return serials


def revoke(folder: Path, names: Iterable[str], *, reason: str = "retired") -> list[str]:
    """Revoke every certificate issued so far to each of ``names``.

    Returns:
        The names that had certificates not revoked before.
    """
    revoked = _read_json(folder / REVOKED, [])
    known = {int(e["serial"]) for e in revoked}
    now = dt.datetime.now(dt.UTC).isoformat()
    newly = []
    for name in sorted(set(names)):
        fresh = sorted(serials_of(folder, name) - known)
        for serial in fresh:
            revoked.append({"name": name, "serial": str(serial), "at": now, "reason": reason})
            known.add(serial)
        if fresh:
            newly.append(name)
    if newly:
        _write_json(folder / REVOKED, revoked)
    return newly


def revoked_names(folder: Path) -> set[str]:
    return {e["name"] for e in _read_json(folder / REVOKED, [])}


def write_crl(folder: Path, out: Path) -> int:
    """Sign the CRL of every revoked serial with the CA in ``folder`` and write it to ``out``
    (PEM, for the broker's ``crlfile``). Returns how many serials it lists.

    Raises:
        PkiError: no CA in ``folder``.
    """
    ca_key, ca_cert = _load_ca(folder)
    now = dt.datetime.now(dt.UTC)
    builder = (x509.CertificateRevocationListBuilder().issuer_name(ca_cert.subject)
               .last_update(now - dt.timedelta(hours=1))
               .next_update(now + dt.timedelta(days=CRL_DAYS)))
    entries = _read_json(folder / REVOKED, [])
    for entry in entries:
        when = dt.datetime.fromisoformat(entry["at"])
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(int(entry["serial"]))
            .revocation_date(min(when, now)).build())
    crl = builder.sign(ca_key, hashes.SHA256())
    _write(out, crl.public_bytes(serialization.Encoding.PEM), private=False)
    return len(entries)
