"""The cloud signing key of the test suite, and signing what a test plays the cloud with.

Every test that runs an ingest worker, or a kiosk that must accept acks, uses this one key:
``key_file()`` writes it (mode 0600) once per test process into a private temporary folder;
``kiosk_settings`` (tests/gateway/conftest.py) pins its public key and ``bridge_settings``
(tests/support/cloud.py) names its file. A test that plays the cloud by hand signs with
``signed()``. It is a test key made at random per process, never a fixed or shipped one.
"""

from __future__ import annotations

import atexit
import json
import shutil
import tempfile
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from cloud_bridge.signing import load_key_file, new_key_file
from protocol import (
    Roster,
    decode,
    key_id,
    public_key_text,
    sign_cloud_object,
    verify_cloud_object,
)


@cache
def key_file() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="nongan-test-cloud-key-"))
    atexit.register(shutil.rmtree, folder, True)
    path = folder / "cloud-signing.key"
    new_key_file(path)
    return path


@cache
def private_key() -> Ed25519PrivateKey:
    return load_key_file(key_file())


def public_key() -> str:
    return public_key_text(private_key())


def signed(obj: dict[str, Any], key: Ed25519PrivateKey | None = None) -> dict[str, Any]:
    """``obj`` signed as the cloud signs (``kid`` and ``sig``), by the test key or ``key``."""
    return sign_cloud_object(obj, key or private_key())


def ack_payload(device_id: str, acked_seq: int, *, key: Ed25519PrivateKey | None = None,
                time: str | None = None) -> bytes:
    """A signed ``CloudAck`` as a worker publishes it."""
    body = {"v": 1, "kind": "ack", "device_id": device_id, "acked_seq": acked_seq,
            "time": time or datetime.now(UTC).isoformat()}
    return json.dumps(signed(body, key)).encode()


def command_payload(device_id: str, name: str, cmd_id: str, *,
                    key: Ed25519PrivateKey | None = None, **extra: Any) -> bytes:
    """A signed ``Command`` for one kiosk."""
    body = {"v": 1, "kind": "command", "device_id": device_id, "cmd_id": cmd_id, "name": name,
            "args": {}, "time": datetime.now(UTC).isoformat(), **extra}
    if isinstance(body.get("expires_at"), datetime):
        body["expires_at"] = body["expires_at"].isoformat()
    return json.dumps(signed(body, key)).encode()


def roster_pages(device_id: str, version: int, producers: list[dict[str, Any]], *,
                 pages: int = 1, key: Ed25519PrivateKey | None = None,
                 generated_at: datetime | None = None) -> list[tuple[int, bytes]]:
    """A roster as signed pages ``(page number, payload)``: ``producers`` dealt out over
    ``pages`` pages in order."""
    made = (generated_at or datetime.now(UTC)).isoformat()
    per_page = -(-len(producers) // pages) if producers else 0
    out = []
    for page in range(pages):
        chunk = producers[page * per_page:(page + 1) * per_page] if per_page else []
        body = {"v": 1, "kind": "roster", "device_id": device_id, "version": version,
                "page": page, "pages": pages, "generated_at": made, "producers": chunk}
        out.append((page, json.dumps(signed(body, key)).encode()))
    return out


def whole_roster(retained: dict[str, bytes], device_id: str) -> Roster | None:
    """The roster a kiosk would assemble from these retained messages (topic -> payload), each
    page checked against the test key: None until every page of the newest version is there."""
    pages: dict[int, list[Roster]] = {}
    prefix = f"nongan/v1/{device_id}/roster/"
    for topic, payload in retained.items():
        if not topic.startswith(prefix) or not payload:
            continue
        decoded = decode(topic, payload)
        verify_cloud_object(decoded.raw, {key_id(public_key()): public_key()})
        page = decoded.message
        assert isinstance(page, Roster)
        pages.setdefault(page.version, []).append(page)
    if not pages:
        return None
    version = max(pages)
    got = sorted(pages[version], key=lambda p: p.page)
    if len(got) != got[0].pages:
        return None
    return got[0].model_copy(update={"producers": [e for p in got for e in p.producers],
                                     "page": 0, "pages": 1})
