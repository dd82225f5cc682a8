"""The kiosk's identity: its device id and Ed25519 signing key, created on first start.

Kept under ``{data_dir}/identity/``: ``device.key`` (PKCS#8 PEM, mode 0600, in a 0700 folder)
and ``device.json`` (id and public key, for enrolment in the cloud). The key never leaves the
kiosk; the public key is what a technician enrols (``nongan bridge device add``).
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from protocol import check_device_id, generate_private_key, public_key_text

from .errors import GatewayError


class IdentityError(GatewayError):
    """The identity on disk is unusable (wrong permissions, another device's, unreadable)."""

    code = "identity"
    translation_key = "error.identity"


@dataclass(frozen=True)
class DeviceIdentity:
    device_id: str
    private_key: Ed25519PrivateKey

    @property
    def public_key(self) -> str:
        """base64url of the raw public key, as the cloud enrols it."""
        return public_key_text(self.private_key)

    @staticmethod
    def key_path(data_dir: Path) -> Path:
        """Where the kiosk's private key is kept under ``data_dir``."""
        return data_dir / "identity" / "device.key"

    @classmethod
    def load_or_create(cls, data_dir: Path, device_id: str) -> DeviceIdentity:
        """Load the kiosk's key, creating it (and its folder) with safe permissions if absent.

        Raises:
            IdentityError: the key is readable by others, belongs to another device id, or
                cannot be parsed.
        """
        check_device_id(device_id)
        key_path = cls.key_path(data_dir)
        folder = key_path.parent
        info_path = folder / "device.json"
        if not key_path.exists():
            return cls._create(folder, key_path, info_path, device_id)
        mode = stat.S_IMODE(key_path.stat().st_mode)
        if mode & 0o077:
            raise IdentityError(
                f"{key_path} is readable by other users (mode {mode:o}); run chmod 600 on it"
            )
        if info_path.exists():
            recorded = json.loads(info_path.read_text(encoding="utf-8")).get("device_id")
            if recorded != device_id:
                raise IdentityError(
                    f"{key_path} belongs to device {recorded!r}, but this kiosk is configured "
                    f"as {device_id!r}; fix device.id or move the old identity away"
                )
        try:
            key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        except (ValueError, TypeError) as exc:
            raise IdentityError(f"{key_path} is not a readable private key: {exc}") from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise IdentityError(f"{key_path} is not an Ed25519 key")
        return cls(device_id, key)

    @classmethod
    def _create(
        cls, folder: Path, key_path: Path, info_path: Path, device_id: str
    ) -> DeviceIdentity:
        folder.mkdir(parents=True, exist_ok=True)
        os.chmod(folder, 0o700)
        key = generate_private_key()
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        # Write to a temporary name with 0600 from the start, then rename: a crash never
        # leaves a half-written or world-readable key behind.
        tmp = key_path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, key_path)
        identity = cls(device_id, key)
        info = {
            "device_id": device_id,
            "public_key": identity.public_key,
            "created_at": datetime.now(UTC).isoformat(),
        }
        info_path.write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
        return identity
