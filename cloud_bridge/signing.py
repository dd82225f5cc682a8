"""The cloud's signing key: everything the cloud tells a kiosk is signed with it.

Acks, roster pages, commands and key sets carry the id of the cloud key that signed them and
an Ed25519 signature (``protocol.signing.sign_cloud_object``); each kiosk pins the cloud's public
key at enrolment and acts on nothing else (``gateway.cloud_trust``). The private key lives in a
PKCS#8 PEM file made by ``nongan bridge signing-key new``, readable by its owner only, named by
``signing.key_file`` in the bridge's settings; a worker refuses to start without one.

Rotation (docs/operations.md, "Rotating the cloud's signing key") is driven by the settings:
``next_keys`` announces public keys the kiosks should start trusting, ``previous_key_file``
keeps the outgoing key long enough to sign the key set for kiosks that trust only it, and
``retired_keys`` lists key ids every kiosk must stop trusting. The key set each kiosk receives
(retained, on ``keys``) is built here.
"""

from __future__ import annotations

import stat
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from cloud_bridge.errors import BridgeError
from cloud_bridge.files import write_atomically
from protocol import generate_private_key, key_id, public_key_text, sign_cloud_object


class SigningKeyError(BridgeError):
    """The cloud's signing key is missing, unreadable, unsafe or not an Ed25519 key; the
    message says which and how to fix it (one line)."""

    code = "signing_key"
    translation_key = "error.signing_key"


def new_key_file(path: Path, *, overwrite: bool = False) -> Ed25519PrivateKey:
    """Make a new signing key in ``path`` (mode 0600); refuses to replace an existing file."""
    if path.exists() and not overwrite:
        raise SigningKeyError(f"{path} exists; refusing to replace a signing key the kiosks "
                              "may already trust (rotate it instead: docs/operations.md)")
    key = generate_private_key()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, pem, mode=0o600)
    return key


def load_key_file(path: Path) -> Ed25519PrivateKey:
    """Read a signing key, refusing one that other users can read."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        data = path.read_bytes()
    except FileNotFoundError:
        raise SigningKeyError(f"{path}: no such signing key (make one with `nongan bridge "
                              f"signing-key new --out {path}`)") from None
    except OSError as exc:
        raise SigningKeyError(f"{path}: cannot read the signing key: {exc.strerror}") from None
    if mode & 0o077:
        raise SigningKeyError(f"{path} is readable by other users (mode {mode:o}); whoever "
                              "reads it can speak for the cloud: chmod 600 it")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise SigningKeyError(f"{path} is not a readable private key: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"{path} is not an Ed25519 key")
    return key


@dataclass(frozen=True)
class CloudSigner:
    """The active key, and what the key set tells kiosks during a rotation."""

    key: Ed25519PrivateKey
    previous: Ed25519PrivateKey | None = None
    next_keys: tuple[str, ...] = ()
    retired: tuple[str, ...] = ()

    @classmethod
    def from_settings(cls, signing: Any) -> CloudSigner:
        """Load the keys named by the ``signing`` settings section.

        Raises:
            SigningKeyError: no ``key_file`` set, or a key file that cannot be used.
        """
        if signing.key_file is None:
            raise SigningKeyError(
                "signing.key_file is not set: the cloud signs every ack, roster and command "
                "it sends, and kiosks refuse unsigned ones. Make a key with `nongan bridge "
                "signing-key new --out /etc/nongan/cloud-signing.key` and name it there")
        key = load_key_file(Path(signing.key_file))
        previous = (load_key_file(Path(signing.previous_key_file))
                    if signing.previous_key_file is not None else None)
        signer = cls(key, previous, tuple(signing.next_keys), tuple(signing.retired_keys))
        if signer.kid in signer.retired:
            raise SigningKeyError(f"signing.key_file holds key {signer.kid}, which "
                                  "signing.retired_keys retires: kiosks would refuse everything")
        return signer

    @property
    def kid(self) -> str:
        return key_id(self.key)

    @property
    def public_key(self) -> str:
        return public_key_text(self.key)

    def enrolment_keys(self) -> list[str]:
        """The public keys a newly enrolled kiosk pins: the active key and announced ones."""
        return [self.public_key, *(k for k in self.next_keys if k != self.public_key)]

    def sign(self, obj: dict[str, Any]) -> dict[str, Any]:
        """``obj`` with ``kid`` and ``sig`` of the active key."""
        return sign_cloud_object(obj, self.key)

    def key_set(self, device_id: str, now: datetime) -> dict[str, Any]:
        """The signed key set for one kiosk (``keys``): the keys to trust and those to retire.

        Signed by the previous key while a rotation keeps one, so a kiosk that trusts only the
        old key learns the new one from it; otherwise by the active key.
        """
        listed = [self.public_key, *self.next_keys]
        if self.previous is not None and key_id(self.previous) not in self.retired:
            listed.append(public_key_text(self.previous))
        keys, seen = [], set()
        for text in listed:
            kid = key_id(text)
            if kid not in seen and kid not in self.retired:
                seen.add(kid)
                keys.append({"kid": kid, "public_key": text})
        body = {"v": 1, "kind": "keys", "device_id": device_id, "keys": keys,
                "retired": sorted(set(self.retired)), "time": now.isoformat()}
        return sign_cloud_object(body, self.previous or self.key)


def describe(key: Ed25519PrivateKey) -> str:
    """``kid public-key``, as ``signing-key show`` prints it."""
    return f"{key_id(key)} {public_key_text(key)}"
