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
from protocol import public_key_text, sign_cloud_object


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
    return json.dumps(signed(body, key)).encode()
