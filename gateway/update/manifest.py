"""A release bundle's manifest: what the bundle holds, for which kiosks, signed by a release key.

The manifest is one JSON object, stored in the bundle as ``manifest.json`` in RFC 8785
canonical form with its ``sig`` member (``protocol.signing``: Ed25519 over the canonical JSON
of the object without ``sig``). Its SHA-256 — of those exact bytes — is what a signed command
names, so a kiosk installs only the manifest the operator chose.

Release keys are not the cloud's message key nor a kiosk's key: they sign software, live
offline on the release machine, and a kiosk trusts the ones listed in ``update.release_keys``
(docs/operations.md, "Release keys"). A manifest says which key signed it (``key_id``, the
first 16 hex digits of the SHA-256 of the raw public key), so keys can be rotated: a kiosk
trusting the old and the new key accepts both until the old one is removed from its list.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)

from protocol.canonical import canonical_json
from protocol.errors import SignatureError
from protocol.signing import b64url_decode, load_public_key, sign_object, verify_object

from .errors import BundleRefused

MANIFEST_NAME = "manifest.json"
FORMAT = 1
PRODUCT = "nongan"

# A bundle's paths: relative, forward slashes, no "..", no hidden tricks (checked again when
# the tar is read: a manifest entry must match a regular file member exactly).
RelPath = Annotated[str, StringConstraints(
    pattern=r"^(wheels|data)/[A-Za-z0-9_.+-]+(/[A-Za-z0-9_.+-]+)*$", max_length=300)]
Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


class FileKind(StrEnum):
    WHEEL = "wheel"          # nongan's own wheel (exactly one)
    DEPENDENCY = "dependency"  # a dependency's wheel (bundles that carry them)
    KITS = "kits"            # the kit catalogue with its cut-offs (data/kits/)
    FIRMWARE = "firmware"    # the reader controller's firmware (data/firmware/)


class BundleFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    path: RelPath
    sha256: Sha256
    size: int = Field(ge=0)
    kind: FileKind

    @field_validator("path")
    @classmethod
    def _no_dot_segments(cls, value: str) -> str:
        if any(part in (".", "..") for part in value.split("/")):
            raise ValueError("path segments '.' and '..' are not allowed")
        return value


class FirmwareInfo(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str = Field(min_length=1, max_length=40)
    protocol: int = Field(ge=1)
    boards: list[str] = Field(min_length=1)


class KitsInfo(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    catalogue_version: str
    limits_version: str


def _version(value: str) -> str:
    try:
        Version(value)
    except InvalidVersion as exc:
        raise ValueError(f"{value!r} is not a version (PEP 440)") from exc
    return value


class Manifest(BaseModel):
    """What a bundle holds (the signed part of ``manifest.json``).

    Attributes:
        version: the release's version (nongan's own, PEP 440).
        min_compatible, max_compatible: the installed versions this release may replace
            (inclusive). A kiosk running another version refuses the bundle: an upgrade from
            further back may need a release in between (a database migration, say).
        requires_python: the interpreter versions the wheel supports.
        dependencies: ``bundled`` (every dependency's wheel is in the bundle; the kiosk
            installs offline from it alone) or ``host`` (only nongan's wheel; the kiosk layers
            it over a dependency environment it already has, ``update.host_site_packages``).
        firmware: the reader firmware in ``data/firmware/``, if the bundle carries one.
        kits: the kit catalogue's and cut-offs' versions in ``data/kits/``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    format: Literal[1] = 1
    product: Literal["nongan"] = "nongan"
    version: str
    created_at: datetime
    min_compatible: str
    max_compatible: str
    requires_python: str = ">=3.11"
    dependencies: Literal["bundled", "host"]
    files: list[BundleFile] = Field(min_length=1)
    firmware: FirmwareInfo | None = None
    kits: KitsInfo | None = None
    key_id: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{16}$")]

    @field_validator("version", "min_compatible", "max_compatible")
    @classmethod
    def _pep440(cls, value: str) -> str:
        return _version(value)

    @field_validator("requires_python")
    @classmethod
    def _specifier(cls, value: str) -> str:
        try:
            SpecifierSet(value)
        except InvalidSpecifier as exc:
            raise ValueError(f"{value!r} is not a version specifier") from exc
        return value

    @field_validator("files")
    @classmethod
    def _unique_and_one_wheel(cls, files: list[BundleFile]) -> list[BundleFile]:
        paths = [f.path for f in files]
        if len(set(paths)) != len(paths):
            raise ValueError("a file is listed twice")
        wheels = [f for f in files if f.kind is FileKind.WHEEL]
        if len(wheels) != 1:
            raise ValueError(f"exactly one nongan wheel is needed, found {len(wheels)}")
        return files

    @property
    def wheel(self) -> BundleFile:
        return next(f for f in self.files if f.kind is FileKind.WHEEL)

    def accepts_upgrade_from(self, running: str) -> bool:
        """Whether a kiosk running ``running`` may install this release."""
        return Version(self.min_compatible) <= Version(running) <= Version(self.max_compatible)


def key_id(public: Ed25519PublicKey | Ed25519PrivateKey) -> str:
    """A release key's short id: 16 hex digits of the SHA-256 of its raw public bytes."""
    if isinstance(public, Ed25519PrivateKey):
        public = public.public_key()
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def load_private_key(path: Path) -> Ed25519PrivateKey:
    """A release signing key from its PKCS#8 PEM file (``nongan release keygen``)."""
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise ValueError(f"cannot read the release key {path}: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} is not an Ed25519 key")
    return key


class ReleaseTrust:
    """The release keys a kiosk trusts, by key id.

    Args:
        public_keys: base64url public keys (``update.release_keys``).

    Raises:
        ValueError: a key is malformed.
    """

    def __init__(self, public_keys: list[str]) -> None:
        self.keys: dict[str, Ed25519PublicKey] = {}
        for text in public_keys:
            try:
                key = load_public_key(text)
            except SignatureError as exc:
                raise ValueError(f"release key {text!r}: {exc}") from exc
            self.keys[key_id(key)] = key

    def verify(self, raw: bytes) -> Manifest:
        """Parse ``manifest.json``'s bytes, check its signature, and validate it.

        Raises:
            BundleRefused: not JSON, not signed by a trusted key, bad signature, or not a
                valid manifest.
        """
        try:
            obj = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise BundleRefused(f"the manifest is not JSON: {exc}") from exc
        if not isinstance(obj, dict):
            raise BundleRefused("the manifest is not a JSON object")
        kid = obj.get("key_id")
        if not isinstance(kid, str) or kid not in self.keys:
            trusted = ", ".join(sorted(self.keys)) or "none"
            raise BundleRefused(f"the manifest is signed by release key {kid!r}, which this "
                                f"kiosk does not trust (trusted: {trusted})")
        try:
            verify_object(obj, self.keys[kid])
        except SignatureError as exc:
            raise BundleRefused(f"bad signature on the manifest: {exc}") from exc
        try:
            return Manifest.model_validate(obj_without_sig(obj))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "manifest"
            raise BundleRefused(f"the manifest is signed but not valid: {where}: "
                                f"{first['msg']}") from exc


def obj_without_sig(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k != "sig"}


def sign_manifest(manifest: Manifest, key: Ed25519PrivateKey) -> bytes:
    """The bytes of ``manifest.json``: canonical JSON of the manifest with its signature."""
    if manifest.key_id != key_id(key):
        raise ValueError("the manifest names another key than the one signing it")
    signed = sign_object(manifest.model_dump(mode="json"), key)
    return canonical_json(signed)


def manifest_sha256(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def public_key_from_text(text: str) -> Ed25519PublicKey:
    """Parse a base64url release public key (ValueError when malformed)."""
    try:
        if len(b64url_decode(text)) != 32:
            raise ValueError("a public key is 32 bytes")
        return load_public_key(text)
    except (SignatureError, ValueError) as exc:
        raise ValueError(f"not a release public key: {exc}") from exc
