"""A small PKI for the broker link: one CA, the broker's server certificate, and one client
certificate per kiosk whose common name is its device id.

Mosquitto's kiosk listener requires a client certificate signed by this CA and takes its
common name as the username (``use_identity_as_username``), so the ACL's ``%u`` patterns bind
each kiosk to its own topics. Keys are ECDSA P-256 (small and fast on a Raspberry Pi), written
owner-readable only. This is the cryptography package's X.509 builder, not home-made crypto.

Layout of a PKI folder::

    ca.key  ca.crt                 the CA (keep ca.key offline after issuing)
    broker.key  broker.crt         Mosquitto's server certificate
    clients/{name}.key  .crt       one per kiosk (or cloud service)
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from cloud_bridge.files import write_atomically
from protocol import ProtocolError, check_device_id


class PkiError(Exception):
    """A PKI folder that is missing, incomplete, or a request that cannot be met."""


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
    return issued
